package switchboard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The dial-by-name directory (411) finds only the users announced in it,
// reads the matches in last-name order, * moves to the next one and 1
// connects: the engine places a call through that user's answering rules
// and bridges it with the directory caller. The caller spells L-O-V (568)
// for Lovelace (1001) and Lovett (1004), both announced; Lovejoy (1005)
// matches too but is not announced, so the second match read is Lovett,
// whose phone rings and answers; then it hangs up and the engine hangs
// up on the caller.
func TestE2EDirectoryConnects(t *testing.T) {
	requireTool(t, "sipp")
	requireTool(t, "baresip")
	requireRawSockets(t)
	t.Parallel()
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "announce_in_directory": true})
	e.api.createUser("1004", map[string]any{"first_name": "Bo", "last_name": "Lovett", "announce_in_directory": true})
	e.api.createUser("1005", map[string]any{"first_name": "Cy", "last_name": "Lovejoy", "announce_in_directory": false})
	for _, ext := range []string{"1001", "1004", "1005"} {
		e.addPhone(t, ext, ext+"a", "secret-"+ext+"a")
	}
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	phones := map[string]*baresipPhone{}
	for _, ext := range []string{"1001", "1004", "1005"} {
		phones[ext] = startBaresipPhone(ctx, t, e, ext+"a", "secret-"+ext+"a", "auto")
	}
	e.api.waitRegistrations(15*time.Second, "the three baresip phones", func(r []apiRegistration) bool { return len(r) == 3 })

	// Keys as a caller presses them: L-O-V during the welcome, * while
	// the first match is read, 1 while the second one is.
	keys := newRTPCapture(t)
	keys.keys(time.Second, 250*time.Millisecond, "568")
	keys.key(3500*time.Millisecond, '*')
	keys.key(5500*time.Millisecond, '1')
	caller := make(chan sippResult, 1)
	go func() {
		r := mediaCall(t, "uac_voicemail_capture.xml", "1002a", "411", map[string][]byte{"capture.pcap": keys.bytes()})
		caller <- runSipp(t, e.sipAddr(), r)
	}()

	callee := phones["1004"]
	callee.waitOutput(t, 15*time.Second, "Call established: sip:1002@"+testDomain)
	waitMetric(t, e, 2*time.Second, 1, "switchboard_bridges_active")
	time.Sleep(time.Second)
	callee.command(t, "/hangup")

	var res sippResult
	select {
	case res = <-caller:
	case <-time.After(15 * time.Second):
		t.Fatal("the directory caller's call did not end")
	}
	requireSippOK(t, res)
	var bye bool
	for _, m := range res.Received() {
		bye = bye || strings.HasPrefix(m.First, "BYE ")
	}
	require.True(t, bye, "the engine hung up on the caller when the callee did")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
	for _, ext := range []string{"1001", "1005"} {
		require.NotContains(t, phones[ext].out.String(), "Call established", "%s's phone never rang", ext)
		require.NotContains(t, phones[ext].out.String(), "INVITE sip:", "%s's phone never rang", ext)
	}
	require.Eventually(t, func() bool { return len(e.api.calls()) == 0 }, 2*time.Second, 20*time.Millisecond,
		"the call and the call placed for it are over")
}

// A unique match connects at once with 1: spelling T-U-R (887) finds only
// Turing, whose phone rings and answers; the caller hangs up.
func TestE2EDirectoryUniqueMatch(t *testing.T) {
	requireTool(t, "sipp")
	requireTool(t, "baresip")
	requireRawSockets(t)
	t.Parallel()
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "announce_in_directory": true})
	e.api.createUser("1003", map[string]any{"first_name": "Alan", "last_name": "Turing", "announce_in_directory": true})
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1003", "1003a", "secret-1003a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	other := startBaresipPhone(ctx, t, e, "1001a", "secret-1001a", "auto")
	callee := startBaresipPhone(ctx, t, e, "1003a", "secret-1003a", "auto")
	e.api.waitRegistrations(15*time.Second, "both baresip phones", func(r []apiRegistration) bool { return len(r) == 2 })

	keys := newRTPCapture(t)
	keys.keys(time.Second, 250*time.Millisecond, "887")
	keys.key(3*time.Second, '1')
	r := mediaCall(t, "uac_capture_hangup.xml", "1002a", "411", map[string][]byte{"capture.pcap": keys.bytes()})
	res := runSipp(t, e.sipAddr(), r)
	requireSippOK(t, res)

	callee.waitOutput(t, 5*time.Second, "Call established: sip:1002@"+testDomain)
	callee.waitOutput(t, 5*time.Second, "session closed: Connection reset by peer")
	require.NotContains(t, other.out.String(), "INVITE sip:", "Lovelace's phone never rang")
	waitMetric(t, e, 3*time.Second, 0, "switchboard_bridges_active")
}
