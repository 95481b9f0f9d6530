package switchboard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/blob"
	"switchboard/ivr"
	"switchboard/store"
)

var _ ivr.Store = (*ivrStore)(nil)

// recordingDir keeps the recordings of calls in progress, one WAV file per
// handle, until the voicemail application files or discards them.
type recordingDir struct {
	dir string
}

func newRecordingDir(dir string) (*recordingDir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recordings directory: %w", err)
	}
	return &recordingDir{dir: dir}, nil
}

// Create opens a new recording file and returns its handle.
func (d *recordingDir) Create() (string, *os.File, error) {
	handle := strings.ToLower(rand.Text())
	f, err := os.OpenFile(d.Path(handle), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	return handle, f, err
}

// Path is where the recording of a handle is.
func (d *recordingDir) Path(handle string) string { return filepath.Join(d.dir, handle+".wav") }

// Remove deletes a recording; a missing one is not an error.
func (d *recordingDir) Remove(handle string) error {
	if err := os.Remove(d.Path(handle)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// clear deletes recordings left over by a crash: they belong to calls that
// no longer exist.
func (d *recordingDir) clear() error {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wav") {
			_ = os.Remove(filepath.Join(d.dir, e.Name()))
		}
	}
	return nil
}

// ivrStore gives the voicemail applications the mailboxes: the store for
// rows, the blob store for audio, the recordings of the call, and a hook
// for whoever tells the phones and the user that the mailbox changed.
type ivrStore struct {
	db         *store.DB
	audio      *audioStore
	recordings *recordingDir
	// changed is called after a message is filed, moved or deleted.
	changed func(ext string, filed *store.Message)
	// logins counts PIN checks by result (ok, failed); nil counts nothing.
	logins *prometheus.CounterVec
}

func newLoginsMetric(reg prometheus.Registerer) *prometheus.CounterVec {
	m := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_voicemail_logins_total",
		Help: "Mailbox logins by phone, by result: ok or failed (wrong PIN, or no PIN set).",
	}, []string{"result"})
	m.WithLabelValues("ok")
	m.WithLabelValues("failed")
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

func (s *ivrStore) Mailbox(ctx context.Context, ext string) (ivr.Mailbox, error) {
	u, err := s.db.Users().FindByExtension(ctx, ext)
	if errors.Is(err, store.ErrNotFound) {
		return ivr.Mailbox{}, ivr.ErrNoMailbox
	}
	if err != nil {
		return ivr.Mailbox{}, err
	}
	m, err := s.db.Voicemail().Mailbox(ctx, ext)
	if errors.Is(err, store.ErrNotFound) {
		return ivr.Mailbox{}, ivr.ErrNoMailbox
	}
	if err != nil {
		return ivr.Mailbox{}, err
	}
	out := ivr.Mailbox{
		Extension: ext, Enabled: m.Enabled, HasPIN: u.HasVoicemailPIN,
		SortLatestFirst: m.SortLatestFirst, AnnounceTime: m.AnnounceTime, AnnounceCallerID: m.AnnounceCallerID,
		OperatorForward: m.OperatorForward, NameKey: m.NameKey, NewMessages: m.NewMessages, SavedMessages: m.SavedMessages,
		UsedBytes: m.UsedBytes, LimitBytes: m.StorageLimitBytes, LockedUntil: m.LockedUntil,
	}
	if u.Timezone != "" {
		if loc, err := time.LoadLocation(u.Timezone); err == nil {
			out.Location = loc
		}
	}
	if m.ActiveGreetingID != 0 {
		gs, err := s.db.Voicemail().Greetings(ctx, ext)
		if err != nil {
			return ivr.Mailbox{}, err
		}
		for _, g := range gs {
			if g.ID == m.ActiveGreetingID {
				out.GreetingKey = g.AudioKey
			}
		}
	}
	return out, nil
}

// file puts a recording in the blob store under a new key and returns the
// key and size; the recording file is gone afterwards either way.
func (s *ivrStore) file(ctx context.Context, prefix string, rec ivr.Recording) (string, int64, error) {
	defer func() { _ = s.recordings.Remove(rec.Handle) }()
	f, err := os.Open(s.recordings.Path(rec.Handle))
	if err != nil {
		return "", 0, fmt.Errorf("open recording: %w", err)
	}
	defer f.Close()
	key := blob.NewKey(prefix, ".wav")
	n, err := s.audio.blobs.Put(ctx, key, f)
	if err != nil {
		return "", 0, err
	}
	return key, n, nil
}

func (s *ivrStore) AddMessage(ctx context.Context, ext string, m ivr.NewMessage) error {
	key, size, err := s.file(ctx, "voicemail/"+ext, m.Recording)
	if err != nil {
		return err
	}
	msg, err := s.db.Voicemail().AddMessage(ctx, ext, store.NewMessage{CallerNumber: m.CallerNumber, CallerName: m.CallerName,
		ReceivedAt: m.ReceivedAt, Duration: m.Recording.Duration, SizeBytes: size, AudioKey: key})
	if err != nil {
		s.audio.discard(key)
		if errors.Is(err, store.ErrMailboxFull) {
			return ivr.ErrMailboxFull
		}
		return err
	}
	if s.changed != nil {
		s.changed(ext, &msg)
	}
	return nil
}

