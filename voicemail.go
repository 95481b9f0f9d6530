package switchboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"switchboard/admin"
	"switchboard/audiofile"
	"switchboard/blob"
	"switchboard/store"
)

var _ admin.VoicemailBackend = (*adminBackend)(nil)

// Upload limits: how long a greeting and a name recording may be.
const (
	maxGreetingLength = 5 * time.Minute
	maxNameLength     = 10 * time.Second
)

func apiMailbox(m store.Mailbox) admin.Voicemail {
	v := admin.Voicemail{
		Enabled: m.Enabled, SortLatestFirst: m.SortLatestFirst, AnnounceTime: m.AnnounceTime,
		AnnounceCallerID: m.AnnounceCallerID, OperatorForward: m.OperatorForward, EmailMode: m.EmailMode,
		StorageLimitBytes: m.StorageLimitBytes, UsedBytes: m.UsedBytes, NewMessages: m.NewMessages,
		SavedMessages: m.SavedMessages, HasName: m.NameKey != "",
	}
	if m.ActiveGreetingID != 0 {
		id := m.ActiveGreetingID
		v.ActiveGreeting = &id
	}
	if !m.LockedUntil.IsZero() && m.LockedUntil.After(time.Now()) {
		at := m.LockedUntil
		v.LockedUntil = &at
	}
	return v
}

func apiMessage(m store.Message) admin.VoicemailMessage {
	return admin.VoicemailMessage{ID: m.ID, Folder: m.Folder, CallerNumber: m.CallerNumber, CallerName: m.CallerName,
		ReceivedAt: m.ReceivedAt, DurationMS: m.Duration.Milliseconds(), SizeBytes: m.SizeBytes}
}

func apiGreeting(g store.Greeting) admin.Greeting {
	return admin.Greeting{ID: g.ID, Name: g.Name, DurationMS: g.Duration.Milliseconds(), SizeBytes: g.SizeBytes,
		Active: g.Active, CreatedAt: g.CreatedAt}
}

// mailboxError maps a full mailbox to its API answer.
func mailboxError(err error, what string) error {
	if errors.Is(err, store.ErrMailboxFull) {
		return &admin.Error{Status: 409, Field: "file", Rule: "storage_limit", Message: "the mailbox storage limit would be exceeded"}
	}
	return apiError(err, what)
}

func (b *adminBackend) GetVoicemail(ctx context.Context, ext string) (admin.Voicemail, error) {
	m, err := b.db.Voicemail().Mailbox(ctx, ext)
	if err != nil {
		return admin.Voicemail{}, apiError(err, "user")
	}
	return apiMailbox(m), nil
}

func (b *adminBackend) UpdateVoicemail(ctx context.Context, ext string, p admin.VoicemailPatch) (admin.Voicemail, error) {
	upd := store.MailboxUpdate{
		Enabled: p.Enabled, SortLatestFirst: p.SortLatestFirst, AnnounceTime: p.AnnounceTime,
		AnnounceCallerID: p.AnnounceCallerID, OperatorForward: p.OperatorForward, EmailMode: p.EmailMode,
		StorageLimitBytes: p.StorageLimitBytes,
	}
	if p.ActiveGreeting.Set {
		var id int64
		if p.ActiveGreeting.Value != nil {
			id = *p.ActiveGreeting.Value
		}
		upd.ActiveGreetingID = &id
	}
	m, err := b.db.Voicemail().UpdateMailbox(ctx, ext, upd)
	if err != nil {
		return admin.Voicemail{}, apiError(err, "user")
	}
	return apiMailbox(m), nil
}

func (b *adminBackend) ListMessages(ctx context.Context, ext, folder string) ([]admin.VoicemailMessage, error) {
	m, err := b.db.Voicemail().Mailbox(ctx, ext)
	if err != nil {
		return nil, apiError(err, "user")
	}
	list, err := b.db.Voicemail().Messages(ctx, ext, folder, m.SortLatestFirst)
	if err != nil {
		return nil, apiError(err, "user")
	}
	out := make([]admin.VoicemailMessage, len(list))
	for i, msg := range list {
		out[i] = apiMessage(msg)
	}
	return out, nil
}

func (b *adminBackend) MoveMessage(ctx context.Context, ext string, id int64, folder string) (admin.VoicemailMessage, error) {
	m, err := b.db.Voicemail().MoveMessage(ctx, ext, id, folder)
	if err != nil {
		return admin.VoicemailMessage{}, apiError(err, "message")
	}
	b.sip.NotifyMailboxSoon(ext, nil, "")
	return apiMessage(m), nil
}

func (b *adminBackend) DeleteMessage(ctx context.Context, ext string, id int64) error {
	if err := b.db.Voicemail().DeleteMessage(ctx, ext, id); err != nil {
		return apiError(err, "message")
	}
	b.sip.NotifyMailboxSoon(ext, nil, "")
	b.audio.sweepSoon()
	return nil
}

func (b *adminBackend) ClearMessages(ctx context.Context, ext string) (int, error) {
	n, err := b.db.Voicemail().ClearMessages(ctx, ext)
	if err != nil {
		return 0, apiError(err, "user")
	}
	b.sip.NotifyMailboxSoon(ext, nil, "")
	b.audio.sweepSoon()
	return n, nil
}

func (b *adminBackend) ClearVoicemailData(ctx context.Context, ext string) error {
	if err := b.db.Voicemail().ClearData(ctx, ext); err != nil {
		return apiError(err, "user")
	}
	b.sip.NotifyMailboxSoon(ext, nil, "")
	b.audio.sweepSoon()
	return nil
}

