package sip

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Binding is one registered contact of one phone (RFC 3261 §10.3). A user's
// extension is the address-of-record; each of the user's phones binds its own
// contacts under it.
type Binding struct {
	AOR       string // the user's extension
	Phone     string // the phone's auth name
	Contact   string // the contact URI, as sent by the phone
	Instance  string // +sip.instance (RFC 5626), "" when absent
	RegID     int    // reg-id (RFC 5626), 0 when absent
	Source    string // ip:port the REGISTER came from (where requests go, for NAT)
	Transport string // UDP or TCP
	UserAgent string
	Path      string // Path header values (RFC 3327), comma separated, in order
	CallID    string
	CSeq      uint32
	// missedPings counts consecutive OPTIONS keepalives without an answer.
	// It sits beside CSeq, in what would be padding: every REGISTER copies
	// bindings, and the struct stays in its allocation size class.
	missedPings int32
	Expires     time.Time
	Updated     time.Time

	// stored is the expiry the BindingStore holds (zero: not saved yet).
	stored time.Time
	// mwi is what the contact was last told of its mailbox outside a
	// subscription (nil: nothing since it bound, or since this engine
	// started). It lives and goes with the binding; a mark is never
	// changed, only replaced, so copies may share it.
	mwi *mwiMark
}

// refreshSlack is how far a refreshed expiry may run ahead of the stored
// one before the refresh is written: a phone re-registering every few
// seconds (or a load test) must not turn into a database write each time.
// After a restart a binding may thus expire up to this much early; phones
// re-register well before their expiry.
func refreshSlack(lifetime time.Duration) time.Duration {
	return min(lifetime/10, time.Minute)
}

// onlyRefreshed reports whether nb differs from old by no more than what a
// periodic re-registration changes, within the slack.
func onlyRefreshed(old, nb *Binding, now time.Time) bool {
	return !old.stored.IsZero() &&
		old.Contact == nb.Contact && old.Source == nb.Source && old.Transport == nb.Transport &&
		old.UserAgent == nb.UserAgent && old.Path == nb.Path && old.Instance == nb.Instance &&
		old.RegID == nb.RegID && old.AOR == nb.AOR &&
		nb.Expires.Sub(old.stored) < refreshSlack(nb.Expires.Sub(now))
}

// Reachable reports whether the contact still answers keepalives.
func (b *Binding) Reachable() bool { return b.missedPings < deadAfterMissedPings }

// BindingKey identifies a binding in the BindingStore.
type BindingKey struct{ Phone, Contact string }

// BindingStore persists bindings so they survive a restart. The registrar's
// table is a write-behind cache of it: changes are batched and saved
// together, and expired rows are swept by an idempotent query.
type BindingStore interface {
	SaveBindings(ctx context.Context, upserts []Binding, deletes []BindingKey) error
	LoadBindings(ctx context.Context, now time.Time) ([]Binding, error)
	DeleteExpiredBindings(ctx context.Context, now time.Time) (int64, error)
}

// deadAfterMissedPings is how many unanswered keepalives make a contact
// count as offline before its registration expires.
const deadAfterMissedPings = 2

// bindingTable holds the live bindings per AOR and the changes not yet
// saved to the BindingStore.
type bindingTable struct {
	mu      sync.Mutex // guards everything below
	byAOR   map[string][]*Binding
	count   int
	dirty   map[BindingKey]*Binding // latest state to upsert
	removed map[BindingKey]struct{} // to delete
}

func newBindingTable() *bindingTable {
	return &bindingTable{
		byAOR:   make(map[string][]*Binding),
		dirty:   make(map[BindingKey]*Binding),
		removed: make(map[BindingKey]struct{}),
	}
}

// load replaces the table's content with bindings read from the store.
func (t *bindingTable) load(bs []Binding) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byAOR = make(map[string][]*Binding, len(bs))
	t.count = 0
	for i := range bs {
		b := bs[i]
		b.stored = b.Expires
		// What the contact was told before is not known: the pass
		// after a restart tells it again (see mwiRestart).
		b.mwi = nil
		t.byAOR[b.AOR] = append(t.byAOR[b.AOR], &b)
		t.count++
	}
}

