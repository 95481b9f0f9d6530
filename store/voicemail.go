package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Voicemail email modes (seed 003 "Email Notification").
const (
	EmailNone            = "none"
	EmailLink            = "link"
	EmailBriefLink       = "brief_link"
	EmailAttachment      = "attachment"
	EmailBriefAttachment = "brief_attachment"
)

// Voicemail folders.
const (
	FolderNew   = "new"
	FolderSaved = "saved"
)

// DefaultStorageLimit is a new mailbox's storage limit: 100 MiB, about
// 110 hours of 8 kHz 16-bit audio.
const DefaultStorageLimit int64 = 100 << 20

// ErrMailboxFull is returned when a message, greeting or call recording
// would take a user's storage past its limit.
var ErrMailboxFull = errors.New("mailbox full")

// Mailbox is a user's voicemail options and what the mailbox holds.
type Mailbox struct {
	Extension string
	Enabled   bool // the user's voicemail_enabled
	// Inbox options: newest first, and what playback announces.
	SortLatestFirst  bool
	AnnounceTime     bool
	AnnounceCallerID bool
	// OperatorForward is where 0 during the greeting goes: an extension
	// or an outside number; "" for nowhere.
	OperatorForward   string
	EmailMode         string
	StorageLimitBytes int64

	// Read-only: the active greeting (0: the default one), the recorded
	// name, storage used by messages, greetings, the name and call
	// recordings, and the message counts.
	ActiveGreetingID int64
	NameKey          string
	NameBytes        int64
	UsedBytes        int64
	NewMessages      int
	SavedMessages    int
	// PIN lockout: consecutive failures, and locked until when (zero: not
	// locked).
	PINFailures int
	LockedUntil time.Time
}

// MailboxUpdate changes the non-nil fields of a mailbox.
type MailboxUpdate struct {
	Enabled           *bool
	SortLatestFirst   *bool
	AnnounceTime      *bool
	AnnounceCallerID  *bool
	OperatorForward   *string
	EmailMode         *string
	StorageLimitBytes *int64
	// ActiveGreetingID names one of the user's greetings; 0 goes back to
	// the default greeting.
	ActiveGreetingID *int64
}

// Message is one voicemail message.
type Message struct {
	ID           int64
	Extension    string
	Folder       string
	CallerNumber string
	CallerName   string
	ReceivedAt   time.Time
	Duration     time.Duration
	SizeBytes    int64
	AudioKey     string
}

// Greeting is one of a user's recorded greetings.
type Greeting struct {
	ID        int64
	Extension string
	Name      string
	AudioKey  string
	SizeBytes int64
	Duration  time.Duration
	CreatedAt time.Time
	Active    bool
}

// Voicemail is the repository of mailboxes, messages and greetings. Audio
// lives in a blob store under the keys the rows hold; the caller writes
// the blob before adding the row, and removes blobs named by Orphans.
type Voicemail struct {
	db *DB
}

func checkMailbox(m *Mailbox) error {
	switch m.EmailMode {
	case EmailNone, EmailLink, EmailBriefLink, EmailAttachment, EmailBriefAttachment:
	default:
		return invalid("email_mode", "enum", "email_mode is none, link, brief_link, attachment or brief_attachment")
	}
	if m.StorageLimitBytes < 0 || m.StorageLimitBytes > 1<<40 {
		return invalid("storage_limit_bytes", "range", "storage_limit_bytes is 0 to 1 TiB")
	}
	if m.OperatorForward != "" {
		if isDigits(m.OperatorForward) && len(m.OperatorForward) <= 10 {
			return nil
		}
		if err := checkE164("operator_forward", m.OperatorForward); err != nil {
			return invalid("operator_forward", "destination", "operator_forward is an extension or a +E.164 number")
		}
	}
	return nil
}

