package sip

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// A phone's message-waiting lamp must not go stale. A contact is told its
// mailbox's state when it binds (a new phone, a new address, a binding that
// had expired), and again on a refresh when what it was told is out of date
// (changes it missed: it was offline, or they were made through another
// engine) or an hour old; every bound contact is told once after this
// engine restarts. Phones with a subscription hear it in their dialog
// (RFC 3842); the others by unsolicited NOTIFYs, as desk phones expect.
const (
	// mwiResendAfter is how long a contact that re-registers goes without
	// being told counts it was told already.
	mwiResendAfter = time.Hour
	// mwiCountsFresh is how long the counts and subscribers read of a
	// mailbox are trusted for deciding whether a REGISTER needs a NOTIFY:
	// changes made through this engine are learnt at once, those made
	// through another engine within this.
	mwiCountsFresh = time.Minute
	// mwiQueueLimit bounds the mailboxes waiting for the background check
	// after REGISTERs; beyond it a REGISTER's check is dropped, and the
	// contact's next REGISTER asks again.
	mwiQueueLimit = 16384
	// mwiRestartRate is how many NOTIFYs per second the pass after a
	// restart sends: ten thousand phones are told over minutes, not in
	// one burst.
	mwiRestartRate = 50
	// mwiSettle is how long a queued mailbox waits before it is checked,
	// so that the REGISTER's 200 reaches the phone before the NOTIFY and
	// a phone's burst of REGISTERs (one per line) makes one check.
	mwiSettle = 100 * time.Millisecond
)

// mwiCounts are a mailbox's new and saved message counts.
type mwiCounts struct{ newMsgs, saved int }

// mwiMark is what a contact was told of its mailbox, and when.
type mwiMark struct {
	at     time.Time
	counts mwiCounts
}

// current reports whether the contact was told counts c less than
// mwiResendAfter before now; a nil mark never was.
func (m *mwiMark) current(c mwiCounts, now time.Time) bool {
	return m != nil && m.counts == c && now.Sub(m.at) < mwiResendAfter
}

// mailboxState is what was last read of a mailbox.
type mailboxState struct {
	counts     mwiCounts
	ok         bool     // the user has voicemail
	subscribed []string // phones with a live subscription
	read       time.Time
}

// mwiTracker decides cheaply, on the REGISTER path, whether a contact may
// need its mailbox's state, and queues the mailboxes to check for the
// background worker, each once however many REGISTERs asked.
type mwiTracker struct {
	mu     sync.Mutex // guards boxes, queued, order
	boxes  map[string]mailboxState
	queued map[string]struct{}
	order  []queuedMailbox // oldest first
	wake   chan struct{}   // holds one wake-up for the worker
}

// queuedMailbox is a mailbox to check, and when it was queued.
type queuedMailbox struct {
	ext string
	at  time.Time
}

func newMWITracker() *mwiTracker {
	return &mwiTracker{
		boxes:  make(map[string]mailboxState),
		queued: make(map[string]struct{}),
		wake:   make(chan struct{}, 1),
	}
}

// registered looks at the bindings a REGISTER of phone added or refreshed
// under ext (those of current named by changes) and queues ext when one of
// them may need a NOTIFY: it was never told, was told more than
// mwiResendAfter ago, or was told other counts than the mailbox's. It reads
// no database: what it does not know (the mailbox was not read lately) it
// queues.
func (m *mwiTracker) registered(ext, phone string, current []Binding, changes []bindingChange, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	box, fresh := m.boxes[ext]
	fresh = fresh && now.Sub(box.read) < mwiCountsFresh
	if fresh && (!box.ok || slices.Contains(box.subscribed, phone)) {
		return
	}
	for i := range current {
		b := &current[i]
		if !bound(changes, b.Contact) || fresh && b.mwi.current(box.counts, now) {
			continue
		}
		m.push(ext)
		return
	}
}

// bound reports whether changes add or refresh contact.
func bound(changes []bindingChange, contact string) bool {
	for i := range changes {
		if changes[i].Expires > 0 && changes[i].Contact == contact {
			return true
		}
	}
	return false
}

// push queues ext unless it is queued already. Callers hold mu.
func (m *mwiTracker) push(ext string) {
	if _, ok := m.queued[ext]; ok || len(m.order) >= mwiQueueLimit {
		return
	}
	m.queued[ext] = struct{}{}
	m.order = append(m.order, queuedMailbox{ext, time.Now()})
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest queued mailbox.
func (m *mwiTracker) pop() (queuedMailbox, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.order) == 0 {
		return queuedMailbox{}, false
	}
	q := m.order[0]
	m.order[0] = queuedMailbox{}
	m.order = m.order[1:]
	if len(m.order) == 0 {
		m.order = nil
	}
	delete(m.queued, q.ext)
	return q, true
}

// learn records what was read of the mailbox of ext.
func (m *mwiTracker) learn(ext string, st mailboxState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.boxes[ext] = st
}

// forget drops what was read of the mailbox of ext: the next REGISTER of
// its phones reads it again.
func (m *mwiTracker) forget(ext string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.boxes, ext)
}

// sweep drops what is no longer trusted, so that the memory kept follows
// the mailboxes in use.
func (m *mwiTracker) sweep(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ext, st := range m.boxes {
		if now.Sub(st.read) >= mwiCountsFresh {
			delete(m.boxes, ext)
		}
	}
}

