package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TimeFrameAlways names the built-in time frame that always matches. Every
// user's default answering rule uses it; it cannot be changed or deleted.
const TimeFrameAlways = "always"

// TimeFrame is a named set of times, shared by every user's answering
// rules. It matches when Always is set, or now falls in one of its Weekly
// ranges or Dates; the routing package evaluates it in the user's time
// zone.
type TimeFrame struct {
	ID     int64
	Name   string // 1 to 64 letters, digits, spaces or . _ -; unique ignoring case
	Always bool
	Weekly []WeeklyRange // at most 50
	Dates  []DateRange   // at most 50

	CreatedAt time.Time
	UpdatedAt time.Time
}

// WeeklyRange is a time of day on some days of the week. Days are "mon" to
// "sun", each at most once. Start and End are "HH:MM"; Start is 00:00 to
// 23:59 and End 00:00 to 24:00. An End before the Start runs past midnight
// into the next day ("22:00" to "06:00"); End equal to Start is refused.
type WeeklyRange struct {
	Days       []string
	Start, End string
}

// DateRange is the whole days From through To, both "YYYY-MM-DD"; From is
// not after To.
type DateRange struct {
	From, To string
}

// TimeFrameUpdate lists the fields to change; nil leaves a field as it is.
// Weekly and Dates replace the whole list. Always is fixed when the frame
// is created.
type TimeFrameUpdate struct {
	Name   *string
	Weekly *[]WeeklyRange
	Dates  *[]DateRange
}

// TimeFrames is the time frames repository.
type TimeFrames struct {
	db *DB
}

// The stored JSON is spelled here rather than by tags on the exported
// types, which the API layer maps on its own terms.
type weeklyJSON struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

type dateJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func encodeWeekly(ws []WeeklyRange) (string, error) {
	out := make([]weeklyJSON, len(ws))
	for i, w := range ws {
		out[i] = weeklyJSON{Days: w.Days, Start: w.Start, End: w.End}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func encodeDates(ds []DateRange) (string, error) {
	out := make([]dateJSON, len(ds))
	for i, d := range ds {
		out[i] = dateJSON{From: d.From, To: d.To}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

const timeFrameColumns = `id, name, always, weekly, dates, created_at, updated_at`

func scanTimeFrame(s scanner) (TimeFrame, error) {
	var (
		tf               TimeFrame
		weekly, dates    string
		created, updated int64
	)
	if err := s.Scan(&tf.ID, &tf.Name, &tf.Always, &weekly, &dates, &created, &updated); err != nil {
		return TimeFrame{}, err
	}
	var ws []weeklyJSON
	if err := json.Unmarshal([]byte(weekly), &ws); err != nil {
		return TimeFrame{}, fmt.Errorf("decode weekly of time frame %s: %w", tf.Name, err)
	}
	var ds []dateJSON
	if err := json.Unmarshal([]byte(dates), &ds); err != nil {
		return TimeFrame{}, fmt.Errorf("decode dates of time frame %s: %w", tf.Name, err)
	}
	tf.Weekly = make([]WeeklyRange, len(ws))
	for i, w := range ws {
		days := w.Days
		if days == nil {
			days = []string{}
		}
		tf.Weekly[i] = WeeklyRange{Days: days, Start: w.Start, End: w.End}
	}
	tf.Dates = make([]DateRange, len(ds))
	for i, d := range ds {
		tf.Dates[i] = DateRange{From: d.From, To: d.To}
	}
	tf.CreatedAt, tf.UpdatedAt = fromMillis(created), fromMillis(updated)
	return tf, nil
}

// findTimeFrame looks name up ignoring case, as the UNIQUE constraint
// compares.
func findTimeFrame(ctx context.Context, tx *sql.Tx, name string) (TimeFrame, error) {
	tf, err := scanTimeFrame(tx.QueryRowContext(ctx,
		`SELECT `+timeFrameColumns+` FROM time_frames WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return TimeFrame{}, ErrNotFound
	}
	return tf, err
}

func isBuiltinTimeFrame(name string) bool { return strings.EqualFold(name, TimeFrameAlways) }

// cloneTimeFrame copies the caller's slices, so that validation and
// storage work on values the caller cannot change underneath.
func cloneTimeFrame(tf TimeFrame) TimeFrame {
	tf.Weekly = cloneWeekly(tf.Weekly)
	tf.Dates = slices.Clone(tf.Dates)
	if tf.Dates == nil {
		tf.Dates = []DateRange{}
	}
	return tf
}

func cloneWeekly(ws []WeeklyRange) []WeeklyRange {
	out := make([]WeeklyRange, len(ws))
	for i, w := range ws {
		out[i] = WeeklyRange{Days: slices.Clone(w.Days), Start: w.Start, End: w.End}
	}
	return out
}

// Create validates tf and stores it. ID and the times are ignored.
func (r *TimeFrames) Create(ctx context.Context, tf TimeFrame) (TimeFrame, error) {
	tf = cloneTimeFrame(tf)
	if err := validateTimeFrame(&tf); err != nil {
		return TimeFrame{}, fmt.Errorf("create time frame: %w", err)
	}
	weekly, err := encodeWeekly(tf.Weekly)
	if err != nil {
		return TimeFrame{}, fmt.Errorf("create time frame %s: %w", tf.Name, err)
	}
	dates, err := encodeDates(tf.Dates)
	if err != nil {
		return TimeFrame{}, fmt.Errorf("create time frame %s: %w", tf.Name, err)
	}
	var out TimeFrame
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		now := r.db.now().UnixMilli()
		res, err := tx.ExecContext(ctx, `INSERT INTO time_frames (
			name, always, weekly, dates, created_at, updated_at
		) VALUES (?, ?, ?, ?, ?, ?)`,
			tf.Name, boolInt(tf.Always), weekly, dates, now, now)
		if err != nil {
			return mapConstraint(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		out, err = scanTimeFrame(tx.QueryRowContext(ctx,
			`SELECT `+timeFrameColumns+` FROM time_frames WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return TimeFrame{}, fmt.Errorf("create time frame %s: %w", tf.Name, err)
	}
	return out, nil
}

// FindByName returns the time frame called name, ignoring case.
func (r *TimeFrames) FindByName(ctx context.Context, name string) (TimeFrame, error) {
	var tf TimeFrame
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		tf, err = findTimeFrame(ctx, tx, name)
		return err
	})
	if err != nil {
		return TimeFrame{}, fmt.Errorf("time frame %s: %w", name, err)
	}
	return tf, nil
}

// Find returns every time frame: the built-in "always" first, then the
// others by name, ignoring case.
func (r *TimeFrames) Find(ctx context.Context) ([]TimeFrame, error) {
	var out []TimeFrame
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+timeFrameColumns+` FROM time_frames
			ORDER BY name <> ?, name`, TimeFrameAlways)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []TimeFrame{}
		for rows.Next() {
			tf, err := scanTimeFrame(rows)
			if err != nil {
				return err
			}
			out = append(out, tf)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find time frames: %w", err)
	}
	return out, nil
}

// Update applies upd to the time frame called name. A new name follows into
// every answering rule that uses the frame (ON UPDATE CASCADE). The
// built-in "always" frame is refused with rule "builtin".
func (r *TimeFrames) Update(ctx context.Context, name string, upd TimeFrameUpdate) (TimeFrame, error) {
	var out TimeFrame
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		tf, err := findTimeFrame(ctx, tx, name)
		if err != nil {
			return err
		}
		if isBuiltinTimeFrame(tf.Name) {
			return invalid("name", RuleBuiltin, "the built-in time frame "+TimeFrameAlways+" cannot be changed")
		}
		if upd.Name != nil {
			tf.Name = *upd.Name
		}
		if upd.Weekly != nil {
			tf.Weekly = cloneWeekly(*upd.Weekly)
		}
		if upd.Dates != nil {
			tf.Dates = slices.Clone(*upd.Dates)
			if tf.Dates == nil {
				tf.Dates = []DateRange{}
			}
		}
		if err := validateTimeFrame(&tf); err != nil {
			return err
		}
		weekly, err := encodeWeekly(tf.Weekly)
		if err != nil {
			return err
		}
		dates, err := encodeDates(tf.Dates)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE time_frames SET
			name = ?, weekly = ?, dates = ?, updated_at = ? WHERE id = ?`,
			tf.Name, weekly, dates, r.db.now().UnixMilli(), tf.ID)
		if err != nil {
			return mapConstraint(err)
		}
		out, err = scanTimeFrame(tx.QueryRowContext(ctx,
			`SELECT `+timeFrameColumns+` FROM time_frames WHERE id = ?`, tf.ID))
		return err
	})
	if err != nil {
		return TimeFrame{}, fmt.Errorf("update time frame %s: %w", name, err)
	}
	return out, nil
}

// Delete removes the time frame called name. A frame that an answering
// rule uses is refused with a *ConflictError for "time_frame"; the
// built-in "always" frame with rule "builtin".
func (r *TimeFrames) Delete(ctx context.Context, name string) error {
	if isBuiltinTimeFrame(name) {
		return fmt.Errorf("delete time frame %s: %w", name,
			invalid("name", RuleBuiltin, "the built-in time frame "+TimeFrameAlways+" cannot be deleted"))
	}
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		// The foreign key (ON DELETE RESTRICT) refuses a frame in use,
		// however many engines share the database.
		res, err := tx.ExecContext(ctx, `DELETE FROM time_frames WHERE name = ?`, name)
		if isForeignKeyError(err) {
			return &ConflictError{Field: "time_frame"}
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete time frame %s: %w", name, err)
	}
	return nil
}
