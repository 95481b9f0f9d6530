package ivr

import (
	"context"
	"fmt"
	"time"
)

// How long a caller may stay silent, and how many mistakes a menu takes.
const (
	// maxIdle is how many times in a row a prompt may go unanswered: it is
	// repeated once, then the call ends.
	maxIdle = 2
	// maxMisses is how many invalid keys and unanswered prompts in a row
	// end the call.
	maxMisses = 3
	// maxEntry is the most digits an entry (mailbox number, PIN, greeting
	// number) takes; the entry ends by itself there.
	maxEntry = 20
)

// handler takes the event that ended the last batch and returns the next.
type handler func(ctx context.Context, ev Event) []Action

// machine is the engine both applications share: the current handler,
// the end of the call, the recording under review, and the counting of
// unanswered prompts and invalid keys.
type machine struct {
	state   string // the handler's name, for errors
	h       handler
	started bool
	done    bool
	err     error
	// pending is the handle of a recording kept for review: discarded on
	// every way out that does not store it.
	pending    string
	pendingDur time.Duration
	// idle counts prompts in a row that got no key; misses counts those
	// and invalid keys. A valid key resets both.
	idle, misses int

	menuTimeout  time.Duration // for the first key after a prompt
	digitTimeout time.Duration // between the keys of an entry
}

// Done reports whether the application has finished.
func (m *machine) Done() bool { return m.done }

// Err returns the error that ended the application, if any.
func (m *machine) Err() error { return m.err }

func (m *machine) set(state string, h handler) { m.state, m.h = state, h }

// handle dispatches ev to the current state; a hang-up ends every state
// the same way.
func (m *machine) handle(ctx context.Context, ev Event) []Action {
	if m.done {
		if rd, ok := ev.(RecordDone); ok && rd.Recording != "" {
			return []Action{Discard{Recording: rd.Recording}}
		}
		return nil
	}
	if _, ok := ev.(CallEnded); ok {
		m.done = true
		return m.dropPending(nil)
	}
	if m.h == nil {
		return m.unexpected(ev)
	}
	return m.h(ctx, ev)
}

// dropPending appends the discarding of the recording under review.
func (m *machine) dropPending(acts []Action) []Action {
	if m.pending != "" {
		acts = append(acts, Discard{Recording: m.pending})
		m.pending, m.pendingDur = "", 0
	}
	return acts
}

// takePending hands the recording under review over to the store.
func (m *machine) takePending() Recording {
	rec := Recording{Handle: m.pending, Duration: m.pendingDur}
	m.pending, m.pendingDur = "", 0
	return rec
}

// gone ends the application after the caller hung up: no more media.
func (m *machine) gone(acts []Action) []Action {
	m.done = true
	return m.dropPending(acts)
}

// end plays items and hangs up.
func (m *machine) end(items ...Item) []Action {
	m.done = true
	acts := m.dropPending(nil)
	if len(items) > 0 {
		acts = append(acts, Play{Items: items})
	}
	return append(acts, HangUp{})
}

func (m *machine) goodbye() []Action { return m.end(Prompt("goodbye")) }

// fail ends the call on an error the flow cannot get past.
func (m *machine) fail(err error) []Action {
	if m.err == nil {
		m.err = err
	}
	return m.end(Prompt("service-unavailable"), Prompt("goodbye"))
}

// unexpected ends the application on an event the current state cannot
// have asked for.
func (m *machine) unexpected(ev Event) []Action {
	err := fmt.Errorf("ivr: unexpected event %T in state %q", ev, m.state)
	rd, isRec := ev.(RecordDone)
	var acts []Action
	if isRec && rd.Recording != "" && rd.Recording != m.pending {
		acts = append(acts, Discard{Recording: rd.Recording})
	}
	if isRec && rd.Reason == StopHangUp {
		if m.err == nil {
			m.err = err
		}
		return m.gone(acts)
	}
	return append(acts, m.fail(err)...)
}

// ask plays items, any key stopping them, and waits for a key.
func (m *machine) ask(items []Item) []Action {
	return []Action{Play{Items: items, StopKeys: AllKeys}, WaitDigit{Timeout: m.menuTimeout}}
}

// heard resets the counters after a valid key.
func (m *machine) heard() { m.idle, m.misses = 0, 0 }

// timedOut counts an unanswered prompt: again repeats it, or the call
// ends.
func (m *machine) timedOut(again func() []Action) []Action {
	m.idle++
	m.misses++
	if m.idle >= maxIdle || m.misses >= maxMisses {
		return m.goodbye()
	}
	return again()
}

// keyFunc acts on a menu key; false for a key the menu does not offer.
type keyFunc func(ctx context.Context, key rune) ([]Action, bool)

// menu plays intro and the options (prompt names), any key stopping
// them, and hands the key to onKey. An invalid key says "invalid-option"
// and the options again; no key repeats the options once.
func (m *machine) menu(state string, intro []Item, options []string, onKey keyFunc) []Action {
	opts := promptItems(options...)
	m.set(state, func(ctx context.Context, ev Event) []Action {
		switch ev := ev.(type) {
		case Digit:
			if acts, ok := onKey(ctx, ev.Key); ok {
				m.heard()
				return acts
			}
			m.misses++
			if m.misses >= maxMisses {
				return m.goodbye()
			}
			return m.ask(cat([]Item{Prompt("invalid-option")}, opts))
		case Timeout:
			return m.timedOut(func() []Action { return m.ask(opts) })
		}
		return m.unexpected(ev)
	})
	return m.ask(cat(intro, opts))
}

// collect reads digits: it plays first and prompt and gathers keys until
// #, maxEntry digits, or a pause after at least one digit, then calls
// onDone with them ("" for a lone #, which counts as a miss). * calls onCancel, or starts the
// entry over when there is none. No key at all repeats prompt once.
func (m *machine) collect(state string, first, prompt []Item, onDone func(context.Context, string) []Action,
	onCancel func(context.Context) []Action) []Action {
	var buf []byte
	m.set(state, func(ctx context.Context, ev Event) []Action {
		switch ev := ev.(type) {
		case Digit:
			switch k := ev.Key; {
			case k == '#' && len(buf) == 0:
				// An empty entry is a miss; what it means is onDone's.
				m.misses++
				if m.misses >= maxMisses {
					return m.goodbye()
				}
				return onDone(ctx, "")
			case k == '#':
				m.heard()
				return onDone(ctx, string(buf))
			case k == '*' && onCancel != nil:
				m.heard()
				return onCancel(ctx)
			case k == '*':
				buf = buf[:0]
				return m.ask(prompt)
			case k >= '0' && k <= '9':
				buf = append(buf, byte(k))
				m.idle = 0
				if len(buf) >= maxEntry {
					m.heard()
					return onDone(ctx, string(buf))
				}
				return []Action{WaitDigit{Timeout: m.digitTimeout}}
			}
			if len(buf) == 0 {
				return []Action{WaitDigit{Timeout: m.menuTimeout}}
			}
			return []Action{WaitDigit{Timeout: m.digitTimeout}}
		case Timeout:
			if len(buf) > 0 {
				m.heard()
				return onDone(ctx, string(buf))
			}
			return m.timedOut(func() []Action { return m.ask(prompt) })
		}
		return m.unexpected(ev)
	})
	return m.ask(cat(first, prompt))
}

// cat joins item lists into a new slice.
func cat(lists ...[]Item) []Item {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]Item, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
