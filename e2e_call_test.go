package switchboard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A sipp caller calls an extension with two registered sipp phones through
// the engine's proxy: both ring, the one that answers gets the call, the
// other a CANCEL saying it was completed elsewhere, and ACK and BYE follow
// the Record-Route.
func TestE2ECallForksAndConnects(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1001", "1001b", "secret-1001b")
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	answering := sippRun{User: "1001a", Password: "secret-1001a", Expires: 300, Port: freePort(t, "127.0.0.1")}
	ringing := sippRun{User: "1001b", Password: "secret-1001b", Expires: 300, Port: freePort(t, "127.0.0.1")}
	e.register(t, answering)
	e.register(t, ringing)
	e.api.registrationsLen(2)

	answering.Scenario = "uas_answer.xml"
	ringing.Scenario = "uas_cancelled.xml"
	results := make(chan sippResult, 2)
	for _, r := range []sippRun{answering, ringing} {
		go func() { results <- runSipp(t, e.sipAddr(), r) }()
	}
	time.Sleep(500 * time.Millisecond) // the phones' sipp processes bind their ports

	caller := runSipp(t, e.sipAddr(), sippRun{Scenario: "uac_call.xml", User: "1002a", Password: "secret-1002a",
		Keys: map[string]string{"dialled": "1001"}})
	var phones []sippResult
	for range 2 {
		phones = append(phones, <-results)
	}
	defer func() {
		if t.Failed() {
			for _, r := range phones {
				t.Logf("phone output:\n%s\nmessages:\n%s", r.Output, r.dump())
			}
		}
	}()
	requireSippOK(t, caller)
	for _, r := range phones {
		requireSippOK(t, r)
		if strings.Contains(r.Log, "cancel reason") {
			require.Contains(t, r.Log, "cause=200")
		}
	}

	// The caller was challenged first, then connected through our
	// Record-Route.
	got := caller.Received()
	var codes []int
	for _, m := range got {
		codes = append(codes, m.Status())
	}
	require.Contains(t, codes, 407)
	require.Contains(t, codes, 180)
	var ok sipMessage
	for _, m := range got {
		if cs, _ := m.Header("CSeq"); m.Status() == 200 && strings.HasSuffix(cs, "INVITE") {
			ok = m
		}
	}
	rr, found := ok.Header("Record-Route")
	require.True(t, found, "200 OK without Record-Route:\n%s", ok.Raw)
	require.Contains(t, rr, e.sipAddr())
	require.Contains(t, rr, ";lr")
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_total", "outcome", "answered"))
}