func (t *bindingTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// phoneBindings returns copies of one phone's bindings under aor.
func (t *bindingTable) phoneBindings(aor, phone string) []Binding {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Binding
	for _, b := range t.byAOR[aor] {
		if b.Phone == phone {
			out = append(out, *b)
		}
	}
	return out
}

// Lookup returns copies of the reachable, unexpired bindings of aor.
func (t *bindingTable) lookup(aor string, now time.Time) []Binding {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Binding
	for _, b := range t.byAOR[aor] {
		if b.Expires.After(now) && b.Reachable() {
			out = append(out, *b)
		}
	}
	return out
}

// all returns copies of every binding.
func (t *bindingTable) all() []Binding {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Binding, 0, t.count)
	for _, bs := range t.byAOR {
		for _, b := range bs {
			out = append(out, *b)
		}
	}
	return out
}

// bindingChange is one contact of a REGISTER request, already clamped.
type bindingChange struct {
	Contact  string
	Instance string
	RegID    int
	Expires  time.Duration // 0 removes
}

// apply updates one phone's bindings under aor as a REGISTER asks
// (RFC 3261 §10.3 steps 6–8) and returns the phone's bindings afterwards.
// maxContacts bounds the phone's bindings: the oldest is replaced rather
// than the new one refused, since a rebooted phone behind NAT registers a
// fresh contact while its stale one lingers.
func (t *bindingTable) apply(tmpl Binding, changes []bindingChange, removeAll bool, maxContacts int, now time.Time) (result []Binding, outOfOrder bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.byAOR[tmpl.AOR]

	// A request older than the one that set an existing binding of the same
	// Call-ID must not change it (RFC 3261 §10.3 step 7).
	for _, b := range list {
		if b.Phone != tmpl.Phone || b.CallID != tmpl.CallID {
			continue
		}
		if tmpl.CSeq <= b.CSeq {
			if removeAll || slices.ContainsFunc(changes, func(c bindingChange) bool { return c.Contact == b.Contact }) {
				return nil, true
			}
		}
	}

	if removeAll {
		list = slices.DeleteFunc(list, func(b *Binding) bool {
			if b.Phone == tmpl.Phone {
				t.markRemoved(b)
				return true
			}
			return false
		})
	}
	for _, c := range changes {
		i := slices.IndexFunc(list, func(b *Binding) bool {
			if b.Phone != tmpl.Phone {
				return false
			}
			if b.Contact == c.Contact {
				return true
			}
			// The same device instance re-registering from a new address
			// replaces its old binding (RFC 5626 §6).
			return c.Instance != "" && b.Instance == c.Instance && b.RegID == c.RegID
		})
		if c.Expires <= 0 {
			if i >= 0 && list[i].Contact == c.Contact {
				t.markRemoved(list[i])
				list = slices.Delete(list, i, i+1)
			}
			continue
		}
		nb := tmpl
		nb.Contact = c.Contact
		nb.Instance = c.Instance
		nb.RegID = c.RegID
		nb.Expires = now.Add(c.Expires)
		nb.Updated = now
		if i >= 0 {
			if list[i].Contact != c.Contact {
				t.markRemoved(list[i])
			}
			skip := onlyRefreshed(list[i], &nb, now)
			nb.stored = list[i].stored
			if list[i].Contact == c.Contact {
				nb.mwi = list[i].mwi
			}
			*list[i] = nb
			if !skip {
				t.markDirty(list[i])
			}
			continue
		}
		if maxContacts > 0 {
			for t.countPhone(list, tmpl.Phone) >= maxContacts {
				oldest := -1
				for j, b := range list {
					if b.Phone == tmpl.Phone && (oldest < 0 || b.Updated.Before(list[oldest].Updated)) {
						oldest = j
					}
				}
				t.markRemoved(list[oldest])
				list = slices.Delete(list, oldest, oldest+1)
			}
		}
		p := &nb
		list = append(list, p)
		t.markDirty(p)
	}
	t.setList(tmpl.AOR, list)
	for _, b := range list {
		if b.Phone == tmpl.Phone {
			result = append(result, *b)
		}
	}
	return result, false
}

func (t *bindingTable) countPhone(list []*Binding, phone string) int {
	n := 0
	for _, b := range list {
		if b.Phone == phone {
			n++
		}
	}
	return n
}

// setList stores list under aor and keeps count in step. Callers hold mu.
func (t *bindingTable) setList(aor string, list []*Binding) {
	t.count += len(list) - len(t.byAOR[aor])
	if len(list) == 0 {
		delete(t.byAOR, aor)
		return
	}
	t.byAOR[aor] = list
}

