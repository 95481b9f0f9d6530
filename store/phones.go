package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Phone is a device of a user; its Name is its SIP authentication user
// name.
type Phone struct {
	ID              int64
	UserID          int64
	Extension       string // the owning user's extension
	Name            string
	SIPPassword     string
	Model           string
	MAC             string // 12 lowercase hex digits; empty when unknown
	RecordCalls     bool
	PreferredServer string
	Overrides       map[string]string // raw provisioning keys merged into the phone's file
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// PhoneUpdate lists the fields to change; nil leaves a field as it is. An
// empty SIPPassword generates a new random one; an empty MAC clears it.
// Overrides replaces the whole map.
type PhoneUpdate struct {
	Name            *string
	SIPPassword     *string
	Model           *string
	MAC             *string
	RecordCalls     *bool
	PreferredServer *string
	Overrides       *map[string]string
}

// PhoneFilter selects phones; an empty Extension matches every user's.
// Limit 0 means 100 and is capped at 1000.
type PhoneFilter struct {
	Extension string
	Limit     int
	Offset    int
}

// Phones is the phones repository.
type Phones struct {
	db *DB
}

const phoneColumns = `p.id, p.user_id, u.extension, p.name, p.sip_password, p.model,
	coalesce(p.mac, ''), p.record_calls, p.preferred_server, p.overrides,
	p.created_at, p.updated_at`

const phoneFrom = ` FROM phones p JOIN users u ON u.id = p.user_id`

func scanPhone(s scanner) (Phone, error) {
	var (
		p                Phone
		overrides        string
		created, updated int64
	)
	err := s.Scan(&p.ID, &p.UserID, &p.Extension, &p.Name, &p.SIPPassword, &p.Model,
		&p.MAC, &p.RecordCalls, &p.PreferredServer, &overrides, &created, &updated)
	if err != nil {
		return Phone{}, err
	}
	if err := json.Unmarshal([]byte(overrides), &p.Overrides); err != nil {
		return Phone{}, fmt.Errorf("decode overrides of phone %s: %w", p.Name, err)
	}
	if p.Overrides == nil {
		p.Overrides = map[string]string{}
	}
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return p, nil
}

func findPhone(ctx context.Context, tx *sql.Tx, where string, args ...any) (Phone, error) {
	p, err := scanPhone(tx.QueryRowContext(ctx, `SELECT `+phoneColumns+phoneFrom+` WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Phone{}, ErrNotFound
	}
	return p, err
}

// nullMAC stores "no MAC" as NULL, which the UNIQUE constraint lets repeat.
func nullMAC(mac string) sql.NullString {
	return sql.NullString{String: mac, Valid: mac != ""}
}

func encodeOverrides(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	return string(b), err
}

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewSIPPassword returns a random 20-character alphanumeric secret
// (about 119 bits).
func NewSIPPassword() string {
	const n = 20
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		rand.Read(buf[:]) // never returns an error (crypto/rand, Go 1.24+)
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every letter
			// equally likely.
			if b < 248 && len(out) < n {
				out = append(out, secretAlphabet[int(b)%len(secretAlphabet)])
			}
		}
	}
	return string(out)
}

// Create adds ph as a phone of the user with extension ext (ErrNotFound if
// there is none). ID, UserID, Extension and the times are ignored. An empty
// SIPPassword gets a random one; the MAC is stored normalised.
func (r *Phones) Create(ctx context.Context, ext string, ph Phone) (Phone, error) {
	if ph.SIPPassword == "" {
		ph.SIPPassword = NewSIPPassword()
	}
	ph.Overrides = maps.Clone(ph.Overrides)
	if err := validatePhone(&ph); err != nil {
		return Phone{}, fmt.Errorf("create phone: %w", err)
	}
	overrides, err := encodeOverrides(ph.Overrides)
	if err != nil {
		return Phone{}, fmt.Errorf("create phone %s: %w", ph.Name, err)
	}
	var out Phone
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		var userID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE extension = ?`, ext).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", ext, ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := r.db.now().UnixMilli()
		res, err := tx.ExecContext(ctx, `INSERT INTO phones (
			user_id, name, sip_password, model, mac, record_calls, preferred_server,
			overrides, created_at, updated_at
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			userID, ph.Name, ph.SIPPassword, ph.Model, nullMAC(ph.MAC), boolInt(ph.RecordCalls),
			ph.PreferredServer, overrides, now, now)
		if err != nil {
			return mapConstraint(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		out, err = findPhone(ctx, tx, `p.id = ?`, id)
		return err
	})
	if err != nil {
		return Phone{}, fmt.Errorf("create phone %s: %w", ph.Name, err)
	}
	return out, nil
}

// FindByName returns the phone whose SIP user name is name.
func (r *Phones) FindByName(ctx context.Context, name string) (Phone, error) {
	var p Phone
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = findPhone(ctx, tx, `p.name = ?`, name)
		return err
	})
	if err != nil {
		return Phone{}, fmt.Errorf("phone %s: %w", name, err)
	}
	return p, nil
}

// FindByMAC returns the phone with MAC address mac, in any of the forms
// NormalizeMAC reads.
func (r *Phones) FindByMAC(ctx context.Context, mac string) (Phone, error) {
	norm, err := NormalizeMAC(mac)
	if err != nil || norm == "" {
		return Phone{}, fmt.Errorf("phone with MAC %q: %w", mac, ErrNotFound)
	}
	var p Phone
	err = r.db.view(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = findPhone(ctx, tx, `p.mac = ?`, norm)
		return err
	})
	if err != nil {
		return Phone{}, fmt.Errorf("phone with MAC %s: %w", norm, err)
	}
	return p, nil
}

// Find returns the phones matching f, ordered by extension then name.
func (r *Phones) Find(ctx context.Context, f PhoneFilter) ([]Phone, error) {
	q := `SELECT ` + phoneColumns + phoneFrom
	var args []any
	if f.Extension != "" {
		q += ` WHERE u.extension = ?`
		args = append(args, f.Extension)
	}
	q += ` ORDER BY length(u.extension), u.extension, p.name LIMIT ? OFFSET ?`
	args = append(args, limit(f.Limit), max(f.Offset, 0))
	var phones []Phone
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		phones = []Phone{}
		for rows.Next() {
			p, err := scanPhone(rows)
			if err != nil {
				return err
			}
			phones = append(phones, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find phones: %w", err)
	}
	return phones, nil
}

// Update applies upd to the phone name of the user with extension ext.
func (r *Phones) Update(ctx context.Context, ext, name string, upd PhoneUpdate) (Phone, error) {
	var out Phone
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		p, err := findPhone(ctx, tx, `p.name = ? AND u.extension = ?`, name, ext)
		if err != nil {
			return err
		}
		if upd.Name != nil {
			p.Name = *upd.Name
		}
		if upd.SIPPassword != nil {
			p.SIPPassword = *upd.SIPPassword
			if p.SIPPassword == "" {
				p.SIPPassword = NewSIPPassword()
			}
		}
		if upd.Model != nil {
			p.Model = *upd.Model
		}
		if upd.MAC != nil {
			p.MAC = *upd.MAC
		}
		if upd.RecordCalls != nil {
			p.RecordCalls = *upd.RecordCalls
		}
		if upd.PreferredServer != nil {
			p.PreferredServer = *upd.PreferredServer
		}
		if upd.Overrides != nil {
			p.Overrides = maps.Clone(*upd.Overrides)
		}
		if err := validatePhone(&p); err != nil {
			return err
		}
		overrides, err := encodeOverrides(p.Overrides)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE phones SET
			name = ?, sip_password = ?, model = ?, mac = ?, record_calls = ?,
			preferred_server = ?, overrides = ?, updated_at = ?
			WHERE id = ?`,
			p.Name, p.SIPPassword, p.Model, nullMAC(p.MAC), boolInt(p.RecordCalls),
			p.PreferredServer, overrides, r.db.now().UnixMilli(), p.ID)
		if err != nil {
			return mapConstraint(err)
		}
		out, err = findPhone(ctx, tx, `p.id = ?`, p.ID)
		return err
	})
	if err != nil {
		return Phone{}, fmt.Errorf("update phone %s of user %s: %w", name, ext, err)
	}
	return out, nil
}

// Delete removes the phone name of the user with extension ext, and its
// registrations.
func (r *Phones) Delete(ctx context.Context, ext, name string) error {
	err := r.db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM phones
			WHERE name = ? AND user_id = (SELECT id FROM users WHERE extension = ?)`, name, ext)
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
		return fmt.Errorf("delete phone %s of user %s: %w", name, ext, err)
	}
	return nil
}

// RecordingPhones maps the name of every phone with record_calls to its
// user's extension.
func (r *Phones) RecordingPhones(ctx context.Context) (map[string]string, error) {
	out := make(map[string]string)
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.name, u.extension FROM phones p JOIN users u ON u.id = p.user_id WHERE p.record_calls = 1`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name, ext string
			if err := rows.Scan(&name, &ext); err != nil {
				return err
			}
			out[name] = ext
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("recording phones: %w", err)
	}
	return out, nil
}
