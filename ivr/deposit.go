package ivr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"switchboard/prompts"
)

// Deposit defaults.
const (
	DefaultMaxMessage     = 3 * time.Minute
	DefaultMinMessage     = time.Second
	DefaultMessageSilence = 10 * time.Second
)

// DepositConfig describes one caller leaving a message.
type DepositConfig struct {
	// Extension is the mailbox's user.
	Extension string
	// CallerNumber and CallerName identify the caller, as far as known.
	CallerNumber, CallerName string
	// ReceivedAt is when the call reached voicemail; the message's time.
	ReceivedAt time.Time
	// Busy says the user is on another call: the default greeting says so.
	Busy bool
	// MaxMessage is the longest message (0: DefaultMaxMessage); the room
	// left in the mailbox may make it shorter.
	MaxMessage time.Duration
	// MinMessage is the shortest message kept (0: DefaultMinMessage).
	MinMessage time.Duration
	// SilenceTimeout ends a message after this long without sound (0:
	// DefaultMessageSilence; negative: never).
	SilenceTimeout time.Duration
}

func (c *DepositConfig) defaults() {
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.MinMessage <= 0 {
		c.MinMessage = DefaultMinMessage
	}
	switch {
	case c.SilenceTimeout == 0:
		c.SilenceTimeout = DefaultMessageSilence
	case c.SilenceTimeout < 0:
		c.SilenceTimeout = 0
	}
}

// DepositOutcome is how leaving a message ended.
type DepositOutcome uint8

const (
	// OutcomeUnknown: not finished.
	OutcomeUnknown DepositOutcome = iota
	// OutcomeFiled: the message is in the mailbox.
	OutcomeFiled
	// OutcomeTooShort: the recording was too short or silent and was
	// discarded.
	OutcomeTooShort
	// OutcomeMailboxFull: the mailbox had no room; nothing was kept.
	OutcomeMailboxFull
	// OutcomeTransferred: the caller pressed 0 for the operator.
	OutcomeTransferred
	// OutcomeAbandoned: the caller hung up before the recording started.
	OutcomeAbandoned
	// OutcomeUnavailable: the user does not exist or voicemail is off.
	OutcomeUnavailable
	// OutcomeFailed: a store or recording error; see Err.
	OutcomeFailed
)

var depositOutcomeNames = [...]string{
	"unknown", "filed", "too_short", "mailbox_full", "transferred", "abandoned", "unavailable", "failed",
}

func (o DepositOutcome) String() string {
	if int(o) >= len(depositOutcomeNames) {
		return "DepositOutcome(" + strconv.Itoa(int(o)) + ")"
	}
	return depositOutcomeNames[o]
}

// Deposit is a caller leaving a message: the greeting (0 for the
// operator, # to skip it), a beep, the recording, and filing it.
type Deposit struct {
	machine
	st      DepositStore
	cfg     DepositConfig
	outcome DepositOutcome
}

var _ App = (*Deposit)(nil)

// NewDeposit returns the application for a caller reaching the mailbox of
// cfg.Extension.
func NewDeposit(st DepositStore, cfg DepositConfig) *Deposit {
	cfg.defaults()
	return &Deposit{st: st, cfg: cfg}
}

// Outcome says how the deposit ended; OutcomeUnknown until it is done.
func (d *Deposit) Outcome() DepositOutcome { return d.outcome }

// Start looks the mailbox up and plays the greeting.
func (d *Deposit) Start(ctx context.Context) []Action {
	if d.started {
		return nil
	}
	d.started = true
	box, err := d.st.Mailbox(ctx, d.cfg.Extension)
	switch {
	case errors.Is(err, ErrNoMailbox) || (err == nil && !box.Enabled):
		d.outcome = OutcomeUnavailable
		return d.end(Prompt("mailbox-unavailable"), Prompt("goodbye"))
	case err != nil:
		d.outcome = OutcomeFailed
		return d.fail(fmt.Errorf("deposit for %s: %w", d.cfg.Extension, err))
	}
	maxLen := min(d.cfg.MaxMessage, room(box))
	if maxLen < d.cfg.MinMessage {
		d.outcome = OutcomeMailboxFull
		return d.end(Prompt("mailbox-full"), Prompt("goodbye"))
	}
	rec := Record{MaxDuration: maxLen, SilenceTimeout: d.cfg.SilenceTimeout, StopKeys: "#"}
	stop := "#"
	if box.OperatorForward != "" {
		stop += "0"
	}
	greeting := []Item{Audio(box.GreetingKey)}
	if box.GreetingKey == "" {
		greeting = defaultGreeting(d.cfg.Extension, box, d.cfg.Busy)
	}
	d.set("greeting", func(ctx context.Context, ev Event) []Action {
		switch ev := ev.(type) {
		case Digit:
			if ev.Key == '0' && box.OperatorForward != "" {
				d.outcome = OutcomeTransferred
				d.done = true
				return []Action{Play{Items: []Item{Prompt("transferring")}}, Transfer{To: box.OperatorForward}}
			}
			// # (or any key the runner let through) skips to the beep.
			d.set("recording", d.recorded)
			return []Action{Play{Items: []Item{Beep()}}, rec}
		case RecordDone:
			return d.recorded(ctx, ev)
		}
		return d.unexpected(ev)
	})
	return []Action{Play{Items: greeting, StopKeys: stop}, Play{Items: []Item{Beep()}}, rec}
}

