package switchboard

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/routing"
	"switchboard/store"
)

func TestRoutingTimeFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      store.TimeFrame
		want    routing.TimeFrame
		wantErr bool
	}{
		{
			name: "always",
			in:   store.TimeFrame{Name: "always", Always: true},
			want: routing.TimeFrame{Name: "always", Always: true, Weekly: []routing.WeeklyRange{}, Dates: []routing.DateRange{}},
		},
		{
			name: "weekly and dates",
			in: store.TimeFrame{
				Name:   "business",
				Weekly: []store.WeeklyRange{{Days: []string{"mon", "fri"}, Start: "09:00", End: "24:00"}},
				Dates:  []store.DateRange{{From: "2026-12-24", To: "2026-12-26"}},
			},
			want: routing.TimeFrame{
				Name:   "business",
				Weekly: []routing.WeeklyRange{{Days: []time.Weekday{time.Monday, time.Friday}, Start: 9 * 60, End: routing.EndOfDay}},
				Dates: []routing.DateRange{{
					From: routing.Date{Year: 2026, Month: time.December, Day: 24},
					To:   routing.Date{Year: 2026, Month: time.December, Day: 26},
				}},
			},
		},
		{
			name:    "corrupt day",
			in:      store.TimeFrame{Name: "x", Weekly: []store.WeeklyRange{{Days: []string{"someday"}, Start: "09:00", End: "10:00"}}},
			wantErr: true,
		},
		{
			name:    "corrupt time",
			in:      store.TimeFrame{Name: "x", Weekly: []store.WeeklyRange{{Days: []string{"mon"}, Start: "9am", End: "10:00"}}},
			wantErr: true,
		},
		{
			name:    "corrupt date",
			in:      store.TimeFrame{Name: "x", Dates: []store.DateRange{{From: "2027-02-29", To: "2027-03-01"}}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := routingTimeFrame(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRoutingRule(t *testing.T) {
	tests := []struct {
		name    string
		in      store.AnsweringRule
		want    routing.Rule
		wantErr bool
	}{
		{
			name: "default",
			in:   store.AnsweringRule{ID: 1, TimeFrame: "always", IsDefault: true, Enabled: true},
			want: routing.Rule{ID: 1, TimeFrame: "always", Enabled: true},
		},
		{
			name: "everything",
			in: store.AnsweringRule{
				ID: 7, TimeFrame: "business", Enabled: true, DND: true, Screening: true, RingForS: 20,
				ForwardAlways:     &store.Forward{Kind: "voicemail", To: "101"},
				ForwardBusy:       &store.Forward{Kind: "user", To: "102"},
				ForwardUnanswered: &store.Forward{Kind: "handset", To: "101b"},
				ForwardOffline:    &store.Forward{Kind: "external", To: "+15550100"},
				SimRing: &store.SimRing{IncludeUser: true, Destinations: []store.SimRingDestination{
					{Kind: "external", To: "+15550199", DelayS: 5, Confirm: true},
				}},
			},
			want: routing.Rule{
				ID: 7, TimeFrame: "business", Enabled: true, DND: true, Screening: true, RingFor: 20 * time.Second,
				ForwardAlways:     &routing.Destination{Kind: routing.DestVoicemail, To: "101"},
				ForwardBusy:       &routing.Destination{Kind: routing.DestUser, To: "102"},
				ForwardUnanswered: &routing.Destination{Kind: routing.DestHandset, To: "101b"},
				ForwardOffline:    &routing.Destination{Kind: routing.DestExternal, To: "+15550100"},
				SimRing: &routing.SimRing{IncludeUser: true, Destinations: []routing.SimRingDestination{{
					Destination: routing.Destination{Kind: routing.DestExternal, To: "+15550199"},
					Delay:       5 * time.Second, Confirm: true,
				}}},
			},
		},
		{
			name:    "unknown kind",
			in:      store.AnsweringRule{ID: 2, TimeFrame: "always", ForwardBusy: &store.Forward{Kind: "queue", To: "1"}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := routingRule(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExplanationStages(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	callee := routing.Callee{Extension: "101", Location: ny, Rules: []routing.Rule{{ID: 4, TimeFrame: "business"}}}
	plan := routing.Plan{
		Action: routing.ActionRing, RuleID: 4, RuleIndex: 0,
		Stages: []routing.Stage{
			{Targets: []routing.Target{{Kind: routing.TargetPhones, To: "101"}, {Kind: routing.TargetExternal, To: "+15550199", Delay: 1500 * time.Millisecond}},
				Timeout: 25 * time.Second, OnNoAnswer: 1, OnBusy: routing.StageEnd},
			{Targets: []routing.Target{{Kind: routing.TargetVoicemail, To: "101"}}, OnNoAnswer: routing.StageEnd, OnBusy: routing.StageEnd},
		},
	}
	at := time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)
	ex := apiExplanation(callee, routing.Caller{Number: "+15550100"}, at, plan)
	require.Equal(t, "2026-03-03T10:00:00-05:00", ex.At.Format(time.RFC3339))
	require.Equal(t, "ring", ex.Action)
	require.Equal(t, "business", ex.Rule.TimeFrame)
	require.Equal(t, 25, ex.Stages[0].TimeoutS)
	require.Equal(t, 1, *ex.Stages[0].OnNoAnswer)
	require.Nil(t, ex.Stages[0].OnBusy)
	require.Equal(t, 2, ex.Stages[0].Targets[1].DelayS, "a fraction of a second rounds up")
	require.Equal(t, "phones", ex.Stages[0].Targets[0].Kind)
	require.Nil(t, ex.Stages[1].OnNoAnswer)

	ex = apiExplanation(callee, routing.Caller{Anonymous: true}, at, routing.Plan{
		Action: routing.ActionReject, Code: 403, Reason: "Anonymous Calls Not Accepted", RuleIndex: -1,
	})
	require.Nil(t, ex.Rule)
	require.Equal(t, 403, ex.Code)
	require.Empty(t, ex.Stages)
}

// The bulk load the configuration cache is filled with gives every user
// the same snapshot as reading that user alone.
func TestLoadDirectoryMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sb.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	for _, ext := range []string{"1001", "1002", "1003"} {
		_, err := db.Users().Create(ctx, store.NewUser{User: store.User{Extension: ext, FirstName: "U" + ext}})
		require.NoError(t, err)
	}
	paris := "Europe/Paris"
	_, err = db.Users().Update(ctx, "1002", store.UserUpdate{Timezone: &paris})
	require.NoError(t, err)
	_, err = db.TimeFrames().Create(ctx, store.TimeFrame{Name: "Office",
		Weekly: []store.WeeklyRange{{Days: []string{"mon", "tue"}, Start: "09:00", End: "17:00"}}})
	require.NoError(t, err)
	_, err = db.AnsweringRules().Create(ctx, "1002", store.AnsweringRule{TimeFrame: "office", Enabled: true, RingForS: 20,
		ForwardUnanswered: &store.Forward{Kind: "user", To: "1003"}})
	require.NoError(t, err)
	_, err = db.AllowBlock().Put(ctx, "1003", store.AllowBlock{Allowed: []string{"+15551234"}, Blocked: []string{"+1900"}, BlockAnonymous: true})
	require.NoError(t, err)
	for _, p := range []struct{ ext, name string }{{"1001", "1001"}, {"1001", "1001b"}, {"1003", "desk"}} {
		_, err := db.Phones().Create(ctx, p.ext, store.Phone{Name: p.name, SIPPassword: "secret-" + p.name})
		require.NoError(t, err)
	}

	s := routingSnapshots{db: db}
	callees, users, err := s.loadDirectory(ctx)
	require.NoError(t, err)
	require.Len(t, callees, 3)
	require.Len(t, users, 3)
	for _, ext := range []string{"1001", "1002", "1003"} {
		one, err := s.loadCallee(ctx, ext)
		require.NoError(t, err)
		require.Equal(t, one, callees[ext], ext)
		u, err := db.Users().FindByExtension(ctx, ext)
		require.NoError(t, err)
		require.Equal(t, u, users[ext], ext)
	}
	require.Len(t, callees["1002"].Rules, 2, "the user's rule and the default one")
	require.Contains(t, callees["1002"].Frames, "Office")
	require.Equal(t, "1001", callees["1001"].MainPhone)
}
