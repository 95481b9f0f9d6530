package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func ruleIDsOf(rules []AnsweringRule) []int64 {
	ids := make([]int64, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	return ids
}

// requirePositions checks that the rules of ext are ids, in order, at
// positions 0..n-1, with exactly one default rule.
func requirePositions(t *testing.T, db *DB, ext string, ids ...int64) []AnsweringRule {
	t.Helper()
	rules, err := db.AnsweringRules().Find(context.Background(), ext)
	require.NoError(t, err)
	require.Equal(t, ids, ruleIDsOf(rules))
	defaults := 0
	for i, r := range rules {
		require.Equal(t, i, r.Position)
		if r.IsDefault {
			defaults++
		}
	}
	require.Equal(t, 1, defaults)
	return rules
}

func defaultRule(t *testing.T, db *DB, ext string) AnsweringRule {
	t.Helper()
	rules, err := db.AnsweringRules().Find(context.Background(), ext)
	require.NoError(t, err)
	for _, r := range rules {
		if r.IsDefault {
			return r
		}
	}
	t.Fatalf("user %s has no default rule", ext)
	return AnsweringRule{}
}

func TestNewUserHasDefaultRule(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")

	rules, err := db.AnsweringRules().Find(ctx, "100")
	require.NoError(t, err)
	require.Len(t, rules, 1)
	require.Equal(t, AnsweringRule{
		ID: rules[0].ID, Extension: "100", Position: 0, TimeFrame: TimeFrameAlways,
		IsDefault: true, Enabled: true, CreatedAt: epoch, UpdatedAt: epoch,
	}, rules[0])

	got, err := db.AnsweringRules().FindByID(ctx, "100", rules[0].ID)
	require.NoError(t, err)
	require.Equal(t, rules[0], got)

	// A user that fails to be created leaves no rule behind.
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "100", LoginName: "other"}})
	requireConflict(t, err, "extension")
	require.Equal(t, 1, tableCount(t, db, "answering_rules"))
}

func TestUsersCallPaths(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	u := createUser(t, db, "100")
	require.Equal(t, DefaultCallPaths, u.CallPaths)
	u2, err := db.Users().Create(ctx, NewUser{User: User{Extension: "101", CallPaths: 50}})
	require.NoError(t, err)
	require.Equal(t, 50, u2.CallPaths)
	_, err = db.Users().Create(ctx, NewUser{User: User{Extension: "102", CallPaths: 51}})
	requireRule(t, err, "call_paths", RuleRange)

	clk.Add(time.Minute)
	got, err := db.Users().Update(ctx, "100", UserUpdate{CallPaths: ptr(0)})
	require.NoError(t, err)
	require.Equal(t, 0, got.CallPaths) // unlimited
	got, err = db.Users().Update(ctx, "100", UserUpdate{FirstName: ptr("Al")})
	require.NoError(t, err)
	require.Equal(t, 0, got.CallPaths)

	before := got
	_, err = db.Users().Update(ctx, "100", UserUpdate{CallPaths: ptr(-1), FirstName: ptr("Bob")})
	requireRule(t, err, "call_paths", RuleRange)
	after, err := db.Users().FindByExtension(ctx, "100")
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestAnsweringRulesCreate(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createTimeFrame(t, db, "Office")
	def := defaultRule(t, db, "100")
	clk.Add(time.Minute)

	in := AnsweringRule{
		ID: 99, Extension: "555", Position: 7, IsDefault: true, // ignored
		TimeFrame: "OFFICE", Enabled: true, DND: true, Screening: true, RingForS: 25,
		ForwardAlways:     &Forward{Kind: ForwardUser, To: "101"},
		ForwardBusy:       &Forward{Kind: ForwardVoicemail, To: "100"},
		ForwardUnanswered: &Forward{Kind: ForwardExternal, To: "+14155550100"},
		ForwardOffline:    &Forward{Kind: ForwardHandset, To: "101-desk"},
		SimRing: &SimRing{IncludeUser: true, RingAllPhones: true, Destinations: []SimRingDestination{
			{Kind: ForwardUser, To: "102"},
			{Kind: ForwardExternal, To: "4155550199", DelayS: 10, Confirm: true},
		}},
	}
	r1, err := db.AnsweringRules().Create(ctx, "100", in)
	require.NoError(t, err)
	want := in
	want.ID, want.Extension, want.Position, want.IsDefault = r1.ID, "100", 0, false
	want.TimeFrame = "Office"
	want.CreatedAt, want.UpdatedAt = epoch.Add(time.Minute), epoch.Add(time.Minute)
	require.Equal(t, want, r1)

	// The caller's values are copied, not kept.
	in.ForwardAlways.To = "999"
	in.SimRing.Destinations[0].To = "999"
	got, err := db.AnsweringRules().FindByID(ctx, "100", r1.ID)
	require.NoError(t, err)
	require.Equal(t, r1, got)

	// New rules go before the default rule while it is last; the default
	// rule's new position marks it updated.
	rules := requirePositions(t, db, "100", r1.ID, def.ID)
	require.Equal(t, epoch.Add(time.Minute), rules[1].UpdatedAt)
	r2, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: TimeFrameAlways})
	require.NoError(t, err)
	require.False(t, r2.Enabled)
	require.Nil(t, r2.ForwardAlways)
	require.Nil(t, r2.SimRing)
	requirePositions(t, db, "100", r1.ID, r2.ID, def.ID)

	// Once the default rule is not last, new rules go to the end.
	_, err = db.AnsweringRules().Reorder(ctx, "100", []int64{def.ID, r1.ID, r2.ID})
	require.NoError(t, err)
	r3, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Office"})
	require.NoError(t, err)
	require.Equal(t, 3, r3.Position)
	requirePositions(t, db, "100", def.ID, r1.ID, r2.ID, r3.ID)
}

func TestAnsweringRulesCreateErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	def := defaultRule(t, db, "100")

	_, err := db.AnsweringRules().Create(ctx, "404", AnsweringRule{TimeFrame: TimeFrameAlways})
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, "create answering rule for user 404: user 404: not found", err.Error())
	_, err = db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Nowhere"})
	requireRule(t, err, "time_frame", RuleExists)
	_, err = db.AnsweringRules().Create(ctx, "100", AnsweringRule{})
	requireRule(t, err, "time_frame", RuleRequired)
	_, err = db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: TimeFrameAlways,
		ForwardBusy: &Forward{Kind: "queue", To: "100"}})
	requireRule(t, err, "forward_busy", RuleEnum)
	requirePositions(t, db, "100", def.ID)
}

// TestAnsweringRulesTimeFrameForeignKey checks the backstop behind the
// existence check: the schema itself refuses a rule on a missing frame.
func TestAnsweringRulesTimeFrameForeignKey(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	u := createUser(t, db, "100")
	_, err := db.write.ExecContext(ctx, `INSERT INTO answering_rules
		(user_id, position, time_frame, created_at, updated_at) VALUES (?, 5, 'Nowhere', 0, 0)`, u.ID)
	require.True(t, isForeignKeyError(err), "%v", err)
	requireRule(t, mapRuleWrite(err, "Nowhere"), "time_frame", RuleExists)
	_, err = db.write.ExecContext(ctx, `INSERT INTO answering_rules
		(user_id, position, time_frame, is_default, created_at, updated_at) VALUES (?, 5, 'always', 1, 0, 0)`, u.ID)
	requireConflict(t, mapConstraint(err), "user_id") // a second default rule
}

func TestAnsweringRulesFind(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	r, err := db.AnsweringRules().Create(ctx, "101", AnsweringRule{TimeFrame: TimeFrameAlways})
	require.NoError(t, err)

	_, err = db.AnsweringRules().Find(ctx, "404")
	require.ErrorIs(t, err, ErrNotFound)
	rules, err := db.AnsweringRules().Find(ctx, "100")
	require.NoError(t, err)
	require.Len(t, rules, 1)

	// A rule is found only under its own user.
	_, err = db.AnsweringRules().FindByID(ctx, "100", r.ID)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.AnsweringRules().FindByID(ctx, "404", r.ID)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.AnsweringRules().FindByID(ctx, "101", 12345)
	require.ErrorIs(t, err, ErrNotFound)
	got, err := db.AnsweringRules().FindByID(ctx, "101", r.ID)
	require.NoError(t, err)
	require.Equal(t, r, got)

	// Rules follow their user to a new extension.
	_, err = db.Users().Update(ctx, "101", UserUpdate{Extension: ptr("201")})
	require.NoError(t, err)
	got, err = db.AnsweringRules().FindByID(ctx, "201", r.ID)
	require.NoError(t, err)
	require.Equal(t, "201", got.Extension)
}