// ensureBox creates the user's mailbox row with the defaults if it is not
// there yet.
func ensureBox(ctx context.Context, tx *sql.Tx, uid int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO voicemail_boxes (user_id, storage_limit_bytes, updated_at)
		VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING`, uid, DefaultStorageLimit, now.UnixMilli())
	return err
}

func readBox(ctx context.Context, tx *sql.Tx, uid int64, ext string) (Mailbox, error) {
	m := Mailbox{Extension: ext}
	var active sql.NullInt64
	var locked int64
	err := tx.QueryRowContext(ctx, `SELECT u.voicemail_enabled, b.sort_latest_first, b.announce_time, b.announce_caller_id,
			b.operator_forward, b.email_mode, b.storage_limit_bytes, b.active_greeting_id, b.name_key, b.name_bytes,
			b.pin_failures, b.locked_until
		FROM users u JOIN voicemail_boxes b ON b.user_id = u.id WHERE u.id = ?`, uid).Scan(
		&m.Enabled, &m.SortLatestFirst, &m.AnnounceTime, &m.AnnounceCallerID, &m.OperatorForward, &m.EmailMode,
		&m.StorageLimitBytes, &active, &m.NameKey, &m.NameBytes, &m.PINFailures, &locked)
	if err != nil {
		return Mailbox{}, err
	}
	m.ActiveGreetingID = active.Int64
	if locked > 0 {
		m.LockedUntil = time.UnixMilli(locked)
	}
	rows, err := tx.QueryContext(ctx, `SELECT folder, count(*) FROM voicemail_messages WHERE user_id = ? GROUP BY folder`, uid)
	if err != nil {
		return Mailbox{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var folder string
		var n int
		if err := rows.Scan(&folder, &n); err != nil {
			return Mailbox{}, err
		}
		if folder == FolderNew {
			m.NewMessages = n
		} else {
			m.SavedMessages = n
		}
	}
	if err := rows.Err(); err != nil {
		return Mailbox{}, err
	}
	used, err := usedBytes(ctx, tx, uid)
	m.UsedBytes = used
	return m, err
}

func usedBytes(ctx context.Context, tx *sql.Tx, uid int64) (int64, error) {
	var used int64
	err := tx.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(sum(size_bytes), 0) FROM voicemail_messages WHERE user_id = ?1) +
		(SELECT coalesce(sum(size_bytes), 0) FROM voicemail_greetings WHERE user_id = ?1) +
		(SELECT coalesce(sum(name_bytes), 0) FROM voicemail_boxes WHERE user_id = ?1) +
		(SELECT coalesce(sum(size_bytes), 0) FROM call_recordings WHERE user_id = ?1)`, uid).Scan(&used)
	return used, err
}

// Mailbox returns the mailbox of the user at ext (ErrNotFound if there is
// no such user); a user whose mailbox was never touched has the defaults.
func (v *Voicemail) Mailbox(ctx context.Context, ext string) (Mailbox, error) {
	var out Mailbox
	// Only read while the mailbox exists (every call to voicemail asks):
	// the single writer is for filing messages.
	err := v.db.view(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		out, err = readBox(ctx, tx, uid, ext)
		return err
	})
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("mailbox of user %s: %w", ext, err)
	}
	err = v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		if err := ensureBox(ctx, tx, uid, v.db.now()); err != nil {
			return err
		}
		out, err = readBox(ctx, tx, uid, ext)
		return err
	})
	if err != nil {
		return Mailbox{}, fmt.Errorf("mailbox of user %s: %w", ext, err)
	}
	return out, nil
}

// MessageCounts is what a message-waiting lamp shows of a mailbox.
type MessageCounts struct {
	Enabled    bool // the user's voicemail_enabled
	New, Saved int
}

