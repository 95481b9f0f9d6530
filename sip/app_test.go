package sip

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/require"

	"switchboard/routing"
)

// fakeApps answers calls as a voice application would, and records what it
// was asked; run says what its Run does once the call is acknowledged.
type fakeApps struct {
	mu       sync.Mutex // guards the fields below
	requests []AppRequest
	infos    []string
	offers   []string
	refuse   error
	run      func(ctx context.Context, call AppCall)

	running chan struct{}
	ran     chan struct{}
	closed  chan struct{}
}

func newFakeApps(run func(ctx context.Context, call AppCall)) *fakeApps {
	return &fakeApps{run: run, running: make(chan struct{}), ran: make(chan struct{}), closed: make(chan struct{}, 4)}
}

type statusErr int

func (e statusErr) Error() string  { return "refused" }
func (e statusErr) SIPStatus() int { return int(e) }

func (f *fakeApps) Accept(_ context.Context, req AppRequest) (AppSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	if f.refuse != nil {
		return nil, f.refuse
	}
	return &fakeSession{f: f}, nil
}

type fakeSession struct{ f *fakeApps }

func (s *fakeSession) Answer() []byte { return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n") }

func (s *fakeSession) Acknowledged([]byte) error { return nil }

func (s *fakeSession) Run(ctx context.Context, call AppCall) {
	close(s.f.running)
	defer close(s.f.ran)
	s.f.run(ctx, call)
}

func (s *fakeSession) Reoffer(offer []byte) ([]byte, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.offers = append(s.f.offers, string(offer))
	if strings.Contains(string(offer), "garbage") {
		return nil, statusErr(488)
	}
	return []byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"), nil
}

func (s *fakeSession) Info(contentType string, body []byte) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if contentType != "application/dtmf-relay" {
		return statusErr(415)
	}
	s.f.infos = append(s.f.infos, string(body))
	return nil
}

func (s *fakeSession) Close() { s.f.closed <- struct{}{} }

// waitForCaller runs until the caller hangs up.
func waitForCaller(ctx context.Context, call AppCall) {
	select {
	case <-call.Ended():
	case <-ctx.Done():
	}
}

// voicemailAfterBusy rings 1001's phones, then voicemail when all are busy.
func voicemailAfterBusy() routing.Plan {
	return routing.Plan{Action: routing.ActionRing, RuleIndex: -1, Stages: []routing.Stage{
		{Targets: []routing.Target{{Kind: routing.TargetPhones, To: "1001"}}, OnNoAnswer: 1, OnBusy: 1},
		{Targets: []routing.Target{{Kind: routing.TargetVoicemail, To: "1001"}}, OnNoAnswer: routing.StageEnd, OnBusy: routing.StageEnd},
	}}
}

func TestAppAnswersAndServesTheDialog(t *testing.T) {
	apps := newFakeApps(waitForCaller)
	s, addr := proxyServer(t, WithRouter(&fakeRouter{plan: voicemailAfterBusy()}), WithApplications(apps))
	phone := newTestUA(t, "1001a", addr)
	phone.register(s, "1001")
	phone.mode.Store(busy)
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	ok := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 200, ok.StatusCode)
	tag, _ := ok.To().Params.Get("tag")
	require.True(t, strings.HasPrefix(tag, appTagPrefix), tag)
	require.Contains(t, string(ok.Body()), "v=0")
	require.NotNil(t, ok.Contact())
	apps.mu.Lock()
	require.Len(t, apps.requests, 1)
	req := apps.requests[0]
	apps.mu.Unlock()
	require.Equal(t, routing.TargetVoicemail, req.Target.Kind)
	require.Equal(t, "1001", req.Target.To)
	require.True(t, req.Busy, "voicemail after a busy stage")
	require.Equal(t, "1002", req.Caller.Extension)
	require.Equal(t, "127.0.0.1", req.LocalIP.String())
	calls := s.proxy.calls.list()
	require.Len(t, calls, 1)
	require.Equal(t, "voicemail", calls[0].AnsweredBy)
	require.Equal(t, []string{"1002"}, calls[0].Extensions, "the caller's call path is held, not the mailbox user's")

	// Unacknowledged, the 200 comes again (RFC 3261 §13.3.1.4), and the
	// application has not started.
	again := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 200, again.StatusCode)
	select {
	case <-apps.running:
		t.Fatal("application ran before the ACK")
	default:
	}
	caller.send(call.inDialog(ok, gosip.ACK), addr)
	select {
	case <-apps.running:
	case <-time.After(2 * time.Second):
		t.Fatal("application not run after the ACK")
	}

	info := call.inDialog(ok, gosip.INFO)
	info.AppendHeader(gosip.NewHeader("Content-Type", "application/dtmf-relay"))
	info.SetBody([]byte("Signal=5\r\nDuration=160\r\n"))
	caller.send(info, addr)
	require.Equal(t, 200, caller.nextRes(200, 2*time.Second).StatusCode)
	odd := call.inDialog(ok, gosip.INFO)
	odd.AppendHeader(gosip.NewHeader("Content-Type", "text/plain"))
	odd.SetBody([]byte("hello"))
	caller.send(odd, addr)
	require.Equal(t, 415, caller.nextRes(200, 2*time.Second).StatusCode)

	reinvite := call.inDialog(ok, gosip.INVITE)
	reinvite.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	reinvite.SetBody([]byte("v=0\r\nnew offer\r\n"))
	caller.send(reinvite, addr)
	res := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 200, res.StatusCode)
	require.Contains(t, string(res.Body()), "o=- 1 2")
	garbage := call.inDialog(ok, gosip.INVITE)
	garbage.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	garbage.SetBody([]byte("garbage"))
	caller.send(garbage, addr)
	require.Equal(t, 488, caller.nextRes(200, 2*time.Second).StatusCode)

	apps.mu.Lock()
	require.Equal(t, []string{"Signal=5\r\nDuration=160\r\n"}, apps.infos)
	require.Len(t, apps.offers, 2)
	apps.mu.Unlock()

	caller.send(call.inDialog(ok, gosip.BYE), addr)
	require.Equal(t, 200, caller.nextRes(200, 2*time.Second).StatusCode)
	select {
	case <-apps.ran:
	case <-time.After(2 * time.Second):
		t.Fatal("application still running after the caller's BYE")
	}
	require.Eventually(t, func() bool { return len(s.proxy.calls.list()) == 0 }, 2*time.Second, 10*time.Millisecond)
	caller.noReq(gosip.BYE, 300*time.Millisecond)
	// A retransmitted BYE still gets its 200; anything else is 481.
	caller.send(call.inDialog(ok, gosip.BYE), addr)
	require.Equal(t, 200, caller.nextRes(200, 2*time.Second).StatusCode)
	caller.send(call.inDialog(ok, gosip.INFO), addr)
	require.Equal(t, 481, caller.nextRes(200, 2*time.Second).StatusCode)
}

