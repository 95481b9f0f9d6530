package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// AllowBlock is a user's allow and block lists. Allowed numbers bypass call
// screening and server-side do not disturb; blocked numbers get a fast
// busy; BlockAnonymous refuses callers without a number. A number is an
// optional + and 2 to 15 digits, matched as written; each list holds at
// most 200, each number once, and no number is in both.
type AllowBlock struct {
	Allowed        []string
	Blocked        []string
	BlockAnonymous bool
}

// AllowBlockLists is the repository of users' allow and block lists.
type AllowBlockLists struct {
	db *DB
}

func encodeNumbers(nums []string) (string, error) {
	if nums == nil {
		nums = []string{}
	}
	b, err := json.Marshal(nums)
	return string(b), err
}

func readAllowBlock(ctx context.Context, tx *sql.Tx, userID int64) (AllowBlock, error) {
	var (
		ab               AllowBlock
		allowed, blocked string
	)
	err := tx.QueryRowContext(ctx,
		`SELECT allowed, blocked, block_anonymous FROM allow_block WHERE user_id = ?`, userID,
	).Scan(&allowed, &blocked, &ab.BlockAnonymous)
	if errors.Is(err, sql.ErrNoRows) {
		return AllowBlock{Allowed: []string{}, Blocked: []string{}}, nil
	}
	if err != nil {
		return AllowBlock{}, err
	}
	return decodeAllowBlock(allowed, blocked, ab.BlockAnonymous)
}

// decodeAllowBlock builds the lists from their stored JSON columns.
func decodeAllowBlock(allowed, blocked string, blockAnonymous bool) (AllowBlock, error) {
	ab := AllowBlock{BlockAnonymous: blockAnonymous}
	if err := json.Unmarshal([]byte(allowed), &ab.Allowed); err != nil {
		return AllowBlock{}, fmt.Errorf("decode allowed numbers: %w", err)
	}
	if err := json.Unmarshal([]byte(blocked), &ab.Blocked); err != nil {
		return AllowBlock{}, fmt.Errorf("decode blocked numbers: %w", err)
	}
	if ab.Allowed == nil {
		ab.Allowed = []string{}
	}
	if ab.Blocked == nil {
		ab.Blocked = []string{}
	}
	return ab, nil
}

// Get returns the lists of the user with extension ext (ErrNotFound if
// there is none); a user whose lists were never set has empty ones.
func (r *AllowBlockLists) Get(ctx context.Context, ext string) (AllowBlock, error) {
	var out AllowBlock
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		out, err = readAllowBlock(ctx, tx, uid)
		return err
	})
	if err != nil {
		return AllowBlock{}, fmt.Errorf("allow/block lists of user %s: %w", ext, err)
	}
	return out, nil
}

// Put replaces the lists of the user with extension ext with ab.
func (r *AllowBlockLists) Put(ctx context.Context, ext string, ab AllowBlock) (AllowBlock, error) {
	ab.Allowed, ab.Blocked = slices.Clone(ab.Allowed), slices.Clone(ab.Blocked)
	if err := validateAllowBlock(&ab); err != nil {
		return AllowBlock{}, fmt.Errorf("set allow/block lists: %w", err)
	}
	allowed, err := encodeNumbers(ab.Allowed)
	if err != nil {
		return AllowBlock{}, fmt.Errorf("set allow/block lists of user %s: %w", ext, err)
	}
	blocked, err := encodeNumbers(ab.Blocked)
	if err != nil {
		return AllowBlock{}, fmt.Errorf("set allow/block lists of user %s: %w", ext, err)
	}
	var out AllowBlock
	err = r.db.update(ctx, func(tx *sql.Tx) error {
		uid, err := userID(ctx, tx, ext)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO allow_block (user_id, allowed, blocked, block_anonymous)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET allowed = excluded.allowed,
				blocked = excluded.blocked, block_anonymous = excluded.block_anonymous`,
			uid, allowed, blocked, boolInt(ab.BlockAnonymous)); err != nil {
			return err
		}
		out, err = readAllowBlock(ctx, tx, uid)
		return err
	})
	if err != nil {
		return AllowBlock{}, fmt.Errorf("set allow/block lists of user %s: %w", ext, err)
	}
	return out, nil
}
