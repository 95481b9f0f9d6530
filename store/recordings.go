package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Recording is one call recording as its owner has it: the user whose
// record_calls caused it. A call between two recorded users is two
// recordings naming the same audio.
type Recording struct {
	ID           int64
	Extension    string // the owner
	CallerNumber string
	CallerName   string
	Callee       string // the number or extension dialled
	CallID       string
	StartedAt    time.Time
	Duration     time.Duration
	SizeBytes    int64
	AudioKey     string
	CreatedAt    time.Time
}

// NewRecording is a recording to add; its audio (one WAV, both directions
// mixed) is already complete in the blob store.
type NewRecording struct {
	CallerNumber, CallerName string
	Callee                   string
	CallID                   string
	StartedAt                time.Time
	Duration                 time.Duration
	SizeBytes                int64
	AudioKey                 string
}

// RecordingFilter selects recordings. The zero value lists everyone's,
// newest first, 100 at a time.
type RecordingFilter struct {
	Extension string    // the owner; "" for every user
	From      time.Time // started at or after; zero for no bound
	To        time.Time // started before; zero for no bound
	Limit     int       // 0 means 100, at most 1000
	// After is the Next of the page before; "" for the first page.
	After string
}

// RecordingPage is one page of recordings; Next continues the listing, ""
// after the last page.
type RecordingPage struct {
	Recordings []Recording
	Next       string
}

// Recordings is the repository of call recordings. Audio lives in the blob
// store under the keys the rows hold, counts against its owner's storage
// limit like voicemail, and joins the voicemail orphans when its last row
// goes.
type Recordings struct {
	db *DB
}

// AddRecording files a recording for the user at ext. It refuses with
// ErrMailboxFull a recording that would take the user past their storage
// limit; the blob is then the caller's to delete, unless another owner's
// row names it. For a call between two recorded users, add both rows
// before deleting either: audio whose rows are all gone is released for
// good, and a key already released is refused.
func (r *Recordings) AddRecording(ctx context.Context, ext string, nr NewRecording) (Recording, error) {
	if nr.AudioKey == "" || nr.SizeBytes < 0 || nr.Duration < 0 || nr.StartedAt.IsZero() {
		return Recording{}, fmt.Errorf("add recording for user %s: audio key, size, duration and start are required", ext)
	}
	// Caller ID comes from the network: drop what cannot be shown rather
	// than lose the recording.
	if err := checkHeaderSafe("caller_name", nr.CallerName, 256); err != nil {
		nr.CallerName = ""
	}
	if err := checkHeaderSafe("caller_number", nr.CallerNumber, 64); err != nil {
		nr.CallerNumber = ""
	}
	if err := checkHeaderSafe("callee", nr.Callee, 64); err != nil {
		nr.Callee = ""
	}
	if err := checkHeaderSafe("call_id", nr.CallID, 256); err != nil {
		nr.CallID = ""
	}
	var out Recording
	err := r.db.updateState(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		now := r.db.now()
		if err := ensureBox(ctx, tx, uid, now); err != nil {
			return err
		}
		var released int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM voicemail_orphans WHERE audio_key = ?`,
			nr.AudioKey).Scan(&released); err != nil {
			return err
		}
		if released > 0 {
			return fmt.Errorf("audio %s is already released", nr.AudioKey)
		}
		if err := checkRoom(ctx, tx, uid, nr.SizeBytes); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO call_recordings
			(user_id, caller_number, caller_name, callee, call_id, started_at, duration_ms, size_bytes, audio_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			uid, nr.CallerNumber, nr.CallerName, nr.Callee, nr.CallID, nr.StartedAt.UnixMilli(),
			nr.Duration.Milliseconds(), nr.SizeBytes, nr.AudioKey, now.UnixMilli())
		if err != nil {
			return mapConstraint(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		out, err = readRecording(ctx, tx, id)
		return err
	})
	if err != nil {
		return Recording{}, fmt.Errorf("add recording for user %s: %w", ext, err)
	}
	return out, nil
}

const recordingColumns = `r.id, u.extension, r.caller_number, r.caller_name, r.callee, r.call_id, r.started_at,
	r.duration_ms, r.size_bytes, r.audio_key, r.created_at`

func scanRecording(s interface{ Scan(...any) error }) (Recording, error) {
	var rec Recording
	var started, dur, created int64
	if err := s.Scan(&rec.ID, &rec.Extension, &rec.CallerNumber, &rec.CallerName, &rec.Callee, &rec.CallID,
		&started, &dur, &rec.SizeBytes, &rec.AudioKey, &created); err != nil {
		return Recording{}, err
	}
	rec.StartedAt = fromMillis(started)
	rec.Duration = time.Duration(dur) * time.Millisecond
	rec.CreatedAt = fromMillis(created)
	return rec, nil
}

func readRecording(ctx context.Context, tx *sql.Tx, id int64) (Recording, error) {
	rec, err := scanRecording(tx.QueryRowContext(ctx, `SELECT `+recordingColumns+`
		FROM call_recordings r JOIN users u ON u.id = r.user_id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Recording{}, fmt.Errorf("recording %d: %w", id, ErrNotFound)
	}
	return rec, err
}

