package switchboard_test

// End-to-end tests of what the answering rules make the proxy do, as the
// phones see it: sipp processes registered as the users' phones record in
// their traces every message and when it came, and the assertions read
// those traces.

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// timingSlack is how far a ring may be from the moment its rule says.
const timingSlack = 300 * time.Millisecond

// sippPhone is a sipp process answering calls on a registered phone's
// contact.
type sippPhone struct {
	name string
	done chan sippResult
	res  *sippResult
}

// registerPhone creates the phone name of user ext and registers it with
// sipp from a port of its own; the run returned answers on that port.
func (e *testEngine) registerPhone(t *testing.T, ext, name string) sippRun {
	t.Helper()
	password := "secret-" + name
	e.addPhone(t, ext, name, password)
	r := sippRun{User: name, Password: password, Expires: 300, Port: freePort(t, "127.0.0.1")}
	e.register(t, r)
	return r
}

// answer starts scenario on the phone's registered port and returns once
// sipp listens there, so that no INVITE finds the port closed. The test
// ends only after sipp has (a test that fails early waits for sipp's own
// timeout), and the traces of every phone are logged when it failed.
func (e *testEngine) answer(t *testing.T, r sippRun, scenario string) *sippPhone {
	t.Helper()
	r.Scenario = scenario
	p := &sippPhone{name: r.User, done: make(chan sippResult, 1)}
	go func() { p.done <- runSipp(t, e.sipAddr(), r) }()
	t.Cleanup(func() {
		if p.res == nil {
			select {
			case r := <-p.done:
				p.res = &r
			case <-time.After(40 * time.Second):
			}
		}
		if t.Failed() && p.res != nil {
			t.Logf("phone %s output:\n%s\nmessages:\n%s", p.name, p.res.Output, p.res.dump())
		}
	})
	waitUDPListener(t, r.Port)
	return p
}

// result waits for the phone's sipp to end and requires that it played its
// scenario through.
func (p *sippPhone) result(t *testing.T) sippResult {
	t.Helper()
	if p.res == nil {
		select {
		case r := <-p.done:
			p.res = &r
		case <-time.After(40 * time.Second):
			t.Fatalf("phone %s: sipp did not end", p.name)
		}
	}
	requireSippOK(t, *p.res)
	return *p.res
}

// waitUDPListener waits until a socket is bound to 127.0.0.1:port over
// UDP, as /proc/net/udp lists them.
func waitUDPListener(t *testing.T, port int) {
	t.Helper()
	local := fmt.Sprintf("0100007F:%04X", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.Open("/proc/net/udp")
		if err != nil {
			// Not Linux: give sipp the time it takes to start.
			time.Sleep(500 * time.Millisecond)
			return
		}
		sc := bufio.NewScanner(f)
		found := false
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) > 1 && fields[1] == local {
				found = true
			}
		}
		f.Close()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on 127.0.0.1:%d after 5s", port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setDefaultRule changes the user's only answering rule, the default one.
func (e *testEngine) setDefaultRule(t *testing.T, ext string, fields map[string]any) {
	t.Helper()
	var rules struct {
		AnsweringRules []struct {
			ID int64 `json:"id"`
		} `json:"answering_rules"`
	}
	e.api.must(http.MethodGet, "/api/v1/users/"+ext+"/answering-rules", nil, http.StatusOK, &rules)
	require.Len(t, rules.AnsweringRules, 1)
	e.api.must(http.MethodPatch, fmt.Sprintf("/api/v1/users/%s/answering-rules/%d", ext, rules.AnsweringRules[0].ID),
		fields, http.StatusOK, nil)
}

// callWithSipp places a call from a phone with uac_call_rings.xml, which
// takes any number of 180s before the 200, and requires it connected.
func callWithSipp(t *testing.T, e *testEngine, phone, dialled string) sippResult {
	t.Helper()
	res := runSipp(t, e.sipAddr(), sippRun{Scenario: "uac_call_rings.xml", User: phone, Password: "secret-" + phone,
		Keys: map[string]string{"dialled": dialled}})
	requireSippOK(t, res)
	return res
}

// isRequest reports whether m is a request of method.
func isRequest(m sipMessage, method string) bool { return strings.HasPrefix(m.First, method+" ") }

