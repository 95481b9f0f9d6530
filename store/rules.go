package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The kinds of Forward and SimRingDestination. A simultaneous ring
// destination cannot be a voicemail box.
const (
	ForwardUser      = "user"      // To is an extension; that user's own rules apply
	ForwardHandset   = "handset"   // To is a phone name; rings that phone, bypassing rules
	ForwardVoicemail = "voicemail" // To is the extension whose voicemail box takes the call
	ForwardExternal  = "external"  // To is a number: an optional + and 3 to 15 digits
)

// Forward sends a call elsewhere.
type Forward struct {
	Kind string
	To   string
}

// SimRing rings other destinations along with, or instead of, the user's
// phones.
type SimRing struct {
	IncludeUser   bool // ring the phone whose name is the user's extension
	RingAllPhones bool // ring every phone of the user
	Destinations  []SimRingDestination
}

// SimRingDestination is one more destination of a SimRing, rung DelayS
// seconds (0 to 300) after the call arrives. Confirm asks whoever answers
// to press a key to accept, so that an off-net voicemail box cannot take
// the call.
type SimRingDestination struct {
	Kind    string // user, handset or external
	To      string
	DelayS  int
	Confirm bool
}

// AnsweringRule says how calls to a user are handled while its time frame
// matches. A user's rules are ordered by Position (0 first); the active
// rule is the first enabled rule whose time frame matches. Every user has
// exactly one default rule (IsDefault), created with the user, on the
// "always" time frame, which cannot be deleted.
type AnsweringRule struct {
	ID        int64
	Extension string // the owning user's extension
	Position  int
	TimeFrame string // a time frame's name
	IsDefault bool
	Enabled   bool
	DND       bool // straight to voicemail, no ringing
	Screening bool
	RingForS  int // 0 to 600; 0 means the system default

	// Each nil when not set.
	ForwardAlways     *Forward
	ForwardBusy       *Forward
	ForwardUnanswered *Forward
	ForwardOffline    *Forward
	SimRing           *SimRing

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Nullable is a field of AnsweringRuleUpdate whose value may be null. The
// zero value leaves the field as it is; Set with a nil Value clears it;
// Set with a Value replaces it. SetTo and SetNull build the two changes.
type Nullable[T any] struct {
	Set   bool
	Value *T
}

// SetTo returns a change that sets a Nullable field to v.
func SetTo[T any](v T) Nullable[T] { return Nullable[T]{Set: true, Value: &v} }

// SetNull returns a change that clears a Nullable field.
func SetNull[T any]() Nullable[T] { return Nullable[T]{Set: true} }

// AnsweringRuleUpdate lists the fields to change; nil pointers and unset
// Nullables leave a field as it is. The default rule's time frame stays
// "always".
type AnsweringRuleUpdate struct {
	TimeFrame *string
	Enabled   *bool
	DND       *bool
	Screening *bool
	RingForS  *int

	ForwardAlways     Nullable[Forward]
	ForwardBusy       Nullable[Forward]
	ForwardUnanswered Nullable[Forward]
	ForwardOffline    Nullable[Forward]
	SimRing           Nullable[SimRing]
}

// AnsweringRules is the answering rules repository.
type AnsweringRules struct {
	db *DB
}

// The stored JSON, spelled here rather than by tags on the exported types.
type forwardJSON struct {
	Kind string `json:"kind"`
	To   string `json:"to"`
}

type simRingJSON struct {
	IncludeUser   bool                 `json:"include_user"`
	RingAllPhones bool                 `json:"ring_all_phones"`
	Destinations  []simRingDestination `json:"destinations"`
}

type simRingDestination struct {
	Kind    string `json:"kind"`
	To      string `json:"to"`
	DelayS  int    `json:"delay_s"`
	Confirm bool   `json:"confirm"`
}

func encodeForward(f *Forward) (sql.NullString, error) {
	if f == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(forwardJSON{Kind: f.Kind, To: f.To})
	return sql.NullString{String: string(b), Valid: true}, err
}

func decodeForward(s sql.NullString) (*Forward, error) {
	if !s.Valid {
		return nil, nil
	}
	var f forwardJSON
	if err := json.Unmarshal([]byte(s.String), &f); err != nil {
		return nil, err
	}
	return &Forward{Kind: f.Kind, To: f.To}, nil
}

func encodeSimRing(s *SimRing) (sql.NullString, error) {
	if s == nil {
		return sql.NullString{}, nil
	}
	j := simRingJSON{IncludeUser: s.IncludeUser, RingAllPhones: s.RingAllPhones,
		Destinations: make([]simRingDestination, len(s.Destinations))}
	for i, d := range s.Destinations {
		j.Destinations[i] = simRingDestination(d)
	}
	b, err := json.Marshal(j)
	return sql.NullString{String: string(b), Valid: true}, err
}

func decodeSimRing(s sql.NullString) (*SimRing, error) {
	if !s.Valid {
		return nil, nil
	}
	var j simRingJSON
	if err := json.Unmarshal([]byte(s.String), &j); err != nil {
		return nil, err
	}
	out := &SimRing{IncludeUser: j.IncludeUser, RingAllPhones: j.RingAllPhones,
		Destinations: make([]SimRingDestination, len(j.Destinations))}
	for i, d := range j.Destinations {
		out.Destinations[i] = SimRingDestination(d)
	}
	return out, nil
}

// cloneRule copies what the rule points to, so that the caller's values
// cannot change between validation and storage.
func cloneRule(r AnsweringRule) AnsweringRule {
	cp := func(f *Forward) *Forward {
		if f == nil {
			return nil
		}
		c := *f
		return &c
	}
	r.ForwardAlways = cp(r.ForwardAlways)
	r.ForwardBusy = cp(r.ForwardBusy)
	r.ForwardUnanswered = cp(r.ForwardUnanswered)
	r.ForwardOffline = cp(r.ForwardOffline)
	r.SimRing = cloneSimRing(r.SimRing)
	return r
}

func cloneSimRing(s *SimRing) *SimRing {
	if s == nil {
		return nil
	}
	c := *s
	c.Destinations = slices.Clone(s.Destinations)
	if c.Destinations == nil {
		c.Destinations = []SimRingDestination{}
	}
	return &c
}

// ruleValues are a rule's nullable columns, encoded.
type ruleValues struct {
	always, busy, unanswered, offline, simring sql.NullString
}

func encodeRule(r *AnsweringRule) (ruleValues, error) {
	var (
		v   ruleValues
		err error
	)
	for _, f := range []struct {
		dst *sql.NullString
		src *Forward
	}{
		{&v.always, r.ForwardAlways},
		{&v.busy, r.ForwardBusy},
		{&v.unanswered, r.ForwardUnanswered},
		{&v.offline, r.ForwardOffline},
	} {
		if *f.dst, err = encodeForward(f.src); err != nil {
			return ruleValues{}, err
		}
	}
	v.simring, err = encodeSimRing(r.SimRing)
	return v, err
}

const ruleColumns = `a.id, u.extension, a.position, a.time_frame, a.is_default,
	a.enabled, a.dnd, a.screening, a.ring_for_s, a.forward_always, a.forward_busy,
	a.forward_unanswered, a.forward_offline, a.simring, a.created_at, a.updated_at`

const ruleFrom = ` FROM answering_rules a JOIN users u ON u.id = a.user_id`

func scanRule(s scanner) (AnsweringRule, error) {
	var (
		r                                 AnsweringRule
		always, busy, unanswered, offline sql.NullString
		simring                           sql.NullString
		created, updated                  int64
	)
	err := s.Scan(&r.ID, &r.Extension, &r.Position, &r.TimeFrame, &r.IsDefault,
		&r.Enabled, &r.DND, &r.Screening, &r.RingForS, &always, &busy,
		&unanswered, &offline, &simring, &created, &updated)
	if err != nil {
		return AnsweringRule{}, err
	}
	for _, f := range []struct {
		dst **Forward
		src sql.NullString
	}{
		{&r.ForwardAlways, always},
		{&r.ForwardBusy, busy},
		{&r.ForwardUnanswered, unanswered},
		{&r.ForwardOffline, offline},
	} {
		if *f.dst, err = decodeForward(f.src); err != nil {
			return AnsweringRule{}, fmt.Errorf("decode forward of answering rule %d: %w", r.ID, err)
		}
	}
	if r.SimRing, err = decodeSimRing(simring); err != nil {
		return AnsweringRule{}, fmt.Errorf("decode simring of answering rule %d: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = fromMillis(created), fromMillis(updated)
	return r, nil
}

func findRule(ctx context.Context, tx *sql.Tx, where string, args ...any) (AnsweringRule, error) {
	r, err := scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+ruleFrom+` WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return AnsweringRule{}, ErrNotFound
	}
	return r, err
}

func findRules(ctx context.Context, tx *sql.Tx, userID int64) ([]AnsweringRule, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+ruleColumns+ruleFrom+
		` WHERE a.user_id = ? ORDER BY a.position`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AnsweringRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// userID returns the id of the user with extension ext.
func userID(ctx context.Context, tx *sql.Tx, ext string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE extension = ?`, ext).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("user %s: %w", ext, ErrNotFound)
	}
	return id, err
}

// ruleIDs returns the ids of a user's rules in order, and the index of the
// default rule among them (-1 if there is none).
func ruleIDs(ctx context.Context, tx *sql.Tx, userID int64) ([]int64, int, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT id, is_default FROM answering_rules WHERE user_id = ? ORDER BY position`, userID)
	if err != nil {
		return nil, -1, err
	}
	defer rows.Close()
	var (
		ids []int64
		def = -1
	)
	for rows.Next() {
		var (
			id        int64
			isDefault bool
		)
		if err := rows.Scan(&id, &isDefault); err != nil {
			return nil, -1, err
		}
		if isDefault {
			def = len(ids)
		}
		ids = append(ids, id)
	}
	return ids, def, rows.Err()
}

// renumber gives a user's rules the positions 0..n-1 in the order of ids,
// which must be all of the user's rule ids. A rule whose position changes
// gets updated_at now.
func renumber(ctx context.Context, tx *sql.Tx, userID int64, ids []int64, now int64) error {
	// UNIQUE (user_id, position) is checked row by row, so the rules
	// first move out of the way to negative positions (-1 - old).
	if _, err := tx.ExecContext(ctx,
		`UPDATE answering_rules SET position = -1 - position WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE answering_rules SET
			updated_at = CASE WHEN -1 - position = ?1 THEN updated_at ELSE ?2 END,
			position = ?1
			WHERE id = ?3 AND user_id = ?4`, i, now, id, userID); err != nil {
			return err
		}
	}
	return nil
}

// resolveTimeFrame returns the stored spelling of the time frame called
// name (matched ignoring case), or a *ValidationError if there is none.
func resolveTimeFrame(ctx context.Context, tx *sql.Tx, name string) (string, error) {
	var stored string
	err := tx.QueryRowContext(ctx, `SELECT name FROM time_frames WHERE name = ?`, name).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", invalid("time_frame", RuleExists, fmt.Sprintf("no time frame is called %q", name))
	}
	return stored, err
}

// mapRuleWrite turns the foreign key backstop on time_frame into the same
// error as the check before the write.
func mapRuleWrite(err error, timeFrame string) error {
	if isForeignKeyError(err) {
		return invalid("time_frame", RuleExists, fmt.Sprintf("no time frame is called %q", timeFrame))
	}
	return err
}

// insertDefaultRule gives a new user its default rule.
func insertDefaultRule(ctx context.Context, tx *sql.Tx, userID, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO answering_rules (
		user_id, position, time_frame, is_default, enabled, created_at, updated_at
	) VALUES (?, 0, ?, 1, 1, ?, ?)`, userID, TimeFrameAlways, now, now)
	return err
}

