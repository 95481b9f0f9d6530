package switchboard

import (
	"context"
	"errors"
	"time"

	"switchboard/sip"
	"switchboard/store"
)

var _ sip.Mailboxes = mailboxes{}

// mailboxes gives the SIP server what message-waiting needs: the counts
// and the subscriptions, both kept in the store.
type mailboxes struct {
	db *store.DB
}

func (m mailboxes) MailboxCounts(ctx context.Context, ext string) (int, int, bool, error) {
	c, err := m.db.Voicemail().Counts(ctx, ext)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, err
	}
	if !c.Enabled {
		return 0, 0, false, nil
	}
	return c.New, c.Saved, true, nil
}

func (m mailboxes) SaveMWISubscription(ctx context.Context, s sip.MWISubscription, now time.Time) error {
	return m.db.MWI().Put(ctx, store.MWISubscription{Phone: s.Phone, CallID: s.CallID, FromTag: s.FromTag, ToTag: s.ToTag,
		Contact: s.Contact, Source: s.Source, Transport: s.Transport, ExpiresAt: s.ExpiresAt}, now)
}

func (m mailboxes) MWISubscriptions(ctx context.Context, ext string, now time.Time) ([]sip.MWISubscription, error) {
	subs, err := m.db.MWI().ForMailbox(ctx, ext, now)
	if err != nil {
		return nil, err
	}
	out := make([]sip.MWISubscription, len(subs))
	for i, s := range subs {
		out[i] = sip.MWISubscription{Phone: s.Phone, Extension: s.Extension, CallID: s.CallID, FromTag: s.FromTag,
			ToTag: s.ToTag, Contact: s.Contact, Source: s.Source, Transport: s.Transport, CSeq: s.CSeq, ExpiresAt: s.ExpiresAt}
	}
	return out, nil
}

func (m mailboxes) MWISubscribers(ctx context.Context, ext string, now time.Time) ([]string, error) {
	return m.db.MWI().Subscribers(ctx, ext, now)
}

func (m mailboxes) MWIMailboxes(ctx context.Context, now time.Time) ([]string, error) {
	return m.db.MWI().Mailboxes(ctx, now)
}