// Counts returns the message counts of the mailbox of the user at ext
// (ErrNotFound if there is no such user). Unlike Mailbox it only reads:
// registrations of phones lead to calls of it.
func (v *Voicemail) Counts(ctx context.Context, ext string) (MessageCounts, error) {
	var out MessageCounts
	err := v.db.view(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT u.voicemail_enabled,
				(SELECT count(*) FROM voicemail_messages m WHERE m.user_id = u.id AND m.folder = ?),
				(SELECT count(*) FROM voicemail_messages m WHERE m.user_id = u.id AND m.folder <> ?)
			FROM users u WHERE u.extension = ?`, FolderNew, FolderNew, ext).Scan(&out.Enabled, &out.New, &out.Saved)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", ext, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return MessageCounts{}, fmt.Errorf("message counts of user %s: %w", ext, err)
	}
	return out, nil
}

// UpdateMailbox applies upd to the mailbox of the user at ext.
func (v *Voicemail) UpdateMailbox(ctx context.Context, ext string, upd MailboxUpdate) (Mailbox, error) {
	var out Mailbox
	err := v.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		now := v.db.now()
		if err := ensureBox(ctx, tx, uid, now); err != nil {
			return err
		}
		m, err := readBox(ctx, tx, uid, ext)
		if err != nil {
			return err
		}
		set(&m.Enabled, upd.Enabled)
		set(&m.SortLatestFirst, upd.SortLatestFirst)
		set(&m.AnnounceTime, upd.AnnounceTime)
		set(&m.AnnounceCallerID, upd.AnnounceCallerID)
		set(&m.OperatorForward, upd.OperatorForward)
		set(&m.EmailMode, upd.EmailMode)
		set(&m.StorageLimitBytes, upd.StorageLimitBytes)
		if err := checkMailbox(&m); err != nil {
			return err
		}
		var active any
		if upd.ActiveGreetingID != nil {
			m.ActiveGreetingID = *upd.ActiveGreetingID
		}
		if m.ActiveGreetingID != 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM voicemail_greetings WHERE id = ? AND user_id = ?`,
				m.ActiveGreetingID, uid).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return invalid("active_greeting", "exists", "no greeting of this user has that id")
			}
			active = m.ActiveGreetingID
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET voicemail_enabled = ?, updated_at = ? WHERE id = ?`,
			boolInt(m.Enabled), now.UnixMilli(), uid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE voicemail_boxes SET sort_latest_first = ?, announce_time = ?,
				announce_caller_id = ?, operator_forward = ?, email_mode = ?, storage_limit_bytes = ?,
				active_greeting_id = ?, updated_at = ? WHERE user_id = ?`,
			boolInt(m.SortLatestFirst), boolInt(m.AnnounceTime), boolInt(m.AnnounceCallerID), m.OperatorForward,
			m.EmailMode, m.StorageLimitBytes, active, now.UnixMilli(), uid); err != nil {
			return err
		}
		out, err = readBox(ctx, tx, uid, ext)
		return err
	})
	if err != nil {
		return Mailbox{}, fmt.Errorf("update mailbox of user %s: %w", ext, err)
	}
	return out, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// NewMessage is a message to add; its audio is already in the blob store.
type NewMessage struct {
	CallerNumber, CallerName string
	ReceivedAt               time.Time
	Duration                 time.Duration
	SizeBytes                int64
	AudioKey                 string
}