// Handle takes the outcome of the last batch.
func (d *Deposit) Handle(ctx context.Context, ev Event) []Action {
	if _, ok := ev.(CallEnded); ok && !d.done {
		d.outcome = OutcomeAbandoned
	}
	acts := d.handle(ctx, ev)
	if d.done && d.outcome == OutcomeUnknown {
		d.outcome = OutcomeFailed
	}
	return acts
}

// recorded files the message, or discards one too short to keep.
func (d *Deposit) recorded(ctx context.Context, ev Event) []Action {
	rd, ok := ev.(RecordDone)
	if !ok {
		return d.unexpected(ev)
	}
	hungUp := rd.Reason == StopHangUp
	var acts []Action
	if rd.Reason == StopError || rd.Recording == "" || rd.Silent || rd.Duration < d.cfg.MinMessage {
		if rd.Recording != "" {
			acts = append(acts, Discard{Recording: rd.Recording})
		}
		if rd.Reason == StopError {
			d.outcome = OutcomeFailed
			return append(acts, d.fail(fmt.Errorf("deposit for %s: recording failed", d.cfg.Extension))...)
		}
		d.outcome = OutcomeTooShort
		if hungUp {
			return d.gone(acts)
		}
		return append(acts, d.end(Prompt("recording-too-short"), Prompt("goodbye"))...)
	}
	err := d.st.AddMessage(ctx, d.cfg.Extension, NewMessage{
		Recording:    Recording{Handle: rd.Recording, Duration: rd.Duration},
		CallerNumber: d.cfg.CallerNumber,
		CallerName:   d.cfg.CallerName,
		ReceivedAt:   d.cfg.ReceivedAt,
	})
	switch {
	case errors.Is(err, ErrMailboxFull):
		d.outcome = OutcomeMailboxFull
		if hungUp {
			return d.gone(nil)
		}
		return d.end(Prompt("mailbox-full"), Prompt("goodbye"))
	case err != nil:
		d.outcome = OutcomeFailed
		err = fmt.Errorf("deposit for %s: %w", d.cfg.Extension, err)
		if hungUp {
			d.err = err
			return d.gone(nil)
		}
		return d.fail(err)
	}
	d.outcome = OutcomeFiled
	if hungUp {
		return d.gone(nil)
	}
	return d.end(Prompt("message-recorded"), Prompt("goodbye"))
}

// defaultGreeting is what callers hear when the user recorded no greeting:
// the recorded name or "the person at extension" and its digits, "is not
// available" (or "is on another call"), the operator option when there is
// one, and how to leave a message.
func defaultGreeting(ext string, box Mailbox, busy bool) []Item {
	var out []Item
	if box.NameKey != "" {
		out = append(out, Audio(box.NameKey))
	} else {
		out = append(out, Prompt("person-at-extension"))
		out = append(out, promptItems(prompts.Digits(ext)...)...)
	}
	if busy {
		out = append(out, Prompt("is-on-another-call"))
	} else {
		out = append(out, Prompt("is-not-available"))
	}
	if box.OperatorForward != "" {
		out = append(out, Prompt("operator-option"))
	}
	return append(out, Prompt("leave-message"), Prompt("finish-recording"))
}

// room is how long a message the mailbox still has room for.
func room(box Mailbox) time.Duration {
	left := box.LimitBytes - box.UsedBytes - wavHeaderBytes
	if left <= 0 {
		return 0
	}
	// Whole seconds first: a terabyte of nanoseconds overflows.
	return time.Duration(left/BytesPerSecond)*time.Second +
		time.Duration(left%BytesPerSecond)*time.Second/BytesPerSecond
}
