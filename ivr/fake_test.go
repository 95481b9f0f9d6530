package ivr

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fakeStore is an in-memory Store with the store package's semantics, and
// a record of the recordings handed over.
type fakeStore struct {
	now    time.Time
	boxes  map[string]*fakeBox
	nextID int64
	// fail makes a method return an error: method name → error.
	fail map[string]error
	// failFrom makes a method return errStore from its n-th call on.
	failFrom map[string]int
	calls    map[string]int
	// taken lists the recording handles handed over, in order.
	taken []string
	// verified lists the mailboxes VerifyPIN was asked about.
	verified []string
}

var _ Store = (*fakeStore)(nil)

type fakeBox struct {
	box      Mailbox // options; counts and keys are computed
	pin      string
	oldPINs  []string
	failures int
	msgs     []Message
	greets   []Greeting
}

var errStore = errors.New("disk on fire")

func newFake() *fakeStore {
	return &fakeStore{now: testNow, boxes: map[string]*fakeBox{}, nextID: 100, fail: map[string]error{},
		failFrom: map[string]int{}, calls: map[string]int{}}
}

// add creates mailbox ext, enabled, with PIN pin and 100 MiB of room.
func (f *fakeStore) add(ext, pin string) *fakeBox {
	b := &fakeBox{box: Mailbox{Extension: ext, Enabled: true, LimitBytes: 100 << 20}, pin: pin}
	f.boxes[ext] = b
	return b
}

func (f *fakeStore) id() int64 {
	f.nextID++
	return f.nextID
}

// message adds a message to ext received at, in folder.
func (f *fakeStore) message(ext, folder, caller string, at time.Time) int64 {
	id := f.id()
	b := f.boxes[ext]
	b.msgs = append(b.msgs, Message{ID: id, Folder: folder, CallerNumber: caller, ReceivedAt: at,
		Duration: 10 * time.Second, AudioKey: "msg-" + strconv.FormatInt(id, 10)})
	return id
}

// greeting adds a greeting to ext.
func (f *fakeStore) greeting(ext string, active bool) int64 {
	id := f.id()
	b := f.boxes[ext]
	if active {
		for i := range b.greets {
			b.greets[i].Active = false
		}
	}
	b.greets = append(b.greets, Greeting{ID: id, AudioKey: "greet-" + strconv.FormatInt(id, 10), Active: active})
	return id
}

func (f *fakeStore) err(method string) error {
	f.calls[method]++
	if n, ok := f.failFrom[method]; ok && f.calls[method] >= n {
		return errStore
	}
	return f.fail[method]
}

func (f *fakeStore) Mailbox(_ context.Context, ext string) (Mailbox, error) {
	if err := f.err("Mailbox"); err != nil {
		return Mailbox{}, err
	}
	b, ok := f.boxes[ext]
	if !ok {
		return Mailbox{}, ErrNoMailbox
	}
	m := b.box
	m.HasPIN = b.pin != ""
	for _, msg := range b.msgs {
		if msg.Folder == FolderNew {
			m.NewMessages++
		} else {
			m.SavedMessages++
		}
	}
	for _, g := range b.greets {
		if g.Active {
			m.GreetingKey = g.AudioKey
		}
	}
	return m, nil
}

func (f *fakeStore) AddMessage(_ context.Context, ext string, nm NewMessage) error {
	f.taken = append(f.taken, nm.Recording.Handle)
	if err := f.err("AddMessage"); err != nil {
		return err
	}
	b := f.boxes[ext]
	size := int64(nm.Recording.Duration/time.Millisecond)*BytesPerSecond/1000 + wavHeaderBytes
	if b.box.UsedBytes+size > b.box.LimitBytes {
		return ErrMailboxFull
	}
	b.box.UsedBytes += size
	b.msgs = append(b.msgs, Message{ID: f.id(), Folder: FolderNew, CallerNumber: nm.CallerNumber,
		CallerName: nm.CallerName, ReceivedAt: nm.ReceivedAt, Duration: nm.Recording.Duration,
		AudioKey: nm.Recording.Handle})
	return nil
}

func (f *fakeStore) Messages(_ context.Context, ext string, latestFirst bool) ([]Message, error) {
	if err := f.err("Messages"); err != nil {
		return nil, err
	}
	out := slices.Clone(f.boxes[ext].msgs)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Folder != out[j].Folder {
			return out[i].Folder == FolderNew
		}
		if latestFirst {
			return out[i].ReceivedAt.After(out[j].ReceivedAt)
		}
		return out[i].ReceivedAt.Before(out[j].ReceivedAt)
	})
	return out, nil
}

