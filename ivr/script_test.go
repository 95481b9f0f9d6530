package ivr

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/prompts"
)

// testZone is the mailbox users' time zone; testNow is when calls start:
// Thursday 5 March 2026, 10:00 there.
var (
	testZone = time.FixedZone("EST", -5*60*60)
	testNow  = time.Date(2026, time.March, 5, 10, 0, 0, 0, testZone)
)

// render writes a batch the way the tests spell it:
//
//	say: a b      Play without stop keys
//	ask: a b      Play that any key stops
//	play[#0]: a b Play that # and 0 stop
//	wait 5s | record 3m0s/10s/# | discard h | transfer 100 | hangup
//
// Items: a prompt by name, @key for stored audio, rec:h for a recording,
// BEEP, and "..." for a pause.
func render(acts []Action) string {
	parts := make([]string, len(acts))
	for i, a := range acts {
		switch a := a.(type) {
		case Play:
			head := "say"
			switch a.StopKeys {
			case "":
			case AllKeys:
				head = "ask"
			default:
				head = "play[" + a.StopKeys + "]"
			}
			items := make([]string, len(a.Items))
			for j, it := range a.Items {
				switch it.Kind {
				case ItemPrompt:
					items[j] = it.Name
				case ItemAudio:
					items[j] = "@" + it.Name
				case ItemRecording:
					items[j] = "rec:" + it.Name
				case ItemBeep:
					items[j] = "BEEP"
				case ItemSilence:
					items[j] = "..."
				default:
					items[j] = "?" + it.Kind.String()
				}
			}
			parts[i] = head + ": " + strings.Join(items, " ")
		case WaitDigit:
			parts[i] = "wait " + a.Timeout.String()
		case Record:
			parts[i] = fmt.Sprintf("record %v/%v/%s", a.MaxDuration, a.SilenceTimeout, a.StopKeys)
		case Discard:
			parts[i] = "discard " + a.Recording
		case Transfer:
			parts[i] = "transfer " + a.To
		case HangUp:
			parts[i] = "hangup"
		default:
			parts[i] = fmt.Sprintf("?%T", a)
		}
	}
	return strings.Join(parts, " | ")
}

// checkBatch checks what every batch must be: known prompts, well-formed
// items, and the shape the runner relies on (WaitDigit or Record last,
// nothing after an action that ends the call, only Discard once the
// caller is gone).
func checkBatch(t *testing.T, app App, acts []Action, callerGone bool) {
	t.Helper()
	for i, a := range acts {
		last := i == len(acts)-1
		switch a := a.(type) {
		case Play:
			if callerGone {
				t.Errorf("Play after the caller hung up: %s", render(acts))
			}
			if len(a.Items) == 0 {
				t.Errorf("empty Play in %s", render(acts))
			}
			for _, it := range a.Items {
				switch it.Kind {
				case ItemPrompt:
					if _, ok := prompts.WAV(it.Name); !ok {
						t.Errorf("prompt %q does not exist (in %s)", it.Name, render(acts))
					}
				case ItemAudio, ItemRecording:
					if it.Name == "" {
						t.Errorf("audio without a key in %s", render(acts))
					}
				case ItemBeep:
				case ItemSilence:
					if it.Duration <= 0 {
						t.Errorf("empty silence in %s", render(acts))
					}
				default:
					t.Errorf("item of kind %v in %s", it.Kind, render(acts))
				}
			}
			if last && !app.Done() {
				t.Errorf("batch ends with Play: %s", render(acts))
			}
		case WaitDigit, Record:
			if !last {
				t.Errorf("%T before the end of the batch: %s", a, render(acts))
			}
			if app.Done() || callerGone {
				t.Errorf("%T from a finished application: %s", a, render(acts))
			}
		case Transfer, HangUp:
			if !last || !app.Done() || callerGone {
				t.Errorf("%T must end a finished application's batch: %s", a, render(acts))
			}
		case Discard:
			if a.Recording == "" {
				t.Errorf("Discard without a recording: %s", render(acts))
			}
		}
	}
	if !app.Done() && (len(acts) == 0 || !isWait(acts[len(acts)-1])) {
		t.Errorf("running application without a wait: %q", render(acts))
	}
}

func isWait(a Action) bool {
	switch a.(type) {
	case WaitDigit, Record:
		return true
	}
	return false
}

// step is one turn of a conversation: the events the caller causes (nil:
// Start) and the batch that answers the last of them.
type step struct {
	send []Event
	want string
}

// talk runs a conversation and compares every answer.
func talk(t *testing.T, app App, steps []step) {
	t.Helper()
	ctx := context.Background()
	for i, s := range steps {
		var acts []Action
		gone := false
		if s.send == nil {
			acts = app.Start(ctx)
		}
		for j, ev := range s.send {
			if app.Done() {
				t.Fatalf("step %d: event %d (%T) after the end", i, j, ev)
			}
			acts = app.Handle(ctx, ev)
			switch ev := ev.(type) {
			case CallEnded:
				gone = true
			case RecordDone:
				gone = ev.Reason == StopHangUp
			}
			if j < len(s.send)-1 {
				checkBatch(t, app, acts, gone)
			}
		}
		checkBatch(t, app, acts, gone)
		if got := render(acts); got != s.want {
			t.Fatalf("step %d (%s):\n got: %s\nwant: %s", i, describe(s.send), got, s.want)
		}
	}
}

func describe(evs []Event) string {
	if evs == nil {
		return "start"
	}
	var b strings.Builder
	for _, ev := range evs {
		switch ev := ev.(type) {
		case Digit:
			b.WriteRune(ev.Key)
		default:
			fmt.Fprintf(&b, " %T ", ev)
		}
	}
	return b.String()
}

// keys presses each key in turn.
func keys(s string) []Event {
	out := make([]Event, 0, len(s))
	for _, r := range s {
		out = append(out, Digit{Key: r})
	}
	return out
}

var (
	start   []Event = nil
	timeout         = []Event{Timeout{}}
	hangup          = []Event{CallEnded{}}
)

// recorded is a recording of d that stopped for reason (the # key for
// StopKey).
func recorded(handle string, d time.Duration, reason StopReason) []Event {
	rd := RecordDone{Reason: reason, Recording: handle, Duration: d}
	if reason == StopKey {
		rd.Key = '#'
	}
	return []Event{rd}
}

// then joins event lists.
func then(evs ...[]Event) []Event {
	var out []Event
	for _, e := range evs {
		out = append(out, e...)
	}
	return out
}

// words joins prompt-name fragments with spaces, skipping empty ones.
func words(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}
