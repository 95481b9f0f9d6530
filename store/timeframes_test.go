package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func createTimeFrame(t testing.TB, db *DB, name string) TimeFrame {
	t.Helper()
	tf := validTimeFrame()
	tf.Name = name
	out, err := db.TimeFrames().Create(context.Background(), tf)
	require.NoError(t, err)
	return out
}

func TestTimeFramesBuiltin(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)

	all, err := db.TimeFrames().Find(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1)
	b := all[0]
	require.Equal(t, TimeFrameAlways, b.Name)
	require.True(t, b.Always)
	require.Equal(t, []WeeklyRange{}, b.Weekly)
	require.Equal(t, []DateRange{}, b.Dates)
	require.NotZero(t, b.CreatedAt)

	for _, name := range []string{"always", "ALWAYS"} {
		got, err := db.TimeFrames().FindByName(ctx, name)
		require.NoError(t, err)
		require.Equal(t, b, got)

		_, err = db.TimeFrames().Update(ctx, name, TimeFrameUpdate{Name: ptr("anytime")})
		requireRule(t, err, "name", RuleBuiltin)
		_, err = db.TimeFrames().Update(ctx, name, TimeFrameUpdate{Weekly: &[]WeeklyRange{{Days: []string{"mon"}, Start: "09:00", End: "10:00"}}})
		requireRule(t, err, "name", RuleBuiltin)
		_, err = db.TimeFrames().Update(ctx, name, TimeFrameUpdate{})
		requireRule(t, err, "name", RuleBuiltin)
		requireRule(t, db.TimeFrames().Delete(ctx, name), "name", RuleBuiltin)
	}

	// Its name is taken, in any case.
	tf := validTimeFrame()
	tf.Name = "Always"
	_, err = db.TimeFrames().Create(ctx, tf)
	requireConflict(t, err, "name")
	other := createTimeFrame(t, db, "Office")
	_, err = db.TimeFrames().Update(ctx, "Office", TimeFrameUpdate{Name: ptr("always")})
	requireConflict(t, err, "name")

	got, err := db.TimeFrames().FindByName(ctx, "always")
	require.NoError(t, err)
	require.Equal(t, b, got)
	got, err = db.TimeFrames().FindByName(ctx, "office")
	require.NoError(t, err)
	require.Equal(t, other, got)
}

func TestTimeFramesCreate(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)

	in := TimeFrame{
		ID: 99, Name: "Night shift",
		Weekly: []WeeklyRange{
			{Days: []string{"mon", "tue", "wed", "thu"}, Start: "22:00", End: "06:00"},
			{Days: []string{"fri"}, Start: "22:00", End: "24:00"},
		},
		Dates:     []DateRange{{From: "2026-12-31", To: "2027-01-01"}},
		CreatedAt: epoch.Add(-time.Hour), // ignored
	}
	tf, err := db.TimeFrames().Create(ctx, in)
	require.NoError(t, err)
	require.NotEqual(t, int64(99), tf.ID)
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = tf.ID, epoch, epoch
	require.Equal(t, want, tf)

	// The caller's slices are copied, not kept.
	in.Weekly[0].Days[0] = "sun"
	got, err := db.TimeFrames().FindByName(ctx, "NIGHT SHIFT")
	require.NoError(t, err)
	require.Equal(t, tf, got)
	require.Equal(t, "mon", got.Weekly[0].Days[0])

	// An always frame needs no entries; empty lists come back empty.
	tf2, err := db.TimeFrames().Create(ctx, TimeFrame{Name: "24x7", Always: true})
	require.NoError(t, err)
	require.True(t, tf2.Always)
	require.Equal(t, []WeeklyRange{}, tf2.Weekly)
	require.Equal(t, []DateRange{}, tf2.Dates)

	_, err = db.TimeFrames().Create(ctx, TimeFrame{Name: "Empty"})
	requireRule(t, err, "weekly", RuleRequired)
	_, err = db.TimeFrames().Create(ctx, TimeFrame{Name: "Bad/name", Always: true})
	requireRule(t, err, "name", RuleToken)
	_, err = db.TimeFrames().Create(ctx, TimeFrame{Name: "night shift", Always: true})
	requireConflict(t, err, "name")

	all, err := db.TimeFrames().Find(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3)
}

func TestTimeFramesFindOrder(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	for _, name := range []string{"office", "Holidays", "after hours", "Weekend", "Alpha"} {
		createTimeFrame(t, db, name)
	}
	all, err := db.TimeFrames().Find(ctx)
	require.NoError(t, err)
	var names []string
	for _, tf := range all {
		names = append(names, tf.Name)
	}
	require.Equal(t, []string{"always", "after hours", "Alpha", "Holidays", "office", "Weekend"}, names)
}

func TestTimeFramesUpdate(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	orig := createTimeFrame(t, db, "Office")
	clk.Add(time.Minute)

	newWeekly := []WeeklyRange{{Days: []string{"sat"}, Start: "10:00", End: "14:00"}}
	tf, err := db.TimeFrames().Update(ctx, "office", TimeFrameUpdate{Weekly: &newWeekly})
	require.NoError(t, err)
	want := orig
	want.Weekly = newWeekly
	want.UpdatedAt = epoch.Add(time.Minute)
	require.Equal(t, want, tf)

	// Clearing the weekly list leaves the dates, which suffice.
	tf, err = db.TimeFrames().Update(ctx, "Office", TimeFrameUpdate{Weekly: &[]WeeklyRange{}})
	require.NoError(t, err)
	want.Weekly = []WeeklyRange{}
	require.Equal(t, want, tf)

	// Clearing both is refused, and changes nothing.
	clk.Add(time.Minute)
	_, err = db.TimeFrames().Update(ctx, "Office", TimeFrameUpdate{Dates: &[]DateRange{}})
	requireRule(t, err, "weekly", RuleRequired)
	got, err := db.TimeFrames().FindByName(ctx, "Office")
	require.NoError(t, err)
	require.Equal(t, want, got)

	// A change of case only is a rename.
	tf, err = db.TimeFrames().Update(ctx, "Office", TimeFrameUpdate{Name: ptr("OFFICE")})
	require.NoError(t, err)
	require.Equal(t, "OFFICE", tf.Name)

	_, err = db.TimeFrames().Update(ctx, "Nope", TimeFrameUpdate{Name: ptr("x")})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, db.TimeFrames().Delete(ctx, "Nope"), ErrNotFound)
	_, err = db.TimeFrames().FindByName(ctx, "Nope")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, "time frame Nope: not found", err.Error())
}

