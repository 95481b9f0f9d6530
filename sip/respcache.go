package sip

import (
	"sync"
	"time"
)

// responseCache answers retransmitted requests on UDP with the response
// already sent, without a transaction per request (RFC 3261 §17.2.2 asks a
// server to resend its final response to a retransmission). It keeps only
// the serialised bytes, in two generations that rotate every `every`, so an
// entry lives between one and two periods and memory is bounded by the
// request rate, not by timers.
type responseCache struct {
	mu       sync.Mutex // guards the fields below
	cur, old map[string][]byte
	rotated  time.Time
	every    time.Duration
	max      int // entries per generation; a full generation rotates early
}

func newResponseCache(every time.Duration, maxPerGeneration int) *responseCache {
	return &responseCache{
		cur:   make(map[string][]byte),
		old:   make(map[string][]byte),
		every: every,
		max:   maxPerGeneration,
	}
}

// begin claims key for a request about to be handled. When the key was
// seen already it reports seen, with the response sent (nil while the
// original is still being handled: the retransmission is then dropped).
func (c *responseCache) begin(key string, now time.Time) (resp []byte, seen bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.cur[key]; ok {
		return b, true
	}
	if b, ok := c.old[key]; ok {
		return b, true
	}
	if now.Sub(c.rotated) >= c.every || len(c.cur) >= c.max {
		c.rotateLocked(now)
	}
	c.cur[key] = nil
	return nil, false
}

// finish records the response sent for a claimed key.
func (c *responseCache) finish(key string, resp []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[key]; ok {
		c.cur[key] = resp
	} else if _, ok := c.old[key]; ok {
		c.old[key] = resp
	}
}

// abandon forgets a claimed key whose answer is not worth keeping.
func (c *responseCache) abandon(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, key)
	delete(c.old, key)
}

// tick rotates on time even when no request comes, so memory is released.
func (c *responseCache) tick(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.rotated) >= c.every {
		c.rotateLocked(now)
	}
}

func (c *responseCache) rotateLocked(now time.Time) {
	c.old = c.cur
	c.cur = make(map[string][]byte, len(c.old))
	c.rotated = now
}

func (c *responseCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// put stores a value under key (for entries that are not claimed first).
func (c *responseCache) put(key string, val []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.rotated) >= c.every || len(c.cur) >= c.max {
		c.rotateLocked(now)
	}
	c.cur[key] = val
}

// get returns the value under key.
func (c *responseCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.cur[key]; ok {
		return b, true
	}
	b, ok := c.old[key]
	return b, ok
}
