package switchboard

import (
	"context"
	"errors"
	"sync"
	"time"

	"switchboard/sip"
	"switchboard/store"
)

// Interface guards: the store, adapted, is what the SIP side asks for.
var (
	_ sip.PhoneDirectory = (*phoneDirectory)(nil)
	_ sip.BindingStore   = bindingStore{}
)

// phoneDirectory serves the registrar's phone look-ups from memory. Entries
// live phoneCacheTTL (unknown names a shorter time, so a phone created
// through another engine shows up soon); the admin API invalidates what it
// changes, so a change made here applies to the next REGISTER.
type phoneDirectory struct {
	phones *store.Phones
	now    func() time.Time

	mu    sync.Mutex // guards cache
	cache map[string]phoneEntry
}

type phoneEntry struct {
	phone   sip.Phone
	found   bool
	expires time.Time
}

const (
	phoneCacheTTL        = 60 * time.Second
	phoneCacheMissTTL    = 5 * time.Second
	phoneCacheMaxEntries = 100_000
)

func newPhoneDirectory(p *store.Phones, now func() time.Time) *phoneDirectory {
	return &phoneDirectory{phones: p, now: now, cache: make(map[string]phoneEntry)}
}

func (d *phoneDirectory) LookupPhone(ctx context.Context, name string) (sip.Phone, bool, error) {
	now := d.now()
	d.mu.Lock()
	e, ok := d.cache[name]
	d.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.phone, e.found, nil
	}
	p, err := d.phones.FindByName(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e = phoneEntry{expires: now.Add(phoneCacheMissTTL)}
	case err != nil:
		return sip.Phone{}, false, err
	default:
		e = phoneEntry{
			phone:   sip.Phone{Name: p.Name, Password: p.SIPPassword, Extension: p.Extension},
			found:   true,
			expires: now.Add(phoneCacheTTL),
		}
	}
	d.mu.Lock()
	if len(d.cache) >= phoneCacheMaxEntries {
		clear(d.cache) // bounded: a scan of random names cannot grow it
	}
	d.cache[name] = e
	d.mu.Unlock()
	return e.phone, e.found, nil
}

// invalidate forgets cached phones; no names means all of them.
func (d *phoneDirectory) invalidate(names ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(names) == 0 {
		clear(d.cache)
		return
	}
	for _, n := range names {
		delete(d.cache, n)
	}
}

// bindingStore adapts the registrations repository to the registrar.
type bindingStore struct{ r *store.Registrations }

func (b bindingStore) SaveBindings(ctx context.Context, ups []sip.Binding, dels []sip.BindingKey) error {
	rows := make([]store.Registration, len(ups))
	for i, u := range ups {
		rows[i] = store.Registration{
			Phone: u.Phone, AOR: u.AOR, Contact: u.Contact, Instance: u.Instance, RegID: u.RegID,
			Source: u.Source, Transport: u.Transport, UserAgent: u.UserAgent, Path: u.Path,
			CallID: u.CallID, CSeq: u.CSeq, ExpiresAt: u.Expires, UpdatedAt: u.Updated,
		}
	}
	keys := make([]store.RegistrationKey, len(dels))
	for i, d := range dels {
		keys[i] = store.RegistrationKey{Phone: d.Phone, Contact: d.Contact}
	}
	return b.r.Save(ctx, rows, keys)
}

func (b bindingStore) LoadBindings(ctx context.Context, now time.Time) ([]sip.Binding, error) {
	rows, err := b.r.Load(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]sip.Binding, len(rows))
	for i, r := range rows {
		out[i] = sip.Binding{
			AOR: r.AOR, Phone: r.Phone, Contact: r.Contact, Instance: r.Instance, RegID: r.RegID,
			Source: r.Source, Transport: r.Transport, UserAgent: r.UserAgent, Path: r.Path,
			CallID: r.CallID, CSeq: r.CSeq, Expires: r.ExpiresAt, Updated: r.UpdatedAt,
		}
	}
	return out, nil
}

func (b bindingStore) DeleteExpiredBindings(ctx context.Context, now time.Time) (int64, error) {
	return b.r.DeleteExpired(ctx, now)
}
