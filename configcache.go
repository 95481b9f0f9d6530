package switchboard

import (
	"context"
	"errors"
	"sync"

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

	mu      sync.Mutex // guards the fields below
	at      uint64     // the version the entries were read at
	callees map[string]calleeEntry
	users   map[string]userEntry
	numbers map[string]string // phone number (E.164) → extension; nil until built
	values  map[string]any    // whole-PBX values (trunk, deny list) by name
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
	return &configCache{version: version, callees: map[string]calleeEntry{}, users: map[string]userEntry{}, values: map[string]any{}}
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
		clear(c.callees)
		clear(c.users)
		c.numbers = nil
		clear(c.values)
		c.at = v
	}
	return v
}

func (c *configCache) callee(ctx context.Context, ext string, load func(context.Context, string) (routing.Callee, error)) (routing.Callee, error) {
	v := c.current()
	c.mu.Lock()
	e, ok := c.callees[ext]
	c.mu.Unlock()
	if ok {
		return e.callee, e.err
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
	c.mu.Lock()
	e, ok := c.users[ext]
	c.mu.Unlock()
	if ok {
		return e.user, e.found, nil
	}
	u, err := load(ctx, ext)
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
