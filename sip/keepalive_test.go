package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	gosip "github.com/emiago/sipgo/sip"
)

// A registered contact that answers OPTIONS stays reachable; one that goes
// silent counts as offline after two missed pings, before it expires.
func TestKeepaliveMarksSilentContactsOffline(t *testing.T) {
	s, err := NewServer(Config{Realm: testRealm, KeepaliveInterval: time.Second}, fakePhones{}, newMemStore(),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	go s.ServeUDP(conn)
	t.Cleanup(func() { conn.Close(); s.Close() })

	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer phone.Close()
	var answering atomic.Bool
	answering.Store(true)
	var pings atomic.Int32
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := phone.ReadFrom(buf)
			if err != nil {
				return
			}
			msg, err := gosip.ParseMessage(buf[:n])
			if err != nil {
				continue
			}
			req, ok := msg.(*gosip.Request)
			if !ok || req.Method != gosip.OPTIONS {
				continue
			}
			pings.Add(1)
			if answering.Load() {
				res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
				phone.WriteTo([]byte(res.String()), from)
			}
		}
	}()

	addr := phone.LocalAddr().String()
	s.bindings.apply(Binding{AOR: "1001", Phone: "1001a", Source: addr, Transport: "UDP"},
		[]bindingChange{{Contact: "sip:1001a@" + addr, Expires: time.Hour}}, false, 5, time.Now())

	require.Eventually(t, func() bool { return pings.Load() >= 2 }, 5*time.Second, 50*time.Millisecond)
	require.Len(t, s.Lookup("1001"), 1, "an answering contact stays online")

	answering.Store(false)
	require.Eventually(t, func() bool { return len(s.Lookup("1001")) == 0 }, 8*time.Second, 100*time.Millisecond,
		"a silent contact counts as offline")
	require.Len(t, s.Bindings(), 1, "but stays registered until it expires")

	answering.Store(true)
	require.Eventually(t, func() bool { return len(s.Lookup("1001")) == 1 }, 5*time.Second, 100*time.Millisecond,
		"and is back as soon as it answers again")
}
