package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func createUser(t testing.TB, db *DB, ext string) User {
	t.Helper()
	u, err := db.Users().Create(context.Background(), NewUser{User: User{Extension: ext}})
	require.NoError(t, err)
	return u
}

func TestPhonesCreate(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	u := createUser(t, db, "100")

	p, err := db.Phones().Create(ctx, "100", Phone{
		ID: 42, UserID: 42, Extension: "999", // ignored
		Name: "100a", SIPPassword: "s3cret!pass", Model: "Polycom VVX 411", MAC: "0004.F2AB.CDEF",
		RecordCalls: true, PreferredServer: "sip2.example.com",
		Overrides: map[string]string{"reg.1.lineKeys": "2", "voice.volume.persist.handset": "1"},
	})
	require.NoError(t, err)
	require.Equal(t, Phone{
		ID: p.ID, UserID: u.ID, Extension: "100",
		Name: "100a", SIPPassword: "s3cret!pass", Model: "Polycom VVX 411", MAC: "0004f2abcdef",
		RecordCalls: true, PreferredServer: "sip2.example.com",
		Overrides: map[string]string{"reg.1.lineKeys": "2", "voice.volume.persist.handset": "1"},
		CreatedAt: epoch, UpdatedAt: epoch,
	}, p)
	require.NotEqual(t, int64(42), p.ID)

	got, err := db.Phones().FindByName(ctx, "100a")
	require.NoError(t, err)
	require.Equal(t, p, got)

	// Defaults: a generated password, no MAC, empty overrides.
	q, err := db.Phones().Create(ctx, "100", Phone{Name: "100b"})
	require.NoError(t, err)
	require.Regexp(t, `^[A-Za-z0-9]{20}$`, q.SIPPassword)
	require.Equal(t, "", q.MAC)
	require.Equal(t, map[string]string{}, q.Overrides)
	// A second phone without a MAC is fine: "none" is not a value.
	_, err = db.Phones().Create(ctx, "100", Phone{Name: "100c"})
	require.NoError(t, err)
}

func TestPhonesCreateErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	_, err := db.Phones().Create(ctx, "100", Phone{Name: "100a", MAC: "00:04:f2:ab:cd:ef"})
	require.NoError(t, err)

	_, err = db.Phones().Create(ctx, "404", Phone{Name: "404a"})
	require.ErrorIs(t, err, ErrNotFound)

	// Names and MACs are unique across users; the MAC is compared
	// normalised.
	_, err = db.Phones().Create(ctx, "101", Phone{Name: "100a"})
	requireConflict(t, err, "name")
	_, err = db.Phones().Create(ctx, "101", Phone{Name: "101a", MAC: "0004F2ABCDEF"})
	requireConflict(t, err, "mac")

	_, err = db.Phones().Create(ctx, "101", Phone{Name: "101 a"})
	requireRule(t, err, "name", RuleToken)
	_, err = db.Phones().Create(ctx, "101", Phone{Name: "101a", MAC: "00:04:f2"})
	requireRule(t, err, "mac", RuleMAC)
	_, err = db.Phones().Create(ctx, "101", Phone{Name: "101a", SIPPassword: "short"})
	requireRule(t, err, "sip_password", RuleSIPPassword)

	require.Equal(t, 1, tableCount(t, db, "phones"))
}

func TestPhonesFind(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	for _, ext := range []string{"1000", "200", "30"} {
		createUser(t, db, ext)
		for _, s := range []string{"b", "a"} {
			_, err := db.Phones().Create(ctx, ext, Phone{Name: ext + s})
			require.NoError(t, err)
		}
	}
	names := func(ps []Phone) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	tests := []struct {
		name string
		f    PhoneFilter
		want []string
	}{
		{"all", PhoneFilter{}, []string{"30a", "30b", "200a", "200b", "1000a", "1000b"}},
		{"one user", PhoneFilter{Extension: "200"}, []string{"200a", "200b"}},
		{"unknown user", PhoneFilter{Extension: "404"}, nil},
		{"page", PhoneFilter{Limit: 2, Offset: 3}, []string{"200b", "1000a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := db.Phones().Find(ctx, tt.f)
			require.NoError(t, err)
			require.NotNil(t, ps)
			require.Equal(t, tt.want, names(ps))
		})
	}
}