// Recording returns one recording.
func (r *Recordings) Recording(ctx context.Context, id int64) (Recording, error) {
	var out Recording
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = readRecording(ctx, tx, id)
		return err
	})
	if err != nil {
		return Recording{}, fmt.Errorf("get recording: %w", err)
	}
	return out, nil
}

// recordingCursor is where a page ends: the start and id of its last
// recording. Listing is newest first, so the next page holds what sorts
// before it.
type recordingCursor struct {
	startedAt int64
	id        int64
}

func (c recordingCursor) String() string {
	return strconv.FormatInt(c.startedAt, 10) + "." + strconv.FormatInt(c.id, 10)
}

func parseRecordingCursor(s string) (recordingCursor, error) {
	a, b, ok := strings.Cut(s, ".")
	started, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || id <= 0 {
		return recordingCursor{}, invalid("after", "cursor", "after is the next of a previous page")
	}
	return recordingCursor{startedAt: started, id: id}, nil
}

// Recordings lists recordings newest first (by start, then id), a page at
// a time. An Extension that names no user is ErrNotFound.
func (r *Recordings) Recordings(ctx context.Context, f RecordingFilter) (RecordingPage, error) {
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return RecordingPage{}, invalid("to", "range", "to is after from")
	}
	var where []string
	var args []any
	if !f.From.IsZero() {
		where = append(where, "r.started_at >= ?")
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where = append(where, "r.started_at < ?")
		args = append(args, f.To.UnixMilli())
	}
	if f.After != "" {
		c, err := parseRecordingCursor(f.After)
		if err != nil {
			return RecordingPage{}, err
		}
		where = append(where, "(r.started_at < ? OR (r.started_at = ? AND r.id < ?))")
		args = append(args, c.startedAt, c.startedAt, c.id)
	}
	n := limit(f.Limit)
	var out RecordingPage
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		w, a := where, args
		if f.Extension != "" {
			uid, err := userID(ctx, tx, f.Extension)
			if err != nil {
				return err
			}
			w = append([]string{"r.user_id = ?"}, w...)
			a = append([]any{uid}, a...)
		}
		q := `SELECT ` + recordingColumns + ` FROM call_recordings r JOIN users u ON u.id = r.user_id`
		if len(w) > 0 {
			q += " WHERE " + strings.Join(w, " AND ")
		}
		// One more than the page: whether there is a next page.
		q += " ORDER BY r.started_at DESC, r.id DESC LIMIT ?"
		rows, err := tx.QueryContext(ctx, q, append(a, n+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := scanRecording(rows)
			if err != nil {
				return err
			}
			out.Recordings = append(out.Recordings, rec)
		}
		return rows.Err()
	})
	if err != nil {
		return RecordingPage{}, fmt.Errorf("list recordings: %w", err)
	}
	if len(out.Recordings) > n {
		out.Recordings = out.Recordings[:n]
		last := out.Recordings[n-1]
		out.Next = recordingCursor{startedAt: last.StartedAt.UnixMilli(), id: last.ID}.String()
	}
	return out, nil
}

// DeleteRecording deletes one recording; its audio joins the orphans when
// no other owner's recording names it.
func (r *Recordings) DeleteRecording(ctx context.Context, id int64) error {
	err := r.db.updateState(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM call_recordings WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("recording %d: %w", id, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete recording: %w", err)
	}
	return nil
}