// cseqMethod is the method of m's CSeq.
func cseqMethod(m sipMessage) string {
	cs, _ := m.Header("CSeq")
	f := strings.Fields(cs)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// receivedRequests returns the requests of method sipp received.
func receivedRequests(r sippResult, method string) []sipMessage {
	var out []sipMessage
	for _, m := range r.Received() {
		if isRequest(m, method) {
			out = append(out, m)
		}
	}
	return out
}

// onlyRequest requires that sipp received exactly one request of method and
// returns it.
func onlyRequest(t *testing.T, r sippResult, method string) sipMessage {
	t.Helper()
	got := receivedRequests(r, method)
	require.Len(t, got, 1, "%s requests received:\n%s", method, r.dump())
	require.False(t, got[0].At.IsZero(), "no time in the trace for:\n%s", got[0].Raw)
	return got[0]
}

// findResponse returns the first response with code to a request of method
// that sipp sent (sent) or received.
func findResponse(t *testing.T, r sippResult, sent bool, code int, method string) sipMessage {
	t.Helper()
	for _, m := range r.Messages {
		if m.Sent == sent && m.Status() == code && cseqMethod(m) == method {
			require.False(t, m.At.IsZero(), "no time in the trace for:\n%s", m.Raw)
			return m
		}
	}
	t.Fatalf("no %d to %s (sent %v) in:\n%s", code, method, sent, r.dump())
	return sipMessage{}
}

// authorizedInvite returns the INVITE with credentials a sipp caller sent.
func authorizedInvite(t *testing.T, r sippResult) sipMessage {
	t.Helper()
	for _, m := range r.Messages {
		if _, ok := m.Header("Proxy-Authorization"); m.Sent && isRequest(m, "INVITE") && ok {
			return m
		}
	}
	t.Fatalf("the caller sent no INVITE with credentials:\n%s", r.dump())
	return sipMessage{}
}

// finalCodes lists the final responses to INVITEs that sipp received, the
// challenge of the first INVITE included.
func finalCodes(r sippResult) []int {
	var out []int
	for _, m := range r.Received() {
		if m.Status() >= 200 && cseqMethod(m) == "INVITE" {
			out = append(out, m.Status())
		}
	}
	return out
}

// requireDelay requires that to comes want after from, within timingSlack.
func requireDelay(t *testing.T, what string, from, to time.Time, want time.Duration) {
	t.Helper()
	got := to.Sub(from)
	t.Logf("%s: %v (want %v ± %v)", what, got.Round(time.Millisecond), want, timingSlack)
	require.InDelta(t, float64(want), float64(got), float64(timingSlack), "%s: %v, want %v", what, got, want)
}

// requireAnsweredBy requires that the caller's 200 is the one phone sent.
func requireAnsweredBy(t *testing.T, caller, phone sippResult) {
	t.Helper()
	ok := findResponse(t, caller, false, 200, "INVITE")
	sent := findResponse(t, phone, true, 200, "INVITE")
	got, _ := ok.Header("To")
	want, _ := sent.Header("To")
	require.Equal(t, want, got, "the caller is connected to the phone that answered")
}

// A simultaneous ring with delays: the user's own phone rings at once, the
// colleague (a user destination) after its delay_s of 1 and the desk phone
// (a handset destination) after its delay_s of 2; the desk phone answers and
// the others are told the call was completed elsewhere.
func TestE2EPlanSimRingDelays(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	own := e.registerPhone(t, "1001", "1001a")
	colleague := e.registerPhone(t, "1003", "1003a")
	desk := e.registerPhone(t, "1004", "1004a")
	e.api.registrationsLen(3)
	e.setDefaultRule(t, "1001", map[string]any{"ring_for_s": 10, "simring": map[string]any{
		"include_user": false, "ring_all_phones": true, "destinations": []any{
			map[string]any{"kind": "user", "to": "1003", "delay_s": 1, "confirm": false},
			map[string]any{"kind": "handset", "to": "1004a", "delay_s": 2, "confirm": false},
		},
	}})

	ownPhone := e.answer(t, own, "uas_cancelled.xml")
	colleaguePhone := e.answer(t, colleague, "uas_cancelled.xml")
	deskPhone := e.answer(t, desk, "uas_answer.xml")
	caller := callWithSipp(t, e, "1002a", "1001")
	ownRes, colleagueRes, deskRes := ownPhone.result(t), colleaguePhone.result(t), deskPhone.result(t)

	sent := authorizedInvite(t, caller)
	first := onlyRequest(t, ownRes, "INVITE")
	requireDelay(t, "1001a (no delay) rings after the caller's INVITE", sent.At, first.At, 0)
	requireDelay(t, "1003a (user 1003, delay_s 1) rings after 1001a",
		first.At, onlyRequest(t, colleagueRes, "INVITE").At, time.Second)
	requireDelay(t, "1004a (handset, delay_s 2) rings after 1001a",
		first.At, onlyRequest(t, deskRes, "INVITE").At, 2*time.Second)

	// The desk phone's answer (a second after it rang) reached the caller;
	// the other two were cancelled when it came, as completed elsewhere
	// (uas_cancelled.xml checks the Reason). The stamps of two sipp
	// processes can be out of order by a fraction of a millisecond, so
	// "when" is the answer's time give or take timingSlack.
	requireAnsweredBy(t, caller, deskRes)
	answered := findResponse(t, deskRes, true, 200, "INVITE").At
	for name, r := range map[string]sippResult{"1001a": ownRes, "1003a": colleagueRes} {
		requireDelay(t, "CANCEL at "+name+" after 1004a answered", answered, onlyRequest(t, r, "CANCEL").At, 0)
	}
	require.Equal(t, []int{407, 200}, finalCodes(caller))
}

// Unanswered for ring_for_s: the phone is cancelled as a missed call and
// the call goes to the forward_unanswered target, another user, whose phone
// rings ring_for_s after the first ring and answers.
func TestE2EPlanUnansweredForwards(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	own := e.registerPhone(t, "1001", "1001a")
	colleague := e.registerPhone(t, "1003", "1003a")
	e.api.registrationsLen(2)
	e.setDefaultRule(t, "1001", map[string]any{"ring_for_s": 2,
		"forward_unanswered": map[string]any{"kind": "user", "to": "1003"}})

	ownPhone := e.answer(t, own, "uas_ring_cancel.xml")
	colleaguePhone := e.answer(t, colleague, "uas_answer.xml")
	caller := callWithSipp(t, e, "1002a", "1001")
	ownRes, colleagueRes := ownPhone.result(t), colleaguePhone.result(t)

	first := onlyRequest(t, ownRes, "INVITE")
	requireDelay(t, "1001a rings after the caller's INVITE", authorizedInvite(t, caller).At, first.At, 0)
	cancel := onlyRequest(t, ownRes, "CANCEL")
	requireDelay(t, "1001a is cancelled after ring_for_s 2", first.At, cancel.At, 2*time.Second)
	reason, _ := cancel.Header("Reason")
	require.NotContains(t, reason, "cause=200", "an unanswered phone shows a missed call")
	requireDelay(t, "1003a (forward_unanswered) rings after 1001a", first.At, onlyRequest(t, colleagueRes, "INVITE").At, 2*time.Second)

	requireAnsweredBy(t, caller, colleagueRes)
	require.Equal(t, []int{407, 200}, finalCodes(caller), "the caller hears no failure before the forward answers")
}

// Every phone of the user busy (486): the call goes to the forward_busy
// target at once, long before the ring time, and the caller never hears
// busy.
func TestE2EPlanBusyForwards(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	deskA := e.registerPhone(t, "1001", "1001a")
	deskB := e.registerPhone(t, "1001", "1001b")
	colleague := e.registerPhone(t, "1003", "1003a")
	e.api.registrationsLen(3)
	e.setDefaultRule(t, "1001", map[string]any{"ring_for_s": 10,
		"forward_busy": map[string]any{"kind": "user", "to": "1003"}})

	phoneA := e.answer(t, deskA, "uas_busy.xml")
	phoneB := e.answer(t, deskB, "uas_busy.xml")
	colleaguePhone := e.answer(t, colleague, "uas_answer.xml")
	caller := callWithSipp(t, e, "1002a", "1001")
	resA, resB, colleagueRes := phoneA.result(t), phoneB.result(t), colleaguePhone.result(t)

	// Both phones rang (and got the ACK of their 486, or sipp would have
	// failed); the colleague's phone rang only once both had answered busy.
	busyA := findResponse(t, resA, true, 486, "INVITE").At
	busyB := findResponse(t, resB, true, 486, "INVITE").At
	lastBusy := busyA
	if busyB.After(lastBusy) {
		lastBusy = busyB
	}
	forwarded := onlyRequest(t, colleagueRes, "INVITE").At
	require.True(t, forwarded.After(lastBusy), "1003a rang at %v, before the last 486 at %v", forwarded, lastBusy)
	requireDelay(t, "1003a (forward_busy) rings after the last 486", lastBusy, forwarded, 0)

	requireAnsweredBy(t, caller, colleagueRes)
	require.Equal(t, []int{407, 200}, finalCodes(caller), "the caller never hears busy")
}

// No phone of the user registered: the call goes to the forward_offline
// target at once.
func TestE2EPlanOfflineForwards(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.addPhone(t, "1001", "1001a", "secret-1001a") // never registered
	colleague := e.registerPhone(t, "1003", "1003a")
	e.api.registrationsLen(1)
	require.Empty(t, e.api.registrationsOf("1001"))
	e.setDefaultRule(t, "1001", map[string]any{"ring_for_s": 10,
		"forward_offline": map[string]any{"kind": "user", "to": "1003"}})

	colleaguePhone := e.answer(t, colleague, "uas_answer.xml")
	caller := callWithSipp(t, e, "1002a", "1001")
	colleagueRes := colleaguePhone.result(t)

	invite := onlyRequest(t, colleagueRes, "INVITE")
	requireDelay(t, "1003a (forward_offline) rings after the caller's INVITE", authorizedInvite(t, caller).At, invite.At, 0)
	require.True(t, strings.HasPrefix(invite.First, "INVITE sip:1003a@"), invite.First)
	requireAnsweredBy(t, caller, colleagueRes)
	require.Equal(t, []int{407, 200}, finalCodes(caller))
}

// Do not disturb lets through the numbers the user allows: an allowed
// colleague rings the phone while another does not.
func TestE2EPlanAllowedCallersPassDND(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.addPhone(t, "1003", "1003a", "secret-1003a")
	own := e.registerPhone(t, "1001", "1001a")
	e.api.registrationsLen(1)
	e.setDefaultRule(t, "1001", map[string]any{"dnd": true})
	e.api.must(http.MethodPut, "/api/v1/users/1001/allow-block",
		map[string]any{"allowed": []string{"1002"}, "blocked": []string{}, "block_anonymous": false}, http.StatusOK, nil)

	// The phone answers one call: the allowed one.
	phone := e.answer(t, own, "uas_answer.xml")

	// 1003 is not allowed: voicemail answers, without ringing anything.
	start := time.Now()
	res := call(t, e, "1003a", "secret-1003a", "1001")
	requireVoicemail(t, res)
	require.Less(t, time.Since(start), 2*time.Second, "answered at once")

	caller := callWithSipp(t, e, "1002a", "1001")
	phoneRes := phone.result(t)
	invite := onlyRequest(t, phoneRes, "INVITE")
	from, _ := invite.Header("From")
	require.Contains(t, from, "sip:1002a@", "the one call that rang is the allowed caller's")
	requireDelay(t, "1001a rings after the allowed caller's INVITE", authorizedInvite(t, caller).At, invite.At, 0)
	requireAnsweredBy(t, caller, phoneRes)
}

// trunkInvite is an INVITE as the provider sends it, with the From given.
func trunkInvite(c *sipConn, to, from string) string {
	ip, port := c.localAddr().IP.String(), c.localAddr().Port
	callID := randomKey(16)
	return fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: %s;tag=p%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:%s:%d>\r\nContent-Length: 0\r\n\r\n",
		to, testDomain, ip, port, newBranch(), from, callID[:6], to, testDomain, callID, ip, port)
}

