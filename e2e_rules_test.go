package switchboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// call sends an INVITE from phone to dialled, answers the 407 with the
// phone's credentials, and returns the final response (ACKed).
func call(t *testing.T, e *testEngine, phone, password, dialled string) sipMessage {
	t.Helper()
	return callFrom(t, dialSIP(t, "127.0.0.1", e.sipAddr()), phone, password, dialled)
}

// callFrom is call from the socket c, which stays the caller's end of the
// dialog.
func callFrom(t *testing.T, c *sipConn, phone, password, dialled string) sipMessage {
	t.Helper()
	return callFromWithBody(t, c, phone, password, dialled, "")
}

// callFromWithBody is callFrom with sdp (when not empty) as the INVITE's
// offer.
func callFromWithBody(t *testing.T, c *sipConn, phone, password, dialled, sdp string) sipMessage {
	t.Helper()
	ip, port := c.localAddr().IP.String(), c.localAddr().Port
	callID := randomKey(20)
	uri := fmt.Sprintf("sip:%s@%s", dialled, testDomain)
	invite := func(cseq int, branch, authorization string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n", uri, ip, port, branch)
		fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=f%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n", phone, testDomain, callID[:6], uri, callID, cseq)
		fmt.Fprintf(&b, "Contact: <sip:%s@%s:%d>\r\n", phone, ip, port)
		if authorization != "" {
			fmt.Fprintf(&b, "Proxy-Authorization: %s\r\n", authorization)
		}
		if sdp != "" {
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
		return b.String()
	}
	ack := func(cseq int, branch string, res sipMessage) {
		to, _ := res.Header("To")
		c.send([]byte(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@%s>;tag=f%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
			uri, ip, port, branch, phone, testDomain, callID[:6], to, callID, cseq)))
	}
	final := func(branch string, cseq int) sipMessage {
		for {
			res, ok := c.recv(5 * time.Second)
			require.True(t, ok, "no final answer to the INVITE for %s", dialled)
			if res.Status() >= 200 {
				ack(cseq, branch, res)
				return res
			}
		}
	}
	b1 := newBranch()
	c.send([]byte(invite(1, b1, "")))
	challenge := final(b1, 1)
	require.Equal(t, 407, challenge.Status())
	h, ok := challenge.Header("Proxy-Authenticate")
	require.True(t, ok)
	realm, nonce := realmParam.FindStringSubmatch(h)[1], nonceParam.FindStringSubmatch(h)[1]
	ha1 := md5Hex(phone + ":" + realm + ":" + password)
	ha2 := md5Hex("INVITE:" + uri)
	cnonce := randomKey(8)
	response := md5Hex(ha1 + ":" + nonce + ":00000001:" + cnonce + ":auth:" + ha2)
	b2 := newBranch()
	c.send([]byte(invite(2, b2, fmt.Sprintf(
		`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, cnonce="%s", qop=auth, nc=00000001`,
		phone, realm, nonce, uri, response, cnonce))))
	return final(b2, 2)
}

// Calls go where the callee's answering rules, the dial plan and the deny
// list say, with the answer a caller would hear.
func TestE2ECallFollowsAnsweringRules(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.api.createUser("1003", map[string]any{"first_name": "Alan", "last_name": "Turing"})

	// 1001's phone is registered (and would ring without the rule).
	phone := dialSIP(t, "127.0.0.1", e.sipAddr())
	reg := newDigestClient(phone, "1001a", "secret-1001a")
	reg.challenge(t)
	require.Equal(t, 200, phone.exchange(reg.authorized("secret-1001a")).Status())

	// 1001 is on do not disturb: straight to voicemail, which has no
	// voice application yet (480), without ringing anything.
	var rules struct {
		AnsweringRules []struct {
			ID int64 `json:"id"`
		} `json:"answering_rules"`
	}
	e.api.must(http.MethodGet, "/api/v1/users/1001/answering-rules", nil, http.StatusOK, &rules)
	require.Len(t, rules.AnsweringRules, 1)
	e.api.must(http.MethodPatch, fmt.Sprintf("/api/v1/users/1001/answering-rules/%d", rules.AnsweringRules[0].ID),
		map[string]any{"dnd": true}, http.StatusOK, nil)
	// 1003 blocks 1002.
	e.api.must(http.MethodPut, "/api/v1/users/1003/allow-block",
		map[string]any{"allowed": []string{}, "blocked": []string{"1002"}, "block_anonymous": false}, http.StatusOK, nil)

	cases := []struct {
		name, dialled string
		want          int
	}{
		{"do not disturb goes to voicemail", "1001", 200},
		{"blocked caller hears busy", "1003", 486},
		{"unknown extension", "1999", 404},
		{"denied premium-rate prefix", "+8816123456789", 403},
		{"denied after the international prefix too", "011 979 12345678", 403},
		{"external without a trunk", "2125550100", 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := call(t, e, "1002a", "secret-1002a", strings.ReplaceAll(tc.dialled, " ", ""))
			require.Equal(t, tc.want, res.Status(), "answer: %s", res.First)
			if tc.want == 200 {
				requireVoicemail(t, res)
			}
			require.Less(t, time.Since(start), 3*time.Second, "answered at once, nothing rang")
		})
	}
	_, rang := phone.recv(300 * time.Millisecond)
	require.False(t, rang, "do not disturb never rings the phone")

	// Without do not disturb the registered phone rings.
	e.api.must(http.MethodPatch, fmt.Sprintf("/api/v1/users/1001/answering-rules/%d", rules.AnsweringRules[0].ID),
		map[string]any{"dnd": false, "ring_for_s": 1}, http.StatusOK, nil)
	done := make(chan sipMessage, 1)
	go func() { done <- call(t, e, "1002a", "secret-1002a", "1001") }()
	invite, ok := phone.recv(3 * time.Second)
	require.True(t, ok, "the phone rings")
	require.True(t, strings.HasPrefix(invite.First, "INVITE sip:1001a@"), invite.First)
	// Unanswered after ring_for_s: to voicemail, which answers.
	requireVoicemail(t, <-done)
}

