package provision

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSourceKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5060":             "192.0.2.7",
		"[::ffff:192.0.2.7]:80":      "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"2001:db8::1":                "2001:db8::/64",
		"not an address":             "not an address",
	} {
		require.Equal(t, want, sourceKey(in), in)
	}
}

func TestGuardBlocksAndForgets(t *testing.T) {
	cfg := GuardConfig{Window: time.Minute, ThrottleAfter: 2, ThrottleInterval: time.Second, BlockAfter: 4, BlockFor: time.Hour, MaxSources: 10}
	g := newGuard(cfg)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v, _ := g.check("a", now)
	require.Equal(t, verdictAllow, v)
	require.False(t, g.fail("a", now))
	require.False(t, g.fail("a", now))
	v, _ = g.check("a", now)
	require.Equal(t, verdictThrottle, v, "third failure")
	v, _ = g.check("a", now.Add(2*time.Second))
	require.Equal(t, verdictAllow, v, "after the interval")
	require.True(t, g.fail("a", now.Add(2*time.Second)))
	require.True(t, g.blocked("a", now.Add(time.Hour-time.Second)))
	require.False(t, g.blocked("a", now.Add(time.Hour+3*time.Second)))
	require.Equal(t, verdictBlock.String(), "block")

	// Failures older than the window are forgotten.
	require.False(t, g.fail("b", now))
	v, _ = g.check("b", now.Add(2*time.Minute))
	require.Equal(t, verdictAllow, v)
}

// TestGuardBounded: however many sources fail, the table stays within
// MaxSources and blocked sources are evicted last.
func TestGuardBounded(t *testing.T) {
	cfg := GuardConfig{Window: time.Minute, ThrottleAfter: 100, ThrottleInterval: time.Second, BlockAfter: 1, BlockFor: time.Hour, MaxSources: 50}
	g := newGuard(cfg)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.True(t, g.fail("blocked", now))
	g.cfg.BlockAfter = 1000
	for i := 0; i < 10000; i++ {
		g.fail(fmt.Sprintf("198.51.100.%d/%d", i%250, i), now.Add(time.Duration(i)*time.Millisecond))
		require.LessOrEqual(t, g.size(), 50)
	}
	require.True(t, g.blocked("blocked", now.Add(time.Minute)), "a blocked source is kept")
	require.Equal(t, 1, g.blockedCount(now.Add(time.Minute)))
}