func (b *adminBackend) ListGreetings(ctx context.Context, ext string) ([]admin.Greeting, error) {
	list, err := b.db.Voicemail().Greetings(ctx, ext)
	if err != nil {
		return nil, apiError(err, "user")
	}
	out := make([]admin.Greeting, len(list))
	for i, g := range list {
		out[i] = apiGreeting(g)
	}
	return out, nil
}

// storeUpload converts uploaded audio and puts it in the blob store under
// a new key; the caller commits the row naming it, or deletes it.
func (b *adminBackend) storeUpload(ctx context.Context, prefix string, audio []byte, maxLen time.Duration) (string, int64, time.Duration, error) {
	pcm, err := audiofile.Decode(audio, maxLen)
	if err != nil {
		return "", 0, 0, admin.Invalid("file", "audio", err.Error()+" (WAV or MP3, up to "+maxLen.String()+")")
	}
	wav := audiofile.EncodeWAV(pcm)
	key := blob.NewKey(prefix, ".wav")
	n, err := b.audio.blobs.Put(ctx, key, bytes.NewReader(wav))
	if err != nil {
		return "", 0, 0, err
	}
	return key, n, audiofile.Duration(len(pcm)), nil
}

func (b *adminBackend) AddGreeting(ctx context.Context, ext, name string, audio []byte) (admin.Greeting, error) {
	if _, err := b.db.Users().FindByExtension(ctx, ext); err != nil {
		return admin.Greeting{}, apiError(err, "user")
	}
	key, size, dur, err := b.storeUpload(ctx, "greetings/"+ext, audio, maxGreetingLength)
	if err != nil {
		return admin.Greeting{}, err
	}
	g, err := b.db.Voicemail().AddGreeting(ctx, ext, name, key, size, dur)
	if err != nil {
		b.audio.discard(key)
		return admin.Greeting{}, mailboxError(err, "user")
	}
	return apiGreeting(g), nil
}

func (b *adminBackend) DeleteGreeting(ctx context.Context, ext string, id int64) error {
	if err := b.db.Voicemail().DeleteGreeting(ctx, ext, id); err != nil {
		return apiError(err, "greeting")
	}
	b.audio.sweepSoon()
	return nil
}

func (b *adminBackend) PutRecordedName(ctx context.Context, ext string, audio []byte) error {
	if _, err := b.db.Users().FindByExtension(ctx, ext); err != nil {
		return apiError(err, "user")
	}
	key, size, _, err := b.storeUpload(ctx, "names/"+ext, audio, maxNameLength)
	if err != nil {
		return err
	}
	if err := b.db.Voicemail().SetName(ctx, ext, key, size); err != nil {
		b.audio.discard(key)
		return mailboxError(err, "user")
	}
	b.audio.sweepSoon()
	return nil
}

func (b *adminBackend) DeleteRecordedName(ctx context.Context, ext string) error {
	if err := b.db.Voicemail().SetName(ctx, ext, "", 0); err != nil {
		return apiError(err, "user")
	}
	b.audio.sweepSoon()
	return nil
}

func (b *adminBackend) Audio(ctx context.Context, ext, kind string, id int64) (io.ReadCloser, int64, error) {
	var key string
	switch kind {
	case "message":
		m, err := b.db.Voicemail().Message(ctx, ext, id)
		if err != nil {
			return nil, 0, apiError(err, "message")
		}
		key = m.AudioKey
	case "greeting":
		gs, err := b.db.Voicemail().Greetings(ctx, ext)
		if err != nil {
			return nil, 0, apiError(err, "user")
		}
		for _, g := range gs {
			if g.ID == id {
				key = g.AudioKey
			}
		}
		if key == "" {
			return nil, 0, admin.NotFound("greeting")
		}
	case "name":
		m, err := b.db.Voicemail().Mailbox(ctx, ext)
		if err != nil {
			return nil, 0, apiError(err, "user")
		}
		if m.NameKey == "" {
			return nil, 0, admin.NotFound("recorded name")
		}
		key = m.NameKey
	default:
		return nil, 0, admin.NotFound(kind)
	}
	rc, size, err := b.audio.blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, fmt.Errorf("audio %s of a %s of user %s is missing: %w", key, kind, ext, err)
	}
	return rc, size, err
}

// audioStore is the blob store of voicemail audio and call recordings, and
// the sweeper that deletes the audio of deleted rows.
type audioStore struct {
	blobs blob.Store
	db    *store.DB
	log   *slog.Logger
	kick  chan struct{}
}

func newAudioStore(blobs blob.Store, db *store.DB, log *slog.Logger) *audioStore {
	return &audioStore{blobs: blobs, db: db, log: log, kick: make(chan struct{}, 1)}
}

// sweepSoon wakes the sweeper.
func (a *audioStore) sweepSoon() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// discard deletes a blob whose row was never committed.
func (a *audioStore) discard(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.blobs.Delete(ctx, key); err != nil {
		a.log.Warn("delete unused audio", "key", key, "error", err)
	}
}

// run deletes orphaned audio when woken and every minute, until ctx ends.
func (a *audioStore) run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		a.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
	}
}

func (a *audioStore) sweep(ctx context.Context) {
	for ctx.Err() == nil {
		keys, err := a.db.Voicemail().Orphans(ctx, 100)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Error("list orphaned audio", "error", err)
			}
			return
		}
		if len(keys) == 0 {
			return
		}
		var done []string
		for _, k := range keys {
			if err := a.blobs.Delete(ctx, k); err != nil {
				a.log.Warn("delete orphaned audio", "key", k, "error", err)
				continue
			}
			done = append(done, k)
		}
		if len(done) == 0 {
			return
		}
		if err := a.db.Voicemail().DropOrphans(ctx, done); err != nil {
			a.log.Error("forget orphaned audio", "error", err)
			return
		}
	}
}