// trunkCall sends an INVITE from the provider's socket and returns its
// final response, ACKed as RFC 3261 §17.1.1.3 says.
func trunkCall(t *testing.T, provider *sipConn, to, from string) sipMessage {
	t.Helper()
	invite := trunkInvite(provider, to, from)
	provider.send([]byte(invite))
	res := finalAnswer(t, provider)
	req := parseSIPMessage(invite, true)
	var b strings.Builder
	fmt.Fprintf(&b, "ACK %s SIP/2.0\r\n", strings.Fields(req.First)[1])
	for _, h := range []struct {
		name string
		m    sipMessage
	}{{"Via", req}, {"Max-Forwards", req}, {"From", req}, {"To", res}, {"Call-ID", req}} {
		v, _ := h.m.Header(h.name)
		fmt.Fprintf(&b, "%s: %s\r\n", h.name, v)
	}
	b.WriteString("CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
	provider.send([]byte(b.String()))
	return res
}

// Anonymous calls from the provider are refused when the user blocks them,
// without ringing anything, while a caller who shows a number rings the
// phone.
func TestE2EPlanAnonymousRefused(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	own := e.registerPhone(t, "1001", "1001a")
	e.api.registrationsLen(1)
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"phone_number": "+14155550100", "voicemail_enabled": false},
		http.StatusOK, nil)
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.2", "inbound_sources": []string{"127.0.0.2"}},
		http.StatusOK, nil)
	e.api.must(http.MethodPut, "/api/v1/users/1001/allow-block",
		map[string]any{"allowed": []string{}, "blocked": []string{}, "block_anonymous": true}, http.StatusOK, nil)
	provider := dialSIP(t, "127.0.0.2", e.sipAddr())

	// The phone is busy on another call: it answers the one call that
	// reaches it with 486.
	phone := e.answer(t, own, "uas_busy.xml")

	for _, from := range []string{
		`"Anonymous" <sip:anonymous@anonymous.invalid>`,
		`<sip:anonymous@127.0.0.2>`,
		`<sip:127.0.0.2>`,
	} {
		start := time.Now()
		res := trunkCall(t, provider, "+14155550100", from)
		require.Equal(t, 403, res.Status(), "From %s: %s", from, res.First)
		require.Contains(t, res.First, "Anonymous", "refused as anonymous")
		require.Less(t, time.Since(start), 2*time.Second, "refused at once")
	}
	res := trunkCall(t, provider, "+14155550100", `"Bob" <sip:+12125550199@127.0.0.2>`)
	require.Equal(t, 486, res.Status(), "a caller with a number reaches the phone: %s", res.First)

	invite := onlyRequest(t, phone.result(t), "INVITE")
	from, _ := invite.Header("From")
	require.Contains(t, from, "sip:+12125550199@", "the one call that rang is the one with a number")
}