// AddMessage files a new message in the user's new folder. It refuses
// with ErrMailboxFull a message that would take the mailbox past its
// limit; the blob is then the caller's to delete.
func (v *Voicemail) AddMessage(ctx context.Context, ext string, nm NewMessage) (Message, error) {
	if nm.AudioKey == "" || nm.SizeBytes < 0 || nm.Duration < 0 {
		return Message{}, fmt.Errorf("add message for user %s: audio key, size and duration are required", ext)
	}
	if err := checkHeaderSafe("caller_name", nm.CallerName, 256); err != nil {
		nm.CallerName = ""
	}
	if err := checkHeaderSafe("caller_number", nm.CallerNumber, 64); err != nil {
		nm.CallerNumber = ""
	}
	var out Message
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		if err := ensureBox(ctx, tx, uid, v.db.now()); err != nil {
			return err
		}
		if err := checkRoom(ctx, tx, uid, nm.SizeBytes); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO voicemail_messages
			(user_id, folder, caller_number, caller_name, received_at, duration_ms, size_bytes, audio_key)
			VALUES (?, 'new', ?, ?, ?, ?, ?, ?)`,
			uid, nm.CallerNumber, nm.CallerName, nm.ReceivedAt.UnixMilli(), nm.Duration.Milliseconds(), nm.SizeBytes, nm.AudioKey)
		if err != nil {
			return mapConstraint(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		out, err = readMessage(ctx, tx, uid, ext, id)
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("add message for user %s: %w", ext, err)
	}
	return out, nil
}

// checkRoom refuses size more bytes in the mailbox of uid past its limit.
func checkRoom(ctx context.Context, tx *sql.Tx, uid, size int64) error {
	var limit int64
	if err := tx.QueryRowContext(ctx, `SELECT storage_limit_bytes FROM voicemail_boxes WHERE user_id = ?`, uid).Scan(&limit); err != nil {
		return err
	}
	used, err := usedBytes(ctx, tx, uid)
	if err != nil {
		return err
	}
	if used+size > limit {
		return ErrMailboxFull
	}
	return nil
}

// Room reports how many more bytes the mailbox of the user at ext holds.
func (v *Voicemail) Room(ctx context.Context, ext string) (int64, error) {
	m, err := v.Mailbox(ctx, ext)
	if err != nil {
		return 0, err
	}
	return max(m.StorageLimitBytes-m.UsedBytes, 0), nil
}

const messageColumns = `id, folder, caller_number, caller_name, received_at, duration_ms, size_bytes, audio_key`

func scanMessage(s interface{ Scan(...any) error }, ext string) (Message, error) {
	m := Message{Extension: ext}
	var received, dur int64
	if err := s.Scan(&m.ID, &m.Folder, &m.CallerNumber, &m.CallerName, &received, &dur, &m.SizeBytes, &m.AudioKey); err != nil {
		return Message{}, err
	}
	m.ReceivedAt = time.UnixMilli(received)
	m.Duration = time.Duration(dur) * time.Millisecond
	return m, nil
}

func readMessage(ctx context.Context, tx *sql.Tx, uid int64, ext string, id int64) (Message, error) {
	m, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM voicemail_messages
		WHERE id = ? AND user_id = ?`, id, uid), ext)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	return m, err
}

// Messages lists the messages of the user at ext in folder ("" for both),
// oldest first or, with latestFirst, newest first; new messages before
// saved ones when both are listed.
func (v *Voicemail) Messages(ctx context.Context, ext, folder string, latestFirst bool) ([]Message, error) {
	if folder != "" && folder != FolderNew && folder != FolderSaved {
		return nil, invalid("folder", "enum", "folder is new or saved")
	}
	order := "ASC"
	if latestFirst {
		order = "DESC"
	}
	var out []Message
	err := v.db.view(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+messageColumns+` FROM voicemail_messages
			WHERE user_id = ? AND (? = '' OR folder = ?)
			ORDER BY folder = 'saved', received_at `+order+`, id `+order, uid, folder, folder)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows, ext)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("messages of user %s: %w", ext, err)
	}
	return out, nil
}

// Message returns one message of the user at ext.
func (v *Voicemail) Message(ctx context.Context, ext string, id int64) (Message, error) {
	var out Message
	err := v.db.view(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		out, err = readMessage(ctx, tx, uid, ext, id)
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("message of user %s: %w", ext, err)
	}
	return out, nil
}