func TestAnsweringRulesUpdate(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createTimeFrame(t, db, "Office")
	orig, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{
		TimeFrame: "Office", Enabled: true, RingForS: 20,
		ForwardBusy:    &Forward{Kind: ForwardVoicemail, To: "100"},
		ForwardOffline: &Forward{Kind: ForwardExternal, To: "+14155550100"},
		SimRing:        &SimRing{IncludeUser: true},
	})
	require.NoError(t, err)
	clk.Add(time.Minute)

	// Pointers and unset Nullables leave fields alone; SetTo replaces,
	// SetNull clears.
	sim := SimRing{RingAllPhones: true, Destinations: []SimRingDestination{{Kind: ForwardHandset, To: "lobby", DelayS: 3}}}
	r, err := db.AnsweringRules().Update(ctx, "100", orig.ID, AnsweringRuleUpdate{
		TimeFrame:     ptr(TimeFrameAlways),
		DND:           ptr(true),
		RingForS:      ptr(0),
		ForwardAlways: SetTo(Forward{Kind: ForwardUser, To: "101"}),
		ForwardBusy:   SetNull[Forward](),
		SimRing:       SetTo(sim),
	})
	require.NoError(t, err)
	want := orig
	want.TimeFrame, want.DND, want.RingForS = TimeFrameAlways, true, 0
	want.ForwardAlways = &Forward{Kind: ForwardUser, To: "101"}
	want.ForwardBusy = nil
	want.SimRing = &sim
	want.UpdatedAt = epoch.Add(time.Minute)
	require.Equal(t, want, r)

	sim.Destinations[0].To = "changed" // not kept
	r, err = db.AnsweringRules().Update(ctx, "100", orig.ID, AnsweringRuleUpdate{SimRing: SetNull[SimRing]()})
	require.NoError(t, err)
	want.SimRing = nil
	require.Equal(t, want, r)

	// An empty update changes nothing but the time.
	clk.Add(time.Minute)
	r, err = db.AnsweringRules().Update(ctx, "100", orig.ID, AnsweringRuleUpdate{})
	require.NoError(t, err)
	want.UpdatedAt = epoch.Add(2 * time.Minute)
	require.Equal(t, want, r)

	// The default rule: anything but its time frame.
	def := defaultRule(t, db, "100")
	d, err := db.AnsweringRules().Update(ctx, "100", def.ID, AnsweringRuleUpdate{
		DND: ptr(true), Enabled: ptr(false), TimeFrame: ptr("ALWAYS"),
		ForwardUnanswered: SetTo(Forward{Kind: ForwardVoicemail, To: "100"}),
	})
	require.NoError(t, err)
	require.True(t, d.DND)
	require.False(t, d.Enabled)
	require.True(t, d.IsDefault)
	require.Equal(t, TimeFrameAlways, d.TimeFrame)
	_, err = db.AnsweringRules().Update(ctx, "100", def.ID, AnsweringRuleUpdate{TimeFrame: ptr("Office")})
	requireRule(t, err, "time_frame", RuleDefaultRule)

	_, err = db.AnsweringRules().Update(ctx, "404", orig.ID, AnsweringRuleUpdate{DND: ptr(false)})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.AnsweringRules().Update(ctx, "100", 12345, AnsweringRuleUpdate{DND: ptr(false)})
	require.ErrorIs(t, err, ErrNotFound)
}

