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

func (c *responseCache) get(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.cur[key]; ok {
		return b
	}
	return c.old[key]
}

func (c *responseCache) put(key string, resp []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.rotated) >= c.every || len(c.cur) >= c.max {
		c.rotateLocked(now)
	}
	c.cur[key] = resp
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
