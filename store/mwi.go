package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MWISubscription is a phone's subscription to its user's message-waiting
// state (RFC 3842), the dialog NOTIFYs are sent in.
type MWISubscription struct {
	Phone     string
	Extension string // the mailbox: the phone's user
	CallID    string
	FromTag   string // the phone's
	ToTag     string // ours
	Contact   string
	Source    string
	Transport string
	Route     string
	CSeq      uint32 // of our last NOTIFY
	ExpiresAt time.Time
}

// MWISubscriptions is the repository of message-waiting subscriptions.
type MWISubscriptions struct {
	db *DB
}

// Put creates or refreshes a subscription; an expiry in the past (a
// SUBSCRIBE with Expires: 0) removes it.
func (m *MWISubscriptions) Put(ctx context.Context, s MWISubscription, now time.Time) error {
	err := m.db.updateState(ctx, func(tx *sql.Tx) error {
		if !s.ExpiresAt.After(now) {
			_, err := tx.ExecContext(ctx, `DELETE FROM mwi_subscriptions
				WHERE phone_id = (SELECT id FROM phones WHERE name = ?) AND call_id = ? AND from_tag = ?`,
				s.Phone, s.CallID, s.FromTag)
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO mwi_subscriptions
			(phone_id, call_id, from_tag, to_tag, contact, source, transport, route, cseq, expires_at)
			SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM phones WHERE name = ?
			ON CONFLICT (phone_id, call_id, from_tag) DO UPDATE SET
				contact = excluded.contact, source = excluded.source, transport = excluded.transport,
				route = excluded.route, expires_at = excluded.expires_at`,
			s.CallID, s.FromTag, s.ToTag, s.Contact, s.Source, s.Transport, s.Route, s.CSeq, s.ExpiresAt.UnixMilli(), s.Phone)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("phone %s: %w", s.Phone, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save MWI subscription: %w", err)
	}
	return nil
}

// ForMailbox returns the live subscriptions to the mailbox of the user at
// ext, each with its NOTIFY CSeq advanced by one and saved: the caller
// sends the next NOTIFY of each with that CSeq.
func (m *MWISubscriptions) ForMailbox(ctx context.Context, ext string, now time.Time) ([]MWISubscription, error) {
	var out []MWISubscription
	err := m.db.updateState(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE mwi_subscriptions SET cseq = cseq + 1
			WHERE expires_at > ? AND phone_id IN (
				SELECT p.id FROM phones p JOIN users u ON u.id = p.user_id WHERE u.extension = ?)
			RETURNING (SELECT name FROM phones WHERE id = phone_id), call_id, from_tag, to_tag, contact, source,
				transport, route, cseq, expires_at`, now.UnixMilli(), ext)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s := MWISubscription{Extension: ext}
			var exp int64
			if err := rows.Scan(&s.Phone, &s.CallID, &s.FromTag, &s.ToTag, &s.Contact, &s.Source, &s.Transport,
				&s.Route, &s.CSeq, &exp); err != nil {
				return err
			}
			s.ExpiresAt = time.UnixMilli(exp)
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("MWI subscriptions of mailbox %s: %w", ext, err)
	}
	return out, nil
}

// Subscribers returns the names of the phones with a live subscription to
// the mailbox of the user at ext. Unlike ForMailbox it only reads.
func (m *MWISubscriptions) Subscribers(ctx context.Context, ext string, now time.Time) ([]string, error) {
	out, err := m.strings(ctx, `SELECT DISTINCT p.name FROM mwi_subscriptions s
		JOIN phones p ON p.id = s.phone_id JOIN users u ON u.id = p.user_id
		WHERE u.extension = ? AND s.expires_at > ? ORDER BY p.name`, ext, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("MWI subscribers of mailbox %s: %w", ext, err)
	}
	return out, nil
}

// Mailboxes returns the extensions of the users whose mailbox has a live
// subscription.
func (m *MWISubscriptions) Mailboxes(ctx context.Context, now time.Time) ([]string, error) {
	out, err := m.strings(ctx, `SELECT DISTINCT u.extension FROM mwi_subscriptions s
		JOIN phones p ON p.id = s.phone_id JOIN users u ON u.id = p.user_id
		WHERE s.expires_at > ? ORDER BY u.extension`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("MWI subscribed mailboxes: %w", err)
	}
	return out, nil
}

func (m *MWISubscriptions) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	var out []string
	err := m.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteExpired removes subscriptions that expired by now.
func (m *MWISubscriptions) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := m.db.updateState(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mwi_subscriptions WHERE expires_at <= ?`, now.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep MWI subscriptions: %w", err)
	}
	return n, nil
}
