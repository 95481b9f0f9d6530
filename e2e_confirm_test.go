package switchboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/media"
)

// Answer confirmation: 1001's rule rings their own phone and two handsets
// marked confirm. Both handsets answer at once and are asked to press 1:
// 1003a presses 9 and is hung up on while 1001a keeps ringing; 1004a
// presses 1 and wins: the caller is connected to it and 1001a is
// cancelled.
func TestE2EConfirmAnswer(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	for _, ext := range []string{"1001", "1002", "1003", "1004"} {
		e.addPhone(t, ext, ext+"a", "secret-"+ext+"a")
	}
	e.setDefaultRule(t, "1001", map[string]any{"ring_for_s": 25, "simring": map[string]any{
		"include_user": true, "ring_all_phones": true, "destinations": []any{
			map[string]any{"kind": "handset", "to": "1003a", "delay_s": 0, "confirm": true},
			map[string]any{"kind": "handset", "to": "1004a", "delay_s": 0, "confirm": true},
		},
	}})
	dir := t.TempDir()
	audio := filepath.Join(dir, "talk.wav")
	require.NoError(t, os.WriteFile(audio, media.EncodeWAV(tonePCM(440, 25*time.Second)), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	phone := func(name, answer string) *baresipPhone {
		d := filepath.Join(dir, name)
		require.NoError(t, os.Mkdir(d, 0o700))
		return startBaresipPhoneWith(ctx, t, e, name, "secret-"+name, answer, "bridge_config.tmpl",
			map[string]any{"Audio": audio, "Dump": d})
	}
	own, refuses, accepts := phone("1001a", "manual"), phone("1003a", "auto"), phone("1004a", "auto")
	caller := phone("1002a", "manual")
	e.api.waitRegistrations(15*time.Second, "four baresip phones", func(r []apiRegistration) bool { return len(r) == 4 })

	caller.command(t, "/dial 1001")
	own.waitOutput(t, 5*time.Second, "Incoming call from: ")
	refuses.waitOutput(t, 5*time.Second, "Call established: sip:1002a@"+testDomain)
	accepts.waitOutput(t, 5*time.Second, "Call established: sip:1002a@"+testDomain)

	// 1003a refuses: hung up on, and the call goes on ringing elsewhere.
	time.Sleep(time.Second)
	refuses.command(t, "/sndcode 9")
	refuses.waitOutput(t, 5*time.Second, "session closed: Connection reset by peer")
	require.NotContains(t, own.out.String(), "CANCEL sip:", "1001a keeps ringing")
	require.NotContains(t, caller.out.String(), "Call established", "the caller is not connected to an unconfirmed answer")

	// 1004a confirms: the caller is connected to it, 1001a is cancelled.
	accepts.command(t, "/sndcode 1")
	caller.waitOutput(t, 5*time.Second, "Call established: sip:1001@"+testDomain)
	own.waitOutput(t, 5*time.Second, "CANCEL sip:")
	waitMetric(t, e, 3*time.Second, 1, "switchboard_bridges_active")
	calls := e.api.calls()
	require.Len(t, calls, 1)
	require.Equal(t, "1004a", calls[0].AnsweredBy)

	caller.command(t, "/hangup")
	accepts.waitOutput(t, 5*time.Second, "session closed: Connection reset by peer")
	waitMetric(t, e, 3*time.Second, 0, "switchboard_bridges_active")
	require.False(t, strings.Contains(refuses.out.String(), "CANCEL sip:"), "1003a was answered, not cancelled")
}
