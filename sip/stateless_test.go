package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	gosip "github.com/emiago/sipgo/sip"
)

// An INVITE without credentials is challenged without a transaction: its
// retransmission gets a 407 with the same To tag, and the ACK of the 407
// gets nothing.
func TestProxyChallengeIsStateless(t *testing.T) {
	_, addr := proxyServer(t)
	caller := newTestUA(t, "1002a", addr)

	inv := caller.newInvite("1001", 1)
	caller.send(inv, addr)
	first := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 407, first.StatusCode)
	caller.send(inv, addr)
	again := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 407, again.StatusCode)
	tag1, _ := first.To().Params.Get("tag")
	tag2, _ := again.To().Params.Get("tag")
	require.NotEmpty(t, tag1)
	require.Equal(t, tag1, tag2, "a retransmission gets the same To tag")
	require.Len(t, first.GetHeaders("Via"), 1)

	caller.ackNon2xx(inv, again)
	select {
	case r := <-caller.ress:
		t.Fatalf("the ACK of a 407 got %s", r.StartLine())
	case <-time.After(300 * time.Millisecond):
	}

	// The challenge is answered as before.
	good := caller.newInvite("1999", 2, proxyAuthorization(t, again, inv, "1002a", "secret-1002a", 1))
	caller.send(good, addr)
	require.Equal(t, 404, caller.nextRes(200, 2*time.Second).StatusCode)
}

// Once a call is answered sipgo's transactions are gone at once: a
// retransmitted INVITE still makes no second call, a retransmitted 2xx
// still reaches the caller, and ACK and BYE still go through.
func TestProxyAnsweredCallRetransmissions(t *testing.T) {
	s, addr := proxyServer(t)
	phone := newTestUA(t, "1001a", addr)
	phone.register(s, "1001")
	phone.mode.Store(answer)
	phone.answerAfter.Store(0)
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	phone.nextReq(gosip.INVITE, 2*time.Second)
	ok := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 200, ok.StatusCode)
	time.Sleep(100 * time.Millisecond) // sipgo's transactions end

	// The caller retransmits its INVITE (it missed every response): it is
	// absorbed, neither forwarded nor challenged as a replayed nonce.
	replays := metricValue(s.metrics.authFail.WithLabelValues("replay"))
	caller.send(call.invite, addr)
	phone.noReq(gosip.INVITE, 300*time.Millisecond)
	select {
	case r := <-caller.ress:
		t.Fatalf("the retransmitted INVITE got %s", r.StartLine())
	default:
	}
	require.Equal(t, replays, metricValue(s.metrics.authFail.WithLabelValues("replay")))

	// The phone retransmits its 200 (it has no ACK yet).
	phone.mu.Lock()
	inv, from := phone.invite, phone.inviteA
	phone.mu.Unlock()
	phone.respond(inv, from, 200, "OK")
	again := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 200, again.StatusCode)
	require.Equal(t, gosip.INVITE, again.CSeq().MethodName)
	require.Len(t, again.GetHeaders("Via"), 1, "our Via is gone")
	require.Equal(t, ok.CallID().Value(), again.CallID().Value())

	caller.send(call.inDialog(ok, gosip.ACK), addr)
	phone.nextReq(gosip.ACK, 2*time.Second)
	caller.send(call.inDialog(ok, gosip.BYE), addr)
	phone.nextReq(gosip.BYE, 2*time.Second)
	require.Equal(t, gosip.BYE, caller.nextRes(200, 2*time.Second).CSeq().MethodName)
	require.Equal(t, 1.0, metricValue(s.proxy.metrics.started), "one branch only")
}

