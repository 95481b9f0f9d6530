package switchboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// providerInvite is an INVITE as a provider sends it: no credentials.
func providerInvite(c *sipConn, to, from string) string {
	ip, port := c.localAddr().IP.String(), c.localAddr().Port
	callID := randomKey(16)
	return fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: \"Caller\" <sip:%s@%s>;tag=p%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:%s@%s:%d>\r\nContent-Length: 0\r\n\r\n",
		to, testDomain, ip, port, newBranch(), from, ip, callID[:6], to, testDomain, callID, from, ip, port)
}

// finalAnswer reads until a final response (skipping 1xx).
func finalAnswer(t *testing.T, c *sipConn) sipMessage {
	t.Helper()
	for {
		res, ok := c.recv(5 * time.Second)
		require.True(t, ok, "no final answer")
		if res.Status() >= 200 {
			return res
		}
	}
}

// answer builds a response to a request received on a phone's socket.
func answer(req sipMessage, code int, reason string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, h := range req.Headers {
		switch strings.ToLower(h.Name) {
		case "via", "from", "call-id", "cseq", "record-route":
			fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
		case "to":
			fmt.Fprintf(&b, "To: %s;tag=phone1\r\n", h.Value)
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// Calls from the provider are trusted by source address, reach the user
// whose phone number was dialled, and never go back out.
func TestE2EInboundTrunkCalls(t *testing.T) {
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	// Without voicemail, a busy phone is what the caller hears.
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"phone_number": "+14155550100", "voicemail_enabled": false}, http.StatusOK, nil)
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.2", "inbound_sources": []string{"127.0.0.2"}},
		http.StatusOK, nil)

	phone := dialSIP(t, "127.0.0.1", e.sipAddr())
	reg := newDigestClient(phone, "1001a", "secret-1001a")
	reg.challenge(t)
	require.Equal(t, 200, phone.exchange(reg.authorized("secret-1001a")).Status())

	provider := dialSIP(t, "127.0.0.2", e.sipAddr())
	stranger := dialSIP(t, "127.0.0.3", e.sipAddr())

	t.Run("the user's number rings the user's phone", func(t *testing.T) {
		for _, dialled := range []string{"+14155550100", "14155550100", "4155550100"} {
			provider.send([]byte(providerInvite(provider, dialled, "+12125550199")))
			invite, ok := phone.recv(3 * time.Second)
			require.True(t, ok, "%s: the phone rings", dialled)
			require.True(t, strings.HasPrefix(invite.First, "INVITE sip:1001a@"), invite.First)
			from, _ := invite.Header("From")
			require.Contains(t, from, "+12125550199", "the caller's number is shown")
			phone.send([]byte(answer(invite, 486, "Busy Here")))
			require.Equal(t, 486, finalAnswer(t, provider).Status())
			ack, ok := phone.recv(2 * time.Second)
			require.True(t, ok)
			require.True(t, strings.HasPrefix(ack.First, "ACK "), ack.First)
		}
	})
	t.Run("another number is not routed", func(t *testing.T) {
		provider.send([]byte(providerInvite(provider, "+14155550199", "+12125550199")))
		require.Equal(t, 404, finalAnswer(t, provider).Status())
	})
	t.Run("the trunk is no way back out", func(t *testing.T) {
		provider.send([]byte(providerInvite(provider, "+442079460958", "+12125550199")))
		require.Equal(t, 404, finalAnswer(t, provider).Status())
	})
	t.Run("any other source is challenged", func(t *testing.T) {
		stranger.send([]byte(providerInvite(stranger, "+14155550100", "+12125550199")))
		require.Equal(t, 407, finalAnswer(t, stranger).Status())
		_, rang := phone.recv(300 * time.Millisecond)
		require.False(t, rang)
	})
}

// Toll fraud: unauthenticated INVITEs to outside numbers, however many,
// never make the provider see a call.
func TestE2EUnauthenticatedInvitesNeverReachTheTrunk(t *testing.T) {
	e := startEngine(t)
	providerSock := dialSIP(t, "127.0.0.2", e.sipAddr())
	port := providerSock.localAddr().Port
	e.api.must(http.MethodPut, "/api/v1/trunk", map[string]any{"host": "127.0.0.2", "port": port}, http.StatusOK, nil)

	scanner := dialSIP(t, "127.0.0.1", e.sipAddr())
	numbers := []string{"+442079460958", "011442079460958", "2125550100", "+8816123456789", "911"}
	// Every INVITE is challenged (sipgo retransmits the 407s of INVITEs
	// that are never ACKed, so the answers are read as a stream).
	other := map[string]int{}
	for i := range 1000 {
		scanner.send([]byte(providerInvite(scanner, numbers[i%len(numbers)], "scanner")))
		// A 100 Trying may come first when the answer takes over 200 ms.
		if res, ok := scanner.recv(2 * time.Second); ok && res.Status() != 407 && res.Status() != 100 {
			other[res.First]++
		}
	}
	require.Empty(t, other, "answers other than 407")
	_, leaked := providerSock.recv(500 * time.Millisecond)
	require.False(t, leaked, "the provider saw nothing")
}
