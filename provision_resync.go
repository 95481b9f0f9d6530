package switchboard

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/provision"
	"switchboard/store"
)

// DefaultProvisionResyncDelay is how long after the last change to what a
// desk phone's file says the registered phone is told to fetch it again,
// unless Config.ProvisionResyncDelay says otherwise.
const DefaultProvisionResyncDelay = 5 * time.Second

// Bounds of the automatic resyncs.
const (
	// resyncMaxPending bounds the phones waiting for their resync; past
	// it, changes to further phones send nothing (the phones still get
	// the new file at their next periodic or boot-time fetch).
	resyncMaxPending = 10_000
	// resyncConcurrency bounds the resyncs sent at once; each waits for
	// the phone's answer or the NOTIFY's timeout.
	resyncConcurrency = 16
)

// provisionResyncer asks registered desk phones to fetch their
// provisioning file again when an admin change altered it, with the same
// check-sync NOTIFY as POST /api/v1/phones/{name}:resync. Changes are
// debounced per phone: the NOTIFY goes out delay after the last change, so
// a burst of edits costs the phone one fetch, and nothing is sent while the
// API request that made the change is answered.
//
// It owns its timers and the goroutines sending; close stops both.
type provisionResyncer struct {
	delay time.Duration
	// send resyncs one phone; reasons say what changed.
	send  func(ctx context.Context, phone string, reasons []string)
	log   *slog.Logger
	slots chan struct{} // one per resync in flight

	ctx    context.Context // ends the resyncs in flight at close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the resyncs in flight

	mu      sync.Mutex // guards pending and closed
	pending map[string]*pendingResync
	closed  bool
}

// pendingResync is a phone waiting for its resync. gen tells the timer
// that is due from those stopped by a later change.
type pendingResync struct {
	gen     uint64
	timer   *time.Timer
	reasons []string
}

// newProvisionResyncer returns a resyncer that sends delay after the last
// change; a negative delay sends nothing.
func newProvisionResyncer(delay time.Duration, send func(context.Context, string, []string), log *slog.Logger) *provisionResyncer {
	r := &provisionResyncer{delay: delay, send: send, log: log, slots: make(chan struct{}, resyncConcurrency),
		pending: make(map[string]*pendingResync)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// schedule (re)starts phone's countdown, adding reasons to those of the
// changes it is waiting with.
func (r *provisionResyncer) schedule(phone string, reasons ...string) {
	if r == nil || r.delay < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	p := r.pending[phone]
	if p == nil {
		if len(r.pending) >= resyncMaxPending {
			r.log.Warn("provisioning resync: too many phones waiting; this one is not told", "phone", phone)
			return
		}
		p = &pendingResync{}
		r.pending[phone] = p
	} else {
		p.timer.Stop()
	}
	p.gen++
	gen := p.gen
	for _, why := range reasons {
		if !slices.Contains(p.reasons, why) {
			p.reasons = append(p.reasons, why)
		}
	}
	p.timer = time.AfterFunc(r.delay, func() { r.fire(phone, gen) })
}

// fire sends phone's resync if gen is still its latest change.
func (r *provisionResyncer) fire(phone string, gen uint64) {
	r.mu.Lock()
	p := r.pending[phone]
	if r.closed || p == nil || p.gen != gen {
		// Stopped too late by a later change, or by close.
		r.mu.Unlock()
		return
	}
	delete(r.pending, phone)
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-r.ctx.Done():
		return
	}
	r.send(r.ctx, phone, p.reasons)
}

// close drops the phones waiting and waits for the resyncs in flight,
// which it cuts short.
func (r *provisionResyncer) close() {
	r.mu.Lock()
	r.closed = true
	for _, p := range r.pending {
		p.timer.Stop()
	}
	clear(r.pending)
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// resyncPhone sends phone, as it is now, its vendor's check-sync NOTIFY if
// it still has a provisioned model and is registered.
func (e *Engine) resyncPhone(ctx context.Context, name string, reasons []string) {
	p, err := e.db.Phones().FindByName(ctx, name)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			e.log.Warn("provisioning resync", "phone", name, "error", err)
		}
		return
	}
	m, ok := provision.Lookup(p.Model)
	if !ok || m.CheckSyncEvent == "" {
		return
	}
	n := e.sip.Resync(ctx, p.Extension, p.Name, m.CheckSyncEvent)
	if n == 0 {
		e.log.Debug("provisioning resync: phone not registered", "phone", name)
		return
	}
	e.log.Info("provisioning resync sent", "event", "provision_resync", "phone", name,
		"reason", strings.Join(reasons, ","), "contacts", n)
}

// phoneFileChanges names what changed between two versions of a phone
// that its provisioning file says.
func phoneFileChanges(before, after store.Phone) []string {
	var out []string
	if before.Model != after.Model {
		out = append(out, "model")
	}
	if before.MAC != after.MAC {
		out = append(out, "mac")
	}
	if !maps.Equal(before.Overrides, after.Overrides) {
		out = append(out, "overrides")
	}
	if before.SIPPassword != after.SIPPassword {
		out = append(out, "sip_password")
	}
	return out
}

// userFileChanges names what changed between two versions of a user that
// the provisioning files of the user's phones say.
func userFileChanges(before, after store.User) []string {
	var out []string
	for _, f := range []struct {
		name          string
		before, after string
	}{
		{"extension", before.Extension, after.Extension},
		{"caller_id_name", before.CallerIDName, after.CallerIDName},
		{"first_name", before.FirstName, after.FirstName},
		{"last_name", before.LastName, after.LastName},
		{"timezone", before.Timezone, after.Timezone},
		{"site", before.Site, after.Site},
	} {
		if f.before != f.after {
			out = append(out, f.name)
		}
	}
	return out
}
