package sip

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// CallState says where a call in progress is.
type CallState string

const (
	// CallRinging is a call being set up: phones or the provider ringing.
	CallRinging CallState = "ringing"
	// CallAnswered is a connected call, until its BYE.
	CallAnswered CallState = "answered"
)

// CallInfo is one call in progress, as GET /api/v1/calls shows it.
type CallInfo struct {
	CallID string
	// From and FromName are the caller ID the call arrived with;
	// CallerExtension is set for a call from one of the users' phones.
	From, FromName  string
	CallerExtension string
	FromTrunk       bool
	// Dialled is what the caller dialled.
	Dialled string
	State   CallState
	// Extensions are the users the call occupies a call path of: the
	// caller's, the ringing phones' and, once answered, the answering
	// phone's.
	Extensions []string
	// AnsweredBy is the phone that answered ("" for the provider or while
	// ringing); External is set while a leg goes out through the trunk.
	AnsweredBy string
	External   bool
	Started    time.Time
	Answered   time.Time // zero while ringing
}

// maxCallAge ends, in the table, an answered call whose BYE never came
// through the proxy (a phone that lost power, a BYE lost on the way), so
// that it does not keep a call path busy for ever.
const maxCallAge = 12 * time.Hour

// callTable holds the calls in progress: what /api/v1/calls lists, the
// call paths each user has in use and the outside calls each user has up.
// Entries are added by the owner of a call and removed when it fails, or
// by the BYE that ends it.
type callTable struct {
	mu       sync.Mutex
	calls    map[callKey]*CallInfo
	users    map[string]int // extension -> calls occupying one of its paths
	external map[string]int // caller extension -> outside calls up
}

// callKey names a call: its Call-ID and the caller's From tag, which the
// BYE carries as its From or To tag depending on who hangs up.
type callKey struct{ callID, tag string }

func newCallTable() *callTable {
	return &callTable{calls: make(map[callKey]*CallInfo), users: make(map[string]int), external: make(map[string]int)}
}

// callEntry is the owner's handle on its call in the table; its methods
// do nothing once the call has left the table.
type callEntry struct {
	t *callTable
	k callKey
	c *CallInfo
}

// begin records a new call. A call with the same key still in the table
// (a caller retrying with the same Call-ID and tag before the first
// attempt was cleared) is replaced.
func (t *callTable) begin(k callKey, info CallInfo) callEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.calls[k]; old != nil {
		t.release(old)
	}
	info.State = CallRinging
	info.Extensions = nil
	info.External = false
	c := &info
	t.calls[k] = c
	t.occupy(c, info.CallerExtension)
	return callEntry{t: t, k: k, c: c}
}

// occupy counts ext's call path as used by c, once. Called with mu held.
func (t *callTable) occupy(c *CallInfo, ext string) {
	if ext == "" || slices.Contains(c.Extensions, ext) {
		return
	}
	c.Extensions = append(c.Extensions, ext)
	t.users[ext]++
}

// release frees every call path c holds. Called with mu held.
func (t *callTable) release(c *CallInfo) {
	for _, ext := range c.Extensions {
		decrement(t.users, ext)
	}
	c.Extensions = nil
	if c.External {
		if c.CallerExtension != "" {
			decrement(t.external, c.CallerExtension)
		}
		c.External = false
	}
}

func decrement(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// lock locks the table and reports whether e's call is still in it.
func (e callEntry) lock() bool {
	if e.t == nil {
		return false
	}
	e.t.mu.Lock()
	if e.t.calls[e.k] != e.c {
		e.t.mu.Unlock()
		return false
	}
	return true
}

// ringing counts a phone of ext as ringing for the call.
func (e callEntry) ringing(ext string) {
	if e.lock() {
		e.t.occupy(e.c, ext)
		e.t.mu.Unlock()
	}
}

// outside marks the call as going out through the trunk.
func (e callEntry) outside() {
	if !e.lock() {
		return
	}
	defer e.t.mu.Unlock()
	e.t.markExternal(e.c)
}

func (t *callTable) markExternal(c *CallInfo) {
	if c.External {
		return
	}
	c.External = true
	if c.CallerExtension != "" {
		t.external[c.CallerExtension]++
	}
}

// answered marks the call connected to phone of ext, or to the provider
// when viaTrunk: the other phones that rang no longer hold a call path.
func (e callEntry) answered(ext, phone string, at time.Time, viaTrunk bool) {
	if !e.lock() {
		return
	}
	defer e.t.mu.Unlock()
	c := e.c
	e.t.release(c)
	c.State, c.AnsweredBy, c.Answered = CallAnswered, phone, at
	e.t.occupy(c, c.CallerExtension)
	e.t.occupy(c, ext)
	if viaTrunk {
		e.t.markExternal(c)
	}
}

// end removes the call that was not answered.
func (e callEntry) end() {
	if e.lock() {
		e.t.release(e.c)
		delete(e.t.calls, e.k)
		e.t.mu.Unlock()
	}
}

// end removes the call under k; it reports whether there was one.
func (t *callTable) end(k callKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.calls[k]
	if c == nil {
		return false
	}
	t.release(c)
	delete(t.calls, k)
	return true
}

// hangUp ends the call a BYE belongs to, whichever side sent it.
func (t *callTable) hangUp(callID, fromTag, toTag string) {
	if !t.end(callKey{callID, fromTag}) && toTag != "" {
		t.end(callKey{callID, toTag})
	}
}

// sweep ends answered calls older than maxAge.
func (t *callTable) sweep(now time.Time, maxAge time.Duration) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, c := range t.calls {
		if c.State == CallAnswered && now.Sub(c.Answered) > maxAge {
			t.release(c)
			delete(t.calls, k)
			n++
		}
	}
	return n
}

func (t *callTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}

// list returns copies of the calls in progress, oldest first.
func (t *callTable) list() []CallInfo {
	t.mu.Lock()
	out := make([]CallInfo, 0, len(t.calls))
	for _, c := range t.calls {
		cp := *c
		cp.Extensions = slices.Clone(c.Extensions)
		out = append(out, cp)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].CallID < out[j].CallID
	})
	return out
}

func (t *callTable) inUse(ext string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.users[ext]
}

func (t *callTable) outsideCalls(ext string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.external[ext]
}

// Calls returns the calls in progress, oldest first.
func (s *Server) Calls() []CallInfo { return s.proxy.calls.list() }

// ActiveCalls is how many calls in progress occupy one of ext's call
// paths: calls its phones make, ring with or are connected to.
func (s *Server) ActiveCalls(ext string) int { return s.proxy.calls.inUse(ext) }

// ActiveExternalCalls is how many outside calls through the trunk the user
// at ext has in progress.
func (s *Server) ActiveExternalCalls(ext string) int { return s.proxy.calls.outsideCalls(ext) }
