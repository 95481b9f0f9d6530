package ivr

import (
	"context"
	"strconv"
	"time"
)

// AllKeys lists every key of a phone's keypad, for a Play any key stops.
const AllKeys = "0123456789*#"

// App is a voice application driven by the runner; see the package
// documentation for the protocol.
type App interface {
	// Start returns the first batch of actions. It is called once.
	Start(ctx context.Context) []Action
	// Handle takes the outcome of the previous batch and returns the next
	// one; after Done it returns nil.
	Handle(ctx context.Context, ev Event) []Action
	// Done reports whether the application has finished: it hung up,
	// transferred the call, or the caller hung up.
	Done() bool
	// Err is the error that ended the application, if any.
	Err() error
}

// ItemKind says what an Item plays.
type ItemKind uint8

const (
	ItemUnknown ItemKind = iota
	// ItemPrompt is a voice prompt by name (prompts.WAV).
	ItemPrompt
	// ItemAudio is stored audio by its blob key: a greeting, a recorded
	// name, a message.
	ItemAudio
	// ItemRecording is a recording of this call not stored yet, by the
	// handle its RecordDone carried: a greeting or name under review.
	ItemRecording
	// ItemBeep is the tone that tells the caller to start speaking.
	ItemBeep
	// ItemSilence is a pause of Duration.
	ItemSilence
)

var itemKindNames = [...]string{"unknown", "prompt", "audio", "recording", "beep", "silence"}

func (k ItemKind) String() string {
	if int(k) >= len(itemKindNames) {
		return "ItemKind(" + strconv.Itoa(int(k)) + ")"
	}
	return itemKindNames[k]
}

// Item is one piece of a Play.
type Item struct {
	Kind ItemKind
	// Name is the prompt name, the audio key or the recording handle.
	Name string
	// Duration is the length of a silence.
	Duration time.Duration
}

// Prompt is the voice prompt called name.
func Prompt(name string) Item { return Item{Kind: ItemPrompt, Name: name} }

// Audio is stored audio under key.
func Audio(key string) Item { return Item{Kind: ItemAudio, Name: key} }

// Recorded is a recording of this call by its handle.
func Recorded(handle string) Item { return Item{Kind: ItemRecording, Name: handle} }

// Beep is the record tone.
func Beep() Item { return Item{Kind: ItemBeep} }

// Silence is a pause.
func Silence(d time.Duration) Item { return Item{Kind: ItemSilence, Duration: d} }

// promptItems turns prompt names into items.
func promptItems(names ...string) []Item {
	out := make([]Item, len(names))
	for i, n := range names {
		out[i] = Prompt(n)
	}
	return out
}

// Action is one thing the runner does on the call: Play, WaitDigit,
// Record, Discard, Transfer or HangUp.
type Action interface{ action() }

// Play plays Items back to back. A key in StopKeys stops it and the batch
// (reported as Digit); other keys are dropped while it plays, unless
// StopKeys is empty, in which case they wait for the next action.
type Play struct {
	Items    []Item
	StopKeys string
}

// WaitDigit waits up to Timeout for a key: Digit, or Timeout.
type WaitDigit struct {
	Timeout time.Duration
}

// Record records the caller until a key in StopKeys, MaxDuration, a
// silence of SilenceTimeout (0: never) or a hang-up; reported as
// RecordDone.
type Record struct {
	MaxDuration    time.Duration
	SilenceTimeout time.Duration
	StopKeys       string
}

// Discard deletes a recording that is not kept.
type Discard struct {
	Recording string
}

// Transfer hands the call to To, an extension or an outside number; the
// application is done.
type Transfer struct {
	To string
}

// DirectoryDestination is the Transfer destination that takes the caller to
// the dial-by-name directory.
const DirectoryDestination = "directory"

// HangUp ends the call; the application is done.
type HangUp struct{}

func (Play) action()      {}
func (WaitDigit) action() {}
func (Record) action()    {}
func (Discard) action()   {}
func (Transfer) action()  {}
func (HangUp) action()    {}

// Event is what happened to the last batch: Digit, Timeout, RecordDone or
// CallEnded.
type Event interface{ event() }

// Digit is a key the caller pressed: 0-9, * or #.
type Digit struct {
	Key rune
}

// Timeout is a WaitDigit that ended without a key.
type Timeout struct{}

// StopReason says why a recording ended.
type StopReason uint8

const (
	StopUnknown StopReason = iota
	// StopKey: the caller pressed a key in Record.StopKeys (RecordDone.Key).
	StopKey
	// StopMaxDuration: the recording reached Record.MaxDuration.
	StopMaxDuration
	// StopSilence: the caller was silent for Record.SilenceTimeout.
	StopSilence
	// StopHangUp: the caller hung up; the call is over.
	StopHangUp
	// StopError: the recording failed; Recording may name what was
	// written, which is discarded.
	StopError
)

var stopReasonNames = [...]string{"unknown", "key", "max_duration", "silence", "hang_up", "error"}

func (r StopReason) String() string {
	if int(r) >= len(stopReasonNames) {
		return "StopReason(" + strconv.Itoa(int(r)) + ")"
	}
	return stopReasonNames[r]
}

// RecordDone is the end of a Record.
type RecordDone struct {
	Reason StopReason
	Key    rune // with StopKey
	// Recording is the runner's handle to the audio ("" when nothing was
	// written); see the package documentation for who disposes of it.
	Recording string
	// Duration is the length of the audio kept (the runner may trim a
	// trailing silence).
	Duration time.Duration
	// Silent reports that nothing louder than the silence threshold was
	// heard: such a recording is discarded.
	Silent bool
}

// CallEnded is the caller hanging up (or the call's media failing) while
// anything but a Record ran.
type CallEnded struct{}

func (Digit) event()      {}
func (Timeout) event()    {}
func (RecordDone) event() {}
func (CallEnded) event()  {}
