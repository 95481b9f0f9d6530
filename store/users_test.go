package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

func requireConflict(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, ErrConflict)
	var ce *ConflictError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, field, ce.Field, err.Error())
}

func TestUsersCreate(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)

	in := validUser()
	in.ID = 99 // ignored
	u, err := db.Users().Create(ctx, NewUser{User: in, Password: "correct horse", VoicemailPIN: "2580"})
	require.NoError(t, err)
	require.NotZero(t, u.ID)
	require.NotEqual(t, int64(99), u.ID)
	require.Equal(t, epoch, u.CreatedAt)
	require.Equal(t, epoch, u.UpdatedAt)
	require.True(t, u.HasPassword)
	require.True(t, u.HasVoicemailPIN)

	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = u.ID, epoch, epoch
	want.HasPassword, want.HasVoicemailPIN = true, true
	require.Equal(t, want, u)

	got, err := db.Users().FindByExtension(ctx, "1001")
	require.NoError(t, err)
	require.Equal(t, u, got)

	// The hashes are not the secrets.
	var pw, pin string
	require.NoError(t, db.read.QueryRow(`SELECT password_hash, voicemail_pin_hash FROM users WHERE id = ?`, u.ID).Scan(&pw, &pin))
	require.NotContains(t, pw, "correct horse")
	require.NotEqual(t, "2580", pin)

	ok, err := db.Users().VerifyPassword(ctx, "1001", "correct horse")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.Users().VerifyPassword(ctx, "1001", "wrong horse")
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = db.Users().VerifyPIN(ctx, "1001", "2580")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.Users().VerifyPIN(ctx, "1001", "2581")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestUsersCreateDefaults(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	u, err := db.Users().Create(ctx, NewUser{User: User{Extension: "100"}})
	require.NoError(t, err)
	require.Equal(t, "100", u.LoginName)
	require.Equal(t, ScopeBasicUser, u.Scope)
	require.Equal(t, []string{}, u.Emails)
	require.False(t, u.HasPassword)
	require.False(t, u.HasVoicemailPIN)

	// No password or PIN set: nothing verifies, not even the empty string.
	ok, err := db.Users().VerifyPassword(ctx, "100", "")
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = db.Users().VerifyPIN(ctx, "100", "")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestUsersCreateInvalid(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	tests := []struct {
		name  string
		nu    NewUser
		field string
		rule  string
	}{
		{"extension", NewUser{User: User{Extension: "1"}}, "extension", RuleDigits},
		{"caller ID injection", NewUser{User: User{Extension: "100", CallerIDName: "x\r\nContact: <sip:evil>"}}, "caller_id_name", RuleHeaderSafe},
		{"scope", NewUser{User: User{Extension: "100", Scope: "owner"}}, "scope", RuleEnum},
		{"short password", NewUser{User: User{Extension: "100"}, Password: "short"}, "password", RuleLength},
		{"PIN 1234", NewUser{User: User{Extension: "100"}, VoicemailPIN: "1234"}, "voicemail_pin", RuleSequential},
		{"PIN 0000", NewUser{User: User{Extension: "100"}, VoicemailPIN: "0000"}, "voicemail_pin", RuleRepeated},
		{"PIN is extension", NewUser{User: User{Extension: "1357"}, VoicemailPIN: "1357"}, "voicemail_pin", RulePersonal},
		{"PIN is phone number", NewUser{User: User{Extension: "100", PhoneNumber: "+4930901820"}, VoicemailPIN: "4930901820"}, "voicemail_pin", RulePersonal},
		{"PIN letters", NewUser{User: User{Extension: "100"}, VoicemailPIN: "abcd"}, "voicemail_pin", RuleDigits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Users().Create(ctx, tt.nu)
			requireRule(t, err, tt.field, tt.rule)
		})
	}
	n, err := db.Users().Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestUsersCreateConflict(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	_, err := db.Users().Create(ctx, NewUser{User: User{Extension: "100", LoginName: "alice", Emails: []string{"a@example.com"}}})
	require.NoError(t, err)

	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "100", LoginName: "bob"}})
	requireConflict(t, err, "extension")
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "101", LoginName: "ALICE"}})
	requireConflict(t, err, "login_name")
	// The login name defaults to the extension, which may already be
	// someone's login name.
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "102", LoginName: "103"}})
	require.NoError(t, err)
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "103"}})
	requireConflict(t, err, "login_name")

	// Another user may share an email address.
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "104", Emails: []string{"a@example.com"}}})
	require.NoError(t, err)

	n, err := db.Users().Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, 2, tableCount(t, db, "user_emails"))
}

