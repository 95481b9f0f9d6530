package switchboard

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/routing"
	"switchboard/sip"
	"switchboard/store"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A user's outside calls are limited per minute, with a security event when
// the limit is hit; emergency calls never are.
func TestExternalCallsPerMinuteLimit(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var logs lockedBuffer
	e, err := New(context.Background(), Config{
		DBPath: filepath.Join(dir, "sb.db"), DataDir: filepath.Join(dir, "data"),
		SIPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Domain: "127.0.0.1", AdminToken: "t",
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Out: &logs, Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	_, err = e.db.Users().Create(ctx, store.NewUser{User: store.User{Extension: "1002", AreaCode: "212"}})
	require.NoError(t, err)
	require.NoError(t, e.db.Settings().Set(ctx, "external_calls_per_minute", "3"))

	r := e.router
	caller := sip.Caller{Phone: "1002a", Extension: "1002"}
	for i := range 3 {
		p, err := r.Route(ctx, caller, "+442079460958", 0)
		require.NoError(t, err)
		require.Equal(t, routing.ActionRing, p.Action, "call %d", i+1)
	}
	p, err := r.Route(ctx, caller, "5550100", 0)
	require.NoError(t, err)
	require.Equal(t, routing.ActionReject, p.Action)
	require.Equal(t, 403, p.Code)
	require.Contains(t, logs.String(), "event=toll_limit")

	p, err = r.Route(ctx, caller, "911", 0)
	require.NoError(t, err)
	require.Equal(t, routing.ActionRing, p.Action, "emergency calls are never limited")

	now = now.Add(time.Minute)
	p, err = r.Route(ctx, caller, "+442079460958", 0)
	require.NoError(t, err)
	require.Equal(t, routing.ActionRing, p.Action, "a minute later the user may call again")

	require.NoError(t, e.db.Settings().Set(ctx, "external_calls_per_minute", "0"))
	for range 20 {
		p, err = r.Route(ctx, caller, "+442079460958", 0)
		require.NoError(t, err)
		require.Equal(t, routing.ActionRing, p.Action, "0 is unlimited")
	}
}

// A call from the provider reaches the user whose number is in the
// Request-URI or, for a call to the engine's registration (whose
// Request-URI names the account), in To; a forward from there names the
// next user's extension.
func TestInboundRouting(t *testing.T) {
	dir := t.TempDir()
	e, err := New(context.Background(), Config{
		DBPath: filepath.Join(dir, "sb.db"), DataDir: filepath.Join(dir, "data"),
		SIPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Domain: "127.0.0.1", AdminToken: "t",
		Logger: slog.New(slog.DiscardHandler), Out: &lockedBuffer{},
	})
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	_, err = e.db.Users().Create(ctx, store.NewUser{User: store.User{Extension: "1001", PhoneNumber: "+14155550100", VoicemailEnabled: true}})
	require.NoError(t, err)
	_, err = e.db.Users().Create(ctx, store.NewUser{User: store.User{Extension: "1002", VoicemailEnabled: true}})
	require.NoError(t, err)

	provider := sip.Caller{Number: "+12125550199", FromTrunk: true}
	ringsUser := func(p routing.Plan) {
		t.Helper()
		require.Equal(t, routing.ActionRing, p.Action, "%v", p.Explanation)
	}
	p, err := e.router.Route(ctx, provider, "4155550100", 0)
	require.NoError(t, err)
	ringsUser(p)

	toRegistration := provider
	toRegistration.To = "+14155550100"
	p, err = e.router.Route(ctx, toRegistration, "acct-42", 0)
	require.NoError(t, err)
	ringsUser(p)

	p, err = e.router.Route(ctx, provider, "acct-42", 0)
	require.NoError(t, err)
	require.Equal(t, 404, p.Code, "no number anywhere")
	p, err = e.router.Route(ctx, provider, "1002", 0)
	require.NoError(t, err)
	require.Equal(t, 404, p.Code, "the provider cannot dial extensions")

	p, err = e.router.Route(ctx, provider, "1002", 1)
	require.NoError(t, err)
	ringsUser(p)
}
