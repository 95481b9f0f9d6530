package switchboard

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The demo tells softphones the address the SIP listener can be reached
// at.
func TestDemoServer(t *testing.T) {
	for _, tc := range []struct{ domain, addr, want string }{
		{"pbx.example.com", ":5060", "pbx.example.com"},
		{"pbx.example.com", "0.0.0.0:5070", "pbx.example.com:5070"},
		{"192.0.2.10", "127.0.0.1:5060", "127.0.0.1"},
		{"192.0.2.10", "127.0.0.1:5080", "127.0.0.1:5080"},
		{"pbx.example.com", "[::1]:5060", "[::1]"},
		{"pbx.example.com", "[::]:5062", "pbx.example.com:5062"},
	} {
		require.Equal(t, tc.want, demoServer(tc.domain, tc.addr), "%s on %s", tc.domain, tc.addr)
	}
}
