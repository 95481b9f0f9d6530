package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRegistrationsSaveLoad(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "200")
	for _, name := range []string{"100a", "100b", "200a"} {
		_, err := db.Phones().Create(ctx, name[:3], Phone{Name: name})
		require.NoError(t, err)
	}

	r1 := Registration{
		Phone: "100a", AOR: "sip:100@example.com", Contact: "sip:100a@192.0.2.10:5060;transport=udp",
		Instance: "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>", RegID: 1, Source: "192.0.2.10:5060",
		Transport: "UDP", UserAgent: "Yealink SIP-T46S", Path: "<sip:edge.example.com;lr>",
		CallID: "abc@192.0.2.10", CSeq: 4294967295, ExpiresAt: epoch.Add(time.Hour),
		UpdatedAt: epoch.Add(-time.Second),
	}
	r2 := Registration{Phone: "100b", AOR: "sip:100@example.com", Contact: "sip:100b@192.0.2.11",
		CSeq: 1, ExpiresAt: epoch.Add(30 * time.Minute)}
	r3 := Registration{Phone: "200a", AOR: "sip:200@example.com", Contact: "sip:200a@192.0.2.12",
		CSeq: 1, ExpiresAt: epoch.Add(time.Minute)}
	gone := Registration{Phone: "999z", AOR: "sip:999@example.com", Contact: "sip:999z@192.0.2.13",
		ExpiresAt: epoch.Add(time.Hour)}
	require.NoError(t, db.Registrations().Save(ctx, []Registration{r3, r1, gone, r2}, nil))

	r2.UpdatedAt, r3.UpdatedAt = epoch, epoch // zero means db.Now
	regs, err := db.Registrations().Load(ctx, epoch)
	require.NoError(t, err)
	require.Equal(t, []Registration{r1, r2, r3}, regs)

	found, err := db.Registrations().Find(ctx, RegistrationFilter{Extension: "100"})
	require.NoError(t, err)
	require.Equal(t, []Registration{r1, r2}, found)
	found, err = db.Registrations().Find(ctx, RegistrationFilter{Phone: "200a"})
	require.NoError(t, err)
	require.Equal(t, []Registration{r3}, found)
	found, err = db.Registrations().Find(ctx, RegistrationFilter{Extension: "404"})
	require.NoError(t, err)
	require.Empty(t, found)

	// Refresh r1 (same phone and contact), remove r2 and a key that does
	// not exist.
	clk.Add(10 * time.Second)
	r1.CSeq, r1.CallID, r1.ExpiresAt, r1.UpdatedAt = 7, "def@192.0.2.10", epoch.Add(2*time.Hour), time.Time{}
	require.NoError(t, db.Registrations().Save(ctx, []Registration{r1},
		[]RegistrationKey{{Phone: "100b", Contact: r2.Contact}, {Phone: "999z", Contact: "sip:x"}}))
	r1.UpdatedAt = epoch.Add(10 * time.Second)
	regs, err = db.Registrations().Load(ctx, epoch)
	require.NoError(t, err)
	require.Equal(t, []Registration{r1, r3}, regs)

	// Find uses the injected clock: r3 expires after a minute.
	clk.Add(time.Minute)
	found, err = db.Registrations().Find(ctx, RegistrationFilter{})
	require.NoError(t, err)
	require.Equal(t, []Registration{r1}, found)

	// A key in both lists ends up deleted.
	require.NoError(t, db.Registrations().Save(ctx, []Registration{r1}, []RegistrationKey{{Phone: r1.Phone, Contact: r1.Contact}}))
	regs, err = db.Registrations().Load(ctx, epoch)
	require.NoError(t, err)
	require.Equal(t, []Registration{r3}, regs)

	// Nothing to do is not an error.
	require.NoError(t, db.Registrations().Save(ctx, nil, nil))

	err = db.Registrations().Save(ctx, []Registration{{Phone: "100a"}}, nil)
	requireRule(t, err, "contact", RuleRequired)
}