// The caller hangs up while three phones ring: every phone gets a CANCEL
// (without "completed elsewhere": they log a missed call) and answers 487,
// and the caller gets 200 for its CANCEL and 487 for its INVITE.
func TestE2EPlanCallerCancelsEveryBranch(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	var phones []*sippPhone
	var runs []sippRun
	for _, name := range []string{"1001a", "1001b", "1001c"} {
		runs = append(runs, e.registerPhone(t, "1001", name))
	}
	e.api.registrationsLen(3)
	for _, r := range runs {
		phones = append(phones, e.answer(t, r, "uas_ring_cancel.xml"))
	}

	caller := runSipp(t, e.sipAddr(), sippRun{Scenario: "uac_cancel.xml", User: "1002a", Password: "secret-1002a",
		Keys: map[string]string{"dialled": "1001"}})
	requireSippOK(t, caller)
	var cancelSent sipMessage
	for _, m := range caller.Messages {
		if m.Sent && isRequest(m, "CANCEL") {
			cancelSent = m
			break
		}
	}
	require.False(t, cancelSent.At.IsZero(), "the caller sent a CANCEL:\n%s", caller.dump())
	findResponse(t, caller, false, 200, "CANCEL")
	require.Equal(t, []int{407, 487}, finalCodes(caller))

	for _, p := range phones {
		r := p.result(t)
		onlyRequest(t, r, "INVITE")
		cancel := onlyRequest(t, r, "CANCEL")
		reason, _ := cancel.Header("Reason")
		require.NotContains(t, reason, "cause=200", "phone %s: the caller hung up, nobody answered elsewhere", p.name)
		requireDelay(t, "CANCEL at "+p.name+" after the caller's", cancelSent.At, cancel.At, 0)
		findResponse(t, r, true, 487, "INVITE")
		onlyRequest(t, r, "ACK")
	}
	waitMetric(t, e, 2*time.Second, 1, "switchboard_sip_calls_total", "outcome", "cancelled")
	require.Equal(t, 3.0, e.api.metric("switchboard_sip_branches_cancelled_total"))
}
