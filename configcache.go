package switchboard

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"switchboard/routing"
	"switchboard/store"
)

// configCache keeps what calls read of the configuration (users and their
// routing snapshots), so that a call costs no database query once its
// parties are known. Everything is dropped as soon as the store's
// ConfigVersion moves: a change made through the admin API applies to the
// next call. It is bounded: past maxEntries it starts over.
type configCache struct {
	version func() uint64
	// loadAll reads every user at once (see warm); nil leaves the cache
	// filled one entry at a time, on first use.
	loadAll func(context.Context) (map[string]routing.Callee, map[string]store.User, error)
	log     *slog.Logger

	mu      sync.Mutex // guards the fields below
	at      uint64     // the version the entries were read at
	callees map[string]calleeEntry
	users   map[string]userEntry
	numbers map[string]string // phone number (E.164) → extension; nil until built
	values  map[string]any    // whole-PBX values (trunk, deny list) by name
	// warmPending is set from a change until the bulk load after it is
	// done; loading is closed when the bulk load running ends (nil when
	// none runs).
	warmPending bool
	loading     chan struct{}

	// ctx ends the bulk loads when the engine closes (close).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type calleeEntry struct {
	callee routing.Callee
	err    error // store.ErrNotFound is kept too: unknown numbers are cheap
}

type userEntry struct {
	user  store.User
	found bool
}

const configCacheMaxEntries = 50_000

func newConfigCache(version func() uint64) *configCache {
	c := &configCache{version: version, log: slog.Default(), callees: map[string]calleeEntry{}, users: map[string]userEntry{}, values: map[string]any{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// close stops the bulk loading and waits for a load in flight.
func (c *configCache) close() {
	c.cancel()
	c.wg.Wait()
}

// current returns the version to tag reads with, after dropping entries
// read at an older one. The version is read before the data, so an entry
// can only be older than its tag says, never newer: a change between the
// two reads makes the next call read again.
func (c *configCache) current() uint64 {
	v := c.version()
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.at || len(c.callees)+len(c.users) > configCacheMaxEntries {
		changed := v != c.at
		clear(c.callees)
		clear(c.users)
		c.numbers = nil
		clear(c.values)
		c.at = v
		if changed && c.loadAll != nil && !c.warmPending && c.ctx.Err() == nil {
			c.warmPending = true
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.warm(v, warmSettle)
			}()
		}
	}
	return v
}

// warmSettle is how long the configuration must stay unchanged before the
// cache is filled again in bulk: a burst of changes (an import through the
// API) costs one bulk load, not one per change.
const warmSettle = 500 * time.Millisecond

// warm fills the cache with every user at once (loadAll), at version v or
// a later one: a few table scans instead of five or six queries for each
// user's first call. Without it, the first minute after a start or a
// change sent every call to the database; at a few thousand calls a second
// the queries queued past their deadline and the calls failed. Calls that
// miss the cache while the bulk load runs wait for it.
func (c *configCache) warm(v uint64, settle time.Duration) {
	for {
		if settle > 0 {
			t := time.NewTimer(settle)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				c.mu.Lock()
				c.warmPending = false
				c.mu.Unlock()
				return
			}
			if nv := c.version(); nv != v {
				v = nv // still changing
				continue
			}
		}
		c.mu.Lock()
		c.loading = make(chan struct{})
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(c.ctx, warmTimeout)
		start := time.Now()
		callees, users, err := c.loadAll(ctx)
		cancel()
		c.mu.Lock()
		switch {
		case errors.Is(err, errTooManyUsers):
			// Too many users to keep them all: one by one, on first use.
		case err != nil:
			if c.ctx.Err() == nil {
				c.log.Warn("configuration cache: bulk load failed, reading users one by one", "error", err)
			}
		case c.at == v:
			for ext, cl := range callees {
				c.callees[ext] = calleeEntry{callee: cl}
			}
			for ext, u := range users {
				c.users[ext] = userEntry{user: u, found: true}
			}
			c.log.Debug("configuration cache filled", "users", len(users), "took", time.Since(start).String())
		}
		close(c.loading)
		c.loading = nil
		if err == nil && c.at != v && c.ctx.Err() == nil {
			// Changed while loading: again, for the new version.
			v = c.at
			c.mu.Unlock()
			settle = warmSettle
			continue
		}
		c.warmPending = false
		c.mu.Unlock()
		return
	}
}

const warmTimeout = time.Minute

// errTooManyUsers is loadAll's answer when the users would not fit in the
// cache (configCacheMaxEntries): it is then filled one user at a time.
var errTooManyUsers = errors.New("too many users to load them all")

// warmNow fills the cache in bulk and returns when it is done (at start,
// before the first call).
func (c *configCache) warmNow() {
	c.mu.Lock()
	if c.loadAll == nil || c.warmPending {
		c.mu.Unlock()
		return
	}
	v := c.version()
	if v != c.at {
		clear(c.callees)
		clear(c.users)
		c.numbers = nil
		clear(c.values)
		c.at = v
	}
	c.warmPending = true
	c.mu.Unlock()
	c.warm(v, 0)
}

// waitWarm waits for the bulk load running, if any, for at most
// warmWait, and reports whether there was one. Calls do not wait for one
// still settling: they read what they need themselves meanwhile.
func (c *configCache) waitWarm(ctx context.Context) bool {
	c.mu.Lock()
	w := c.loading
	c.mu.Unlock()
	if w == nil {
		return false
	}
	t := time.NewTimer(warmWait)
	defer t.Stop()
	select {
	case <-w:
	case <-t.C:
	case <-ctx.Done():
	}
	return true
}

// warmWait bounds how long a call waits for a bulk load before reading
// what it needs itself.
const warmWait = 2 * time.Second

func (c *configCache) callee(ctx context.Context, ext string, load func(context.Context, string) (routing.Callee, error)) (routing.Callee, error) {
	v := c.current()
	for waited := false; ; waited = true {
		c.mu.Lock()
		e, ok := c.callees[ext]
		c.mu.Unlock()
		if ok {
			return e.callee, e.err
		}
		if waited || !c.waitWarm(ctx) {
			break
		}
	}
	callee, err := load(ctx, ext)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return routing.Callee{}, err
	}
	c.mu.Lock()
	if c.at == v {
		c.callees[ext] = calleeEntry{callee: callee, err: err}
	}
	c.mu.Unlock()
	return callee, err
}

