package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAllowBlock(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")

	// Never set: empty lists.
	ab, err := db.AllowBlock().Get(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, AllowBlock{Allowed: []string{}, Blocked: []string{}}, ab)

	in := AllowBlock{
		Allowed:        []string{"+14155550100", "102"},
		Blocked:        []string{"4155550199", "+18005550000"},
		BlockAnonymous: true,
	}
	ab, err = db.AllowBlock().Put(ctx, "100", in)
	require.NoError(t, err)
	require.Equal(t, in, ab)
	in.Allowed[0] = "999" // not kept
	got, err := db.AllowBlock().Get(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, ab, got)

	// Put replaces everything; nil lists are empty.
	ab, err = db.AllowBlock().Put(ctx, "100", AllowBlock{Blocked: []string{"12"}})
	require.NoError(t, err)
	require.Equal(t, AllowBlock{Allowed: []string{}, Blocked: []string{"12"}}, ab)
	got, err = db.AllowBlock().Get(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, ab, got)

	// Each user has their own lists.
	got, err = db.AllowBlock().Get(ctx, "101")
	require.NoError(t, err)
	require.Equal(t, AllowBlock{Allowed: []string{}, Blocked: []string{}}, got)

	_, err = db.AllowBlock().Get(ctx, "404")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.AllowBlock().Put(ctx, "404", AllowBlock{})
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, 1, tableCount(t, db, "allow_block"))
}

func TestAllowBlockFailedPutChangesNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	stored, err := db.AllowBlock().Put(ctx, "100", AllowBlock{Allowed: []string{"100"}, BlockAnonymous: true})
	require.NoError(t, err)

	for _, tt := range []struct {
		name        string
		ab          AllowBlock
		field, rule string
	}{
		{"in both", AllowBlock{Allowed: []string{"200"}, Blocked: []string{"200"}}, "blocked", RuleBoth},
		{"duplicate", AllowBlock{Blocked: []string{"300", "300"}}, "blocked", RuleUnique},
		{"not a number", AllowBlock{Allowed: []string{"sip:x@example.com"}}, "allowed", RuleE164},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AllowBlock().Put(ctx, "100", tt.ab)
			requireRule(t, err, tt.field, tt.rule)
			got, err := db.AllowBlock().Get(ctx, "100")
			require.NoError(t, err)
			require.Equal(t, stored, got)
		})
	}
}