func TestUsersNotFound(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	_, err := db.Users().FindByExtension(ctx, "404")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, "user 404: not found", err.Error())
	_, err = db.Users().Update(ctx, "404", UserUpdate{FirstName: ptr("x")})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.Users().Update(ctx, "404", UserUpdate{VoicemailPIN: ptr("2580")})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, db.Users().Delete(ctx, "404"), ErrNotFound)
	_, err = db.Users().VerifyPassword(ctx, "404", "whatever1")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.Users().VerifyPIN(ctx, "404", "2580")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestUsersFind(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	for _, u := range []User{
		{Extension: "1000", Site: "HQ", Department: "Sales"},
		{Extension: "101", Site: "HQ", Department: "Support"},
		{Extension: "100", Site: "Branch", Department: "Sales"},
		{Extension: "99", Site: "HQ", Department: "Sales", Emails: []string{"z@example.com", "a@example.com"}},
		{Extension: "200", Site: "Branch", Department: "Support"},
	} {
		_, err := db.Users().Create(ctx, NewUser{User: u})
		require.NoError(t, err)
	}
	exts := func(us []User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Extension)
		}
		return out
	}
	tests := []struct {
		name  string
		f     UserFilter
		want  []string
		total int
	}{
		{"all, numeric order", UserFilter{}, []string{"99", "100", "101", "200", "1000"}, 5},
		{"site", UserFilter{Site: "HQ"}, []string{"99", "101", "1000"}, 3},
		{"site and department", UserFilter{Site: "HQ", Department: "Sales"}, []string{"99", "1000"}, 2},
		{"extension", UserFilter{Extension: "101"}, []string{"101"}, 1},
		{"no match", UserFilter{Site: "Mars"}, nil, 0},
		{"page", UserFilter{Limit: 2, Offset: 1}, []string{"100", "101"}, 5},
		{"last page", UserFilter{Limit: 2, Offset: 4}, []string{"1000"}, 5},
		{"past the end", UserFilter{Offset: 10}, nil, 5},
		{"negative offset", UserFilter{Limit: 1, Offset: -3}, []string{"99"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, total, err := db.Users().Find(ctx, tt.f)
			require.NoError(t, err)
			require.NotNil(t, us)
			require.Equal(t, tt.want, exts(us))
			require.Equal(t, tt.total, total)
		})
	}
	us, _, err := db.Users().Find(ctx, UserFilter{Extension: "99"})
	require.NoError(t, err)
	require.Equal(t, []string{"z@example.com", "a@example.com"}, us[0].Emails)
}

func TestUsersFindLimit(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createPhones(t, db, 1005)
	us, total, err := db.Users().Find(ctx, UserFilter{})
	require.NoError(t, err)
	require.Len(t, us, 100)
	require.Equal(t, 1005, total)
	us, _, err = db.Users().Find(ctx, UserFilter{Limit: 5000})
	require.NoError(t, err)
	require.Len(t, us, 1000)
}