func TestAnsweringRulesFailedUpdateChangesNothing(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	createTimeFrame(t, db, "Office")
	r, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{
		TimeFrame: "Office", Enabled: true, ForwardBusy: &Forward{Kind: ForwardVoicemail, To: "100"},
	})
	require.NoError(t, err)
	def := defaultRule(t, db, "100")
	clk.Add(time.Minute)

	tests := []struct {
		name        string
		ext         string
		id          int64
		upd         AnsweringRuleUpdate
		field, rule string
		notFound    bool
	}{
		{"unknown time frame", "100", r.ID, AnsweringRuleUpdate{DND: ptr(true), TimeFrame: ptr("Nowhere")}, "time_frame", RuleExists, false},
		{"bad forward", "100", r.ID, AnsweringRuleUpdate{DND: ptr(true), ForwardAlways: SetTo(Forward{Kind: ForwardUser, To: "x"})}, "forward_always", RuleDigits, false},
		{"bad simring", "100", r.ID, AnsweringRuleUpdate{ForwardBusy: SetNull[Forward](), SimRing: SetTo(SimRing{Destinations: []SimRingDestination{{Kind: ForwardVoicemail, To: "100"}}})}, "simring", RuleEnum, false},
		{"ring for too long", "100", r.ID, AnsweringRuleUpdate{Enabled: ptr(false), RingForS: ptr(601)}, "ring_for_s", RuleRange, false},
		{"empty time frame", "100", r.ID, AnsweringRuleUpdate{TimeFrame: ptr("")}, "time_frame", RuleRequired, false},
		{"default rule off always", "100", def.ID, AnsweringRuleUpdate{DND: ptr(true), TimeFrame: ptr("Office")}, "time_frame", RuleDefaultRule, false},
		{"another user's rule", "101", r.ID, AnsweringRuleUpdate{DND: ptr(true)}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AnsweringRules().Update(ctx, tt.ext, tt.id, tt.upd)
			if tt.notFound {
				require.ErrorIs(t, err, ErrNotFound)
			} else {
				requireRule(t, err, tt.field, tt.rule)
			}
			requirePositions(t, db, "100", r.ID, def.ID)
			got, err := db.AnsweringRules().FindByID(ctx, "100", r.ID)
			require.NoError(t, err)
			require.Equal(t, r, got)
			got, err = db.AnsweringRules().FindByID(ctx, "100", def.ID)
			require.NoError(t, err)
			require.Equal(t, def, got)
		})
	}
}

func TestAnsweringRulesDelete(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	def := defaultRule(t, db, "100")
	var ids []int64
	for range 3 {
		r, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: TimeFrameAlways})
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}
	requirePositions(t, db, "100", ids[0], ids[1], ids[2], def.ID)

	err := db.AnsweringRules().Delete(ctx, "100", def.ID)
	requireRule(t, err, "id", RuleDefaultRule)
	require.ErrorIs(t, db.AnsweringRules().Delete(ctx, "101", ids[0]), ErrNotFound)
	require.ErrorIs(t, db.AnsweringRules().Delete(ctx, "404", ids[0]), ErrNotFound)
	require.ErrorIs(t, db.AnsweringRules().Delete(ctx, "100", 12345), ErrNotFound)
	requirePositions(t, db, "100", ids[0], ids[1], ids[2], def.ID)

	// The rules after a deleted one move up.
	require.NoError(t, db.AnsweringRules().Delete(ctx, "100", ids[1]))
	requirePositions(t, db, "100", ids[0], ids[2], def.ID)
	require.NoError(t, db.AnsweringRules().Delete(ctx, "100", ids[0]))
	require.ErrorIs(t, db.AnsweringRules().Delete(ctx, "100", ids[0]), ErrNotFound)
	requirePositions(t, db, "100", ids[2], def.ID)
	requirePositions(t, db, "101", defaultRule(t, db, "101").ID)
}

func TestAnsweringRulesReorder(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	def := defaultRule(t, db, "100")
	other := defaultRule(t, db, "101")
	var ids []int64
	for range 2 {
		r, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: TimeFrameAlways})
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}
	a, b := ids[0], ids[1]
	before := requirePositions(t, db, "100", a, b, def.ID)
	clk.Add(time.Minute)

	for _, tt := range []struct {
		name string
		ids  []int64
	}{
		{"nil", nil},
		{"empty", []int64{}},
		{"one missing", []int64{b, a}},
		{"one extra", []int64{b, a, def.ID, 12345}},
		{"duplicate", []int64{b, a, a}},
		{"duplicate in place of one", []int64{b, a, def.ID, def.ID}},
		{"another user's rule", []int64{b, a, other.ID}},
		{"unknown id", []int64{b, a, 12345}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AnsweringRules().Reorder(ctx, "100", tt.ids)
			requireRule(t, err, "ids", RulePermutation)
			rules := requirePositions(t, db, "100", a, b, def.ID)
			require.Equal(t, before, rules)
		})
	}

	_, err := db.AnsweringRules().Reorder(ctx, "404", []int64{})
	require.ErrorIs(t, err, ErrNotFound)

	rules, err := db.AnsweringRules().Reorder(ctx, "100", []int64{def.ID, b, a})
	require.NoError(t, err)
	require.Equal(t, []int64{def.ID, b, a}, ruleIDsOf(rules))
	// Only the rules that moved are marked updated; b kept position 1.
	for i, r := range rules {
		require.Equal(t, i, r.Position)
		if r.ID == b {
			require.Equal(t, before[1].UpdatedAt, r.UpdatedAt)
		} else {
			require.Equal(t, epoch.Add(time.Minute), r.UpdatedAt)
		}
	}
	requirePositions(t, db, "100", def.ID, b, a)

	// The same order again moves nothing and touches nothing.
	clk.Add(time.Minute)
	again, err := db.AnsweringRules().Reorder(ctx, "100", []int64{def.ID, b, a})
	require.NoError(t, err)
	require.Equal(t, rules, again)
	requirePositions(t, db, "101", other.ID)
}

