package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Settings is a key/value store for engine-wide configuration. Keys are 1
// to 128 letters, digits or . _ - :.
type Settings struct {
	db *DB
}

// Get returns the value stored under key and whether there is one.
func (s *Settings) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get setting %s: %w", key, err)
	}
	return v, true, nil
}

// Set stores value under key, replacing any previous value.
func (s *Settings) Set(ctx context.Context, key, value string) error {
	if err := checkSettingKey(key); err != nil {
		return fmt.Errorf("set setting: %w", err)
	}
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			key, value, s.db.now().UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("set setting %s: %w", key, err)
	}
	return nil
}

// SetAll stores every key of values in one transaction: all or none.
func (s *Settings) SetAll(ctx context.Context, values map[string]string) error {
	for k := range values {
		if err := checkSettingKey(k); err != nil {
			return fmt.Errorf("set settings: %w", err)
		}
	}
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		now := s.db.now().UnixMilli()
		for k, v := range values {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				k, v, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set settings: %w", err)
	}
	return nil
}

// SetIfAbsent stores value under key unless a value is already there, and
// returns the value stored afterwards: the existing one wins. Engines that
// start together with different generated defaults (a realm, a secret)
// therefore all end up with the same value.
func (s *Settings) SetIfAbsent(ctx context.Context, key, value string) (string, error) {
	if err := checkSettingKey(key); err != nil {
		return "", fmt.Errorf("set setting: %w", err)
	}
	var stored string
	err := s.db.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, key, value, s.db.now().UnixMilli()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&stored)
	})
	if err != nil {
		return "", fmt.Errorf("set setting %s: %w", key, err)
	}
	return stored, nil
}

// All returns every setting.
func (s *Settings) All(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT key, value FROM settings`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			out[k] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	return out, nil
}
