package sip

import (
	"sync"
	"time"
)

// GuardConfig sets how sources that keep failing authentication are slowed
// down and then shut out.
type GuardConfig struct {
	// Window is how long a failure counts against its source.
	Window time.Duration
	// ThrottleAfter failures within Window limit the source to one
	// authentication attempt per ThrottleInterval; others are dropped.
	ThrottleAfter    int
	ThrottleInterval time.Duration
	// BlockAfter failures within Window block the source for BlockFor:
	// everything it sends is dropped unanswered.
	BlockAfter int
	BlockFor   time.Duration
	// MaxSources bounds the table; when full, the oldest records go first.
	MaxSources int
}

// DefaultGuardConfig is what a PBX on the open Internet wants: a phone with
// a wrong password fails a few times an hour, a scanner hundreds a minute.
var DefaultGuardConfig = GuardConfig{
	Window:           10 * time.Minute,
	ThrottleAfter:    5,
	ThrottleInterval: 2 * time.Second,
	BlockAfter:       20,
	BlockFor:         time.Hour,
	MaxSources:       65536,
}

// verdict is what the guard says about a request from a source.
type verdict uint8

const (
	verdictUnknown  verdict = iota
	verdictAllow            // process normally
	verdictThrottle         // drop this attempt, the source is slowed down
	verdictBlock            // drop everything, the source is blocked
)

func (v verdict) String() string {
	switch v {
	case verdictAllow:
		return "allow"
	case verdictThrottle:
		return "throttle"
	case verdictBlock:
		return "block"
	}
	return "unknown"
}

type sourceRecord struct {
	failures     int
	first        time.Time // start of the counting window
	lastAttempt  time.Time
	blockedUntil time.Time
}

// guard counts authentication failures per source IP address.
type guard struct {
	cfg GuardConfig
	mu  sync.Mutex // guards sources
	src map[string]*sourceRecord
}

func newGuard(cfg GuardConfig) *guard {
	return &guard{cfg: cfg, src: make(map[string]*sourceRecord)}
}

// check says whether a request carrying credentials from ip may be
// processed now. An attempt dropped by the throttle counts as a failure:
// a source that keeps hammering while slowed down is blocked all the same.
// justBlocked reports that this attempt tipped the source into a block.
func (g *guard) check(ip string, now time.Time) (v verdict, justBlocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.src[ip]
	if r == nil {
		return verdictAllow, false
	}
	if now.Before(r.blockedUntil) {
		return verdictBlock, false
	}
	if now.Sub(r.first) > g.cfg.Window {
		delete(g.src, ip)
		return verdictAllow, false
	}
	if r.failures >= g.cfg.ThrottleAfter {
		if now.Sub(r.lastAttempt) < g.cfg.ThrottleInterval {
			if g.failLocked(r, now) {
				return verdictBlock, true
			}
			return verdictThrottle, false
		}
		r.lastAttempt = now
	}
	return verdictAllow, false
}

// blocked says whether ip is blocked, without counting an attempt.
func (g *guard) blocked(ip string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.src[ip]
	return r != nil && now.Before(r.blockedUntil)
}

// fail records a failure from ip and reports whether it just got blocked.
func (g *guard) fail(ip string, now time.Time) (blockedNow bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.src[ip]
	if r == nil || now.Sub(r.first) > g.cfg.Window && !now.Before(r.blockedUntil) {
		if r == nil && len(g.src) >= g.cfg.MaxSources {
			g.evictLocked(now)
		}
		r = &sourceRecord{first: now}
		g.src[ip] = r
	}
	return g.failLocked(r, now)
}

// failLocked counts a failure and blocks the source at the threshold.
func (g *guard) failLocked(r *sourceRecord, now time.Time) (blockedNow bool) {
	r.failures++
	r.lastAttempt = now
	if r.failures >= g.cfg.BlockAfter && !now.Before(r.blockedUntil) {
		r.blockedUntil = now.Add(g.cfg.BlockFor)
		r.failures = 0
		r.first = now
		return true
	}
	return false
}

// succeed forgets the failures of ip: a phone that got its password right
// is not a scanner.
func (g *guard) succeed(ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.src[ip]; r != nil && r.blockedUntil.IsZero() {
		delete(g.src, ip)
	}
}

// blockedCount returns how many sources are blocked now.
func (g *guard) blockedCount(now time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, r := range g.src {
		if now.Before(r.blockedUntil) {
			n++
		}
	}
	return n
}

// sweep forgets records whose window and block are over.
func (g *guard) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ip, r := range g.src {
		if now.Sub(r.first) > g.cfg.Window && !now.Before(r.blockedUntil) {
			delete(g.src, ip)
		}
	}
}

// evictLocked makes room: expired records first, else the oldest window.
// Blocked sources are kept unless nothing else can go.
func (g *guard) evictLocked(now time.Time) {
	var oldestIP string
	var oldest time.Time
	for ip, r := range g.src {
		if now.Sub(r.first) > g.cfg.Window && !now.Before(r.blockedUntil) {
			delete(g.src, ip)
			return
		}
		if now.Before(r.blockedUntil) {
			continue
		}
		if oldestIP == "" || r.first.Before(oldest) {
			oldestIP, oldest = ip, r.first
		}
	}
	if oldestIP == "" {
		for ip := range g.src {
			oldestIP = ip
			break
		}
	}
	delete(g.src, oldestIP)
}
