package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	// The cheapest bcrypt cost keeps the tests fast; the cost is not what
	// they test.
	hashCost = bcrypt.MinCost
	os.Exit(m.Run())
}

// testClock is an adjustable clock for DB.Now.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var epoch = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func openTestDB(tb testing.TB) (*DB, *testClock) {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "switchboard.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, db.Close()) })
	clk := &testClock{t: epoch}
	db.Now = clk.Now
	return db, clk
}

func tableCount(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.read.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "switchboard.db")

	db, err := Open(ctx, path)
	require.NoError(t, err)
	type row struct {
		name      string
		appliedAt int64
	}
	readRows := func(db *DB) []row {
		rows, err := db.read.Query(`SELECT name, applied_at FROM schema_migrations ORDER BY name`)
		require.NoError(t, err)
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			require.NoError(t, rows.Scan(&r.name, &r.appliedAt))
			out = append(out, r)
		}
		require.NoError(t, rows.Err())
		return out
	}
	first := readRows(db)
	require.Len(t, first, 6)
	require.Equal(t, "0001_init.sql", first[0].name)
	require.Equal(t, "0002_answering_rules.sql", first[1].name)
	require.Equal(t, "0003_trunk.sql", first[2].name)
	require.Equal(t, "0004_voicemail.sql", first[3].name)
	require.Equal(t, "0005_mwi.sql", first[4].name)
	require.Equal(t, "0006_recordings.sql", first[5].name)
	for _, table := range []string{"users", "user_emails", "phones", "settings", "registrations"} {
		require.Equal(t, 0, tableCount(t, db, table), table)
	}
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "100"}})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	// A second open applies nothing (a re-run of 0001 would fail on
	// CREATE TABLE) and keeps the data.
	db, err = Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, first, readRows(db))
	n, err := db.Users().Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestOpenPragmas(t *testing.T) {
	db, _ := openTestDB(t)
	var mode string
	var fk, sync, busy int
	require.NoError(t, db.write.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.NoError(t, db.write.QueryRow(`PRAGMA foreign_keys`).Scan(&fk))
	require.NoError(t, db.write.QueryRow(`PRAGMA synchronous`).Scan(&sync))
	require.NoError(t, db.write.QueryRow(`PRAGMA busy_timeout`).Scan(&busy))
	require.Equal(t, "wal", mode)
	require.Equal(t, 1, fk)
	require.Equal(t, 2, sync) // FULL
	require.Equal(t, 5000, busy)

	// The read pool refuses writes.
	_, err := db.read.Exec(`INSERT INTO settings (key, value, updated_at) VALUES ('a', 'b', 0)`)
	require.Error(t, err)
}

func TestOpenRefusesCorruptFile(t *testing.T) {
	ctx := context.Background()

	t.Run("garbage", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "garbage.db")
		garbage := []byte(strings.Repeat("this is not an SQLite database\x00\xff", 400))
		require.NoError(t, os.WriteFile(path, garbage, 0o600))
		db, err := Open(ctx, path)
		require.Error(t, err)
		require.Nil(t, db)
		require.Contains(t, err.Error(), path)
		require.Contains(t, err.Error(), "not a database")
	})

	t.Run("damaged pages", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "damaged.db")
		db, err := Open(ctx, path)
		require.NoError(t, err)
		for i := range 300 {
			_, err := db.Users().Create(ctx, NewUser{User: User{
				Extension: fmt.Sprintf("%d", 1000+i), FirstName: strings.Repeat("x", 100),
			}})
			require.NoError(t, err)
		}
		require.NoError(t, db.Close()) // checkpoints the WAL into the file

		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		info, err := f.Stat()
		require.NoError(t, err)
		require.Greater(t, info.Size(), int64(8*4096))
		// Keep page 1 (the header and schema) intact; overwrite later
		// pages, where the tables and indexes live.
		junk := make([]byte, 4096)
		for i := range junk {
			junk[i] = byte(i*7 + 3)
		}
		for off := int64(2 * 4096); off+4096 <= info.Size(); off += 2 * 4096 {
			_, err := f.WriteAt(junk, off)
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())

		db, err = Open(ctx, path)
		require.Error(t, err)
		require.Nil(t, db)
		require.Contains(t, err.Error(), path)
		require.Contains(t, err.Error(), "integrity check")
	})

	t.Run("broken freelist", func(t *testing.T) {
		// Readable, but quick_check finds the freelist pointing at a
		// page in use, and reports it as rows rather than an error.
		path := filepath.Join(t.TempDir(), "freelist.db")
		db, err := Open(ctx, path)
		require.NoError(t, err)
		for i := range 50 {
			_, err := db.Users().Create(ctx, NewUser{User: User{Extension: fmt.Sprintf("%d", 1000+i)}})
			require.NoError(t, err)
		}
		require.NoError(t, db.Close())
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		binary.BigEndian.PutUint32(b[32:], 3) // first freelist trunk page
		binary.BigEndian.PutUint32(b[36:], 5) // number of freelist pages
		require.NoError(t, os.WriteFile(path, b, 0o600))

		db, err = Open(ctx, path)
		require.Error(t, err)
		require.Nil(t, db)
		require.Contains(t, err.Error(), "integrity check: database is corrupt")
		require.Contains(t, err.Error(), "Freelist")
	})
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db"} {
		_, err := Open(context.Background(), path)
		require.Error(t, err, path)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a?b#c%d.db")
	db, err := Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, db.Settings().Set(ctx, "k", "v"))
	require.NoError(t, db.Close())
	_, err = os.Stat(path)
	require.NoError(t, err)
}