// Create adds rule to the rules of the user with extension ext (ErrNotFound
// if there is none). ID, Extension, Position, IsDefault and the times are
// ignored; Enabled is stored as given. The new rule goes last, or just
// before the default rule when that is last, so that it can ever match.
// A TimeFrame that does not exist is refused with rule "exists".
func (r *AnsweringRules) Create(ctx context.Context, ext string, rule AnsweringRule) (AnsweringRule, error) {
	rule = cloneRule(rule)
	rule.IsDefault = false
	if err := validateAnsweringRule(&rule); err != nil {
		return AnsweringRule{}, fmt.Errorf("create answering rule: %w", err)
	}
	v, err := encodeRule(&rule)
	if err != nil {
		return AnsweringRule{}, fmt.Errorf("create answering rule for user %s: %w", ext, err)
	}
	var out AnsweringRule
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		tf, err := resolveTimeFrame(ctx, tx, rule.TimeFrame)
		if err != nil {
			return err
		}
		ids, def, err := ruleIDs(ctx, tx, uid)
		if err != nil {
			return err
		}
		now := r.db.now().UnixMilli()
		res, err := tx.ExecContext(ctx, `INSERT INTO answering_rules (
			user_id, position, time_frame, is_default, enabled, dnd, screening, ring_for_s,
			forward_always, forward_busy, forward_unanswered, forward_offline, simring,
			created_at, updated_at
		) VALUES (?, (SELECT coalesce(max(position), -1) + 1 FROM answering_rules WHERE user_id = ?),
			?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			uid, uid, tf, boolInt(rule.Enabled), boolInt(rule.DND), boolInt(rule.Screening),
			rule.RingForS, v.always, v.busy, v.unanswered, v.offline, v.simring, now, now)
		if err != nil {
			return mapRuleWrite(err, rule.TimeFrame)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		order := append(slices.Clone(ids), id)
		if def >= 0 && def == len(ids)-1 {
			order[def], order[def+1] = id, ids[def]
		}
		if err := renumber(ctx, tx, uid, order, now); err != nil {
			return err
		}
		out, err = findRule(ctx, tx, `a.id = ?`, id)
		return err
	})
	if err != nil {
		return AnsweringRule{}, fmt.Errorf("create answering rule for user %s: %w", ext, err)
	}
	return out, nil
}

// Find returns the rules of the user with extension ext in order
// (ErrNotFound if there is no such user).
func (r *AnsweringRules) Find(ctx context.Context, ext string) ([]AnsweringRule, error) {
	var out []AnsweringRule
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		out, err = findRules(ctx, tx, uid)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find answering rules of user %s: %w", ext, err)
	}
	return out, nil
}

// FindByID returns rule id of the user with extension ext.
func (r *AnsweringRules) FindByID(ctx context.Context, ext string, id int64) (AnsweringRule, error) {
	var out AnsweringRule
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = findRule(ctx, tx, `a.id = ? AND u.extension = ?`, id, ext)
		return err
	})
	if err != nil {
		return AnsweringRule{}, fmt.Errorf("answering rule %d of user %s: %w", id, ext, err)
	}
	return out, nil
}

// Update applies upd to rule id of the user with extension ext. The
// result is validated as a whole; on any error nothing changes. Moving the
// default rule off the "always" time frame is refused with rule
// "default_rule".
func (r *AnsweringRules) Update(ctx context.Context, ext string, id int64, upd AnsweringRuleUpdate) (AnsweringRule, error) {
	var out AnsweringRule
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		rule, err := findRule(ctx, tx, `a.id = ? AND u.extension = ?`, id, ext)
		if err != nil {
			return err
		}
		upd.apply(&rule)
		if err := validateAnsweringRule(&rule); err != nil {
			return err
		}
		tf, err := resolveTimeFrame(ctx, tx, rule.TimeFrame)
		if err != nil {
			return err
		}
		if rule.IsDefault && tf != TimeFrameAlways {
			return invalid("time_frame", RuleDefaultRule,
				"the default rule always uses the time frame "+TimeFrameAlways)
		}
		v, err := encodeRule(&rule)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE answering_rules SET
			time_frame = ?, enabled = ?, dnd = ?, screening = ?, ring_for_s = ?,
			forward_always = ?, forward_busy = ?, forward_unanswered = ?,
			forward_offline = ?, simring = ?, updated_at = ?
			WHERE id = ?`,
			tf, boolInt(rule.Enabled), boolInt(rule.DND), boolInt(rule.Screening), rule.RingForS,
			v.always, v.busy, v.unanswered, v.offline, v.simring, r.db.now().UnixMilli(), rule.ID)
		if err != nil {
			return mapRuleWrite(err, rule.TimeFrame)
		}
		out, err = findRule(ctx, tx, `a.id = ?`, rule.ID)
		return err
	})
	if err != nil {
		return AnsweringRule{}, fmt.Errorf("update answering rule %d of user %s: %w", id, ext, err)
	}
	return out, nil
}

