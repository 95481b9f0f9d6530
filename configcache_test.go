package switchboard

import (
	"context"
	"errors"
	"testing"

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