// MoveMessage puts a message of the user at ext in folder.
func (v *Voicemail) MoveMessage(ctx context.Context, ext string, id int64, folder string) (Message, error) {
	if folder != FolderNew && folder != FolderSaved {
		return Message{}, invalid("folder", "enum", "folder is new or saved")
	}
	var out Message
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE voicemail_messages SET folder = ? WHERE id = ? AND user_id = ?`, folder, id, uid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("message %d: %w", id, ErrNotFound)
		}
		out, err = readMessage(ctx, tx, uid, ext, id)
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("move message of user %s: %w", ext, err)
	}
	return out, nil
}

// DeleteMessage deletes a message of the user at ext; its audio key joins
// the orphans.
func (v *Voicemail) DeleteMessage(ctx context.Context, ext string, id int64) error {
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM voicemail_messages WHERE id = ? AND user_id = ?`, id, uid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("message %d: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete message of user %s: %w", ext, err)
	}
	return nil
}

// ClearMessages deletes every message of the user at ext, leaving the
// greetings and name; it returns how many went.
func (v *Voicemail) ClearMessages(ctx context.Context, ext string) (int, error) {
	var n int64
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM voicemail_messages WHERE user_id = ?`, uid)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("clear messages of user %s: %w", ext, err)
	}
	return int(n), nil
}

// ClearData deletes every message, greeting and the name recording of the
// user at ext.
func (v *Voicemail) ClearData(ctx context.Context, ext string) error {
	err := v.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM voicemail_messages WHERE user_id = ?`,
			`UPDATE voicemail_boxes SET active_greeting_id = NULL, name_key = '', name_bytes = 0 WHERE user_id = ?`,
			`DELETE FROM voicemail_greetings WHERE user_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, uid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear voicemail data of user %s: %w", ext, err)
	}
	return nil
}

// AddGreeting adds a greeting to the user at ext; a name already used is
// a conflict on "name". Its audio is already in the blob store.
func (v *Voicemail) AddGreeting(ctx context.Context, ext, name, key string, size int64, dur time.Duration) (Greeting, error) {
	if err := checkHeaderSafe("name", name, 64); err != nil {
		return Greeting{}, err
	}
	if name == "" {
		return Greeting{}, invalid("name", "required", "a greeting needs a name")
	}
	var out Greeting
	err := v.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		now := v.db.now()
		if err := ensureBox(ctx, tx, uid, now); err != nil {
			return err
		}
		if err := checkRoom(ctx, tx, uid, size); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO voicemail_greetings (user_id, name, audio_key, size_bytes, duration_ms, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, uid, name, key, size, dur.Milliseconds(), now.UnixMilli())
		if err != nil {
			if errors.Is(mapConstraint(err), ErrConflict) {
				return &ConflictError{Field: "name"}
			}
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		gs, err := greetings(ctx, tx, uid, ext)
		for _, g := range gs {
			if g.ID == id {
				out = g
			}
		}
		return err
	})
	if err != nil {
		return Greeting{}, fmt.Errorf("add greeting for user %s: %w", ext, err)
	}
	return out, nil
}

func greetings(ctx context.Context, tx *sql.Tx, uid int64, ext string) ([]Greeting, error) {
	rows, err := tx.QueryContext(ctx, `SELECT g.id, g.name, g.audio_key, g.size_bytes, g.duration_ms, g.created_at,
			coalesce(b.active_greeting_id = g.id, 0)
		FROM voicemail_greetings g LEFT JOIN voicemail_boxes b ON b.user_id = g.user_id
		WHERE g.user_id = ? ORDER BY g.id`, uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Greeting
	for rows.Next() {
		g := Greeting{Extension: ext}
		var dur, created int64
		if err := rows.Scan(&g.ID, &g.Name, &g.AudioKey, &g.SizeBytes, &dur, &created, &g.Active); err != nil {
			return nil, err
		}
		g.Duration = time.Duration(dur) * time.Millisecond
		g.CreatedAt = time.UnixMilli(created)
		out = append(out, g)
	}
	return out, rows.Err()
}

// Greetings lists the greetings of the user at ext, oldest first.
func (v *Voicemail) Greetings(ctx context.Context, ext string) ([]Greeting, error) {
	var out []Greeting
	err := v.db.view(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		out, err = greetings(ctx, tx, uid, ext)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("greetings of user %s: %w", ext, err)
	}
	return out, nil
}

// DeleteGreeting deletes a greeting of the user at ext; if it was active
// the default greeting takes over.
func (v *Voicemail) DeleteGreeting(ctx context.Context, ext string, id int64) error {
	err := v.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM voicemail_greetings WHERE id = ? AND user_id = ?`, id, uid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("greeting %d: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete greeting of user %s: %w", ext, err)
	}
	return nil
}

