package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMWISubscriptions(t *testing.T) {
	ctx := context.Background()
	db, clk := openTestDB(t)
	createUser(t, db, "100")
	createUser(t, db, "101")
	for _, p := range []struct{ ext, name string }{{"100", "100a"}, {"100", "100b"}, {"101", "101a"}} {
		_, err := db.Phones().Create(ctx, p.ext, Phone{Name: p.name, SIPPassword: "secret-" + p.name + "-long"})
		require.NoError(t, err)
	}
	mwi := db.MWI()
	now := clk.Now()
	sub := func(phone, callID string, ttl time.Duration) MWISubscription {
		return MWISubscription{Phone: phone, CallID: callID, FromTag: "f-" + callID, ToTag: "t-" + callID,
			Contact: "sip:" + phone + "@10.0.0.5:5060", Source: "10.0.0.5:5060", Transport: "UDP", ExpiresAt: now.Add(ttl)}
	}
	require.NoError(t, mwi.Put(ctx, sub("100a", "c1", time.Hour), now))
	require.NoError(t, mwi.Put(ctx, sub("100b", "c2", time.Minute), now))
	require.NoError(t, mwi.Put(ctx, sub("101a", "c3", time.Hour), now))
	require.ErrorIs(t, mwi.Put(ctx, sub("nobody", "c4", time.Hour), now), ErrNotFound)

	phones, err := mwi.Subscribers(ctx, "100", now)
	require.NoError(t, err)
	require.Equal(t, []string{"100a", "100b"}, phones)
	boxes, err := mwi.Mailboxes(ctx, now)
	require.NoError(t, err)
	require.Equal(t, []string{"100", "101"}, boxes)
	boxes, err = mwi.Mailboxes(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	require.Empty(t, boxes, "expired subscriptions do not count")

	subs, err := mwi.ForMailbox(ctx, "100", now)
	require.NoError(t, err)
	require.Len(t, subs, 2)
	for _, s := range subs {
		require.Equal(t, "100", s.Extension)
		require.EqualValues(t, 1, s.CSeq, "each NOTIFY gets the next CSeq (reading the subscribers advanced none)")
	}
	subs, err = mwi.ForMailbox(ctx, "100", now)
	require.NoError(t, err)
	require.EqualValues(t, 2, subs[0].CSeq)

	// A refresh keeps the dialog's CSeq; Expires: 0 ends it.
	require.NoError(t, mwi.Put(ctx, sub("100a", "c1", 2*time.Hour), now))
	require.NoError(t, mwi.Put(ctx, sub("100b", "c2", 0), now))
	subs, err = mwi.ForMailbox(ctx, "100", now)
	require.NoError(t, err)
	require.Len(t, subs, 1)
	require.EqualValues(t, 3, subs[0].CSeq)

	// Expired subscriptions are not notified, and swept.
	later := now.Add(90 * time.Minute)
	subs, err = mwi.ForMailbox(ctx, "101", later)
	require.NoError(t, err)
	require.Empty(t, subs)
	n, err := mwi.DeleteExpired(ctx, later)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	// A deleted phone takes its subscriptions along.
	require.NoError(t, db.Phones().Delete(ctx, "100", "100a"))
	subs, err = mwi.ForMailbox(ctx, "100", now)
	require.NoError(t, err)
	require.Empty(t, subs)
}
