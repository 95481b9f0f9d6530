package provision

import (
	"net/netip"
	"sync"
	"time"
)

// GuardConfig sets how a source address that keeps failing authentication
// is slowed down and then shut out.
type GuardConfig struct {
	// Window is how long a failure counts against its source.
	Window time.Duration
	// After ThrottleAfter failures within Window the source may make one
	// authenticated attempt per ThrottleInterval; others get 429 and count
	// as failures too.
	ThrottleAfter    int
	ThrottleInterval time.Duration
	// After BlockAfter failures within Window every request of the source
	// gets 403 for BlockFor.
	BlockAfter int
	BlockFor   time.Duration
	// MaxSources bounds the table; when it is full, expired records go
	// first, then the oldest unblocked one.
	MaxSources int
}

// DefaultGuardConfig fits provisioning: a phone fetches a handful of files
// at boot and fails only when misconfigured, while a MAC scan fails on
// every request. A whole office behind one NAT address shares a record, so
// the block is minutes, not hours.
var DefaultGuardConfig = GuardConfig{
	Window:           10 * time.Minute,
	ThrottleAfter:    5,
	ThrottleInterval: 2 * time.Second,
	BlockAfter:       10,
	BlockFor:         15 * time.Minute,
	MaxSources:       16384,
}

func (c GuardConfig) withDefaults() GuardConfig {
	d := DefaultGuardConfig
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.ThrottleAfter <= 0 {
		c.ThrottleAfter = d.ThrottleAfter
	}
	if c.ThrottleInterval <= 0 {
		c.ThrottleInterval = d.ThrottleInterval
	}
	if c.BlockAfter <= 0 {
		c.BlockAfter = d.BlockAfter
	}
	if c.BlockFor <= 0 {
		c.BlockFor = d.BlockFor
	}
	if c.MaxSources <= 0 {
		c.MaxSources = d.MaxSources
	}
	return c
}

// verdict is what the guard says about a request with credentials.
type verdict uint8

const (
	verdictUnknown  verdict = iota
	verdictAllow            // process it
	verdictThrottle         // refuse it: the source is slowed down
	verdictBlock            // refuse it: the source is blocked
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

// guard counts authentication failures per source. A success does not
// clear them: a device holding one phone's credentials could otherwise
// interleave successes with guesses at other phones' files.
type guard struct {
	cfg GuardConfig
	mu  sync.Mutex // guards src
	src map[string]*sourceRecord
}

func newGuard(cfg GuardConfig) *guard {
	return &guard{cfg: cfg.withDefaults(), src: make(map[string]*sourceRecord)}
}

// blocked says whether src is blocked now, without counting anything.
func (g *guard) blocked(src string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.src[src]
	return r != nil && now.Before(r.blockedUntil)
}

// check says whether an authentication attempt from src may be processed
// now. An attempt refused by the throttle counts as a failure, so a source
// that keeps hammering while slowed down is blocked all the same;
// justBlocked reports that this attempt tipped it over.
func (g *guard) check(src string, now time.Time) (v verdict, justBlocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.src[src]
	if r == nil {
		return verdictAllow, false
	}
	if now.Before(r.blockedUntil) {
		return verdictBlock, false
	}
	if now.Sub(r.first) > g.cfg.Window {
		delete(g.src, src)
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

// fail counts a failed authentication from src and reports whether the
// source just got blocked.
func (g *guard) fail(src string, now time.Time) (justBlocked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.src[src]
	if r == nil || now.Sub(r.first) > g.cfg.Window && !now.Before(r.blockedUntil) {
		if r == nil && len(g.src) >= g.cfg.MaxSources {
			g.evictLocked(now)
		}
		r = &sourceRecord{first: now}
		g.src[src] = r
	}
	return g.failLocked(r, now)
}

func (g *guard) failLocked(r *sourceRecord, now time.Time) bool {
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

// blockedCount is how many sources are blocked now.
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

// size is how many sources are tracked.
func (g *guard) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.src)
}

// evictLocked makes room for one record: an expired one if any, else the
// unblocked one with the oldest window, else any.
func (g *guard) evictLocked(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, r := range g.src {
		if now.Sub(r.first) > g.cfg.Window && !now.Before(r.blockedUntil) {
			delete(g.src, k)
			return
		}
		if now.Before(r.blockedUntil) {
			continue
		}
		if oldestKey == "" || r.first.Before(oldest) {
			oldestKey, oldest = k, r.first
		}
	}
	if oldestKey == "" {
		for k := range g.src {
			oldestKey = k
			break
		}
	}
	delete(g.src, oldestKey)
}

// sourceKey is the guard's key for a remote address: the IPv4 address, or
// the /64 prefix of an IPv6 address (one subscriber's network, which an
// attacker could otherwise walk through address by address).
func sourceKey(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	var a netip.Addr
	if err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remoteAddr); err != nil {
		return remoteAddr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