func TestUsersUpdate(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	orig, err := db.Users().Create(ctx, NewUser{User: validUser(), Password: "first password"})
	require.NoError(t, err)
	clk.Add(time.Minute)

	u, err := db.Users().Update(ctx, "1001", UserUpdate{
		Extension:        ptr("2001"),
		FirstName:        ptr("Alicia"),
		Emails:           &[]string{"new@example.com"},
		Scope:            ptr(ScopeOfficeManager),
		RecordCalls:      ptr(true),
		VoicemailEnabled: ptr(true),
		Timezone:         ptr(""),
		Password:         ptr("second password"),
	})
	require.NoError(t, err)
	want := orig
	want.Extension, want.FirstName, want.Emails = "2001", "Alicia", []string{"new@example.com"}
	want.Scope, want.RecordCalls, want.VoicemailEnabled, want.Timezone = ScopeOfficeManager, true, true, ""
	want.UpdatedAt = epoch.Add(time.Minute)
	require.Equal(t, want, u)

	_, err = db.Users().FindByExtension(ctx, "1001")
	require.ErrorIs(t, err, ErrNotFound)
	ok, err := db.Users().VerifyPassword(ctx, "2001", "second password")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.Users().VerifyPassword(ctx, "2001", "first password")
	require.NoError(t, err)
	require.False(t, ok)

	// An empty update changes nothing but the time.
	clk.Add(time.Minute)
	u2, err := db.Users().Update(ctx, "2001", UserUpdate{})
	require.NoError(t, err)
	want.UpdatedAt = epoch.Add(2 * time.Minute)
	require.Equal(t, want, u2)

	// Clearing emails and the password.
	u3, err := db.Users().Update(ctx, "2001", UserUpdate{Emails: &[]string{}, Password: ptr("")})
	require.NoError(t, err)
	require.Equal(t, []string{}, u3.Emails)
	require.False(t, u3.HasPassword)
	require.Equal(t, 0, tableCount(t, db, "user_emails"))
}

func TestUsersUpdateFailureLeavesRowUnchanged(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	before, err := db.Users().Create(ctx, NewUser{User: validUser(), Password: "first password", VoicemailPIN: "2580"})
	require.NoError(t, err)
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "1002", LoginName: "bob"}})
	require.NoError(t, err)
	clk.Add(time.Hour)

	tests := []struct {
		name  string
		upd   UserUpdate
		check func(*testing.T, error)
	}{
		{"conflicting extension", UserUpdate{
			Extension: ptr("1002"), FirstName: ptr("Changed"), Emails: &[]string{"x@example.com"},
			Password: ptr("another password"), VoicemailPIN: ptr("3691"),
		}, func(t *testing.T, err error) { requireConflict(t, err, "extension") }},
		{"conflicting login name", UserUpdate{LoginName: ptr("BOB"), Emails: &[]string{}},
			func(t *testing.T, err error) { requireConflict(t, err, "login_name") }},
		{"one bad field among good ones", UserUpdate{
			FirstName: ptr("Changed"), Emails: &[]string{"x@example.com"}, PhoneNumber: ptr("12"),
		}, func(t *testing.T, err error) { requireRule(t, err, "phone_number", RuleE164) }},
		{"bad scope", UserUpdate{Scope: ptr(Scope(""))},
			func(t *testing.T, err error) { requireRule(t, err, "scope", RuleEnum) }},
		{"bad PIN", UserUpdate{FirstName: ptr("Changed"), VoicemailPIN: ptr("9999")},
			func(t *testing.T, err error) { requireRule(t, err, "voicemail_pin", RuleRepeated) }},
		{"PIN equal to new extension", UserUpdate{Extension: ptr("3691"), VoicemailPIN: ptr("3691")},
			func(t *testing.T, err error) { requireRule(t, err, "voicemail_pin", RulePersonal) }},
		{"PIN equal to new phone number reversed", UserUpdate{PhoneNumber: ptr("+3691470"), VoicemailPIN: ptr("0741963")},
			func(t *testing.T, err error) { requireRule(t, err, "voicemail_pin", RulePersonal) }},
		{"previous PIN", UserUpdate{FirstName: ptr("Changed"), VoicemailPIN: ptr("2580")},
			func(t *testing.T, err error) { requireRule(t, err, "voicemail_pin", RulePrevious) }},
		{"short password", UserUpdate{FirstName: ptr("Changed"), Password: ptr("short")},
			func(t *testing.T, err error) { requireRule(t, err, "password", RuleLength) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Users().Update(ctx, "1001", tt.upd)
			require.Error(t, err)
			tt.check(t, err)
			after, err := db.Users().FindByExtension(ctx, "1001")
			require.NoError(t, err)
			require.Equal(t, before, after)
			ok, err := db.Users().VerifyPassword(ctx, "1001", "first password")
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = db.Users().VerifyPIN(ctx, "1001", "2580")
			require.NoError(t, err)
			require.True(t, ok)
		})
	}
}