// mwiWorker checks the mailboxes REGISTERs queued, one at a time, until
// the server closes; the NOTIFYs it sends are bounded by the
// mwiConcurrency slots, and it waits for them before returning.
func (s *Server) mwiWorker() {
	defer s.wg.Done()
	var sends sync.WaitGroup
	defer sends.Wait()
	settle := time.NewTimer(0)
	defer settle.Stop()
	for s.ctx.Err() == nil {
		q, ok := s.mwi.pop()
		if !ok {
			select {
			case <-s.ctx.Done():
			case <-s.mwi.wake:
			}
			continue
		}
		if d := time.Until(q.at.Add(mwiSettle)); d > 0 {
			settle.Reset(d)
			select {
			case <-s.ctx.Done():
				return
			case <-settle.C:
			}
		}
		if err := s.refreshMailbox(s.ctx, q.ext, false, nil, &sends); err != nil && s.ctx.Err() == nil {
			s.log.Error("message-waiting after REGISTER", "extension", q.ext, "error", err)
		}
	}
}

// mwiRestart tells every bound contact of a user with voicemail, and every
// live subscription in the store, the state of its mailbox once, after a
// restart: the counts may have changed while this engine was down, and a
// phone cannot tell. It starts once the server serves (NOTIFYs leave from
// the listening socket) and sends at most mwiRestartRate NOTIFYs a second.
func (s *Server) mwiRestart() {
	defer s.wg.Done()
	select {
	case <-s.serving:
	case <-s.ctx.Done():
		return
	}
	exts := map[string]bool{}
	for _, b := range s.bindings.all() {
		exts[b.AOR] = true
	}
	subscribed, err := s.mailboxes.MWIMailboxes(s.ctx, s.now())
	if err != nil {
		// The subscribers among the bound phones are still told.
		s.log.Error("message-waiting after restart", "error", err)
	}
	for _, ext := range subscribed {
		exts[ext] = true
	}
	if len(exts) == 0 {
		return
	}
	var sends sync.WaitGroup
	defer sends.Wait()
	tick := time.NewTicker(time.Second / mwiRestartRate)
	defer tick.Stop()
	pace := func() bool {
		select {
		case <-tick.C:
			return true
		case <-s.ctx.Done():
			return false
		}
	}
	n := 0
	for _, ext := range slices.Sorted(maps.Keys(exts)) {
		if s.ctx.Err() != nil {
			return
		}
		if err := s.refreshMailbox(s.ctx, ext, true, pace, &sends); err != nil && s.ctx.Err() == nil {
			s.log.Error("message-waiting after restart", "extension", ext, "error", err)
		}
		n++
	}
	s.log.Debug("message-waiting restored", "mailboxes", n)
}

// refreshMailbox reads the mailbox of ext and sends its state to each
// reachable contact of a phone without a subscription that was not told it
// lately. After a restart (inDialog) every live subscription gets a NOTIFY
// in its dialog too, with the next CSeq from the store. pace, when set,
// waits before each NOTIFY and returns false to stop.
func (s *Server) refreshMailbox(ctx context.Context, ext string, inDialog bool, pace func() bool, sends *sync.WaitGroup) error {
	now := s.now()
	newMsgs, saved, ok, err := s.mailboxes.MailboxCounts(ctx, ext)
	if err != nil {
		return fmt.Errorf("mailbox counts: %w", err)
	}
	st := mailboxState{counts: mwiCounts{newMsgs, saved}, ok: ok, read: now}
	if !ok {
		s.mwi.learn(ext, st)
		return nil
	}
	var subs []MWISubscription
	if inDialog {
		if subs, err = s.mailboxes.MWISubscriptions(ctx, ext, now); err != nil {
			return fmt.Errorf("MWI subscriptions: %w", err)
		}
		for _, sub := range subs {
			st.subscribed = append(st.subscribed, sub.Phone)
		}
	} else if st.subscribed, err = s.mailboxes.MWISubscribers(ctx, ext, now); err != nil {
		return fmt.Errorf("MWI subscribers: %w", err)
	}
	s.mwi.learn(ext, st)
	body := messageSummary("sip:"+ext+"@"+s.cfg.Realm, newMsgs, saved)
	for _, sub := range subs {
		if pace != nil && !pace() {
			return nil
		}
		state := "active;expires=" + strconv.Itoa(max(int(sub.ExpiresAt.Sub(now)/time.Second), 0))
		if !s.startNotify(ctx, s.notifyRequest(sub, ext, state, body), sends) {
			return nil
		}
	}
	for _, b := range s.Lookup(ext) {
		if slices.Contains(st.subscribed, b.Phone) || b.mwi.current(st.counts, now) {
			continue
		}
		req, ok := s.unsolicitedNotify(b, ext, body)
		if !ok {
			continue
		}
		if pace != nil && !pace() {
			return nil
		}
		// Claimed under the table's lock: a REGISTER's check and the
		// restart pass may reach one contact at once.
		if !s.bindings.claimMWI(b.AOR, b.Phone, b.Contact, mwiMark{at: s.now(), counts: st.counts}) {
			continue
		}
		if !s.startNotify(ctx, req, sends) {
			return nil
		}
	}
	return nil
}
