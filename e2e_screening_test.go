package switchboard_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/media"
)

// screenedCall sets up a call to 1001, whose rule screens, from 1002:
// two baresip phones, the caller's microphone saying its "name" (440 Hz
// for the first 10 s, while asked for it) and then talking at 880 Hz, the callee's at 600 Hz; both dump
// what they hear. It returns once the caller has dialled.
type screenedCall struct {
	caller, callee         *baresipPhone
	callerDump, calleeDump string
}

func startScreenedCall(t *testing.T, e *testEngine, calleeAnswer string) screenedCall {
	t.Helper()
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.setDefaultRule(t, "1001", map[string]any{"screening": true})

	dir := t.TempDir()
	sc := screenedCall{callerDump: filepath.Join(dir, "caller-dump"), calleeDump: filepath.Join(dir, "callee-dump")}
	callerAudio, calleeAudio := filepath.Join(dir, "caller.wav"), filepath.Join(dir, "callee.wav")
	talk := append(tonePCM(440, 10*time.Second), tonePCM(880, 25*time.Second)...)
	require.NoError(t, os.WriteFile(callerAudio, media.EncodeWAV(talk), 0o600))
	require.NoError(t, os.WriteFile(calleeAudio, media.EncodeWAV(tonePCM(600, 30*time.Second)), 0o600))
	require.NoError(t, os.Mkdir(sc.callerDump, 0o700))
	require.NoError(t, os.Mkdir(sc.calleeDump, 0o700))

	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Second)
	t.Cleanup(cancel)
	sc.callee = startBaresipPhoneWith(ctx, t, e, "1001a", "secret-1001a", calleeAnswer, "bridge_config.tmpl",
		map[string]any{"Audio": calleeAudio, "Dump": sc.calleeDump})
	sc.caller = startBaresipPhoneWith(ctx, t, e, "1002a", "secret-1002a", "manual", "bridge_config.tmpl",
		map[string]any{"Audio": callerAudio, "Dump": sc.callerDump})
	e.api.waitRegistrations(15*time.Second, "both baresip phones", func(r []apiRegistration) bool { return len(r) == 2 })
	sc.caller.command(t, "/dial 1001")
	// The engine answers the caller at once, to ask their name.
	sc.caller.waitOutput(t, 5*time.Second, "Call established: sip:1001@"+testDomain)
	return sc
}

// The callee accepts with 1: the two are connected and hear each other.
func TestE2EScreeningAccept(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	sc := startScreenedCall(t, e, "auto")
	// The phone rings only once the caller was asked their name and said
	// it (4 s at most): some 10 s. Its user hears who calls, then presses 1.
	sc.callee.waitOutput(t, 20*time.Second, "Call established: sip:1002@"+testDomain)
	time.Sleep(3500 * time.Millisecond)
	sc.callee.command(t, "/sndcode 1")
	waitMetric(t, e, 3*time.Second, 1, "switchboard_bridges_active")
	time.Sleep(3 * time.Second)
	sc.caller.command(t, "/hangup")
	sc.callee.waitOutput(t, 5*time.Second, "Call with sip:1002@"+testDomain+" terminated")
	waitMetric(t, e, 3*time.Second, 0, "switchboard_bridges_active")

	heardByCallee := toneTime(readDump(t, sc.calleeDump, "-dec.wav"), 880)
	heardByCaller := toneTime(readDump(t, sc.callerDump, "-dec.wav"), 600)
	t.Logf("callee heard the caller (880 Hz) for %v, caller heard the callee (600 Hz) for %v", heardByCallee, heardByCaller)
	require.Greater(t, heardByCallee, 2*time.Second, "the caller's voice reaches the callee once accepted")
	require.Greater(t, heardByCaller, 2*time.Second, "the callee's voice reaches the caller once accepted")
	// The callee heard the name (the caller's first 4 s, at 440 Hz) first.
	require.Greater(t, toneTime(readDump(t, sc.calleeDump, "-dec.wav"), 440), time.Second, "the callee heard the caller's name")
	require.Empty(t, e.api.messages("1001", ""))
}

// The callee presses 2: their phone is hung up on and the caller leaves a
// message, which the API lists.
func TestE2EScreeningDecline(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	sc := startScreenedCall(t, e, "auto")
	sc.callee.waitOutput(t, 20*time.Second, "Call established: sip:1002@"+testDomain)
	time.Sleep(time.Second)
	sc.callee.command(t, "/sndcode 2")
	// baresip 1.0 reports a BYE received as the session closed by the
	// peer.
	sc.callee.waitOutput(t, 5*time.Second, "session closed: Connection reset by peer")
	require.NotContains(t, sc.callee.out.String(), "call: terminate call", "the engine hung up the callee")
	// The caller skips the greeting with #, talks after the beep, and
	// hangs up.
	time.Sleep(time.Second)
	sc.caller.command(t, "/sndcode #")
	time.Sleep(4 * time.Second)
	sc.caller.command(t, "/hangup")
	msgs := e.api.waitMessages("1001", 1, 10*time.Second)
	require.Equal(t, "1002", msgs[0].From)
	require.Zero(t, e.api.metric("switchboard_bridges_active"))
}

// The callee hangs up without a key: the caller goes to voicemail.
func TestE2EScreeningCalleeHangsUp(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	sc := startScreenedCall(t, e, "auto")
	sc.callee.waitOutput(t, 20*time.Second, "Call established: sip:1002@"+testDomain)
	time.Sleep(time.Second)
	sc.callee.command(t, "/hangup")
	time.Sleep(time.Second)
	sc.caller.command(t, "/sndcode #")
	time.Sleep(4 * time.Second)
	sc.caller.command(t, "/hangup")
	msgs := e.api.waitMessages("1001", 1, 10*time.Second)
	require.Equal(t, "1002", msgs[0].From)
}

// The caller hangs up while the callee's phone rings: it stops ringing
// with a CANCEL.
func TestE2EScreeningCallerHangsUpWhileRinging(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	sc := startScreenedCall(t, e, "manual")
	sc.callee.waitOutput(t, 20*time.Second, "Incoming call from: ")
	sc.caller.command(t, "/hangup")
	sc.callee.waitOutput(t, 5*time.Second, "CANCEL sip:")
	waitMetric(t, e, 5*time.Second, 0, "switchboard_sip_calls_in_progress")
	require.Empty(t, e.api.messages("1001", ""))
}
