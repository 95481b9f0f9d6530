package switchboard

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/routing"
	"switchboard/store"
)

func TestConfigCacheReloadsAfterAChange(t *testing.T) {
	var version uint64
	c := newConfigCache(func() uint64 { return version })
	loads := 0
	load := func(_ context.Context, ext string) (routing.Callee, error) {
		loads++
		switch ext {
		case "1001":
			return routing.Callee{Extension: "1001", CallPaths: loads}, nil
		case "broken":
			return routing.Callee{}, errors.New("disk on fire")
		}
		return routing.Callee{}, store.ErrNotFound
	}
	ctx := context.Background()

	got, err := c.callee(ctx, "1001", load)
	require.NoError(t, err)
	require.Equal(t, 1, got.CallPaths)
	got, _ = c.callee(ctx, "1001", load)
	require.Equal(t, 1, got.CallPaths, "served from the cache")
	require.Equal(t, 1, loads)

	version++ // a configuration write committed
	got, _ = c.callee(ctx, "1001", load)
	require.Equal(t, 2, got.CallPaths, "read again after a change")

	_, err = c.callee(ctx, "1999", load)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = c.callee(ctx, "1999", load)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, 3, loads, "an unknown extension is remembered too")

	_, err = c.callee(ctx, "broken", load)
	require.Error(t, err)
	_, err = c.callee(ctx, "broken", load)
	require.Error(t, err)
	require.Equal(t, 5, loads, "failures are not cached")
}

func TestConfigCacheWarm(t *testing.T) {
	var version atomic.Uint64
	c := newConfigCache(version.Load)
	t.Cleanup(c.close)
	var bulk atomic.Int32
	bumpDuringLoad := atomic.Bool{}
	c.loadAll = func(context.Context) (map[string]routing.Callee, map[string]store.User, error) {
		n := bulk.Add(1)
		if bumpDuringLoad.CompareAndSwap(true, false) {
			version.Add(1) // a change lands while the users are read
		}
		return map[string]routing.Callee{"1001": {Extension: "1001", CallPaths: int(n)}},
			map[string]store.User{"1001": {Extension: "1001"}}, nil
	}
	loads := 0
	load := func(_ context.Context, ext string) (routing.Callee, error) {
		loads++
		return routing.Callee{}, store.ErrNotFound
	}
	loadUser := func(_ context.Context, ext string) (store.User, error) {
		loads++
		return store.User{}, store.ErrNotFound
	}
	ctx := context.Background()

	c.warmNow()
	require.EqualValues(t, 1, bulk.Load())
	got, err := c.callee(ctx, "1001", load)
	require.NoError(t, err)
	require.Equal(t, 1, got.CallPaths)
	require.Zero(t, loads, "no query once the cache holds every user")
	// An extension the bulk load did not see is looked up (another
	// process may have created it), once.
	for range 2 {
		_, err = c.callee(ctx, "1999", load)
		require.ErrorIs(t, err, store.ErrNotFound)
		_, found, err := c.user(ctx, "1999", loadUser)
		require.NoError(t, err)
		require.False(t, found)
	}
	require.Equal(t, 2, loads)
	loads = 0

	// A change: calls read what they need themselves while changes may
	// still be coming (warmSettle), then the cache is filled in bulk again.
	version.Add(1)
	_, err = c.callee(ctx, "1001", load)
	require.ErrorIs(t, err, store.ErrNotFound, "read one by one meanwhile")
	require.Equal(t, 1, loads)
	require.Eventually(t, func() bool { return bulk.Load() == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		got, err := c.callee(ctx, "1001", load)
		return err == nil && got.CallPaths == 2
	}, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, loads, "filled in bulk again")

	// A change while the bulk load runs: that load serves the version it
	// started at, and another one follows for the new version.
	bumpDuringLoad.Store(true)
	version.Add(1)
	require.Eventually(t, func() bool {
		got, err := c.callee(ctx, "1001", load)
		return err == nil && got.CallPaths == 4
	}, 5*time.Second, 10*time.Millisecond)
	require.EqualValues(t, 4, bulk.Load())
}
