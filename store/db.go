package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the Switchboard database. Writes go through a single connection, so
// writers in this process queue instead of failing with SQLITE_BUSY; reads
// use a separate pool and, under WAL, never wait for the writer.
type DB struct {
	// Now is the clock behind every created_at, updated_at and expiry
	// check. Replace it before the DB is shared between goroutines.
	Now func() time.Time

	// PINPolicy is applied to voicemail PINs on Users.Create and
	// Users.Update. Open sets it to DefaultPINPolicy.
	PINPolicy PINPolicy

	path  string
	write *sql.DB
	read  *sql.DB

	users         *Users
	phones        *Phones
	settings      *Settings
	registrations *Registrations
	timeFrames    *TimeFrames
	rules         *AnsweringRules
	allowBlock    *AllowBlockLists
	voicemail     *Voicemail
	recordings    *Recordings
	mwi           *MWISubscriptions
	trunks        *Trunks
	denied        *DeniedPrefixes

	configVersion atomic.Uint64
}

// Open opens (creating if needed) the database at path, checks it for
// corruption and applies any migrations it has not seen yet.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: path required")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		// The read and write pools must see the same file.
		return nil, fmt.Errorf("open database %s: a file path is required", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}

	db := &DB{Now: time.Now, PINPolicy: DefaultPINPolicy, path: path}
	db.users = &Users{db: db}
	db.phones = &Phones{db: db}
	db.settings = &Settings{db: db}
	db.registrations = &Registrations{db: db}
	db.timeFrames = &TimeFrames{db: db}
	db.rules = &AnsweringRules{db: db}
	db.allowBlock = &AllowBlockLists{db: db}
	db.voicemail = &Voicemail{db: db}
	db.recordings = &Recordings{db: db}
	db.mwi = &MWISubscriptions{db: db}
	db.trunks = &Trunks{db: db}
	db.denied = &DeniedPrefixes{db: db}

	var err error
	// BEGIN IMMEDIATE takes the write lock up front: a transaction that
	// reads and then writes cannot fail half-way with SQLITE_BUSY when
	// another process holds the lock, it waits busy_timeout instead.
	db.write, err = sql.Open("sqlite", dsn(path, "_txlock=immediate",
		"_pragma=busy_timeout(5000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(FULL)",
	))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	if err := db.check(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	db.read, err = sql.Open("sqlite", dsn(path,
		"_pragma=busy_timeout(5000)",
		"_pragma=foreign_keys(1)",
		"_pragma=query_only(1)",
	))
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	if err := db.read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// dsn builds a URI filename for path; '%', '?' and '#' in the path are
// escaped so that they do not start SQLite's query string.
func dsn(path string, params ...string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?" + strings.Join(params, "&")
}

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// Users returns the users repository.
func (db *DB) Users() *Users { return db.users }

// Phones returns the phones repository.
func (db *DB) Phones() *Phones { return db.phones }

// Settings returns the settings repository.
func (db *DB) Settings() *Settings { return db.settings }

// Registrations returns the registrations repository.
func (db *DB) Registrations() *Registrations { return db.registrations }

// Trunk returns the trunk repository.
func (db *DB) Trunk() *Trunks { return db.trunks }

// DeniedPrefixes returns the toll-fraud deny list repository.
func (db *DB) DeniedPrefixes() *DeniedPrefixes { return db.denied }

// TimeFrames returns the time frames repository.
func (db *DB) TimeFrames() *TimeFrames { return db.timeFrames }

// AnsweringRules returns the answering rules repository.
func (db *DB) AnsweringRules() *AnsweringRules { return db.rules }

// AllowBlock returns the repository of users' allow and block lists.
func (db *DB) AllowBlock() *AllowBlockLists { return db.allowBlock }

// Voicemail returns the repository of mailboxes, messages and greetings.
func (db *DB) Voicemail() *Voicemail { return db.voicemail }

// Recordings returns the repository of call recordings.
func (db *DB) Recordings() *Recordings { return db.recordings }

// MWI returns the repository of message-waiting subscriptions.
func (db *DB) MWI() *MWISubscriptions { return db.mwi }

// check refuses a damaged file. quick_check verifies every page and record
// in O(N), without integrity_check's index cross-check, which keeps start-up
// fast on a large database.
func (db *DB) check(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		problems = append(problems, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("integrity check: database is corrupt: %s", strings.Join(problems, "; "))
	}
	return nil
}

// migrate applies the embedded migrations in name order, each in its own
// transaction together with its schema_migrations row, so a migration is
// applied completely and exactly once, even by engines starting together.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", filepath.Base(name), err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	base := filepath.Base(name)
	return db.update(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		body, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
			base, time.Now().UnixMilli())
		return err
	})
}

// update runs fn in a write transaction, committed if fn returns nil and
// rolled back otherwise. A commit counts as a configuration change (see
// ConfigVersion).
func (db *DB) update(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := db.updateState(ctx, fn); err != nil {
		return err
	}
	db.configVersion.Add(1)
	return nil
}

// updateState is update for state that is not configuration (the
// registrar's bindings): it leaves ConfigVersion alone, so caches of the
// configuration survive the constant flow of registrations.
func (db *DB) updateState(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ConfigVersion changes after every committed configuration write made
// through this DB (users, phones, rules, time frames, lists, trunk,
// settings), never for registrations. A cache reads it before reading the
// data it keeps, and drops what it kept when it has changed. Writes by
// another process are not seen.
func (db *DB) ConfigVersion() uint64 { return db.configVersion.Load() }

// view runs fn in a read-only transaction: every query in fn sees the same
// snapshot.
func (db *DB) view(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now()
	}
	return db.Now()
}

// Times are stored as unix milliseconds and returned in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// limit applies the listing defaults: 0 means 100, at most 1000.
func limit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