func TestAppHangsUpAndTransfers(t *testing.T) {
	transferred := make(chan error, 1)
	apps := newFakeApps(func(ctx context.Context, call AppCall) {
		transferred <- call.Transfer(ctx, "1003")
		call.HangUp()
		call.HangUp()
	})
	plan := ringPlan(0, routing.Target{Kind: routing.TargetMailboxAccess, To: "1002"})
	s, addr := proxyServer(t, WithRouter(&fakeRouter{plan: plan}), WithApplications(apps))
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("*97", "secret-1002a")
	ok := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 200, ok.StatusCode)
	caller.send(call.inDialog(ok, gosip.ACK), addr)

	refer := caller.nextReq(gosip.REFER, 2*time.Second)
	require.Equal(t, "<sip:1003@"+testRealm+">", refer.GetHeader("Refer-To").Value())
	from, _ := refer.From().Params.Get("tag")
	to, _ := ok.To().Params.Get("tag")
	require.Equal(t, to, from, "our requests carry our tag in From")
	caller.respond(refer, addr, 202, "Accepted")
	notify := call.inDialog(ok, gosip.NOTIFY)
	notify.AppendHeader(gosip.NewHeader("Event", "refer"))
	notify.AppendHeader(gosip.NewHeader("Content-Type", "message/sipfrag"))
	notify.SetBody([]byte("SIP/2.0 200 OK\r\n"))
	caller.send(notify, addr)
	require.Equal(t, 200, caller.nextRes(200, 2*time.Second).StatusCode)
	select {
	case err := <-transferred:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("transfer did not complete")
	}
	bye := caller.nextReq(gosip.BYE, 2*time.Second)
	require.Equal(t, call.invite.CallID().Value(), bye.CallID().Value())
	caller.noReq(gosip.BYE, 300*time.Millisecond)
	<-apps.ran
	require.Eventually(t, func() bool { return len(s.proxy.calls.list()) == 0 }, 2*time.Second, 10*time.Millisecond)
}

func TestAppRefusesWithItsStatus(t *testing.T) {
	apps := newFakeApps(waitForCaller)
	apps.refuse = statusErr(488)
	plan := ringPlan(0, routing.Target{Kind: routing.TargetVoicemail, To: "1001"})
	_, addr := proxyServer(t, WithRouter(&fakeRouter{plan: plan}), WithApplications(apps))
	caller := newTestUA(t, "1002a", addr)
	call := caller.dial("1001", "secret-1002a")
	res := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 488, res.StatusCode)
	caller.ackNon2xx(call.invite, res)

	apps.mu.Lock()
	apps.refuse = errors.New("disk on fire")
	apps.mu.Unlock()
	caller.tag = "tag-2"
	call = caller.dial("1001", "secret-1002a")
	res = caller.nextRes(200, 3*time.Second)
	require.Equal(t, 500, res.StatusCode)
}

func TestVoicemailWithoutApplicationsIsUnavailable(t *testing.T) {
	plan := ringPlan(0, routing.Target{Kind: routing.TargetVoicemail, To: "1001"})
	_, addr := proxyServer(t, WithRouter(&fakeRouter{plan: plan}))
	caller := newTestUA(t, "1002a", addr)
	caller.dial("1001", "secret-1002a")
	require.Equal(t, 480, caller.nextRes(200, 3*time.Second).StatusCode)
}
