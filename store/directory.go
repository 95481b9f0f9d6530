package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Directory is what call routing reads of every user, taken in one read
// transaction: the users, their answering rules in order, their allow and
// block lists, their phones, and the time frames. A few table scans fill a
// cache that would otherwise cost five or six queries per user, on the
// first call to each (see switchboard's configuration cache).
type Directory struct {
	Users      []User
	Rules      map[string][]AnsweringRule // by extension
	AllowBlock map[string]AllowBlock      // by extension; absent: empty lists
	Phones     map[string][]Phone         // by extension, by name
	TimeFrames []TimeFrame
}

// Directory reads the whole Directory.
func (db *DB) Directory(ctx context.Context) (Directory, error) {
	d := Directory{
		Rules:      make(map[string][]AnsweringRule),
		AllowBlock: make(map[string]AllowBlock),
		Phones:     make(map[string][]Phone),
	}
	err := db.view(ctx, func(tx *sql.Tx) error {
		if err := eachRow(ctx, tx, `SELECT `+userColumns+` FROM users u ORDER BY u.id`, func(rows *sql.Rows) error {
			u, err := scanUser(rows)
			d.Users = append(d.Users, u)
			return err
		}); err != nil {
			return fmt.Errorf("users: %w", err)
		}
		if err := eachRow(ctx, tx, `SELECT `+ruleColumns+ruleFrom+` ORDER BY a.user_id, a.position`, func(rows *sql.Rows) error {
			r, err := scanRule(rows)
			d.Rules[r.Extension] = append(d.Rules[r.Extension], r)
			return err
		}); err != nil {
			return fmt.Errorf("answering rules: %w", err)
		}
		for _, u := range d.Users {
			if d.Rules[u.Extension] == nil {
				d.Rules[u.Extension] = []AnsweringRule{}
			}
		}
		if err := eachRow(ctx, tx, `SELECT u.extension, a.allowed, a.blocked, a.block_anonymous
			FROM allow_block a JOIN users u ON u.id = a.user_id`, func(rows *sql.Rows) error {
			var ext, allowed, blocked string
			var anonymous bool
			if err := rows.Scan(&ext, &allowed, &blocked, &anonymous); err != nil {
				return err
			}
			ab, err := decodeAllowBlock(allowed, blocked, anonymous)
			d.AllowBlock[ext] = ab
			return err
		}); err != nil {
			return fmt.Errorf("allow/block lists: %w", err)
		}
		if err := eachRow(ctx, tx, `SELECT `+phoneColumns+phoneFrom+` ORDER BY u.id, p.name`, func(rows *sql.Rows) error {
			p, err := scanPhone(rows)
			d.Phones[p.Extension] = append(d.Phones[p.Extension], p)
			return err
		}); err != nil {
			return fmt.Errorf("phones: %w", err)
		}
		if err := eachRow(ctx, tx, `SELECT `+timeFrameColumns+` FROM time_frames ORDER BY name`, func(rows *sql.Rows) error {
			tf, err := scanTimeFrame(rows)
			d.TimeFrames = append(d.TimeFrames, tf)
			return err
		}); err != nil {
			return fmt.Errorf("time frames: %w", err)
		}
		return nil
	})
	if err != nil {
		return Directory{}, fmt.Errorf("read directory: %w", err)
	}
	return d, nil
}

// eachRow runs query and calls fn for every row.
func eachRow(ctx context.Context, tx *sql.Tx, query string, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
