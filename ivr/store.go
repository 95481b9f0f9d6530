package ivr

import (
	"context"
	"time"
)

// Message folders, as the store names them.
const (
	FolderNew   = "new"
	FolderSaved = "saved"
)

// BytesPerSecond is the size of stored audio: 16-bit 8 kHz mono WAV.
// Deposit limits a message to the room left in the mailbox with it.
const BytesPerSecond = 16000

// wavHeaderBytes is the size of a stored WAV file's header.
const wavHeaderBytes = 44

// Mailbox is what the applications need to know of a user's mailbox.
type Mailbox struct {
	Extension string
	// Enabled is the user's voicemail switch: a disabled mailbox takes no
	// messages and cannot be logged into.
	Enabled bool
	// HasPIN reports whether the user has a voicemail PIN.
	HasPIN bool
	// Location is the user's time zone for reading out when messages came
	// (nil: the application's default).
	Location *time.Location

	// Inbox options (seed 003 "Inbox Options").
	SortLatestFirst  bool
	AnnounceTime     bool
	AnnounceCallerID bool
	// OperatorForward is where 0 during the greeting goes: an extension or
	// an outside number; "" for nowhere.
	OperatorForward string

	// GreetingKey is the audio key of the active greeting, "" for the
	// default one; NameKey the recorded name's, "" when there is none.
	GreetingKey string
	NameKey     string

	NewMessages   int
	SavedMessages int
	// UsedBytes and LimitBytes: storage used by messages, greetings and
	// the name, and the mailbox's limit.
	UsedBytes  int64
	LimitBytes int64
	// LockedUntil is when a PIN lockout ends (zero: not locked).
	LockedUntil time.Time
}

// Message is one voicemail message.
type Message struct {
	ID           int64
	Folder       string // FolderNew or FolderSaved
	CallerNumber string
	CallerName   string
	ReceivedAt   time.Time
	Duration     time.Duration
	AudioKey     string
}

// Greeting is one of a user's recorded greetings.
type Greeting struct {
	ID       int64
	AudioKey string
	Active   bool
}

// Recording is audio recorded on this call, by the runner's handle.
type Recording struct {
	Handle   string
	Duration time.Duration
}

// NewMessage is a message to file.
type NewMessage struct {
	Recording    Recording
	CallerNumber string
	CallerName   string
	ReceivedAt   time.Time
}

// DepositStore is what leaving a message needs.
type DepositStore interface {
	// Mailbox returns the mailbox of the user at ext, or ErrNoMailbox.
	Mailbox(ctx context.Context, ext string) (Mailbox, error)
	// AddMessage files a message in the new folder of the user at ext:
	// it stores the recording's audio first, then the row that names it
	// (so a row never names missing audio). It owns the recording whatever
	// it returns, and removes what it stored when it fails; ErrMailboxFull
	// when the message does not fit.
	AddMessage(ctx context.Context, ext string, m NewMessage) error
}

// Store is what managing a mailbox by phone needs.
type Store interface {
	DepositStore

	// Messages lists the messages of the user at ext: the new ones, then
	// the saved ones, each oldest first or, with latestFirst, newest first.
	Messages(ctx context.Context, ext string, latestFirst bool) ([]Message, error)
	// MoveMessage puts a message in folder (FolderNew or FolderSaved);
	// ErrNoMessage when it is gone.
	MoveMessage(ctx context.Context, ext string, id int64, folder string) error
	// DeleteMessage deletes a message; ErrNoMessage when it is gone.
	DeleteMessage(ctx context.Context, ext string, id int64) error

	// Greetings lists the greetings of the user at ext, oldest first; the
	// caller numbers them from 1 in that order.
	Greetings(ctx context.Context, ext string) ([]Greeting, error)
	// AddGreeting stores a recorded greeting (audio first, then the row,
	// under a name of the store's choosing) and returns its ID. It owns the
	// recording whatever it returns; ErrMailboxFull when it does not fit.
	AddGreeting(ctx context.Context, ext string, rec Recording) (int64, error)
	// SetActiveGreeting makes greeting id the active one; 0 goes back to
	// the default greeting.
	SetActiveGreeting(ctx context.Context, ext string, id int64) error
	// SetName replaces the recorded name, with the same ownership and
	// errors as AddGreeting.
	SetName(ctx context.Context, ext string, rec Recording) error

	// VerifyPIN reports whether pin is the voicemail PIN of the user at
	// ext. For an unknown ext or a user without a PIN it reports false (an
	// error is allowed too) after as much work as a wrong PIN.
	VerifyPIN(ctx context.Context, ext, pin string) (bool, error)
	// PINFailed counts a wrong PIN; at the maxFailures-th in a row the
	// mailbox locks for lockFor. It reports whether it is now locked.
	PINFailed(ctx context.Context, ext string, maxFailures int, lockFor time.Duration) (bool, error)
	// PINSucceeded clears the failure count.
	PINSucceeded(ctx context.Context, ext string) error
	// ChangePIN sets a new PIN, never empty. A PIN the policy refuses is a
	// *PINRejectedError naming the rule.
	ChangePIN(ctx context.Context, ext, pin string) error
}
