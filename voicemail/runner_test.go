package voicemail

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/ivr"
	"switchboard/media"
)

// A Play's items are heard back to back, an unknown prompt left out; the
// application's HangUp ends the call.
func TestPlayItems(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	f.audio["greeting"] = toneWAV(t, 600, 300*time.Millisecond)
	require.NoError(t, os.WriteFile(f.recs.Path("review"), toneWAV(t, 800, 200*time.Millisecond), 0o600))
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{
		ivr.Play{Items: []ivr.Item{
			ivr.Prompt("goodbye"), ivr.Prompt("no-such-prompt"), ivr.Audio("greeting"), ivr.Audio("missing"),
			ivr.Recorded("review"), ivr.Silence(100 * time.Millisecond), ivr.Beep(),
		}},
		ivr.HangUp{},
	}}}

	require.NoError(t, result(t, f.start(t, context.Background(), app, l, call)))
	hangUps, transfers := call.counts()
	require.Equal(t, 1, hangUps)
	require.Empty(t, transfers)
	events, _ := app.got()
	require.Empty(t, events)

	heard := l.allHeard(t)
	want := promptLen(t, "goodbye") + media.Samples(300*time.Millisecond+200*time.Millisecond+100*time.Millisecond+400*time.Millisecond)
	// One stream without gaps: the phone hears it all, the last frame
	// padded.
	require.InDelta(t, want, len(heard), 160)
	require.InDelta(t, 0.3, media.ToneDuration(heard, 600).Seconds(), 0.05)
	require.InDelta(t, 0.2, media.ToneDuration(heard, 800).Seconds(), 0.05)
	require.InDelta(t, 0.4, media.ToneDuration(heard, 1000).Seconds(), 0.05)
	beep := heard[len(heard)-media.Samples(300*time.Millisecond):]
	require.Greater(t, media.Goertzel(beep, 1000), 0.9)
}

// A key in StopKeys stops a Play and the rest of its batch; another key is
// dropped while the Play goes on.
func TestPlayStopKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{
		{ivr.Play{Items: []ivr.Item{ivr.Silence(5 * time.Second)}, StopKeys: "#0"}, ivr.Play{Items: []ivr.Item{ivr.Beep()}}, ivr.WaitDigit{Timeout: 5 * time.Second}},
		{ivr.WaitDigit{Timeout: 200 * time.Millisecond}},
		{ivr.HangUp{}},
	}}
	done := f.start(t, context.Background(), app, l, call)

	waitFor(t, "the prompt plays", func() bool { return l.phone.Stats().PacketsIn >= 5 })
	l.press(t, "5")
	at := l.phone.Stats().PacketsIn
	waitFor(t, "the prompt goes on", func() bool { return l.phone.Stats().PacketsIn >= at+5 })
	l.press(t, "#")

	require.NoError(t, result(t, done))
	events, _ := app.got()
	// The batch's beep and wait were dropped; 5 was not kept for the next
	// action.
	require.Equal(t, []ivr.Event{ivr.Digit{Key: '#'}, ivr.Timeout{}}, events)
	require.Zero(t, media.ToneDuration(l.allHeard(t), 1000))
}

// A stop key typed before the Play starts stops it before anything is
// heard; other keys typed before it are dropped.
func TestPlayStopKeyTypedAhead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{
		{ivr.Play{Items: []ivr.Item{ivr.Silence(5 * time.Second)}, StopKeys: "#"}, ivr.WaitDigit{Timeout: 5 * time.Second}},
		{ivr.WaitDigit{Timeout: 100 * time.Millisecond}},
	}}
	l.press(t, "1#")
	require.NoError(t, result(t, f.start(t, context.Background(), app, l, call)))
	events, _ := app.got()
	require.Equal(t, []ivr.Event{ivr.Digit{Key: '#'}, ivr.Timeout{}}, events)
	require.Zero(t, l.sess.Stats().PacketsOut)
}

// A Play without StopKeys plays to its end and leaves keys to the next
// action.
func TestPlayTypeAhead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{
		{ivr.Play{Items: []ivr.Item{ivr.Beep()}}, ivr.WaitDigit{Timeout: 5 * time.Second}},
		{ivr.Play{Items: []ivr.Item{ivr.Silence(200 * time.Millisecond)}}, ivr.WaitDigit{Timeout: 5 * time.Second}},
	}}
	l.press(t, "7")
	done := f.start(t, context.Background(), app, l, call)
	waitFor(t, "the beep plays", func() bool { return l.phone.Stats().PacketsIn >= 3 })
	l.press(t, "8")

	require.NoError(t, result(t, done))
	events, _ := app.got()
	require.Equal(t, []ivr.Event{ivr.Digit{Key: '7'}, ivr.Digit{Key: '8'}}, events)
	require.InDelta(t, 0.4, media.ToneDuration(l.allHeard(t), 1000).Seconds(), 0.05, "the whole beep")
}