func (c *configCache) user(ctx context.Context, ext string, load func(context.Context, string) (store.User, error)) (store.User, bool, error) {
	v := c.current()
	for waited := false; ; waited = true {
		c.mu.Lock()
		e, ok := c.users[ext]
		c.mu.Unlock()
		if ok {
			return e.user, e.found, nil
		}
		if waited || !c.waitWarm(ctx) {
			break
		}
	}
	u, err := load(ctx, ext)
	var e userEntry
	switch {
	case errors.Is(err, store.ErrNotFound):
		e = userEntry{}
	case err != nil:
		return store.User{}, false, err
	default:
		e = userEntry{user: u, found: true}
	}
	c.mu.Lock()
	if c.at == v {
		c.users[ext] = e
	}
	c.mu.Unlock()
	return e.user, e.found, nil
}

// numberIndex returns the map of users' phone numbers to extensions, built
// once per configuration version.
func (c *configCache) numberIndex(ctx context.Context, build func(context.Context) (map[string]string, error)) (map[string]string, error) {
	v := c.current()
	c.mu.Lock()
	idx := c.numbers
	c.mu.Unlock()
	if idx != nil {
		return idx, nil
	}
	idx, err := build(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.at == v {
		c.numbers = idx
	}
	c.mu.Unlock()
	return idx, nil
}

// cachedValue returns the value kept under name for the current
// configuration version, loading it on first use. Errors are not kept.
func cachedValue[T any](ctx context.Context, c *configCache, name string, load func(context.Context) (T, error)) (T, error) {
	v := c.current()
	c.mu.Lock()
	got, ok := c.values[name]
	c.mu.Unlock()
	if ok {
		return got.(T), nil
	}
	val, err := load(ctx)
	if err != nil {
		return val, err
	}
	c.mu.Lock()
	if c.at == v {
		c.values[name] = val
	}
	c.mu.Unlock()
	return val, nil
}