// requireVoicemail requires an answer from the engine's voicemail.
func requireVoicemail(t *testing.T, res sipMessage) {
	t.Helper()
	require.Equal(t, 200, res.Status(), "answer: %s", res.First)
	contact, _ := res.Header("Contact")
	require.Contains(t, contact, "sip:voicemail@", "answered by voicemail")
	ct, _ := res.Header("Content-Type")
	require.Equal(t, "application/sdp", ct)
}

// A rule forwarding to a denied destination is refused when it is saved,
// however the number is written.
func TestE2ERuleForwardingToDeniedPrefixRefused(t *testing.T) {
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "area_code": "900"})
	var rule struct {
		ID int64 `json:"id"`
	}
	e.api.must(http.MethodPost, "/api/v1/users/1001/answering-rules", map[string]any{
		"time_frame": "always", "forward_unanswered": map[string]any{"kind": "external", "to": "+12125550100"},
	}, http.StatusCreated, &rule)

	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"satellite", map[string]any{"forward_always": map[string]any{"kind": "external", "to": "+8816123456789"}}, "forward_always.to"},
		{"premium rate after 011", map[string]any{"forward_busy": map[string]any{"kind": "external", "to": "011979123456789"}}, "forward_busy.to"},
		{"7 digits in a premium-rate area code", map[string]any{"forward_offline": map[string]any{"kind": "external", "to": "5550100"}}, "forward_offline.to"},
		{"simultaneous ring", map[string]any{"simring": map[string]any{"include_user": true, "destinations": []any{
			map[string]any{"kind": "external", "to": "+12125550100", "delay_s": 0},
			map[string]any{"kind": "external", "to": "+19005550100", "delay_s": 5},
		}}}, "simring.destinations[1].to"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{http.MethodPost, "/api/v1/users/1001/answering-rules"},
				{http.MethodPatch, fmt.Sprintf("/api/v1/users/1001/answering-rules/%d", rule.ID)},
			} {
				body := map[string]any{}
				for k, v := range tc.body {
					body[k] = v
				}
				if req.method == http.MethodPost {
					body["time_frame"] = "always"
				}
				var apiErr apiError
				e.api.must(req.method, req.path, body, http.StatusBadRequest, &apiErr)
				require.Equal(t, tc.field, apiErr.Field, req.method)
				require.Equal(t, "denied_prefix", apiErr.Rule, req.method)
			}
		})
	}
	var rules struct {
		AnsweringRules []map[string]any `json:"answering_rules"`
	}
	e.api.must(http.MethodGet, "/api/v1/users/1001/answering-rules", nil, http.StatusOK, &rules)
	require.Len(t, rules.AnsweringRules, 2, "nothing refused was stored")
}

// The deny list is the admin's: seeded on first start, editable, and what
// it says applies to the next call.
func TestE2EDenyListAndTrunkAPI(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	var list struct {
		Prefixes []struct {
			Prefix string `json:"prefix"`
		} `json:"prefixes"`
	}
	e.api.must(http.MethodGet, "/api/v1/denied-prefixes", nil, http.StatusOK, &list)
	require.NotEmpty(t, list.Prefixes, "seeded on first start")
	require.Equal(t, 503, call(t, e, "1002a", "secret-1002a", "+442079460958").Status(), "allowed, but no trunk yet")

	e.api.must(http.MethodPut, "/api/v1/denied-prefixes", map[string]any{"prefixes": []any{
		map[string]any{"prefix": "+44", "note": "no calls to the UK"},
	}}, http.StatusOK, &list)
	require.Len(t, list.Prefixes, 1)
	require.Equal(t, 403, call(t, e, "1002a", "secret-1002a", "+442079460958").Status(), "denied from the next call on")

	var trunk map[string]any
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "sip.provider.example", "username": "acct",
		"password": "trunk-secret", "register": true, "inbound_sources": []string{"203.0.113.0/24"}}, http.StatusOK, &trunk)
	require.Equal(t, true, trunk["has_password"])
	require.EqualValues(t, 5060, trunk["port"])
	code, body := e.api.do(http.MethodGet, "/api/v1/trunk", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "trunk-secret")
}