// TestConcurrentWriters runs many writers and readers at once: the single
// write connection queues them, so none sees "database is locked".
func TestConcurrentWriters(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	db, err := Open(ctx, filepath.Join(t.TempDir(), "switchboard.db"))
	require.NoError(t, err)

	const workers, perWorker = 16, 10
	errs := make(chan error, workers*perWorker*4)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ext := fmt.Sprintf("%d", 200+w)
			if _, err := db.Users().Create(ctx, NewUser{User: User{Extension: ext}}); err != nil {
				errs <- err
				return
			}
			phone := ext + "a"
			if _, err := db.Phones().Create(ctx, ext, Phone{Name: phone}); err != nil {
				errs <- err
				return
			}
			for i := range perWorker {
				if err := db.Settings().Set(ctx, fmt.Sprintf("w%d", w), fmt.Sprint(i)); err != nil {
					errs <- err
				}
				reg := Registration{Phone: phone, AOR: "sip:" + ext + "@example.com",
					Contact: fmt.Sprintf("sip:%s@10.0.0.%d:5060", phone, i), ExpiresAt: epoch.Add(time.Hour)}
				if err := db.Registrations().Save(ctx, []Registration{reg}, nil); err != nil {
					errs <- err
				}
				name := fmt.Sprintf("n%d", i)
				if _, err := db.Users().Update(ctx, ext, UserUpdate{FirstName: &name}); err != nil {
					errs <- err
				}
				if _, _, err := db.Users().Find(ctx, UserFilter{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n, err := db.Users().Count(ctx)
	require.NoError(t, err)
	require.Equal(t, workers, n)
	regs, err := db.Registrations().Load(ctx, epoch)
	require.NoError(t, err)
	require.Len(t, regs, workers*perWorker)
	require.NoError(t, db.Close())
}

func TestErrorsAreMatchable(t *testing.T) {
	var err error = fmt.Errorf("create user 100: %w", &ConflictError{Field: "extension"})
	require.ErrorIs(t, err, ErrConflict)
	var ce *ConflictError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, "extension", ce.FieldName())
	require.Equal(t, "create user 100: extension already in use", err.Error())

	err = fmt.Errorf("create user: %w", invalid("extension", RuleDigits, "must be 2 to 10 digits"))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	require.Equal(t, "extension", ve.FieldName())
	require.Equal(t, "digits", ve.RuleName())
	require.Equal(t, "create user: extension: must be 2 to 10 digits", err.Error())
	require.NotErrorIs(t, err, ErrConflict)

	// The HTTP layer matches on methods, not on store's types.
	var fr interface {
		FieldName() string
		RuleName() string
	}
	require.True(t, errors.As(err, &fr))
}
