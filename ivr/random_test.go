package ivr

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// chooser picks among n possibilities: a seeded generator, or fuzz input.
type chooser interface{ IntN(n int) int }

// byteChooser reads choices from fuzz input; zeros once it runs out.
type byteChooser struct {
	b []byte
}

func (c *byteChooser) IntN(n int) int {
	if len(c.b) == 0 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

// converse plays one random call against app: keys (often the right PIN
// or mailbox where one is asked for), timeouts, recordings ending every
// way, hang-ups. Every batch must be well formed, and at the end every
// recording handed to the application must have been disposed of exactly
// once: by a Discard or by the store.
func converse(t *testing.T, c chooser, f *fakeStore, app App) {
	t.Helper()
	ctx := context.Background()
	made := map[string]int{}
	discarded := map[string]int{}
	count := func(acts []Action) {
		for _, a := range acts {
			if d, ok := a.(Discard); ok {
				discarded[d.Recording]++
			}
		}
	}
	var queue []Event
	typeIn := func(s string) {
		for _, r := range s {
			queue = append(queue, Digit{Key: r})
		}
	}
	acts := app.Start(ctx)
	checkBatch(t, app, acts, false)
	count(acts)
	gone := false
	for step := 0; !app.Done() && step < 400; step++ {
		var ev Event
		last := acts[len(acts)-1]
		if len(queue) > 0 && !isRecord(last) {
			ev, queue = queue[0], queue[1:]
		} else {
			queue = nil
			ev = randomEvent(c, acts, step, typeIn)
			if ev == nil {
				ev, queue = queue[0], queue[1:]
			}
		}
		if rd, ok := ev.(RecordDone); ok && rd.Recording != "" {
			made[rd.Recording]++
		}
		acts = app.Handle(ctx, ev)
		switch ev := ev.(type) {
		case CallEnded:
			gone = true
		case RecordDone:
			gone = ev.Reason == StopHangUp
		}
		checkBatch(t, app, acts, gone)
		count(acts)
		if t.Failed() {
			t.FailNow()
		}
	}
	if !app.Done() {
		acts = app.Handle(ctx, CallEnded{})
		checkBatch(t, app, acts, true)
		count(acts)
	}
	taken := map[string]int{}
	for _, h := range f.taken {
		taken[h]++
	}
	for h := range made {
		if n := discarded[h] + taken[h]; n != 1 {
			t.Fatalf("recording %s disposed of %d times (discarded %d, stored %d)", h, n, discarded[h], taken[h])
		}
	}
	for h := range discarded {
		if made[h] == 0 {
			t.Fatalf("discarded %s, which was never recorded", h)
		}
	}
}

func isRecord(a Action) bool {
	_, ok := a.(Record)
	return ok
}

// randomEvent picks what the caller does about acts; nil means it queued
// keys with typeIn.
func randomEvent(c chooser, acts []Action, step int, typeIn func(string)) Event {
	if c.IntN(50) == 0 {
		return CallEnded{}
	}
	if isRecord(acts[len(acts)-1]) {
		// A stop key during a greeting that lets keys stop it.
		if p, ok := acts[0].(Play); ok && p.StopKeys != "" && c.IntN(4) == 0 {
			return Digit{Key: rune(p.StopKeys[c.IntN(len(p.StopKeys))])}
		}
		reasons := []StopReason{StopKey, StopKey, StopMaxDuration, StopSilence, StopHangUp, StopError}
		rd := RecordDone{
			Reason:    reasons[c.IntN(len(reasons))],
			Recording: "r" + strconv.Itoa(step),
			Duration:  time.Duration(c.IntN(12)) * time.Second,
			Silent:    c.IntN(10) == 0,
		}
		if c.IntN(15) == 0 {
			rd.Recording = ""
		}
		if rd.Reason == StopKey {
			rd.Key = '#'
		}
		return rd
	}
	asked := ""
	if p, ok := acts[0].(Play); ok && len(p.Items) > 0 {
		asked = p.Items[len(p.Items)-1].Name
	}
	switch asked {
	case "enter-pin":
		if c.IntN(3) > 0 {
			typeIn("1357#")
			return nil
		}
	case "enter-mailbox":
		if c.IntN(3) > 0 {
			typeIn([]string{"1001#", "1002#", "9999#"}[c.IntN(3)])
			return nil
		}
	case "enter-new-pin", "enter-pin-again":
		if c.IntN(2) > 0 {
			typeIn([]string{"2468#", "1234#", "1357#"}[c.IntN(3)])
			return nil
		}
	}
	if c.IntN(8) == 0 {
		return Timeout{}
	}
	const keys = "1345679*#0123456789*#AB"
	return Digit{Key: rune(keys[c.IntN(len(keys))])}
}

// randomApp builds one of the applications over a populated fake.
func randomApp(c chooser) (*fakeStore, App) {
	f := newFake()
	b := mailbox1001(f)
	b.box.AnnounceTime, b.box.AnnounceCallerID = c.IntN(2) == 0, c.IntN(2) == 0
	if c.IntN(2) == 0 {
		f.greeting("1001", true)
	}
	if c.IntN(2) == 0 {
		b.box.OperatorForward = "1000"
	}
	f.add("1002", "")
	switch c.IntN(8) {
	case 0:
		f.fail["AddGreeting"] = ErrMailboxFull
		f.fail["SetName"] = ErrMailboxFull
	case 1:
		f.fail["AddMessage"] = ErrMailboxFull
	case 2:
		f.failFrom[[]string{"Mailbox", "Messages", "AddGreeting", "ChangePIN", "AddMessage"}[c.IntN(5)]] = 1 + c.IntN(3)
	}
	switch c.IntN(5) {
	case 0:
		return f, NewDeposit(f, DepositConfig{Extension: "1001", ReceivedAt: testNow})
	case 1:
		return f, NewAccess(f, AccessConfig{Now: testNow})
	case 2:
		return f, NewAccess(f, AccessConfig{Extension: "1002", Now: testNow})
	}
	return f, NewAccess(f, AccessConfig{Extension: "1001", Now: testNow})
}

func TestRandomConversations(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range n {
		c := rand.New(rand.NewPCG(uint64(seed), 7))
		f, app := randomApp(c)
		converse(t, c, f, app)
	}
}

func FuzzConversation(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 5, 9, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("a call into the mailbox that records a greeting and keeps it"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &byteChooser{b: b}
		fs, app := randomApp(c)
		converse(t, c, fs, app)
	})
}
