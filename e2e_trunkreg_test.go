package switchboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type apiTrunkRegistration struct {
	State       string     `json:"state"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Error       string     `json:"error"`
	NextAttempt *time.Time `json:"next_attempt"`
}

func (c *apiClient) trunkRegistration() apiTrunkRegistration {
	var t struct {
		Registration apiTrunkRegistration `json:"registration"`
	}
	c.must(http.MethodGet, "/api/v1/trunk", nil, http.StatusOK, &t)
	return t.Registration
}

// waitTrunkState polls the trunk until its registration is in state.
func (c *apiClient) waitTrunkState(state string, within time.Duration) apiTrunkRegistration {
	deadline := time.Now().Add(within)
	for {
		r := c.trunkRegistration()
		if r.State == state || time.Now().After(deadline) {
			require.Equal(c.t, state, r.State, "registration at the provider: %+v", r)
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With register on, the engine registers at the provider with the trunk's
// credentials, refreshes before the provider's expiry, and un-registers
// when register is turned off.
func TestE2ETrunkRegistersAtProvider(t *testing.T) {
	requireTool(t, "sipp")
	e := startEngine(t)
	require.Equal(t, "off", e.api.trunkRegistration().State)

	providerPort := freePort(t, "127.0.0.1")
	provider := make(chan sippResult, 1)
	go func() {
		provider <- runSipp(t, e.sipAddr(), sippRun{Scenario: "uas_provider_registrar.xml", Port: providerPort, User: "acct-42"})
	}()
	time.Sleep(300 * time.Millisecond) // the provider's sipp binds its port
	trunk := map[string]any{"host": "127.0.0.1", "port": providerPort, "username": "acct-42",
		"password": "trunk-secret", "register": true, "from_domain": "provider.example"}
	e.api.must(http.MethodPut, "/api/v1/trunk", trunk, http.StatusOK, nil)

	first := e.api.waitTrunkState("registered", 3*time.Second)
	require.NotNil(t, first.ExpiresAt)
	require.WithinDuration(t, time.Now().Add(10*time.Second), *first.ExpiresAt, 2*time.Second, "the provider granted 10 s")
	require.Empty(t, first.Error)

	// Refreshed before it expires: halfway through a 10 s registration.
	deadline := time.Now().Add(9 * time.Second)
	for {
		r := e.api.trunkRegistration()
		if r.State == "registered" && r.ExpiresAt.After(first.ExpiresAt.Add(2*time.Second)) {
			break
		}
		require.True(t, time.Now().Before(deadline), "no refresh before expiry: %+v", r)
		time.Sleep(100 * time.Millisecond)
	}

	trunk["register"] = false
	e.api.must(http.MethodPut, "/api/v1/trunk", trunk, http.StatusOK, nil)
	e.api.waitTrunkState("off", 3*time.Second)
	p := <-provider
	requireSippOK(t, p)

	var regs []sipMessage
	for _, m := range p.Received() {
		if strings.HasPrefix(m.First, "REGISTER ") {
			regs = append(regs, m)
		}
	}
	require.Len(t, regs, 6, "three rounds of challenge and answer")
	nonces := []string{"5f1e0c9b2d7a4e3c", "5f1e0c9b2d7a4e3d", "5f1e0c9b2d7a4e3e"}
	callID, _ := regs[0].Header("Call-ID")
	for i, m := range regs {
		require.Equal(t, "REGISTER sip:provider.example SIP/2.0", m.First)
		to, _ := m.Header("To")
		require.Contains(t, to, "<sip:acct-42@provider.example>")
		contact, _ := m.Header("Contact")
		require.Contains(t, contact, "@"+e.sipAddr(), "the contact is the engine's own address")
		id, _ := m.Header("Call-ID")
		require.Equal(t, callID, id, "one registration, one Call-ID")
		creds, authorized := m.Header("Authorization")
		require.Equal(t, i%2 == 1, authorized, "REGISTER %d", i)
		if authorized {
			requireDigestFor(t, "REGISTER", creds, "acct-42", "trunk-secret", "provider.example", nonces[i/2], "sip:provider.example")
		}
		expires, _ := m.Header("Expires")
		want := "3600"
		if i >= 4 {
			want = "0"
		}
		require.Equal(t, want, expires, fmt.Sprintf("REGISTER %d", i))
	}
}