func (s *ivrStore) Messages(ctx context.Context, ext string, latestFirst bool) ([]ivr.Message, error) {
	list, err := s.db.Voicemail().Messages(ctx, ext, "", latestFirst)
	if err != nil {
		return nil, err
	}
	out := make([]ivr.Message, len(list))
	for i, m := range list {
		out[i] = ivr.Message{ID: m.ID, Folder: m.Folder, CallerNumber: m.CallerNumber, CallerName: m.CallerName,
			ReceivedAt: m.ReceivedAt, Duration: m.Duration, AudioKey: m.AudioKey}
	}
	return out, nil
}

func (s *ivrStore) MoveMessage(ctx context.Context, ext string, id int64, folder string) error {
	_, err := s.db.Voicemail().MoveMessage(ctx, ext, id, folder)
	if errors.Is(err, store.ErrNotFound) {
		return ivr.ErrNoMessage
	}
	if err == nil && s.changed != nil {
		s.changed(ext, nil)
	}
	return err
}

func (s *ivrStore) DeleteMessage(ctx context.Context, ext string, id int64) error {
	err := s.db.Voicemail().DeleteMessage(ctx, ext, id)
	if errors.Is(err, store.ErrNotFound) {
		return ivr.ErrNoMessage
	}
	if err == nil {
		s.audio.sweepSoon()
		if s.changed != nil {
			s.changed(ext, nil)
		}
	}
	return err
}

func (s *ivrStore) Greetings(ctx context.Context, ext string) ([]ivr.Greeting, error) {
	list, err := s.db.Voicemail().Greetings(ctx, ext)
	if err != nil {
		return nil, err
	}
	out := make([]ivr.Greeting, len(list))
	for i, g := range list {
		out[i] = ivr.Greeting{ID: g.ID, AudioKey: g.AudioKey, Active: g.Active}
	}
	return out, nil
}

func (s *ivrStore) AddGreeting(ctx context.Context, ext string, rec ivr.Recording) (int64, error) {
	key, size, err := s.file(ctx, "greetings/"+ext, rec)
	if err != nil {
		return 0, err
	}
	name := "Recorded " + time.Now().UTC().Format("2006-01-02 15:04:05")
	for i := 2; ; i++ {
		g, err := s.db.Voicemail().AddGreeting(ctx, ext, name, key, size, rec.Duration)
		if errors.Is(err, store.ErrConflict) && i < 100 {
			name = fmt.Sprintf("Recorded %s (%d)", time.Now().UTC().Format("2006-01-02 15:04:05"), i)
			continue
		}
		if err != nil {
			s.audio.discard(key)
			if errors.Is(err, store.ErrMailboxFull) {
				return 0, ivr.ErrMailboxFull
			}
			return 0, err
		}
		return g.ID, nil
	}
}

func (s *ivrStore) SetActiveGreeting(ctx context.Context, ext string, id int64) error {
	_, err := s.db.Voicemail().UpdateMailbox(ctx, ext, store.MailboxUpdate{ActiveGreetingID: &id})
	return err
}

func (s *ivrStore) SetName(ctx context.Context, ext string, rec ivr.Recording) error {
	key, size, err := s.file(ctx, "names/"+ext, rec)
	if err != nil {
		return err
	}
	if err := s.db.Voicemail().SetName(ctx, ext, key, size); err != nil {
		s.audio.discard(key)
		if errors.Is(err, store.ErrMailboxFull) {
			return ivr.ErrMailboxFull
		}
		return err
	}
	s.audio.sweepSoon()
	return nil
}

func (s *ivrStore) VerifyPIN(ctx context.Context, ext, pin string) (bool, error) {
	ok, err := s.db.Users().VerifyPIN(ctx, ext, pin)
	if errors.Is(err, store.ErrNotFound) {
		ok, err = false, nil
	}
	if err == nil && s.logins != nil {
		result := "failed"
		if ok {
			result = "ok"
		}
		s.logins.WithLabelValues(result).Inc()
	}
	return ok, err
}

func (s *ivrStore) PINFailed(ctx context.Context, ext string, maxFailures int, lockFor time.Duration) (bool, error) {
	locked, _, err := s.db.Voicemail().PINFailed(ctx, ext, maxFailures, lockFor)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return locked, err
}

func (s *ivrStore) PINSucceeded(ctx context.Context, ext string) error {
	return s.db.Voicemail().PINSucceeded(ctx, ext)
}

func (s *ivrStore) ChangePIN(ctx context.Context, ext, pin string) error {
	if pin == "" {
		return &ivr.PINRejectedError{Rule: ivr.RuleLength}
	}
	_, err := s.db.Users().Update(ctx, ext, store.UserUpdate{VoicemailPIN: &pin})
	var ve *store.ValidationError
	if errors.As(err, &ve) && ve.Field == "voicemail_pin" {
		return &ivr.PINRejectedError{Rule: ve.Rule}
	}
	return err
}