func TestUsersUpdatePIN(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	_, err := db.Users().Create(ctx, NewUser{User: User{Extension: "100"}})
	require.NoError(t, err)

	u, err := db.Users().Update(ctx, "100", UserUpdate{VoicemailPIN: ptr("2580")})
	require.NoError(t, err)
	require.True(t, u.HasVoicemailPIN)
	u, err = db.Users().Update(ctx, "100", UserUpdate{VoicemailPIN: ptr("3691")})
	require.NoError(t, err)
	require.True(t, u.HasVoicemailPIN)
	ok, err := db.Users().VerifyPIN(ctx, "100", "3691")
	require.NoError(t, err)
	require.True(t, ok)
	// Only the immediately previous PIN is refused.
	_, err = db.Users().Update(ctx, "100", UserUpdate{VoicemailPIN: ptr("2580")})
	require.NoError(t, err)

	u, err = db.Users().Update(ctx, "100", UserUpdate{VoicemailPIN: ptr("")})
	require.NoError(t, err)
	require.False(t, u.HasVoicemailPIN)
	ok, err = db.Users().VerifyPIN(ctx, "100", "2580")
	require.NoError(t, err)
	require.False(t, ok)

	// A policy set on the DB applies.
	db.PINPolicy = PINPolicy{MinLen: 6, MaxLen: 8, MaxRun: 3, MaxRepeat: 2}
	_, err = db.Users().Update(ctx, "100", UserUpdate{VoicemailPIN: ptr("2580")})
	requireRule(t, err, "voicemail_pin", RuleLength)
	_, err = db.Users().Update(ctx, "100", UserUpdate{VoicemailPIN: ptr("258011")})
	require.NoError(t, err)
}

func TestUsersDeleteCascades(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	for _, ext := range []string{"100", "101"} {
		_, err := db.Users().Create(ctx, NewUser{User: User{Extension: ext, Emails: []string{ext + "@example.com"}}})
		require.NoError(t, err)
		for _, suffix := range []string{"a", "b"} {
			_, err := db.Phones().Create(ctx, ext, Phone{Name: ext + suffix})
			require.NoError(t, err)
			require.NoError(t, db.Registrations().Save(ctx, []Registration{{
				Phone: ext + suffix, AOR: "sip:" + ext + "@example.com",
				Contact: "sip:" + ext + suffix + "@192.0.2.1", ExpiresAt: epoch.Add(time.Hour),
			}}, nil))
		}
	}
	require.Equal(t, 4, tableCount(t, db, "phones"))
	require.Equal(t, 4, tableCount(t, db, "registrations"))

	require.NoError(t, db.Users().Delete(ctx, "100"))
	require.Equal(t, 1, tableCount(t, db, "users"))
	require.Equal(t, 1, tableCount(t, db, "user_emails"))
	require.Equal(t, 2, tableCount(t, db, "phones"))
	require.Equal(t, 2, tableCount(t, db, "registrations"))
	_, err := db.Phones().FindByName(ctx, "100a")
	require.ErrorIs(t, err, ErrNotFound)
	regs, err := db.Registrations().Load(ctx, epoch)
	require.NoError(t, err)
	require.Len(t, regs, 2)
	for _, r := range regs {
		require.Equal(t, "sip:101@example.com", r.AOR)
	}
	require.ErrorIs(t, db.Users().Delete(ctx, "100"), ErrNotFound)

	// The extension is free again.
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "100"}})
	require.NoError(t, err)
}