func TestPhonesUpdate(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	orig, err := db.Phones().Create(ctx, "100", Phone{Name: "100a", SIPPassword: "original-pass",
		MAC: "aa:bb:cc:dd:ee:ff", Overrides: map[string]string{"a": "1"}})
	require.NoError(t, err)
	_, err = db.Phones().Create(ctx, "101", Phone{Name: "101a", MAC: "11:22:33:44:55:66"})
	require.NoError(t, err)
	clk.Add(time.Minute)

	overrides := map[string]string{"b": "2"}
	p, err := db.Phones().Update(ctx, "100", "100a", PhoneUpdate{
		Name: ptr("100-desk"), Model: ptr("Yealink T54W"), MAC: ptr("AA-BB-CC-DD-EE-00"),
		RecordCalls: ptr(true), PreferredServer: ptr("192.0.2.5:5060"), Overrides: &overrides,
	})
	require.NoError(t, err)
	overrides["c"] = "3" // the stored map is a copy
	want := orig
	want.Name, want.Model, want.MAC, want.RecordCalls = "100-desk", "Yealink T54W", "aabbccddee00", true
	want.PreferredServer, want.Overrides, want.UpdatedAt = "192.0.2.5:5060", map[string]string{"b": "2"}, epoch.Add(time.Minute)
	require.Equal(t, want, p)
	got, err := db.Phones().FindByName(ctx, "100-desk")
	require.NoError(t, err)
	require.Equal(t, want, got)

	// An empty password is replaced by a new random one; an empty MAC
	// clears it.
	p, err = db.Phones().Update(ctx, "100", "100-desk", PhoneUpdate{SIPPassword: ptr(""), MAC: ptr("")})
	require.NoError(t, err)
	require.Len(t, p.SIPPassword, 20)
	require.NotEqual(t, "original-pass", p.SIPPassword)
	require.Equal(t, "", p.MAC)

	// The phone must belong to the extension given.
	_, err = db.Phones().Update(ctx, "101", "100-desk", PhoneUpdate{Model: ptr("x")})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.Phones().Update(ctx, "100", "nope", PhoneUpdate{Model: ptr("x")})
	require.ErrorIs(t, err, ErrNotFound)

	// Failures change nothing.
	before, err := db.Phones().FindByName(ctx, "100-desk")
	require.NoError(t, err)
	_, err = db.Phones().Update(ctx, "100", "100-desk", PhoneUpdate{Model: ptr("changed"), Name: ptr("101a")})
	requireConflict(t, err, "name")
	_, err = db.Phones().Update(ctx, "100", "100-desk", PhoneUpdate{Model: ptr("changed"), MAC: ptr("112233445566")})
	requireConflict(t, err, "mac")
	_, err = db.Phones().Update(ctx, "100", "100-desk", PhoneUpdate{Model: ptr("changed"),
		Overrides: &map[string]string{"bad key": "x"}})
	requireRule(t, err, "overrides", RuleToken)
	after, err := db.Phones().FindByName(ctx, "100-desk")
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestPhonesDelete(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	_, err := db.Phones().Create(ctx, "100", Phone{Name: "100a"})
	require.NoError(t, err)
	require.NoError(t, db.Registrations().Save(ctx, []Registration{{
		Phone: "100a", AOR: "sip:100@example.com", Contact: "sip:100a@192.0.2.1", ExpiresAt: epoch.Add(time.Hour),
	}}, nil))

	require.ErrorIs(t, db.Phones().Delete(ctx, "101", "100a"), ErrNotFound)
	require.NoError(t, db.Phones().Delete(ctx, "100", "100a"))
	require.ErrorIs(t, db.Phones().Delete(ctx, "100", "100a"), ErrNotFound)
	_, err = db.Phones().FindByName(ctx, "100a")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, 0, tableCount(t, db, "registrations"))
	require.Equal(t, 2, tableCount(t, db, "users"))
}

func TestPhonesFindByMAC(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	_, err := db.Phones().Create(ctx, "100", Phone{Name: "100a", SIPPassword: "s3cret!pass", MAC: "00:04:F2:AB:CD:EF"})
	require.NoError(t, err)
	for _, form := range []string{"0004f2abcdef", "00-04-F2-AB-CD-EF", "0004.F2AB.CDEF"} {
		p, err := db.Phones().FindByMAC(ctx, form)
		require.NoError(t, err, form)
		require.Equal(t, "100a", p.Name)
	}
	for _, missing := range []string{"0004f2abcde0", "", "not a mac"} {
		_, err := db.Phones().FindByMAC(ctx, missing)
		require.ErrorIs(t, err, ErrNotFound, missing)
	}
}
