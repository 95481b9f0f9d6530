package ivr

import (
	"context"
	"errors"
	"testing"
	"time"
)

const (
	defaultGreeting1001 = "person-at-extension one zero zero one is-not-available leave-message finish-recording"
	recordMessage       = "say: BEEP | record 3m0s/10s/#"
	filed               = "say: message-recorded goodbye | hangup"
)

func TestDeposit(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeStore)
		cfg   func(c *DepositConfig)
		steps []step
		// outcome and the messages 1001 ends with.
		outcome  DepositOutcome
		messages int
		taken    []string
		wantErr  bool
	}{
		{
			name: "default greeting, # ends the message",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 20*time.Second, StopKey), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name: "the greeting says the user is busy",
			cfg:  func(c *DepositConfig) { c.Busy = true },
			steps: []step{
				{start, "play[#]: person-at-extension one zero zero one is-on-another-call leave-message finish-recording | " + recordMessage},
				{recorded("h1", 20*time.Second, StopKey), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name:  "the recorded name replaces the extension",
			setup: func(f *fakeStore) { f.boxes["1001"].box.NameKey = "name-1001" },
			steps: []step{
				{start, "play[#]: @name-1001 is-not-available leave-message finish-recording | " + recordMessage},
				{recorded("h1", 20*time.Second, StopKey), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name:  "the active greeting",
			setup: func(f *fakeStore) { f.greeting("1001", false); f.greeting("1001", true) },
			steps: []step{
				{start, "play[#]: @greet-102 | " + recordMessage},
				{recorded("h1", 20*time.Second, StopKey), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name: "# skips the greeting",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{keys("#"), recordMessage},
				{recorded("h1", 20*time.Second, StopKey), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name:  "0 transfers to the operator",
			setup: func(f *fakeStore) { f.boxes["1001"].box.OperatorForward = "1000" },
			steps: []step{
				{start, "play[#0]: person-at-extension one zero zero one is-not-available operator-option leave-message finish-recording | " + recordMessage},
				{keys("0"), "say: transferring | transfer 1000"},
			},
			outcome: OutcomeTransferred,
		},
		{
			name:  "0 to an outside operator number over a custom greeting",
			setup: func(f *fakeStore) { f.boxes["1001"].box.OperatorForward = "+14155550100"; f.greeting("1001", true) },
			steps: []step{
				{start, "play[#0]: @greet-101 | " + recordMessage},
				{keys("0"), "say: transferring | transfer +14155550100"},
			},
			outcome: OutcomeTransferred,
		},
		{
			name: "0 without an operator is not a stop key; if it comes anyway it skips the greeting",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{keys("0"), recordMessage},
				{recorded("h1", 5*time.Second, StopSilence), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name: "hang-up during the greeting",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{hangup, ""},
			},
			outcome: OutcomeAbandoned,
		},
		{
			name: "hang-up during the beep after #",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{keys("#"), recordMessage},
				{hangup, ""},
			},
			outcome: OutcomeAbandoned,
		},
		{
			name: "hang-up during the recording files the message",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 42*time.Second, StopHangUp), ""},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name: "a short message before a hang-up is discarded",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 900*time.Millisecond, StopHangUp), "discard h1"},
			},
			outcome: OutcomeTooShort,
		},
		{
			name: "a short message before # is discarded",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 300*time.Millisecond, StopKey), "discard h1 | say: recording-too-short goodbye | hangup"},
			},
			outcome: OutcomeTooShort,
		},
		{
			name: "a silent message is discarded",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{[]Event{RecordDone{Reason: StopSilence, Recording: "h1", Duration: 10 * time.Second, Silent: true}},
					"discard h1 | say: recording-too-short goodbye | hangup"},
			},
			outcome: OutcomeTooShort,
		},
		{
			name: "the maximum length ends the message",
			cfg:  func(c *DepositConfig) { c.MaxMessage = time.Minute; c.SilenceTimeout = -1 },
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | say: BEEP | record 1m0s/0s/#"},
				{recorded("h1", time.Minute, StopMaxDuration), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name: "a message shorter than the custom minimum is discarded",
			cfg:  func(c *DepositConfig) { c.MinMessage = 3 * time.Second; c.SilenceTimeout = 4 * time.Second },
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | say: BEEP | record 3m0s/4s/#"},
				{recorded("h1", 2*time.Second, StopSilence), "discard h1 | say: recording-too-short goodbye | hangup"},
			},
			outcome: OutcomeTooShort,
		},
		{
			name:  "a full mailbox takes no message",
			setup: func(f *fakeStore) { f.boxes["1001"].box.UsedBytes = 100 << 20 },
			steps: []step{
				{start, "say: mailbox-full goodbye | hangup"},
			},
			outcome: OutcomeMailboxFull,
		},
		{
			name:  "a mailbox with less than the shortest message of room is full",
			setup: func(f *fakeStore) { f.boxes["1001"].box.UsedBytes = 100<<20 - wavHeaderBytes - BytesPerSecond/2 },
			steps: []step{
				{start, "say: mailbox-full goodbye | hangup"},
			},
			outcome: OutcomeMailboxFull,
		},
		{
			name: "a nearly full mailbox shortens the message",
			setup: func(f *fakeStore) {
				f.boxes["1001"].box.UsedBytes = 100<<20 - wavHeaderBytes - 90*BytesPerSecond - BytesPerSecond/2
			},
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | say: BEEP | record 1m30.5s/10s/#"},
				{recorded("h1", 90*time.Second, StopMaxDuration), filed},
			},
			outcome: OutcomeFiled, messages: 1, taken: []string{"h1"},
		},
		{
			name:  "the mailbox fills up during the recording",
			setup: func(f *fakeStore) { f.fail["AddMessage"] = ErrMailboxFull },
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 20*time.Second, StopKey), "say: mailbox-full goodbye | hangup"},
			},
			outcome: OutcomeMailboxFull, taken: []string{"h1"},
		},
		{
			name:  "the mailbox fills up during a recording ended by a hang-up",
			setup: func(f *fakeStore) { f.fail["AddMessage"] = ErrMailboxFull },
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 20*time.Second, StopHangUp), ""},
			},
			outcome: OutcomeMailboxFull, taken: []string{"h1"},
		},
		{
			name:  "filing fails",
			setup: func(f *fakeStore) { f.fail["AddMessage"] = errStore },
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 20*time.Second, StopKey), "say: service-unavailable goodbye | hangup"},
			},
			outcome: OutcomeFailed, taken: []string{"h1"}, wantErr: true,
		},
		{
			name:  "filing fails after a hang-up",
			setup: func(f *fakeStore) { f.fail["AddMessage"] = errStore },
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 20*time.Second, StopHangUp), ""},
			},
			outcome: OutcomeFailed, taken: []string{"h1"}, wantErr: true,
		},
		{
			name: "the recording fails",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("h1", 20*time.Second, StopError), "discard h1 | say: service-unavailable goodbye | hangup"},
			},
			outcome: OutcomeFailed, wantErr: true,
		},
		{
			name: "the recording fails with nothing written",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{recorded("", 0, StopError), "say: service-unavailable goodbye | hangup"},
			},
			outcome: OutcomeFailed, wantErr: true,
		},
		{
			name:  "no such user",
			setup: func(f *fakeStore) { delete(f.boxes, "1001") },
			steps: []step{
				{start, "say: mailbox-unavailable goodbye | hangup"},
			},
			outcome: OutcomeUnavailable,
		},
		{
			name:  "voicemail disabled",
			setup: func(f *fakeStore) { f.boxes["1001"].box.Enabled = false },
			steps: []step{
				{start, "say: mailbox-unavailable goodbye | hangup"},
			},
			outcome: OutcomeUnavailable,
		},
		{
			name:  "the store fails",
			setup: func(f *fakeStore) { f.fail["Mailbox"] = errStore },
			steps: []step{
				{start, "say: service-unavailable goodbye | hangup"},
			},
			outcome: OutcomeFailed, wantErr: true,
		},
		{
			name: "a timeout makes no sense during a recording",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{timeout, "say: service-unavailable goodbye | hangup"},
			},
			outcome: OutcomeFailed, wantErr: true,
		},
		{
			name: "a key makes no sense once recording",
			steps: []step{
				{start, "play[#]: " + defaultGreeting1001 + " | " + recordMessage},
				{keys("#5"), "say: service-unavailable goodbye | hangup"},
			},
			outcome: OutcomeFailed, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.add("1001", "1357")
			if tt.setup != nil {
				tt.setup(f)
			}
			cfg := DepositConfig{Extension: "1001", CallerNumber: "+14155550123", CallerName: "Grace", ReceivedAt: testNow}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			d := NewDeposit(f, cfg)
			talk(t, d, tt.steps)
			if !d.Done() {
				t.Fatal("not done at the end")
			}
			if d.Outcome() != tt.outcome {
				t.Errorf("outcome %v, want %v", d.Outcome(), tt.outcome)
			}
			if (d.Err() != nil) != tt.wantErr {
				t.Errorf("err %v, want an error: %v", d.Err(), tt.wantErr)
			}
			if got := f.taken; len(got) != len(tt.taken) || (len(got) > 0 && got[0] != tt.taken[0]) {
				t.Errorf("recordings taken %v, want %v", got, tt.taken)
			}
			var msgs []Message
			if b, ok := f.boxes["1001"]; ok {
				msgs = b.msgs
			}
			if len(msgs) != tt.messages {
				t.Fatalf("%d messages, want %d", len(msgs), tt.messages)
			}
			for _, m := range msgs {
				if m.Folder != FolderNew || m.CallerNumber != "+14155550123" || m.CallerName != "Grace" ||
					!m.ReceivedAt.Equal(testNow) || m.AudioKey != "h1" || m.Duration <= 0 {
					t.Errorf("message filed as %+v", m)
				}
			}
		})
	}
}

func TestDepositLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	f.add("1001", "1357")
	d := NewDeposit(f, DepositConfig{Extension: "1001"})
	if d.Outcome() != OutcomeUnknown || d.Outcome().String() != "unknown" {
		t.Fatalf("outcome before start: %v", d.Outcome())
	}
	if acts := d.Handle(ctx, Timeout{}); render(acts) != "say: service-unavailable goodbye | hangup" || d.Err() == nil {
		t.Fatalf("Handle before Start: %s, %v", render(acts), d.Err())
	}

	d = NewDeposit(f, DepositConfig{Extension: "1001"})
	if acts := d.Start(ctx); len(acts) != 3 {
		t.Fatalf("start: %s", render(acts))
	}
	if acts := d.Start(ctx); acts != nil {
		t.Fatalf("second Start: %s", render(acts))
	}
	d.Handle(ctx, CallEnded{})
	if !d.Done() || d.Handle(ctx, Timeout{}) != nil {
		t.Fatal("events after the end must be ignored")
	}
	// A recording reported after the end is not leaked.
	if got := render(d.Handle(ctx, RecordDone{Reason: StopHangUp, Recording: "late", Duration: time.Minute})); got != "discard late" {
		t.Fatalf("late recording: %s", got)
	}
}

func TestOutcomeStrings(t *testing.T) {
	for o, want := range map[DepositOutcome]string{
		OutcomeFiled: "filed", OutcomeTooShort: "too_short", OutcomeMailboxFull: "mailbox_full",
		OutcomeTransferred: "transferred", OutcomeAbandoned: "abandoned", OutcomeUnavailable: "unavailable",
		OutcomeFailed: "failed", DepositOutcome(99): "DepositOutcome(99)",
	} {
		if o.String() != want {
			t.Errorf("%d: %q, want %q", o, o.String(), want)
		}
	}
	for r, want := range map[StopReason]string{
		StopUnknown: "unknown", StopKey: "key", StopMaxDuration: "max_duration", StopSilence: "silence",
		StopHangUp: "hang_up", StopError: "error", StopReason(42): "StopReason(42)",
	} {
		if r.String() != want {
			t.Errorf("%d: %q, want %q", r, r.String(), want)
		}
	}
	for k, want := range map[ItemKind]string{
		ItemUnknown: "unknown", ItemPrompt: "prompt", ItemAudio: "audio", ItemRecording: "recording",
		ItemBeep: "beep", ItemSilence: "silence", ItemKind(7): "ItemKind(7)",
	} {
		if k.String() != want {
			t.Errorf("%d: %q, want %q", k, k.String(), want)
		}
	}
	err := error(&PINRejectedError{Rule: RuleSequential})
	var rej *PINRejectedError
	if !errors.As(err, &rej) || rej.Rule != RuleSequential || err.Error() != "pin refused by rule sequential" {
		t.Fatalf("PINRejectedError: %v", err)
	}
}

func TestRoom(t *testing.T) {
	for _, tt := range []struct {
		used, limit int64
		want        time.Duration
	}{
		{0, 0, 0},
		{100, 50, 0},
		{0, wavHeaderBytes + BytesPerSecond, time.Second},
		{0, wavHeaderBytes + BytesPerSecond + BytesPerSecond/4, 1250 * time.Millisecond},
		{0, 1 << 40, 68719476*time.Second + 733*time.Millisecond}, // no overflow
	} {
		got := room(Mailbox{UsedBytes: tt.used, LimitBytes: tt.limit})
		if got.Truncate(time.Millisecond) != tt.want {
			t.Errorf("room(%d of %d) = %v, want %v", tt.used, tt.limit, got, tt.want)
		}
	}
}

// TestMarkers keeps the sealed Action and Event sets what the package
// documentation lists.
func TestMarkers(t *testing.T) {
	for _, a := range []Action{Play{}, WaitDigit{}, Record{}, Discard{}, Transfer{}, HangUp{}} {
		a.action()
	}
	for _, e := range []Event{Digit{}, Timeout{}, RecordDone{}, CallEnded{}} {
		e.event()
	}
}
