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
		"feature_codes": map[string]any{"own_voicemail": "*97", "any_voicemail": "*98", "directory": "411"},
		"smtp":          map[string]any{"host": "", "port": 0.0, "starttls": false, "username": "", "has_password": false, "from": ""},
		"public_url":    "", "provisioning_credentials": []any{},
		"directory_by_first_name": false, "announce_recording": false}, st)

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
		{"relay with a port in its host", map[string]any{"smtp": map[string]any{"host": "mail.example.com:587", "from": "pbx@example.com"}}, "smtp.host", "host"},
		{"relay without a from address", map[string]any{"smtp": map[string]any{"host": "mail.example.com"}}, "smtp.from", "email"},
		{"a password in clear", map[string]any{"smtp": map[string]any{"host": "mail.example.com", "from": "pbx@example.com",
			"username": "pbx", "password": "x"}}, "smtp.starttls", "required"},
		{"a link base that is no URL", map[string]any{"public_url": "pbx.example.com"}, "public_url", "url"},
	} {
		var apiErr struct{ Field, Rule string }
		e.api.must(http.MethodPatch, "/api/v1/settings", tc.body, http.StatusBadRequest, &apiErr)
		require.Equal(t, tc.field, apiErr.Field, tc.name)
		require.Equal(t, tc.rec, apiErr.Rule, tc.name)
	}
	e.api.must(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &st)
	require.Equal(t, 2.0, st["external_calls_concurrent"], "a refused change stores nothing")
	smtp := map[string]any{"host": "mail.example.com", "port": 587, "starttls": true, "username": "pbx",
		"password": "relay-secret", "from": "PBX <pbx@example.com>"}
	code, body := e.api.do(http.MethodPatch, "/api/v1/settings", map[string]any{"smtp": smtp, "public_url": "https://pbx.example.com/"})
	require.Equal(t, http.StatusOK, code, string(body))
	require.NotContains(t, string(body), "relay-secret", "the relay's password never comes back")
	e.api.must(http.MethodGet, "/api/v1/settings", nil, http.StatusOK, &st)
	require.Equal(t, map[string]any{"host": "mail.example.com", "port": 587.0, "starttls": true, "username": "pbx",
		"has_password": true, "from": "PBX <pbx@example.com>"}, st["smtp"])
	require.Equal(t, "https://pbx.example.com", st["public_url"])

	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{
		"external_calls_concurrent": 1, "feature_codes": map[string]any{"own_voicemail": "*86"},
	}, http.StatusOK, &st)
	require.Equal(t, 1.0, st["external_calls_concurrent"])
	requireVoicemail(t, call(t, e, "1002a", "secret-1002a", "*86"))
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