// A second answer the proxy hangs up itself: its retransmissions get ACKs,
// never the caller.
func TestProxySurplusAnswerRetransmission(t *testing.T) {
	s, addr := proxyServer(t)
	a, b := newTestUA(t, "1001a", addr), newTestUA(t, "1001b", addr)
	a.register(s, "1001")
	b.register(s, "1001")
	for _, p := range []*testUA{a, b} {
		p.mode.Store(answer)
		p.answerAfter.Store(0)
	}
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	ok := caller.nextRes(200, 3*time.Second)
	tag, _ := ok.To().Params.Get("tag")
	loser := a
	if tag == a.tag {
		loser = b
	}
	loser.nextReq(gosip.ACK, 2*time.Second)
	loser.mu.Lock()
	inv, from := loser.invite, loser.inviteA
	loser.mu.Unlock()
	loser.respond(inv, from, 200, "OK")
	loser.nextReq(gosip.ACK, 2*time.Second)
	deadline := time.After(300 * time.Millisecond)
	for done := false; !done; {
		select {
		case r := <-caller.ress:
			rt, _ := r.To().Params.Get("tag")
			require.Equal(t, tag, rt, "the surplus answer reached the caller")
		case <-deadline:
			done = true
		}
	}
	caller.send(call.inDialog(ok, gosip.ACK), addr)
	caller.send(call.inDialog(ok, gosip.BYE), addr)
	require.Equal(t, gosip.BYE, caller.nextRes(200, 2*time.Second).CSeq().MethodName)
}

// Beyond MaxCallSetups calls ringing at once, a new call is refused with
// 503 and Retry-After at once; the calls in progress go on.
func TestProxyRefusesCallsBeyondMaxSetups(t *testing.T) {
	phones := fakePhones{
		"1001a": {Name: "1001a", Password: "secret-1001a", Extension: "1001"},
		"1002a": {Name: "1002a", Password: "secret-1002a", Extension: "1002"},
	}
	s, err := NewServer(Config{Realm: testRealm, KeepaliveInterval: -1, MaxCallSetups: 1}, phones, newMemStore(),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	served := make(chan struct{})
	go func() { defer close(served); s.ServeUDP(conn) }()
	t.Cleanup(func() {
		conn.Close()
		<-served
		require.NoError(t, s.Close())
	})
	require.Eventually(t, func() bool { return s.anyUDPConn() != nil }, time.Second, 5*time.Millisecond)
	addr := conn.LocalAddr()

	phone := newTestUA(t, "1001a", addr) // rings, never answers
	phone.register(s, "1001")

	// A caller challenged while nothing rings yet.
	late := newTestUA(t, "1002a", addr)
	late.tag = "tag-late"
	lateInv := late.newInvite("1001", 1)
	late.send(lateInv, addr)
	ch := late.nextRes(200, 2*time.Second)
	require.Equal(t, 407, ch.StatusCode)
	late.ackNon2xx(lateInv, ch)

	first := newTestUA(t, "1002a", addr)
	call := first.dial("1001", "secret-1002a")
	phone.nextReq(gosip.INVITE, 2*time.Second)
	require.Equal(t, 180, first.nextRes(180, 2*time.Second).StatusCode)

	// A new call is refused at its first INVITE, without a transaction.
	second := newTestUA(t, "1002a", addr)
	second.tag = "tag-second"
	inv := second.newInvite("1001", 1)
	second.send(inv, addr)
	res := second.nextRes(200, 2*time.Second)
	require.Equal(t, 503, res.StatusCode)
	require.NotNil(t, res.GetHeader("Retry-After"))
	second.ackNon2xx(inv, res)

	// One that got past its challenge is refused at its second INVITE.
	late.send(late.newInvite("1001", 2, proxyAuthorization(t, ch, lateInv, "1002a", "secret-1002a", 1)), addr)
	res = late.nextRes(200, 2*time.Second)
	require.Equal(t, 503, res.StatusCode)
	phone.noReq(gosip.INVITE, 200*time.Millisecond)

	call.cancel()
	require.Equal(t, 487, first.nextRes(300, 2*time.Second).StatusCode)
	require.Eventually(t, func() bool { return s.proxy.setups.Load() == 0 }, 2*time.Second, 10*time.Millisecond)
}