func TestUserDeleteCascades(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	createTimeFrame(t, db, "Office")
	_, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Office"})
	require.NoError(t, err)
	_, err = db.AllowBlock().Put(ctx, "100", AllowBlock{Blocked: []string{"+14155550100"}})
	require.NoError(t, err)
	_, err = db.AllowBlock().Put(ctx, "101", AllowBlock{BlockAnonymous: true})
	require.NoError(t, err)
	require.Equal(t, 3, tableCount(t, db, "answering_rules"))
	require.Equal(t, 2, tableCount(t, db, "allow_block"))

	require.NoError(t, db.Users().Delete(ctx, "100"))
	require.Equal(t, 1, tableCount(t, db, "answering_rules"))
	require.Equal(t, 1, tableCount(t, db, "allow_block"))
	_, err = db.AnsweringRules().Find(ctx, "100")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = db.AllowBlock().Get(ctx, "100")
	require.ErrorIs(t, err, ErrNotFound)
	requirePositions(t, db, "101", defaultRule(t, db, "101").ID)
	// The time frame stays.
	_, err = db.TimeFrames().FindByName(ctx, "Office")
	require.NoError(t, err)
}

// TestMigration0002 applies 0002 to a database that 0001 alone created and
// that already holds users.
func TestMigration0002(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switchboard.db")

	raw, err := sql.Open("sqlite", dsn(path, "_pragma=foreign_keys(1)"))
	require.NoError(t, err)
	old := &DB{write: raw}
	_, err = raw.ExecContext(ctx, `CREATE TABLE schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`)
	require.NoError(t, err)
	require.NoError(t, old.migrateFile(ctx, "migrations/0001_init.sql"))
	for _, ext := range []string{"100", "101", "102"} {
		_, err := raw.ExecContext(ctx, `INSERT INTO users (extension, login_name, created_at, updated_at)
			VALUES (?, ?, 1000, 2000)`, ext, ext)
		require.NoError(t, err)
	}
	require.NoError(t, raw.Close())

	db, err := Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()

	users, _, err := db.Users().Find(ctx, UserFilter{})
	require.NoError(t, err)
	require.Len(t, users, 3)
	for _, u := range users {
		require.Equal(t, DefaultCallPaths, u.CallPaths, u.Extension)
		require.Equal(t, fromMillis(2000), u.UpdatedAt)
		rules, err := db.AnsweringRules().Find(ctx, u.Extension)
		require.NoError(t, err)
		require.Len(t, rules, 1, u.Extension)
		r := rules[0]
		require.True(t, r.IsDefault)
		require.True(t, r.Enabled)
		require.Equal(t, TimeFrameAlways, r.TimeFrame)
		require.Equal(t, u.Extension, r.Extension)
		require.Zero(t, r.Position)
		require.False(t, r.DND || r.Screening)
		require.Zero(t, r.RingForS)
		require.Nil(t, r.ForwardAlways)
		require.Nil(t, r.SimRing)
		require.Greater(t, r.CreatedAt, epoch.AddDate(-1, 0, 0))
	}
	tf, err := db.TimeFrames().FindByName(ctx, TimeFrameAlways)
	require.NoError(t, err)
	require.True(t, tf.Always)
	require.Greater(t, tf.CreatedAt, epoch.AddDate(-1, 0, 0))

	// The migrated users behave like new ones.
	_, err = db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: TimeFrameAlways})
	require.NoError(t, err)
	requireRule(t, db.AnsweringRules().Delete(ctx, "100", defaultRule(t, db, "100").ID), "id", RuleDefaultRule)
	u, err := db.AllowBlock().Get(ctx, "101")
	require.NoError(t, err)
	require.Equal(t, AllowBlock{Allowed: []string{}, Blocked: []string{}}, u)
}