// respond builds a response to a request inside a dialog (To already
// tagged), copying what RFC 3261 §8.2.6.2 says to copy.
func respond(req sipMessage, code int, reason string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, h := range req.Headers {
		switch strings.ToLower(h.Name) {
		case "via", "from", "to", "call-id", "cseq", "record-route":
			fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// inDialog builds a request inside the dialog of a call: from is the
// sender's From (with its tag), to the other end's, route the Route set.
func inDialog(c *sipConn, method, target, route, from, to, callID string, cseq int, body string) string {
	ip, port := c.localAddr().IP.String(), c.localAddr().Port
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nRoute: %s\r\nMax-Forwards: 70\r\n",
		method, target, ip, port, newBranch(), route)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", from, to, callID, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:x@%s:%d>\r\n", ip, port)
	if method == "REFER" {
		b.WriteString("Refer-To: <sip:1003@" + testDomain + ">\r\n")
	}
	if method == "NOTIFY" {
		b.WriteString("Event: refer\r\nSubscription-State: active;expires=60\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	} else {
		b.WriteString("Content-Length: 0\r\n\r\n")
	}
	return b.String()
}

// Requests inside an answered call follow the Record-Route both ways: a
// re-INVITE putting the call on hold and its ACK, UPDATE, INFO, and the
// REFER and NOTIFY of a phone's transfer key, then the BYE.
func TestE2EInDialogRequestsFollowTheRecordRoute(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	phone := registerPhone(t, e, "1001a", "secret-1001a")
	caller := dialSIP(t, "127.0.0.1", e.sipAddr())

	done := make(chan sipMessage, 1)
	go func() { done <- callFrom(t, caller, "1002a", "secret-1002a", "1001") }()
	inv := answerInvite(t, phone)
	ok := <-done
	require.Equal(t, 200, ok.Status())

	rr, _ := ok.Header("Record-Route")
	callerFrom, _ := ok.Header("From")
	callerTo, _ := ok.Header("To") // tagged by the phone
	callID, _ := ok.Header("Call-ID")
	phoneTarget := fmt.Sprintf("sip:1001a@127.0.0.1:%d", phone.localAddr().Port)
	callerTarget := fmt.Sprintf("sip:1002a@127.0.0.1:%d", caller.localAddr().Port)

	hold := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"
	cseq := 10
	for _, method := range []string{"INVITE", "UPDATE", "INFO", "REFER"} {
		cseq++
		body := ""
		if method == "INVITE" {
			body = hold
		}
		caller.send([]byte(inDialog(caller, method, phoneTarget, rr, callerFrom, callerTo, callID, cseq, body)))
		req, got := phone.recv(3 * time.Second)
		require.True(t, got, "the phone gets the %s", method)
		require.Equal(t, method+" "+phoneTarget+" SIP/2.0", req.First)
		mf, _ := req.Header("Max-Forwards")
		require.Equal(t, "69", mf, "the proxy counts its hop")
		if method == "INVITE" {
			require.Contains(t, req.Raw, "a=sendonly", "the hold offer arrives whole")
		}
		if method == "REFER" {
			referTo, _ := req.Header("Refer-To")
			require.Contains(t, referTo, "sip:1003@")
		}
		code, reason := 200, "OK"
		if method == "REFER" {
			code, reason = 202, "Accepted"
		}
		phone.send([]byte(respond(req, code, reason)))
		res, got := caller.recv(3 * time.Second)
		require.True(t, got, "the caller gets the answer to its %s", method)
		require.Equal(t, code, res.Status(), res.First)
		cs, _ := res.Header("CSeq")
		require.Equal(t, fmt.Sprintf("%d %s", cseq, method), cs)
		if method == "INVITE" {
			caller.send([]byte(inDialog(caller, "ACK", phoneTarget, rr, callerFrom, callerTo, callID, cseq, "")))
			ack, got := phone.recv(3 * time.Second)
			require.True(t, got, "the phone gets the ACK of the re-INVITE")
			require.True(t, strings.HasPrefix(ack.First, "ACK "), ack.First)
		}
	}

	// The transfer's progress goes the other way, from the phone.
	phoneFrom, phoneTo := callerTo, callerFrom
	phone.send([]byte(inDialog(phone, "NOTIFY", callerTarget, rr, phoneFrom, phoneTo, callID, 1, "")))
	notify, got := caller.recv(3 * time.Second)
	require.True(t, got, "the caller gets the NOTIFY")
	require.Equal(t, "NOTIFY "+callerTarget+" SIP/2.0", notify.First)
	caller.send([]byte(respond(notify, 200, "OK")))
	res, got := phone.recv(3 * time.Second)
	require.True(t, got)
	require.Equal(t, 200, res.Status())

	phone.send([]byte(inDialog(phone, "BYE", callerTarget, rr, phoneFrom, phoneTo, callID, 2, "")))
	bye, got := caller.recv(3 * time.Second)
	require.True(t, got, "the caller gets the BYE")
	require.True(t, strings.HasPrefix(bye.First, "BYE "), bye.First)
	caller.send([]byte(respond(bye, 200, "OK")))
	res, got = phone.recv(3 * time.Second)
	require.True(t, got)
	require.Equal(t, 200, res.Status())
	e.api.waitCalls(0)
	_ = inv
}
