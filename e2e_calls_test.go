package switchboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type apiCall struct {
	CallID          string   `json:"call_id"`
	From            string   `json:"from"`
	CallerExtension string   `json:"caller_extension"`
	Dialled         string   `json:"dialled"`
	State           string   `json:"state"`
	Extensions      []string `json:"extensions"`
	AnsweredBy      string   `json:"answered_by"`
	External        bool     `json:"external"`
	Answered        *string  `json:"answered"`
}

func (c *apiClient) calls() []apiCall {
	var out struct {
		Calls []apiCall `json:"calls"`
	}
	c.must(http.MethodGet, "/api/v1/calls", nil, http.StatusOK, &out)
	return out.Calls
}

// waitCalls polls the call list until it has n calls.
func (c *apiClient) waitCalls(n int) []apiCall {
	deadline := time.Now().Add(3 * time.Second)
	for {
		calls := c.calls()
		if len(calls) == n || time.Now().After(deadline) {
			require.Len(c.t, calls, n, "calls in progress: %+v", calls)
			return calls
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answerInvite waits for an INVITE on a phone's socket and answers it
// 180 then 200; it returns the INVITE.
func answerInvite(t *testing.T, phone *sipConn) sipMessage {
	t.Helper()
	inv, ok := phone.recv(3 * time.Second)
	require.True(t, ok, "the phone rings")
	require.True(t, strings.HasPrefix(inv.First, "INVITE "), inv.First)
	phone.send([]byte(answer(inv, 180, "Ringing")))
	phone.send([]byte(answer(inv, 200, "OK")))
	return inv
}

// hangUpFrom sends, from the answering side of a call, a BYE along the
// Record-Route its INVITE carried.
func hangUpFrom(t *testing.T, phone *sipConn, inv sipMessage) {
	t.Helper()
	rr, ok := inv.Header("Record-Route")
	require.True(t, ok, "the INVITE is record-routed")
	from, _ := inv.Header("From")
	to, _ := inv.Header("To")
	callID, _ := inv.Header("Call-ID")
	ip, port := phone.localAddr().IP.String(), phone.localAddr().Port
	contact := "sip:caller@127.0.0.1"
	if c, ok := inv.Header("Contact"); ok {
		contact = strings.Trim(c, "<>")
	}
	phone.send([]byte(fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nRoute: %s\r\nMax-Forwards: 70\r\n"+
		"From: %s;tag=phone1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
		contact, ip, port, newBranch(), rr, to, from, callID)))
}

// Calls in progress are listed while they ring and while they are up, and
// leave the list with their BYE; a user with one call path is busy while
// on a call, and free again after it.
func TestE2ECallsInProgressAndCallPaths(t *testing.T) {
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "call_paths": 1, "voicemail_enabled": false})
	e.api.createPhone("1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.addPhone(t, "1003", "1003a", "secret-1003a")
	require.Empty(t, e.api.calls())

	phone := dialSIP(t, "127.0.0.1", e.sipAddr())
	reg := newDigestClient(phone, "1001a", "secret-1001a")
	reg.challenge(t)
	require.Equal(t, 200, phone.exchange(reg.authorized("secret-1001a")).Status())

	done := make(chan sipMessage, 1)
	go func() { done <- call(t, e, "1002a", "secret-1002a", "1001") }()
	inv, ok := phone.recv(3 * time.Second)
	require.True(t, ok, "the phone rings")
	ringing := e.api.waitCalls(1)[0]
	require.Equal(t, "ringing", ringing.State)
	require.Equal(t, "1002", ringing.CallerExtension)
	require.Equal(t, "1001", ringing.Dialled)
	require.ElementsMatch(t, []string{"1002", "1001"}, ringing.Extensions)
	require.Nil(t, ringing.Answered)

	phone.send([]byte(answer(inv, 200, "OK")))
	require.Equal(t, 200, (<-done).Status())
	up := e.api.waitCalls(1)[0]
	require.Equal(t, "answered", up.State)
	require.Equal(t, "1001a", up.AnsweredBy)
	require.NotNil(t, up.Answered)
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_in_progress"))

	// 1001 has one call path, in use: busy, and nothing rings.
	require.Equal(t, 486, call(t, e, "1003a", "secret-1003a", "1001").Status())
	_, rang := phone.recv(200 * time.Millisecond)
	require.False(t, rang, "a user on all their call paths is not rung")

	hangUpFrom(t, phone, inv)
	e.api.waitCalls(0)
	require.Equal(t, 0.0, e.api.metric("switchboard_sip_calls_in_progress"))

	// Free again: the next call rings.
	go func() { done <- call(t, e, "1003a", "secret-1003a", "1001") }()
	answerInvite(t, phone)
	require.Equal(t, 200, (<-done).Status())
	require.Equal(t, 2.0, e.api.metric("switchboard_sip_calls_total", "outcome", "answered"))
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_total", "outcome", "busy"))
	require.Greater(t, e.api.metric("switchboard_sip_post_dial_delay_seconds_count"), 2.0)
}

// The settings API changes the outside-call limits and feature codes for
// the next call, and refuses what would break calls.
func TestE2ESettingsAndConcurrentOutsideCalls(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	var st map[string]any
	e.api.must(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &st)
	require.Equal(t, map[string]any{"external_calls_per_minute": 10.0, "external_calls_concurrent": 2.0,
		"feature_codes": map[string]any{"own_voicemail": "*97", "any_voicemail": "*98", "directory": "411"}}, st)

	for _, tc := range []struct {
		name       string
		body       map[string]any
		field, rec string
	}{
		{"negative limit", map[string]any{"external_calls_concurrent": -1}, "external_calls_concurrent", "range"},
		{"emergency number as a code", map[string]any{"feature_codes": map[string]any{"directory": "911"}}, "feature_codes.directory", "emergency"},
		{"two features on one code", map[string]any{"feature_codes": map[string]any{"any_voicemail": "*97"}}, "feature_codes.any_voicemail", "unique"},
		{"a user's extension", map[string]any{"feature_codes": map[string]any{"directory": "1002"}}, "feature_codes.directory", "extension"},
		{"not a key", map[string]any{"feature_codes": map[string]any{"own_voicemail": "*9a"}}, "feature_codes.own_voicemail", "keys"},
	} {
		var apiErr struct{ Field, Rule string }
		e.api.must(http.MethodPatch, "/api/v1/settings", tc.body, http.StatusBadRequest, &apiErr)
		require.Equal(t, tc.field, apiErr.Field, tc.name)
		require.Equal(t, tc.rec, apiErr.Rule, tc.name)
	}
	e.api.must(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &st)
	require.Equal(t, 2.0, st["external_calls_concurrent"], "a refused change stores nothing")

	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{
		"external_calls_concurrent": 1, "feature_codes": map[string]any{"own_voicemail": "*86"},
	}, http.StatusOK, &st)
	require.Equal(t, 1.0, st["external_calls_concurrent"])
	require.Equal(t, 480, call(t, e, "1002a", "secret-1002a", "*86").Status(), "the new code reaches the (absent) voicemail")
	require.Equal(t, 404, call(t, e, "1002a", "secret-1002a", "*97").Status(), "the old code is nothing")

	// A provider that answers every call.
	provider := dialSIP(t, "127.0.0.1", e.sipAddr())
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.1", "port": provider.localAddr().Port},
		http.StatusOK, nil)
	done := make(chan sipMessage, 1)
	go func() { done <- call(t, e, "1002a", "secret-1002a", "+12125550100") }()
	inv := answerInvite(t, provider)
	require.Equal(t, 200, (<-done).Status())
	c := e.api.waitCalls(1)[0]
	require.True(t, c.External)

	// One outside call up is the limit: the next is refused, and never
	// reaches the provider.
	require.Equal(t, 403, call(t, e, "1002a", "secret-1002a", "+12125550101").Status())
	_, reached := provider.recv(200 * time.Millisecond)
	require.False(t, reached)
	require.Contains(t, e.logs.String(), "limit_concurrent=1")

	// The provider's BYE ends the call; calling out works again.
	hangUpFrom(t, provider, inv)
	e.api.waitCalls(0)
	go func() { done <- call(t, e, "1002a", "secret-1002a", "+12125550102") }()
	answerInvite(t, provider)
	require.Equal(t, 200, (<-done).Status())
}

