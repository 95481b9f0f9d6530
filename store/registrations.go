package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Registration is one contact bound by a phone (RFC 3261 10.3), keyed by
// the phone's name and the contact URI.
type Registration struct {
	Phone     string // the phone's name (its SIP user name)
	AOR       string
	Contact   string
	Instance  string // +sip.instance (RFC 5626 4.1)
	RegID     int    // reg-id (RFC 5626 4.2)
	Source    string // where the REGISTER came from, host:port
	Transport string
	UserAgent string
	Path      string // the Path header values, in order (RFC 3327)
	CallID    string
	CSeq      uint32
	ExpiresAt time.Time
	UpdatedAt time.Time // when the binding was last refreshed; zero means now
}

// RegistrationKey names one binding.
type RegistrationKey struct {
	Phone   string
	Contact string
}

// RegistrationFilter selects live registrations; empty fields match
// everything.
type RegistrationFilter struct {
	Extension string // the owning user's extension
	Phone     string // the phone's name
}

// Registrations is the registrar's binding store. The database is the
// authority; a registrar keeps a cache in memory and writes it back in
// batches through Save.
type Registrations struct {
	db *DB
}

const upsertRegistration = `INSERT INTO registrations (
	phone_id, aor, contact, instance, reg_id, source, transport, user_agent,
	path, call_id, cseq, expires_at, updated_at
) SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM phones WHERE name = ?
ON CONFLICT (phone_id, contact) DO UPDATE SET
	aor = excluded.aor, instance = excluded.instance, reg_id = excluded.reg_id,
	source = excluded.source, transport = excluded.transport,
	user_agent = excluded.user_agent, path = excluded.path,
	call_id = excluded.call_id, cseq = excluded.cseq,
	expires_at = excluded.expires_at, updated_at = excluded.updated_at`

const deleteRegistration = `DELETE FROM registrations
	WHERE contact = ? AND phone_id = (SELECT id FROM phones WHERE name = ?)`

// Save writes a batch in one transaction: upserts first, keyed by (phone,
// contact), then deletes, so a key in both lists ends up deleted. Rows of
// phones that no longer exist are skipped.
func (r *Registrations) Save(ctx context.Context, upserts []Registration, deletes []RegistrationKey) error {
	if len(upserts) == 0 && len(deletes) == 0 {
		return nil
	}
	for i := range upserts {
		if upserts[i].Phone == "" {
			return fmt.Errorf("save registrations: %w", invalid("phone", RuleRequired, "phone name required"))
		}
		if upserts[i].Contact == "" {
			return fmt.Errorf("save registrations: %w", invalid("contact", RuleRequired, "contact required"))
		}
	}
	err := r.db.updateState(ctx, func(tx *sql.Tx) error {
		now := r.db.now().UnixMilli()
		if len(upserts) > 0 {
			stmt, err := tx.PrepareContext(ctx, upsertRegistration)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i := range upserts {
				g := &upserts[i]
				updated := now
				if !g.UpdatedAt.IsZero() {
					updated = g.UpdatedAt.UnixMilli()
				}
				if _, err := stmt.ExecContext(ctx, g.AOR, g.Contact, g.Instance, g.RegID,
					g.Source, g.Transport, g.UserAgent, g.Path, g.CallID, int64(g.CSeq),
					g.ExpiresAt.UnixMilli(), updated, g.Phone); err != nil {
					return fmt.Errorf("upsert %s %s: %w", g.Phone, g.Contact, err)
				}
			}
		}
		if len(deletes) > 0 {
			stmt, err := tx.PrepareContext(ctx, deleteRegistration)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, k := range deletes {
				if _, err := stmt.ExecContext(ctx, k.Contact, k.Phone); err != nil {
					return fmt.Errorf("delete %s %s: %w", k.Phone, k.Contact, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save registrations: %w", err)
	}
	return nil
}

const registrationColumns = `p.name, r.aor, r.contact, r.instance, r.reg_id, r.source,
	r.transport, r.user_agent, r.path, r.call_id, r.cseq, r.expires_at, r.updated_at`

func (r *Registrations) query(ctx context.Context, q string, args ...any) ([]Registration, error) {
	var out []Registration
	err := r.db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []Registration{}
		for rows.Next() {
			var (
				g                Registration
				cseq             int64
				expires, updated int64
			)
			if err := rows.Scan(&g.Phone, &g.AOR, &g.Contact, &g.Instance, &g.RegID, &g.Source,
				&g.Transport, &g.UserAgent, &g.Path, &g.CallID, &cseq, &expires, &updated); err != nil {
				return err
			}
			g.CSeq = uint32(cseq)
			g.ExpiresAt, g.UpdatedAt = fromMillis(expires), fromMillis(updated)
			out = append(out, g)
		}
		return rows.Err()
	})
	return out, err
}

// Load returns every registration still live at now, ordered by AOR, phone
// and contact, to fill a registrar's cache at start-up.
func (r *Registrations) Load(ctx context.Context, now time.Time) ([]Registration, error) {
	regs, err := r.query(ctx, `SELECT `+registrationColumns+`
		FROM registrations r JOIN phones p ON p.id = r.phone_id
		WHERE r.expires_at > ?
		ORDER BY r.aor, p.name, r.contact`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	return regs, nil
}

// Find returns the registrations matching f that are live at db.Now,
// ordered by AOR, phone and contact.
func (r *Registrations) Find(ctx context.Context, f RegistrationFilter) ([]Registration, error) {
	q := `SELECT ` + registrationColumns + `
		FROM registrations r JOIN phones p ON p.id = r.phone_id JOIN users u ON u.id = p.user_id
		WHERE r.expires_at > ?`
	args := []any{r.db.now().UnixMilli()}
	if f.Extension != "" {
		q += ` AND u.extension = ?`
		args = append(args, f.Extension)
	}
	if f.Phone != "" {
		q += ` AND p.name = ?`
		args = append(args, f.Phone)
	}
	q += ` ORDER BY r.aor, p.name, r.contact`
	regs, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find registrations: %w", err)
	}
	return regs, nil
}

// DeleteExpired removes every registration expired at now and returns how
// many it removed. Running it twice, or on several engines at once, is
// harmless.
func (r *Registrations) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := r.db.updateState(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM registrations WHERE expires_at <= ?`, now.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired registrations: %w", err)
	}
	return n, nil
}