func (upd *AnsweringRuleUpdate) apply(r *AnsweringRule) {
	if upd.TimeFrame != nil {
		r.TimeFrame = *upd.TimeFrame
	}
	for _, b := range []struct {
		dst *bool
		src *bool
	}{{&r.Enabled, upd.Enabled}, {&r.DND, upd.DND}, {&r.Screening, upd.Screening}} {
		if b.src != nil {
			*b.dst = *b.src
		}
	}
	if upd.RingForS != nil {
		r.RingForS = *upd.RingForS
	}
	for _, f := range []struct {
		dst **Forward
		src Nullable[Forward]
	}{
		{&r.ForwardAlways, upd.ForwardAlways},
		{&r.ForwardBusy, upd.ForwardBusy},
		{&r.ForwardUnanswered, upd.ForwardUnanswered},
		{&r.ForwardOffline, upd.ForwardOffline},
	} {
		if !f.src.Set {
			continue
		}
		*f.dst = nil
		if f.src.Value != nil {
			c := *f.src.Value
			*f.dst = &c
		}
	}
	if upd.SimRing.Set {
		r.SimRing = cloneSimRing(upd.SimRing.Value)
	}
}

// Delete removes rule id of the user with extension ext; the rules after
// it move up. The default rule is refused with rule "default_rule".
func (r *AnsweringRules) Delete(ctx context.Context, ext string, id int64) error {
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		var isDefault bool
		err = tx.QueryRowContext(ctx,
			`SELECT is_default FROM answering_rules WHERE id = ? AND user_id = ?`, id, uid).Scan(&isDefault)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if isDefault {
			return invalid("id", RuleDefaultRule, "the default rule cannot be deleted")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM answering_rules WHERE id = ?`, id); err != nil {
			return err
		}
		ids, _, err := ruleIDs(ctx, tx, uid)
		if err != nil {
			return err
		}
		return renumber(ctx, tx, uid, ids, r.db.now().UnixMilli())
	})
	if err != nil {
		return fmt.Errorf("delete answering rule %d of user %s: %w", id, ext, err)
	}
	return nil
}

// Reorder puts the rules of the user with extension ext in the order of
// ids, which must name each of the user's rules exactly once (else a
// *ValidationError for "ids" with rule "permutation"), and returns them in
// their new order.
func (r *AnsweringRules) Reorder(ctx context.Context, ext string, ids []int64) ([]AnsweringRule, error) {
	var out []AnsweringRule
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		have, _, err := ruleIDs(ctx, tx, uid)
		if err != nil {
			return err
		}
		if !isPermutation(ids, have) {
			return invalid("ids", RulePermutation, "must list each of the user's answering rule ids exactly once")
		}
		if err := renumber(ctx, tx, uid, ids, r.db.now().UnixMilli()); err != nil {
			return err
		}
		out, err = findRules(ctx, tx, uid)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reorder answering rules of user %s: %w", ext, err)
	}
	return out, nil
}

func isPermutation(ids, of []int64) bool {
	if len(ids) != len(of) {
		return false
	}
	a, b := slices.Clone(ids), slices.Clone(of)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
