package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	s := db.Settings()

	v, ok, err := s.Get(ctx, "sip.domain")
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, "", v)

	require.NoError(t, s.Set(ctx, "sip.domain", "example.com"))
	require.NoError(t, s.Set(ctx, "sip.domain", "pbx.example.com"))
	require.NoError(t, s.Set(ctx, "empty", ""))
	v, ok, err = s.Get(ctx, "sip.domain")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "pbx.example.com", v)
	v, ok, err = s.Get(ctx, "empty")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "", v)

	stored, err := s.SetIfAbsent(ctx, "sip.domain", "other.example.com")
	require.NoError(t, err)
	require.Equal(t, "pbx.example.com", stored)
	stored, err = s.SetIfAbsent(ctx, "admin_token_sha256", "abc")
	require.NoError(t, err)
	require.Equal(t, "abc", stored)

	all, err := s.All(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"sip.domain": "pbx.example.com", "empty": "", "admin_token_sha256": "abc"}, all)

	// SetAll writes all or nothing: one bad key stores none.
	require.NoError(t, s.SetAll(ctx, map[string]string{"a": "1", "b": "2"}))
	requireRule(t, s.SetAll(ctx, map[string]string{"a": "3", "b c": "4"}), "key", RuleToken)
	v, _, err = s.Get(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, "1", v)
	require.NoError(t, s.SetAll(ctx, map[string]string{"a": "3", "b": "4"}))
	v, _, err = s.Get(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, "4", v)
	for _, k := range []string{"a", "b"} {
		require.NoError(t, s.Set(ctx, k, "x"))
	}

	requireRule(t, s.Set(ctx, "", "x"), "key", RuleToken)
	requireRule(t, s.Set(ctx, "a key", "x"), "key", RuleToken)
	_, err = s.SetIfAbsent(ctx, "a\nkey", "x")
	requireRule(t, err, "key", RuleToken)
}

// TestSettingsSetIfAbsentRace: of many callers racing to initialise a key,
// one wins and every caller learns the winner's value.
func TestSettingsSetIfAbsentRace(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	const n = 20
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = db.Settings().SetIfAbsent(ctx, "realm.secret", fmt.Sprint("candidate-", i))
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, got[0], got[i])
	}
	v, _, err := db.Settings().Get(ctx, "realm.secret")
	require.NoError(t, err)
	require.Equal(t, got[0], v)
}

func TestConfigVersionCountsConfigurationOnly(t *testing.T) {
	db, clk := openTestDB(t)
	ctx := context.Background()
	v0 := db.ConfigVersion()
	_, err := db.Users().Create(ctx, NewUser{User: User{Extension: "100"}})
	require.NoError(t, err)
	_, err = db.Phones().Create(ctx, "100", Phone{Name: "100a"})
	require.NoError(t, err)
	v1 := db.ConfigVersion()
	require.Greater(t, v1, v0, "configuration writes change the version")

	require.NoError(t, db.Registrations().Save(ctx, []Registration{{Phone: "100a", AOR: "100", Contact: "sip:100a@192.0.2.1",
		ExpiresAt: clk.Now().Add(time.Hour)}}, nil))
	_, err = db.Registrations().DeleteExpired(ctx, clk.Now())
	require.NoError(t, err)
	require.Equal(t, v1, db.ConfigVersion(), "registrations are state, not configuration")

	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "bad!"}})
	require.Error(t, err)
	require.Equal(t, v1, db.ConfigVersion(), "a refused write changes nothing")
}