// registerPhone registers a hand-written phone socket for name.
func registerPhone(t *testing.T, e *testEngine, name, password string) *sipConn {
	t.Helper()
	phone := dialSIP(t, "127.0.0.1", e.sipAddr())
	reg := newDigestClient(phone, name, password)
	reg.challenge(t)
	require.Equal(t, 200, phone.exchange(reg.authorized(password)).Status())
	return phone
}

// A call forwarded to another user follows that user's own rules to the
// end: 1001 forwards everything to 1002, whose phone rings for a second
// before 1002's rule forwards it on to 1003, where it is answered.
func TestE2EForwardFollowsTheNextUsersRules(t *testing.T) {
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.addPhone(t, "1003", "1003a", "secret-1003a")
	e.addPhone(t, "1004", "1004a", "secret-1004a")
	setDefaultRule := func(ext string, fields map[string]any) {
		var rules struct {
			AnsweringRules []struct {
				ID int64 `json:"id"`
			} `json:"answering_rules"`
		}
		e.api.must(http.MethodGet, "/api/v1/users/"+ext+"/answering-rules", nil, http.StatusOK, &rules)
		e.api.must(http.MethodPatch, fmt.Sprintf("/api/v1/users/%s/answering-rules/%d", ext, rules.AnsweringRules[0].ID),
			fields, http.StatusOK, nil)
	}
	setDefaultRule("1001", map[string]any{"forward_always": map[string]any{"kind": "user", "to": "1002"}})
	setDefaultRule("1002", map[string]any{"ring_for_s": 1, "forward_unanswered": map[string]any{"kind": "user", "to": "1003"}})
	second := registerPhone(t, e, "1002a", "secret-1002a")
	third := registerPhone(t, e, "1003a", "secret-1003a")

	done := make(chan sipMessage, 1)
	go func() { done <- call(t, e, "1004a", "secret-1004a", "1001") }()
	inv, ok := second.recv(3 * time.Second)
	require.True(t, ok, "1002's phone rings first")
	require.True(t, strings.HasPrefix(inv.First, "INVITE sip:1002a@"), inv.First)
	rangAt := time.Now()
	second.send([]byte(answer(inv, 180, "Ringing")))
	cancel, ok := second.recv(3 * time.Second)
	require.True(t, ok, "1002's phone is cancelled after its second")
	require.True(t, strings.HasPrefix(cancel.First, "CANCEL "), cancel.First)
	second.send([]byte(answer(cancel, 200, "OK")))
	second.send([]byte(answer(inv, 487, "Request Terminated")))

	answerInvite(t, third)
	require.InDelta(t, 1.0, time.Since(rangAt).Seconds(), 0.5, "1003 rings when 1002's ring_for_s is over")
	require.Equal(t, 200, (<-done).Status())
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_total", "outcome", "forwarded"))
}