// WaitDigit times out without a key, takes the next key otherwise, and
// ignores the keys A-D no keypad menu has.
func TestWaitDigit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{
		{ivr.WaitDigit{Timeout: 100 * time.Millisecond}},
		{ivr.WaitDigit{Timeout: 5 * time.Second}},
	}}
	app.onEvent = func(_ context.Context, ev ivr.Event) {
		if _, ok := ev.(ivr.Timeout); ok {
			l.sess.InjectDTMF(media.DTMF{Digit: 'A'})
			l.sess.InjectDTMF(media.DTMF{Digit: '3'})
		}
	}
	require.NoError(t, result(t, f.start(t, context.Background(), app, l, call)))
	events, _ := app.got()
	require.Equal(t, []ivr.Event{ivr.Timeout{}, ivr.Digit{Key: '3'}}, events)
}

// The caller hanging up during a prompt: the application hears of it and
// its last batch runs; nobody hangs up a call the caller ended.
func TestCallerHangsUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	require.NoError(t, os.WriteFile(f.recs.Path("rec9"), toneWAV(t, 800, 100*time.Millisecond), 0o600))
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{
		batches: [][]ivr.Action{{ivr.Play{Items: []ivr.Item{ivr.Silence(10 * time.Second)}, StopKeys: ivr.AllKeys}, ivr.WaitDigit{Timeout: time.Second}}},
		final:   []ivr.Action{ivr.Discard{Recording: "rec9"}},
	}
	done := f.start(t, context.Background(), app, l, call)
	waitFor(t, "the prompt plays", func() bool { return l.phone.Stats().PacketsIn >= 3 })
	call.callerHangsUp()

	require.NoError(t, result(t, done))
	events, live := app.got()
	require.Equal(t, []ivr.Event{ivr.CallEnded{}}, events)
	require.Equal(t, []bool{true}, live)
	require.NoFileExists(t, f.recs.Path("rec9"))
	hangUps, _ := call.counts()
	require.Zero(t, hangUps)
}

// RTP that stops coming ends the call: the runner hangs it up.
func TestRTPTimeoutHangsUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, media.SessionConfig{InactivityTimeout: 300 * time.Millisecond})
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{ivr.WaitDigit{Timeout: 10 * time.Second}}}}

	err := result(t, f.start(t, context.Background(), app, l, call))
	require.ErrorIs(t, err, media.ErrRTPTimeout)
	events, _ := app.got()
	require.Equal(t, []ivr.Event{ivr.CallEnded{}}, events)
	hangUps, _ := call.counts()
	require.Equal(t, 1, hangUps)
}

// Shutdown: Run returns at once, the application hears the call end and
// works under a live context, and the call is hung up.
func TestShutdown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{ivr.Play{Items: []ivr.Item{ivr.Silence(10 * time.Second)}}, ivr.WaitDigit{Timeout: 10 * time.Second}}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := f.start(t, ctx, app, l, call)
	waitFor(t, "the prompt plays", func() bool { return l.phone.Stats().PacketsIn >= 3 })
	cancel()

	require.ErrorIs(t, result(t, done), context.Canceled)
	events, live := app.got()
	require.Equal(t, []ivr.Event{ivr.CallEnded{}}, events)
	require.Equal(t, []bool{true}, live)
	hangUps, _ := call.counts()
	require.Equal(t, 1, hangUps)
}

// Transfer hands the call over: no hang-up. Refused, the call is hung up
// and Run says why.
func TestTransfer(t *testing.T) {
	t.Parallel()
	for _, refused := range []bool{false, true} {
		f := newFixture(t, Config{})
		l := newLine(t, quiet)
		call := newFakeCall()
		if refused {
			call.transferErr = errors.New("486 busy here")
		}
		app := &scriptApp{batches: [][]ivr.Action{{ivr.Play{Items: []ivr.Item{ivr.Silence(40 * time.Millisecond)}}, ivr.Transfer{To: "300"}}}}
		err := result(t, f.start(t, context.Background(), app, l, call))
		hangUps, transfers := call.counts()
		require.Equal(t, []string{"300"}, transfers)
		if refused {
			require.ErrorContains(t, err, "transfer to 300: 486 busy here")
			require.Equal(t, 1, hangUps)
		} else {
			require.NoError(t, err)
			require.Zero(t, hangUps)
		}
	}
}

// An application breaking the protocol ends the call with an error
// rather than hanging the runner.
func TestProtocolViolation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{})
	l := newLine(t, quiet)
	call := newFakeCall()
	app := &scriptApp{batches: [][]ivr.Action{{ivr.Play{Items: []ivr.Item{ivr.Silence(20 * time.Millisecond)}}}}}
	err := result(t, f.start(t, context.Background(), app, l, call))
	require.ErrorContains(t, err, "ends without a wait")
	hangUps, _ := call.counts()
	require.Equal(t, 1, hangUps)
}

func TestNewRunnerNeedsStorage(t *testing.T) {
	_, err := NewRunner(Config{Audio: mapAudio{}})
	require.Error(t, err)
}