func (f *fakeStore) findMsg(ext string, id int64) int {
	return slices.IndexFunc(f.boxes[ext].msgs, func(m Message) bool { return m.ID == id })
}

func (f *fakeStore) MoveMessage(_ context.Context, ext string, id int64, folder string) error {
	if err := f.err("MoveMessage"); err != nil {
		return err
	}
	i := f.findMsg(ext, id)
	if i < 0 {
		return ErrNoMessage
	}
	f.boxes[ext].msgs[i].Folder = folder
	return nil
}

func (f *fakeStore) DeleteMessage(_ context.Context, ext string, id int64) error {
	if err := f.err("DeleteMessage"); err != nil {
		return err
	}
	i := f.findMsg(ext, id)
	if i < 0 {
		return ErrNoMessage
	}
	b := f.boxes[ext]
	b.msgs = slices.Delete(b.msgs, i, i+1)
	return nil
}

func (f *fakeStore) Greetings(_ context.Context, ext string) ([]Greeting, error) {
	if err := f.err("Greetings"); err != nil {
		return nil, err
	}
	return slices.Clone(f.boxes[ext].greets), nil
}

func (f *fakeStore) AddGreeting(_ context.Context, ext string, rec Recording) (int64, error) {
	f.taken = append(f.taken, rec.Handle)
	if err := f.err("AddGreeting"); err != nil {
		return 0, err
	}
	id := f.id()
	b := f.boxes[ext]
	b.greets = append(b.greets, Greeting{ID: id, AudioKey: rec.Handle})
	return id, nil
}

func (f *fakeStore) SetActiveGreeting(_ context.Context, ext string, id int64) error {
	if err := f.err("SetActiveGreeting"); err != nil {
		return err
	}
	b := f.boxes[ext]
	if id != 0 && !slices.ContainsFunc(b.greets, func(g Greeting) bool { return g.ID == id }) {
		return errors.New("no such greeting")
	}
	for i := range b.greets {
		b.greets[i].Active = b.greets[i].ID == id
	}
	return nil
}

func (f *fakeStore) SetName(_ context.Context, ext string, rec Recording) error {
	f.taken = append(f.taken, rec.Handle)
	if err := f.err("SetName"); err != nil {
		return err
	}
	f.boxes[ext].box.NameKey = rec.Handle
	return nil
}

func (f *fakeStore) VerifyPIN(_ context.Context, ext, pin string) (bool, error) {
	f.verified = append(f.verified, ext)
	if err := f.err("VerifyPIN"); err != nil {
		return false, err
	}
	b, ok := f.boxes[ext]
	if !ok {
		return false, errors.New("not found")
	}
	return b.pin != "" && b.pin == pin, nil
}

func (f *fakeStore) PINFailed(_ context.Context, ext string, maxFailures int, lockFor time.Duration) (bool, error) {
	if err := f.err("PINFailed"); err != nil {
		return false, err
	}
	b := f.boxes[ext]
	b.failures++
	if b.failures >= maxFailures {
		b.box.LockedUntil = f.now.Add(lockFor)
	}
	return b.box.LockedUntil.After(f.now), nil
}

func (f *fakeStore) PINSucceeded(_ context.Context, ext string) error {
	if err := f.err("PINSucceeded"); err != nil {
		return err
	}
	b := f.boxes[ext]
	b.failures, b.box.LockedUntil = 0, time.Time{}
	return nil
}

// ChangePIN applies a small policy: 4 to 10 digits, not one digit
// repeated, not 1234-style, not the extension, not the previous PIN.
func (f *fakeStore) ChangePIN(_ context.Context, ext, pin string) error {
	if err := f.err("ChangePIN"); err != nil {
		return err
	}
	b := f.boxes[ext]
	switch {
	case pin == "":
		return errors.New("empty pin would clear it")
	case len(pin) < 4 || len(pin) > 10:
		return &PINRejectedError{Rule: RuleLength}
	case strings.Count(pin, pin[:1]) == len(pin):
		return &PINRejectedError{Rule: RuleRepeated}
	case strings.Contains("0123456789", pin) || strings.Contains("9876543210", pin):
		return &PINRejectedError{Rule: RuleSequential}
	case pin == ext:
		return &PINRejectedError{Rule: RulePersonal}
	case pin == b.pin:
		return &PINRejectedError{Rule: RulePrevious}
	}
	b.oldPINs = append(b.oldPINs, b.pin)
	b.pin = pin
	return nil
}
