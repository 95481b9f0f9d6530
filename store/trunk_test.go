package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTrunk(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()

	empty, err := db.Trunk().Get(ctx)
	require.NoError(t, err)
	require.Equal(t, Trunk{Port: 5060, Transport: "udp", InboundSources: []string{}}, empty, "no trunk on a fresh install")

	want := Trunk{Host: "sip.provider.example", Port: 5080, Transport: "tcp", Username: "acct1", Password: "s3cret",
		Register: true, InboundSources: []string{"203.0.113.0/24", "198.51.100.7", "203.0.113.9/24"}}
	got, err := db.Trunk().Put(ctx, want)
	require.NoError(t, err)
	require.Equal(t, []string{"198.51.100.7", "203.0.113.0/24"}, got.InboundSources, "normalised, sorted, deduplicated")
	again, err := db.Trunk().Get(ctx)
	require.NoError(t, err)
	require.Equal(t, got, again)

	cases := []struct {
		name        string
		trunk       Trunk
		field, rule string
	}{
		{"host with port", Trunk{Host: "sip.example:5060"}, "host", RuleHost},
		{"bad host", Trunk{Host: "sip example"}, "host", RuleHost},
		{"credentials without host", Trunk{Username: "a"}, "host", RuleRequired},
		{"port", Trunk{Host: "h.example", Port: 70000}, "port", RuleRange},
		{"transport", Trunk{Host: "h.example", Transport: "sctp"}, "transport", RuleEnum},
		{"username injection", Trunk{Host: "h.example", Username: "a\r\nVia: x"}, "username", RuleHeaderSafe},
		{"register without password", Trunk{Host: "h.example", Username: "a", Register: true}, "register", RuleRequired},
		{"bad source", Trunk{Host: "h.example", InboundSources: []string{"provider"}}, "inbound_sources[0]", RuleHost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Trunk().Put(ctx, tc.trunk)
			requireRule(t, err, tc.field, tc.rule)
			unchanged, err := db.Trunk().Get(ctx)
			require.NoError(t, err)
			require.Equal(t, got, unchanged, "a refused change stores nothing")
		})
	}
}

func TestDeniedPrefixes(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	list, err := db.DeniedPrefixes().Find(ctx)
	require.NoError(t, err)
	require.Empty(t, list)

	set := []DeniedPrefix{{Prefix: "+979", Note: "international premium rate"}, {Prefix: "+881", Note: "satellite"}}
	list, err = db.DeniedPrefixes().Replace(ctx, set)
	require.NoError(t, err)
	require.Equal(t, []DeniedPrefix{set[1], set[0]}, list)

	for name, bad := range map[string][]DeniedPrefix{
		"no plus":   {{Prefix: "979"}},
		"letters":   {{Prefix: "+97x"}},
		"duplicate": {{Prefix: "+979"}, {Prefix: "+979"}},
		"note":      {{Prefix: "+1900", Note: "a\nb"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := db.DeniedPrefixes().Replace(ctx, bad)
			require.Error(t, err)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			kept, err := db.DeniedPrefixes().Find(ctx)
			require.NoError(t, err)
			require.Equal(t, []DeniedPrefix{set[1], set[0]}, kept)
		})
	}
}