func makeRegistrations(phones, perPhone int, expires func(i int) time.Time) []Registration {
	out := make([]Registration, 0, phones*perPhone)
	for p := range phones {
		name := fmt.Sprintf("%da", 1000+p)
		for c := range perPhone {
			i := len(out)
			out = append(out, Registration{
				Phone: name, AOR: fmt.Sprintf("sip:%d@example.com", 1000+p),
				Contact:  fmt.Sprintf("sip:%s@198.51.100.%d:%d;transport=tcp", name, c, 5060+c),
				Instance: fmt.Sprintf("<urn:uuid:%08d-0000-1000-8000-000000000000>", i),
				RegID:    1, Source: fmt.Sprintf("198.51.100.%d:%d", c, 5060+c), Transport: "TCP",
				UserAgent: "Switchboard test", CallID: fmt.Sprintf("call-%d", i), CSeq: uint32(i),
				ExpiresAt: expires(i),
			})
		}
	}
	return out
}

// createPhones adds users 1000.. with one phone each ("1000a", ...), in one
// transaction: the repositories are tested elsewhere, here they are setup.
func createPhones(tb testing.TB, db *DB, n int) {
	tb.Helper()
	tx, err := db.write.Begin()
	require.NoError(tb, err)
	defer tx.Rollback()
	for p := range n {
		ext := fmt.Sprint(1000 + p)
		res, err := tx.Exec(`INSERT INTO users (extension, login_name, created_at, updated_at) VALUES (?, ?, 0, 0)`, ext, ext)
		require.NoError(tb, err)
		id, err := res.LastInsertId()
		require.NoError(tb, err)
		_, err = tx.Exec(`INSERT INTO phones (user_id, name, sip_password, created_at, updated_at) VALUES (?, ?, ?, 0, 0)`,
			id, ext+"a", NewSIPPassword())
		require.NoError(tb, err)
	}
	require.NoError(tb, tx.Commit())
}

func TestRegistrationsTenThousand(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	const phones, perPhone = 500, 20
	createPhones(t, db, phones)

	// Half expire after 10 minutes, half after an hour.
	regs := makeRegistrations(phones, perPhone, func(i int) time.Time {
		if i%2 == 0 {
			return epoch.Add(10 * time.Minute)
		}
		return epoch.Add(time.Hour)
	})
	start := time.Now()
	require.NoError(t, db.Registrations().Save(ctx, regs, nil))
	t.Logf("saved %d registrations in %v", len(regs), time.Since(start))
	require.Equal(t, phones*perPhone, tableCount(t, db, "registrations"))

	// Saving the same batch again updates in place.
	for i := range regs {
		regs[i].CSeq++
	}
	require.NoError(t, db.Registrations().Save(ctx, regs, nil))
	require.Equal(t, phones*perPhone, tableCount(t, db, "registrations"))

	loaded, err := db.Registrations().Load(ctx, epoch)
	require.NoError(t, err)
	require.Len(t, loaded, phones*perPhone)
	loaded, err = db.Registrations().Load(ctx, epoch.Add(10*time.Minute))
	require.NoError(t, err)
	require.Len(t, loaded, phones*perPhone/2)
	for _, r := range loaded {
		require.Equal(t, epoch.Add(time.Hour), r.ExpiresAt)
	}

	clk.Add(15 * time.Minute)
	found, err := db.Registrations().Find(ctx, RegistrationFilter{Extension: "1000"})
	require.NoError(t, err)
	require.Len(t, found, perPhone/2)

	n, err := db.Registrations().DeleteExpired(ctx, clk.Now())
	require.NoError(t, err)
	require.Equal(t, int64(phones*perPhone/2), n)
	n, err = db.Registrations().DeleteExpired(ctx, clk.Now())
	require.NoError(t, err)
	require.Zero(t, n)
	// Expiry is inclusive: a binding that expires exactly now is gone.
	n, err = db.Registrations().DeleteExpired(ctx, epoch.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(phones*perPhone/2), n)
	require.Equal(t, 0, tableCount(t, db, "registrations"))
}

func BenchmarkRegistrationsSave(b *testing.B) {
	ctx := context.Background()
	db, _ := openTestDB(b)
	const phones, perPhone = 100, 10
	createPhones(b, db, phones)
	regs := makeRegistrations(phones, perPhone, func(int) time.Time { return epoch.Add(time.Hour) })
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := db.Registrations().Save(ctx, regs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(regs)), "ns/row")
}