func (t *bindingTable) markDirty(b *Binding) {
	k := BindingKey{b.Phone, b.Contact}
	delete(t.removed, k)
	t.dirty[k] = b
}

func (t *bindingTable) markRemoved(b *Binding) {
	k := BindingKey{b.Phone, b.Contact}
	delete(t.dirty, k)
	t.removed[k] = struct{}{}
}

// expire drops bindings whose time has passed and returns how many went.
// Contacts that stopped answering keepalives stay (they may come back) but
// lookup no longer offers them.
func (t *bindingTable) expire(now time.Time) int {
	return t.removeWhere(func(b *Binding) bool { return !b.Expires.After(now) })
}

// removeWhere drops the bindings gone says are gone, marking them for
// deletion in the store, and returns how many went.
func (t *bindingTable) removeWhere(gone func(*Binding) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for aor, list := range t.byAOR {
		kept := slices.DeleteFunc(list, func(b *Binding) bool {
			if gone(b) {
				t.markRemoved(b)
				n++
				return true
			}
			return false
		})
		if len(kept) != len(list) {
			t.setList(aor, kept)
		}
	}
	return n
}

// takeChanges hands over the unsaved changes, copied, and forgets them.
func (t *bindingTable) takeChanges() ([]Binding, []BindingKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.dirty) == 0 && len(t.removed) == 0 {
		return nil, nil
	}
	ups := make([]Binding, 0, len(t.dirty))
	for _, b := range t.dirty {
		b.stored = b.Expires
		ups = append(ups, *b)
	}
	dels := make([]BindingKey, 0, len(t.removed))
	for k := range t.removed {
		dels = append(dels, k)
	}
	clear(t.dirty)
	clear(t.removed)
	return ups, dels
}

// restoreChanges puts back changes whose save failed, unless newer ones
// arrived for the same keys meanwhile.
func (t *bindingTable) restoreChanges(ups []Binding, dels []BindingKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range ups {
		k := BindingKey{ups[i].Phone, ups[i].Contact}
		if _, newer := t.dirty[k]; newer {
			continue
		}
		if _, newer := t.removed[k]; newer {
			continue
		}
		// Point at the live binding when it still exists, so later
		// changes and the stored mark apply to it.
		if live := t.find(ups[i].AOR, k); live != nil {
			live.stored = time.Time{}
			t.dirty[k] = live
			continue
		}
		b := ups[i]
		t.dirty[k] = &b
	}
	for _, k := range dels {
		if _, newer := t.dirty[k]; newer {
			continue
		}
		t.removed[k] = struct{}{}
	}
}

func (t *bindingTable) find(aor string, k BindingKey) *Binding {
	for _, b := range t.byAOR[aor] {
		if b.Phone == k.Phone && b.Contact == k.Contact {
			return b
		}
	}
	return nil
}

// pingResult records the outcome of a keepalive to one contact.
func (t *bindingTable) pingResult(aor, phone, contact string, answered bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range t.byAOR[aor] {
		if b.Phone == phone && b.Contact == contact {
			if answered {
				b.missedPings = 0
			} else {
				b.missedPings++
			}
			return
		}
	}
}

// markMWI records what a contact was told of its mailbox.
func (t *bindingTable) markMWI(aor, phone, contact string, m mwiMark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.find(aor, BindingKey{phone, contact}); b != nil {
		b.mwi = &m
	}
}

// claimMWI records m for a contact unless it was already told the same
// counts lately (or is gone), and reports whether it is to be told: of
// two paths about to notify one contact, one does.
func (t *bindingTable) claimMWI(aor, phone, contact string, m mwiMark) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.find(aor, BindingKey{phone, contact})
	if b == nil || b.mwi.current(m.counts, m.at) {
		return false
	}
	b.mwi = &m
	return true
}

// removePhone drops every binding of a phone (it was deleted) and returns
// how many went.
func (t *bindingTable) removePhone(phone string) int {
	return t.removeWhere(func(b *Binding) bool { return b.Phone == phone })
}

// moveAOR re-files the bindings of one extension under another (the user's
// extension changed; their phones stay registered).
func (t *bindingTable) moveAOR(from, to string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.byAOR[from]
	if len(list) == 0 || from == to {
		return
	}
	for _, b := range list {
		b.AOR = to
		t.markDirty(b)
	}
	t.setList(from, nil)
	t.setList(to, append(t.byAOR[to], list...))
}
