package switchboard_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/media"
)

// toneTime is how much of pcm carries a tone at freq, mixed with others:
// the 20 ms blocks, not silent, where freq holds at least a fifth of the
// energy.
func toneTime(pcm []int16, freq float64) time.Duration {
	block := media.Samples(20 * time.Millisecond)
	n := 0
	for i := 0; i+block <= len(pcm); i += block {
		b := pcm[i : i+block]
		if media.Level(b) > -50 && media.Goertzel(b, freq) >= 0.2 {
			n += block
		}
	}
	return media.Duration(n)
}

// readDump reads the one WAV file baresip's sndfile module wrote in dir
// whose name ends in suffix ("-dec.wav": what the phone heard). baresip
// completes the file's header when it tears the call down, a moment after
// it reports the call ended: until then the file reads as empty.
func readDump(t *testing.T, dir, suffix string) []int16 {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		files, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
		require.NoError(t, err)
		require.Len(t, files, 1, "one %s dump in %s", suffix, dir)
		b, err := os.ReadFile(files[0])
		require.NoError(t, err)
		pcm, err := media.ReadWAV(bytes.NewReader(b), 0)
		if err == nil && len(pcm) > 0 || time.Now().After(deadline) {
			require.NoError(t, err, "%s", files[0])
			return pcm
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRecordings polls the recordings of ext until there are n.
func (c *apiClient) waitRecordings(ext string, n int, within time.Duration) []apiRecording {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var list apiRecordingList
		c.must(http.MethodGet, "/api/v1/recordings?extension="+ext, nil, http.StatusOK, &list)
		if len(list.Recordings) == n {
			return list.Recordings
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %v, %s has %d recordings, want %d: %+v", within, ext, len(list.Recordings), n, list.Recordings)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A call to a user who records calls is bridged by the engine: two baresip
// phones, the caller offering only µ-law and sending 440 Hz, the callee
// accepting only A-law and sending 600 Hz, each hear the other's tone;
// a key pressed on the caller reaches the callee (RFC 4733 both ways); the
// caller puts the call on hold and takes it back; when the caller's audio file runs out it hangs
// up and the engine hangs up the callee. Both record (the callee's user,
// the caller's phone): the recording, listed for each, holds both tones.
func TestE2EBridgedCallRecorded(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace", "record_calls": true})
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	// The caller records through their phone's record_calls.
	e.api.must(http.MethodPatch, "/api/v1/users/1002/phones/1002a", map[string]any{"record_calls": true}, http.StatusOK, nil)

	dir := t.TempDir()
	callerAudio, calleeAudio := filepath.Join(dir, "caller.wav"), filepath.Join(dir, "callee.wav")
	const callLen = 6 * time.Second
	require.NoError(t, os.WriteFile(callerAudio, media.EncodeWAV(tonePCM(440, callLen)), 0o600))
	require.NoError(t, os.WriteFile(calleeAudio, media.EncodeWAV(tonePCM(600, 3*callLen)), 0o600))
	callerDump, calleeDump := filepath.Join(dir, "caller-dump"), filepath.Join(dir, "callee-dump")
	require.NoError(t, os.Mkdir(callerDump, 0o700))
	require.NoError(t, os.Mkdir(calleeDump, 0o700))

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	callee := startBaresipPhoneWith(ctx, t, e, "1001a", "secret-1001a", "auto", "bridge_config.tmpl",
		map[string]any{"Audio": calleeAudio, "Dump": calleeDump, "Codecs": "PCMA"})
	caller := startBaresipPhoneWith(ctx, t, e, "1002a", "secret-1002a", "manual", "bridge_config.tmpl",
		map[string]any{"Audio": callerAudio, "Dump": callerDump, "Codecs": "PCMU"})
	e.api.waitRegistrations(15*time.Second, "both baresip phones", func(r []apiRegistration) bool { return len(r) == 2 })

	caller.command(t, "/dial 1001")
	caller.waitOutput(t, 10*time.Second, "Call established: sip:1001@"+testDomain)
	callee.waitOutput(t, 10*time.Second, "Call established: sip:1002a@"+testDomain)
	waitMetric(t, e, 2*time.Second, 1, "switchboard_bridges_active")
	calls := e.api.calls()
	require.Len(t, calls, 1)

	established := time.Now()
	time.Sleep(time.Second)
	caller.command(t, "/sndcode 5")
	callee.waitOutput(t, 3*time.Second, "received event: '5' (end=1)")

	// Hold and resume, late in the call: baresip 1.0 stops writing what
	// it hears to its dump once it has held a call, so the tones are
	// checked on what comes before. The engine answers the hold with
	// recvonly (nothing is sent to the holder) and the resume with
	// sendrecv; the callee keeps hearing the caller throughout.
	time.Sleep(time.Until(established.Add(3500 * time.Millisecond)))
	caller.command(t, "/hold")
	caller.waitOutput(t, 2*time.Second, "a=recvonly")
	time.Sleep(500 * time.Millisecond)
	caller.command(t, "/resume")
	time.Sleep(300 * time.Millisecond)
	require.GreaterOrEqual(t, e.api.metric("switchboard_sip_requests_total", "method", "INVITE"), 3.0,
		"the hold and resume re-INVITEs reached the engine")

	// The caller's file runs out: it hangs up, and the engine hangs up the
	// callee.
	caller.waitOutput(t, 15*time.Second, "Call with sip:1001@"+testDomain+" terminated")
	callee.waitOutput(t, 5*time.Second, "Call with sip:1002a@"+testDomain+" terminated")
	require.NotContains(t, callee.out.String(), "call: terminate call", "the callee did not hang up itself")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_bridges_active")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_sip_calls_in_progress")
	require.Greater(t, e.api.metric("switchboard_bridge_packets_transcoded_total"), 100.0, "µ-law on one leg, A-law on the other")

	// Each phone heard the other's tone (transcoded both ways).
	heardByCallee := toneTime(readDump(t, calleeDump, "-dec.wav"), 440)
	heardByCaller := toneTime(readDump(t, callerDump, "-dec.wav"), 600)
	t.Logf("callee heard 440 Hz for %v, caller heard 600 Hz for %v", heardByCallee, heardByCaller)
	require.Greater(t, heardByCallee, callLen-time.Second, "the callee heard the caller all along, hold included")
	require.Greater(t, heardByCaller, 2500*time.Millisecond, "the caller heard the callee until the hold")

	recs := e.api.waitRecordings("1001", 1, 5*time.Second)
	r := recs[0]
	require.Equal(t, "1002", r.CallerNumber)
	require.Equal(t, "1001", r.Callee)
	// Both parties record: one WAV, listed for each.
	theirs := e.api.waitRecordings("1002", 1, 5*time.Second)[0]
	require.Equal(t, r.CallID, theirs.CallID)
	require.Equal(t, r.SizeBytes, theirs.SizeBytes)
	require.NotEqual(t, r.ID, theirs.ID)
	require.InDelta(t, callLen.Seconds(), float64(r.DurationS), 3)
	code, wav := e.api.raw(http.MethodGet, "/api/v1/recordings/"+strconv.FormatInt(r.ID, 10)+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	pcm, err := media.ReadWAV(bytes.NewReader(wav), 0)
	require.NoError(t, err)
	both440, both600 := toneTime(pcm, 440), toneTime(pcm, 600)
	t.Logf("recording %v: 440 Hz for %v, 600 Hz for %v", media.Duration(len(pcm)), both440, both600)
	require.Greater(t, both440, 2*time.Second, "the caller's side is in the recording")
	require.Greater(t, both600, 2*time.Second, "the callee's side is in the recording")
}

// With announce_recording on, both parties of a recorded call hear "this
// call may be recorded" before they hear each other.
func TestE2EBridgedCallAnnouncesRecording(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{"announce_recording": true}, http.StatusOK, nil)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "record_calls": true})
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	dir := t.TempDir()
	callerAudio, calleeAudio := filepath.Join(dir, "caller.wav"), filepath.Join(dir, "callee.wav")
	require.NoError(t, os.WriteFile(callerAudio, media.EncodeWAV(tonePCM(440, 5*time.Second)), 0o600))
	require.NoError(t, os.WriteFile(calleeAudio, media.EncodeWAV(tonePCM(600, 15*time.Second)), 0o600))
	callerDump, calleeDump := filepath.Join(dir, "caller-dump"), filepath.Join(dir, "callee-dump")
	require.NoError(t, os.Mkdir(callerDump, 0o700))
	require.NoError(t, os.Mkdir(calleeDump, 0o700))

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	callee := startBaresipPhoneWith(ctx, t, e, "1001a", "secret-1001a", "auto", "bridge_config.tmpl",
		map[string]any{"Audio": calleeAudio, "Dump": calleeDump})
	caller := startBaresipPhoneWith(ctx, t, e, "1002a", "secret-1002a", "manual", "bridge_config.tmpl",
		map[string]any{"Audio": callerAudio, "Dump": callerDump})
	e.api.waitRegistrations(15*time.Second, "both baresip phones", func(r []apiRegistration) bool { return len(r) == 2 })
	caller.command(t, "/dial 1001")
	caller.waitOutput(t, 15*time.Second, "Call with sip:1001@"+testDomain+" terminated")
	callee.waitOutput(t, 5*time.Second, "session closed: Connection reset by peer")
	waitMetric(t, e, 3*time.Second, 0, "switchboard_bridges_active")

	// What each heard first is speech, not the other's tone; the tone
	// follows.
	for _, side := range []struct {
		dump string
		tone float64
	}{{callerDump, 600}, {calleeDump, 440}} {
		pcm := readDump(t, side.dump, "-dec.wav")
		first := media.Samples(1200 * time.Millisecond)
		require.Greater(t, len(pcm), 2*first)
		require.Greater(t, media.Level(pcm[:first]), -40.0, "%s: something was said at first", side.dump)
		require.Less(t, toneTime(pcm[:first], side.tone), 400*time.Millisecond, "%s: not the other party yet", side.dump)
		require.Greater(t, toneTime(pcm[first:], side.tone), time.Second, "%s: then the other party", side.dump)
	}
	e.api.waitRecordings("1001", 1, 5*time.Second)
}