func TestTimeFramesFailedUpdateChangesNothing(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	office := createTimeFrame(t, db, "Office")
	holidays := createTimeFrame(t, db, "Holidays")
	rule, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Office", Enabled: true})
	require.NoError(t, err)
	clk.Add(time.Minute)

	tests := []struct {
		name  string
		upd   TimeFrameUpdate
		check func(*testing.T, error)
	}{
		{"rename to a taken name", TimeFrameUpdate{Name: ptr("HOLIDAYS"), Weekly: &[]WeeklyRange{}},
			func(t *testing.T, err error) { requireConflict(t, err, "name") }},
		{"invalid name with a valid list", TimeFrameUpdate{Name: ptr(""), Weekly: &[]WeeklyRange{}},
			func(t *testing.T, err error) { requireRule(t, err, "name", RuleToken) }},
		{"rename with an invalid list", TimeFrameUpdate{Name: ptr("Open"), Dates: &[]DateRange{{From: "2026-02-30", To: "2026-03-01"}}},
			func(t *testing.T, err error) { requireRule(t, err, "dates", RuleDate) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.TimeFrames().Update(ctx, "Office", tt.upd)
			tt.check(t, err)
			got, err := db.TimeFrames().FindByName(ctx, "Office")
			require.NoError(t, err)
			require.Equal(t, office, got)
			got, err = db.TimeFrames().FindByName(ctx, "Holidays")
			require.NoError(t, err)
			require.Equal(t, holidays, got)
			r, err := db.AnsweringRules().FindByID(ctx, "100", rule.ID)
			require.NoError(t, err)
			require.Equal(t, rule, r)
		})
	}
}

func TestTimeFrameRenameFollowsIntoRules(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	createTimeFrame(t, db, "Office")
	createTimeFrame(t, db, "Holidays")
	r1, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Office", Enabled: true})
	require.NoError(t, err)
	r2, err := db.AnsweringRules().Create(ctx, "101", AnsweringRule{TimeFrame: "office", DND: true})
	require.NoError(t, err)
	r3, err := db.AnsweringRules().Create(ctx, "101", AnsweringRule{TimeFrame: "Holidays"})
	require.NoError(t, err)
	// Rules store the frame's own spelling.
	require.Equal(t, "Office", r2.TimeFrame)
	clk.Add(time.Minute)

	tf, err := db.TimeFrames().Update(ctx, "Office", TimeFrameUpdate{Name: ptr("Open hours")})
	require.NoError(t, err)
	require.Equal(t, "Open hours", tf.Name)
	_, err = db.TimeFrames().FindByName(ctx, "Office")
	require.ErrorIs(t, err, ErrNotFound)

	got, err := db.AnsweringRules().FindByID(ctx, "100", r1.ID)
	require.NoError(t, err)
	require.Equal(t, "Open hours", got.TimeFrame)
	got, err = db.AnsweringRules().FindByID(ctx, "101", r2.ID)
	require.NoError(t, err)
	require.Equal(t, "Open hours", got.TimeFrame)
	require.True(t, got.DND)
	got, err = db.AnsweringRules().FindByID(ctx, "101", r3.ID)
	require.NoError(t, err)
	require.Equal(t, r3, got)

	// The old name is free again, and the renamed frame still guards its
	// rules.
	createTimeFrame(t, db, "Office")
	require.NoError(t, db.TimeFrames().Delete(ctx, "Office"))
	err = db.TimeFrames().Delete(ctx, "open HOURS")
	requireConflict(t, err, "time_frame")
}

func TestTimeFrameDeleteInUse(t *testing.T) {
	ctx := context.Background()
	db, _ := openTestDB(t)
	createUser(t, db, "100")
	tf := createTimeFrame(t, db, "Office")
	r, err := db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Office", Enabled: true})
	require.NoError(t, err)

	err = db.TimeFrames().Delete(ctx, "Office")
	requireConflict(t, err, "time_frame")
	require.Equal(t, "delete time frame Office: time_frame already in use", err.Error())
	got, err := db.TimeFrames().FindByName(ctx, "Office")
	require.NoError(t, err)
	require.Equal(t, tf, got)

	require.NoError(t, db.AnsweringRules().Delete(ctx, "100", r.ID))
	require.NoError(t, db.TimeFrames().Delete(ctx, "office"))
	_, err = db.TimeFrames().FindByName(ctx, "Office")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, db.TimeFrames().Delete(ctx, "Office"), ErrNotFound)

	// A frame used only by a deleted user's rules is free.
	createTimeFrame(t, db, "Weekend")
	_, err = db.AnsweringRules().Create(ctx, "100", AnsweringRule{TimeFrame: "Weekend"})
	require.NoError(t, err)
	require.NoError(t, db.Users().Delete(ctx, "100"))
	require.NoError(t, db.TimeFrames().Delete(ctx, "Weekend"))
}