// SetName records the name recording of the user at ext (key "" removes
// it); the previous one's key joins the orphans.
func (v *Voicemail) SetName(ctx context.Context, ext, key string, size int64) error {
	if key == "" {
		size = 0
	}
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		now := v.db.now()
		if err := ensureBox(ctx, tx, uid, now); err != nil {
			return err
		}
		if key != "" {
			var old int64
			if err := tx.QueryRowContext(ctx, `SELECT name_bytes FROM voicemail_boxes WHERE user_id = ?`, uid).Scan(&old); err != nil {
				return err
			}
			if err := checkRoom(ctx, tx, uid, size-old); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE voicemail_boxes SET name_key = ?, name_bytes = ?, updated_at = ? WHERE user_id = ?`,
			key, size, now.UnixMilli(), uid)
		return err
	})
	if err != nil {
		return fmt.Errorf("set recorded name of user %s: %w", ext, err)
	}
	return nil
}

// PINFailed counts a wrong PIN for the mailbox of the user at ext. At the
// maxFailures-th in a row the mailbox locks for lockFor; it returns
// whether it is now locked and until when.
func (v *Voicemail) PINFailed(ctx context.Context, ext string, maxFailures int, lockFor time.Duration) (bool, time.Time, error) {
	var locked bool
	var until time.Time
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		now := v.db.now()
		if err := ensureBox(ctx, tx, uid, now); err != nil {
			return err
		}
		// One conditional update: correct however many engines count.
		var failures int
		var lockedUntil int64
		if err := tx.QueryRowContext(ctx, `UPDATE voicemail_boxes
			SET pin_failures = pin_failures + 1,
			    locked_until = CASE WHEN pin_failures + 1 >= ?1 THEN ?2 ELSE locked_until END,
			    updated_at = ?3
			WHERE user_id = ?4 RETURNING pin_failures, locked_until`,
			maxFailures, now.Add(lockFor).UnixMilli(), now.UnixMilli(), uid).Scan(&failures, &lockedUntil); err != nil {
			return err
		}
		if lockedUntil > now.UnixMilli() {
			locked, until = true, time.UnixMilli(lockedUntil)
		}
		return nil
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("count PIN failure of user %s: %w", ext, err)
	}
	return locked, until, nil
}

// PINSucceeded clears the failure count of the mailbox of the user at ext.
func (v *Voicemail) PINSucceeded(ctx context.Context, ext string) error {
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE voicemail_boxes SET pin_failures = 0, locked_until = 0 WHERE user_id = ?`, uid)
		return err
	})
	if err != nil {
		return fmt.Errorf("clear PIN failures of user %s: %w", ext, err)
	}
	return nil
}

// Orphans returns up to limit audio keys whose rows are gone, for the blob
// store to delete; DropOrphans forgets them once deleted.
func (v *Voicemail) Orphans(ctx context.Context, limit int) ([]string, error) {
	var out []string
	err := v.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT audio_key FROM voicemail_orphans ORDER BY created_at LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list orphaned audio: %w", err)
	}
	return out, nil
}

// DropOrphans forgets orphaned keys whose blobs are deleted.
func (v *Voicemail) DropOrphans(ctx context.Context, keys []string) error {
	err := v.db.updateState(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM voicemail_orphans WHERE audio_key = ?`, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("drop orphaned audio: %w", err)
	}
	return nil
}
