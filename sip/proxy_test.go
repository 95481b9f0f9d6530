package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"switchboard/routing"

	gosip "github.com/emiago/sipgo/sip"
)

// fakeRouter answers every call with the same plan, and records what it was
// asked.
type fakeRouter struct {
	mu    sync.Mutex // guards asked
	plan  routing.Plan
	asked []string
}

var _ Router = (*fakeRouter)(nil)

func (f *fakeRouter) Route(_ context.Context, c Caller, dialled string, hops int) (routing.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fmt.Sprintf("%s/%s/%s/%s->%s@%d", c.Phone, c.Extension, c.Number, c.Name, dialled, hops))
	return f.plan, nil
}

func ringPlan(timeout time.Duration, targets ...routing.Target) routing.Plan {
	return routing.Plan{Action: routing.ActionRing, RuleIndex: -1, Stages: []routing.Stage{{
		Targets: targets, Timeout: timeout, OnNoAnswer: routing.StageEnd, OnBusy: routing.StageEnd,
	}}}
}

// proxyServer runs a Server on a loopback UDP socket.
func proxyServer(t *testing.T, opts ...Option) (*Server, net.Addr) {
	t.Helper()
	phones := fakePhones{
		"1001a": {Name: "1001a", Password: "secret-1001a", Extension: "1001"},
		"1001b": {Name: "1001b", Password: "secret-1001b", Extension: "1001"},
		"1002a": {Name: "1002a", Password: "secret-1002a", Extension: "1002"},
	}
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	s, err := NewServer(Config{Realm: testRealm, KeepaliveInterval: -1}, phones, newMemStore(), opts...)
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
	// Wait until the socket is registered for writes.
	require.Eventually(t, func() bool { return s.anyUDPConn() != nil }, time.Second, 5*time.Millisecond)
	return s, conn.LocalAddr()
}

// Phone behaviours on INVITE.
const (
	ring   = "ring"   // 180, then wait
	answer = "answer" // 180, then 200 after answerAfter
	busy   = "busy"   // 486 at once
)

// testUA is a small SIP endpoint on loopback UDP: a phone registered with
// the server, or the caller.
type testUA struct {
	t      *testing.T
	name   string
	conn   net.PacketConn
	server net.Addr
	tag    string
	reqs   chan *gosip.Request
	ress   chan *gosip.Response

	mode        atomic.Value // string
	answerAfter atomic.Int64 // time.Duration

	mu      sync.Mutex // guards invite, answered
	invite  *gosip.Request
	inviteA net.Addr
	answerd bool
	wg      sync.WaitGroup
}

func newTestUA(t *testing.T, name string, server net.Addr) *testUA {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	u := &testUA{t: t, name: name, conn: conn, server: server, tag: "tag-" + name,
		reqs: make(chan *gosip.Request, 64), ress: make(chan *gosip.Response, 64)}
	u.mode.Store(ring)
	u.wg.Add(1)
	go u.read()
	t.Cleanup(func() { conn.Close(); u.wg.Wait() })
	return u
}

func (u *testUA) addr() string { return u.conn.LocalAddr().String() }

// register binds the phone's contact under its extension.
func (u *testUA) register(s *Server, ext string) {
	s.bindings.apply(Binding{AOR: ext, Phone: u.name, Source: u.addr(), Transport: "UDP"},
		[]bindingChange{{Contact: "sip:" + u.name + "@" + u.addr(), Expires: time.Hour}}, false, 5, time.Now())
}

func (u *testUA) read() {
	defer u.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := u.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		msg, err := gosip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *gosip.Response:
			u.ress <- m
		case *gosip.Request:
			u.reqs <- m
			u.serve(m, from)
		}
	}
}

// serve answers requests as a phone does.
func (u *testUA) serve(req *gosip.Request, from net.Addr) {
	switch req.Method {
	case gosip.INVITE:
		u.mu.Lock()
		u.invite, u.inviteA, u.answerd = req, from, false
		u.mu.Unlock()
		switch u.mode.Load().(string) {
		case busy:
			u.respond(req, from, 486, "Busy Here")
		case ring:
			u.respond(req, from, 180, "Ringing")
		case answer:
			u.respond(req, from, 180, "Ringing")
			u.wg.Add(1)
			time.AfterFunc(time.Duration(u.answerAfter.Load()), func() {
				defer u.wg.Done()
				u.mu.Lock()
				u.answerd = true
				u.mu.Unlock()
				u.respond(req, from, 200, "OK")
			})
		}
	case gosip.CANCEL:
		u.respond(req, from, 200, "OK")
		u.mu.Lock()
		inv, a, done := u.invite, u.inviteA, u.answerd
		u.answerd = true
		u.mu.Unlock()
		if inv != nil && !done {
			u.respond(inv, a, 487, "Request Terminated")
		}
	case gosip.BYE, gosip.OPTIONS, gosip.INFO, gosip.NOTIFY:
		u.respond(req, from, 200, "OK")
	}
}

func (u *testUA) respond(req *gosip.Request, to net.Addr, code int, reason string) {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	if tt := res.To(); tt != nil && code != 100 {
		tt.Params.Add("tag", u.tag)
	}
	if code == 200 && req.IsInvite() {
		res.AppendHeader(gosip.NewHeader("Contact", "<sip:"+u.name+"@"+u.addr()+">"))
	}
	u.send(res, to)
}

// send writes a message; it may run on the reader goroutine, after the
// test has closed the socket, so errors are dropped.
func (u *testUA) send(msg gosip.Message, to net.Addr) {
	if _, err := u.conn.WriteTo([]byte(msg.String()), to); err != nil {
		_ = err // the socket is closed: the test is over
	}
}

// nextReq waits for a request of the method.
func (u *testUA) nextReq(method gosip.RequestMethod, within time.Duration) *gosip.Request {
	u.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-u.reqs:
			if r.Method == method {
				return r
			}
		case <-deadline:
			u.t.Fatalf("%s: no %s within %s", u.name, method, within)
			return nil
		}
	}
}

// noReq checks that no request of the method arrives for a while.
func (u *testUA) noReq(method gosip.RequestMethod, during time.Duration) {
	u.t.Helper()
	deadline := time.After(during)
	for {
		select {
		case r := <-u.reqs:
			require.NotEqual(u.t, method, r.Method, "%s got %s", u.name, r.StartLine())
		case <-deadline:
			return
		}
	}
}

// nextRes waits for a response with a status of at least min.
func (u *testUA) nextRes(min int, within time.Duration) *gosip.Response {
	u.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-u.ress:
			if r.StatusCode >= min {
				return r
			}
		case <-deadline:
			u.t.Fatalf("%s: no response >= %d within %s", u.name, min, within)
			return nil
		}
	}
}

// outgoing is a call the caller is placing.
type outgoing struct {
	u      *testUA
	invite *gosip.Request
	cseq   uint32
}

func (u *testUA) newInvite(to string, cseq uint32, extra ...string) *gosip.Request {
	u.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:%s@%s SIP/2.0\r\n", to, u.server)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%d-%d;rport\r\n", u.addr(), u.name, cseq, time.Now().UnixNano())
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: \"Alice\" <sip:%s@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\n", u.name, testRealm, u.tag, to, testRealm)
	fmt.Fprintf(&b, "Call-ID: call-%s-%s\r\nCSeq: %d INVITE\r\nContact: <sip:%s@%s>\r\n", u.name, to, cseq, u.name, u.addr())
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	msg, err := gosip.ParseMessage([]byte(b.String()))
	require.NoError(u.t, err)
	return msg.(*gosip.Request)
}

// proxyAuthorization answers a 407 with MD5 qop=auth.
func proxyAuthorization(t *testing.T, res *gosip.Response, req *gosip.Request, user, password string, nc int) string {
	t.Helper()
	h := res.GetHeader("Proxy-Authenticate")
	require.NotNil(t, h, "challenge expected, got %d", res.StatusCode)
	v := h.Value()
	nonce := between(v, `nonce="`, `"`)
	realm := between(v, `realm="`, `"`)
	uri := req.Recipient.String()
	md := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	ha1 := md(user + ":" + realm + ":" + password)
	ha2 := md(string(req.Method) + ":" + uri)
	ncs := fmt.Sprintf("%08x", nc)
	resp := md(ha1 + ":" + nonce + ":" + ncs + ":abc123:auth:" + ha2)
	return fmt.Sprintf(`Proxy-Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="abc123"`,
		user, realm, nonce, uri, resp, ncs)
}

// ackNon2xx acknowledges a final non-2xx response (RFC 3261 §17.1.1.3).
func (u *testUA) ackNon2xx(inv *gosip.Request, res *gosip.Response) {
	ack := gosip.NewRequest(gosip.ACK, inv.Recipient)
	ack.AppendHeader(inv.Via().Clone())
	mf := gosip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	copyDialogHeaders(inv, ack, gosip.ACK)
	ack.ReplaceHeader(gosip.HeaderClone(res.To()))
	ack.SetBody(nil)
	u.send(ack, u.server)
}

// dial places an authenticated call: INVITE, 407, INVITE with
// credentials. It returns the call once the second INVITE is sent.
func (u *testUA) dial(to, password string) *outgoing {
	u.t.Helper()
	inv := u.newInvite(to, 1)
	u.send(inv, u.server)
	ch := u.nextRes(200, 2*time.Second)
	require.Equal(u.t, 407, ch.StatusCode)
	u.ackNon2xx(inv, ch)
	inv2 := u.newInvite(to, 2, proxyAuthorization(u.t, ch, inv, u.name, password, 1))
	u.send(inv2, u.server)
	return &outgoing{u: u, invite: inv2, cseq: 2}
}

// inDialog builds a request in the dialog a 2xx established, through its
// Record-Route (the caller's route set is Record-Route reversed).
func (o *outgoing) inDialog(res *gosip.Response, method gosip.RequestMethod) *gosip.Request {
	u := o.u
	req := gosip.NewRequest(method, res.Contact().Address)
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Params: gosip.NewParams()}
	via.Host, via.Port = "127.0.0.1", u.conn.LocalAddr().(*net.UDPAddr).Port
	via.Params.Add("branch", fmt.Sprintf("z9hG4bK-%s-%s-%d", u.name, method, time.Now().UnixNano()))
	req.AppendHeader(via)
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		req.AppendHeader(&gosip.RouteHeader{Address: rrs[i].(*gosip.RecordRouteHeader).Address})
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(gosip.HeaderClone(o.invite.From()))
	req.AppendHeader(gosip.HeaderClone(res.To()))
	req.AppendHeader(gosip.HeaderClone(o.invite.CallID()))
	n := o.cseq
	if method != gosip.ACK {
		o.cseq++
		n = o.cseq
	}
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: n, MethodName: method})
	req.SetBody(nil)
	return req
}

func (o *outgoing) cancel() {
	inv := o.invite
	req := gosip.NewRequest(gosip.CANCEL, inv.Recipient)
	req.AppendHeader(inv.Via().Clone())
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	copyDialogHeaders(inv, req, gosip.CANCEL)
	req.SetBody(nil)
	o.u.send(req, o.u.server)
}

func TestProxyChallengesCallers(t *testing.T) {
	s, addr := proxyServer(t)
	caller := newTestUA(t, "1002a", addr)

	inv := caller.newInvite("1001", 1)
	caller.send(inv, addr)
	res := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 407, res.StatusCode)
	require.Contains(t, res.GetHeader("Proxy-Authenticate").Value(), `realm="`+testRealm+`"`)
	require.Nil(t, res.GetHeader("WWW-Authenticate"))
	caller.ackNon2xx(inv, res)

	before := metricValue(s.metrics.authFail.WithLabelValues("bad_credentials"))
	bad := caller.newInvite("1001", 2, proxyAuthorization(t, res, inv, "1002a", "wrong", 1))
	caller.send(bad, addr)
	res2 := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 407, res2.StatusCode, "a wrong password is challenged again")
	caller.ackNon2xx(bad, res2)
	require.Equal(t, before+1, metricValue(s.metrics.authFail.WithLabelValues("bad_credentials")))

	// Unknown phone: the same answer.
	unknown := caller.newInvite("1001", 3, proxyAuthorization(t, res2, bad, "9999z", "wrong", 1))
	caller.send(unknown, addr)
	res3 := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 407, res3.StatusCode)
	caller.ackNon2xx(unknown, res3)

	// Right credentials, but nobody registered for the extension: the
	// default router answers 404.
	good := caller.newInvite("1999", 4, proxyAuthorization(t, res3, unknown, "1002a", "secret-1002a", 1))
	caller.send(good, addr)
	res4 := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 404, res4.StatusCode)
	caller.ackNon2xx(good, res4)
}

func TestProxyMaxForwardsZero(t *testing.T) {
	_, addr := proxyServer(t)
	caller := newTestUA(t, "1002a", addr)
	inv := caller.newInvite("1001", 1)
	*inv.MaxForwards() = 0
	caller.send(inv, addr)
	res := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 483, res.StatusCode)
	caller.ackNon2xx(inv, res)
}

// Both phones ring, one answers: the caller gets its 200 with our
// Record-Route, the other phone a CANCEL saying the call was completed
// elsewhere; ACK and BYE then go through the proxy.
func TestProxyForksAndConnects(t *testing.T) {
	s, addr := proxyServer(t)
	a, b := newTestUA(t, "1001a", addr), newTestUA(t, "1001b", addr)
	a.register(s, "1001")
	b.register(s, "1001")
	b.mode.Store(answer)
	b.answerAfter.Store(int64(300 * time.Millisecond))
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	ia := a.nextReq(gosip.INVITE, 2*time.Second)
	ib := b.nextReq(gosip.INVITE, 2*time.Second)
	require.Equal(t, "1001a", ia.Recipient.User)
	require.Equal(t, "1001b", ib.Recipient.User)
	require.Nil(t, ia.GetHeader("Proxy-Authorization"), "our credentials go no further")
	require.Equal(t, 69, int(ia.MaxForwards().Val()))
	require.Contains(t, ia.RecordRoute().Address.String(), addr.String())
	require.Contains(t, ia.RecordRoute().Address.String(), ";lr")

	ringing := caller.nextRes(180, 2*time.Second)
	require.Equal(t, 180, ringing.StatusCode)
	ok := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 200, ok.StatusCode)
	require.NotNil(t, ok.RecordRoute(), "the caller learns our Record-Route")
	require.Len(t, ok.GetHeaders("Via"), 1, "our Via is gone")
	tag, _ := ok.To().Params.Get("tag")
	require.Equal(t, "tag-1001b", tag)

	c := a.nextReq(gosip.CANCEL, 2*time.Second)
	require.NotNil(t, c.GetHeader("Reason"))
	require.Equal(t, reasonCompletedElsewhere, c.GetHeader("Reason").Value())

	caller.send(call.inDialog(ok, gosip.ACK), addr)
	b.nextReq(gosip.ACK, 2*time.Second)
	bye := call.inDialog(ok, gosip.BYE)
	caller.send(bye, addr)
	got := b.nextReq(gosip.BYE, 2*time.Second)
	require.Nil(t, got.Route(), "our Route entry is popped")
	byeOK := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 200, byeOK.StatusCode)
	require.Equal(t, gosip.BYE, byeOK.CSeq().MethodName)

	require.Eventually(t, func() bool {
		return metricValue(s.proxy.metrics.calls.WithLabelValues(outcomeAnswered)) == 1
	}, 2*time.Second, 10*time.Millisecond)
	require.Equal(t, 2.0, metricValue(s.proxy.metrics.started))
	require.Equal(t, 1.0, metricValue(s.proxy.metrics.cancelled))
}

func TestProxyCallerCancels(t *testing.T) {
	s, addr := proxyServer(t)
	a, b := newTestUA(t, "1001a", addr), newTestUA(t, "1001b", addr)
	a.register(s, "1001")
	b.register(s, "1001")
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	a.nextReq(gosip.INVITE, 2*time.Second)
	b.nextReq(gosip.INVITE, 2*time.Second)
	caller.nextRes(180, 2*time.Second)
	call.cancel()
	ca := a.nextReq(gosip.CANCEL, 2*time.Second)
	b.nextReq(gosip.CANCEL, 2*time.Second)
	require.Nil(t, ca.GetHeader("Reason"), "the caller hung up: a missed call")
	res := caller.nextRes(400, 2*time.Second)
	require.Equal(t, 487, res.StatusCode)
	caller.ackNon2xx(call.invite, res)
	require.Eventually(t, func() bool {
		return metricValue(s.proxy.metrics.calls.WithLabelValues(outcomeCancelled)) == 1
	}, 2*time.Second, 10*time.Millisecond)
}

func TestProxyAllBusy(t *testing.T) {
	s, addr := proxyServer(t)
	a, b := newTestUA(t, "1001a", addr), newTestUA(t, "1001b", addr)
	a.register(s, "1001")
	b.register(s, "1001")
	a.mode.Store(busy)
	b.mode.Store(busy)
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	res := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 486, res.StatusCode)
	caller.ackNon2xx(call.invite, res)
	a.nextReq(gosip.ACK, 2*time.Second)
	b.nextReq(gosip.ACK, 2*time.Second)
}

func TestProxyNoAnswerTimesOut(t *testing.T) {
	r := &fakeRouter{plan: ringPlan(500*time.Millisecond, routing.Target{Kind: routing.TargetPhones, To: "1001"})}
	s, addr := proxyServer(t, WithRouter(r))
	a, b := newTestUA(t, "1001a", addr), newTestUA(t, "1001b", addr)
	a.register(s, "1001")
	b.register(s, "1001")
	caller := newTestUA(t, "1002a", addr)

	start := time.Now()
	call := caller.dial("1001", "secret-1002a")
	res := caller.nextRes(200, 3*time.Second)
	require.Equal(t, 480, res.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond)
	caller.ackNon2xx(call.invite, res)
	ca := a.nextReq(gosip.CANCEL, 2*time.Second)
	b.nextReq(gosip.CANCEL, 2*time.Second)
	require.Nil(t, ca.GetHeader("Reason"))

	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, []string{"1002a/1002/1002a/Alice->1001@0"}, r.asked)
}

func TestProxyDelayedTarget(t *testing.T) {
	const delay = 700 * time.Millisecond
	r := &fakeRouter{plan: ringPlan(5*time.Second,
		routing.Target{Kind: routing.TargetPhone, To: "1001a"},
		routing.Target{Kind: routing.TargetPhone, To: "1001b", Delay: delay},
	)}
	s, addr := proxyServer(t, WithRouter(r))
	a, b := newTestUA(t, "1001a", addr), newTestUA(t, "1001b", addr)
	a.register(s, "1001")
	b.register(s, "1001")
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("1001", "secret-1002a")
	a.nextReq(gosip.INVITE, 2*time.Second)
	first := time.Now()
	b.nextReq(gosip.INVITE, 2*time.Second)
	late := time.Since(first)
	require.InDelta(t, delay.Seconds(), late.Seconds(), 0.3, "the delayed phone rang after %s", late)

	call.cancel()
	res := caller.nextRes(400, 2*time.Second)
	require.Equal(t, 487, res.StatusCode)
	caller.ackNon2xx(call.invite, res)
	a.nextReq(gosip.CANCEL, 2*time.Second)
	b.nextReq(gosip.CANCEL, 2*time.Second)
}

// Two phones answering at the same moment: the caller sees one answer, the
// other phone is ACKed and hung up by the proxy.
func TestProxyTwoAnswersAtOnce(t *testing.T) {
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
	require.Equal(t, 200, ok.StatusCode)
	tag, _ := ok.To().Params.Get("tag")
	winner, loser := a, b
	if tag == b.tag {
		winner, loser = b, a
	}
	caller.send(call.inDialog(ok, gosip.ACK), addr)
	winner.nextReq(gosip.ACK, 2*time.Second)

	loser.nextReq(gosip.ACK, 2*time.Second)
	bye := loser.nextReq(gosip.BYE, 2*time.Second)
	btag, _ := bye.To().Params.Get("tag")
	require.Equal(t, loser.tag, btag)

	// No second answer reaches the caller.
	deadline := time.After(500 * time.Millisecond)
	for done := false; !done; {
		select {
		case r := <-caller.ress:
			if r.StatusCode == 200 && r.CSeq().MethodName == gosip.INVITE {
				rt, _ := r.To().Params.Get("tag")
				require.Equal(t, tag, rt, "a second answer was relayed")
			}
		case <-deadline:
			done = true
		}
	}
	winner.noReq(gosip.BYE, 100*time.Millisecond)

	caller.send(call.inDialog(ok, gosip.BYE), addr)
	winner.nextReq(gosip.BYE, 2*time.Second)
	caller.nextRes(200, 2*time.Second)
}

// An in-dialog request that does not route through us is refused.
func TestProxyInDialogWithoutOurRoute(t *testing.T) {
	_, addr := proxyServer(t)
	caller := newTestUA(t, "1002a", addr)
	msg := fmt.Sprintf("BYE sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-stray\r\nMax-Forwards: 70\r\n"+
		"From: <sip:1002a@%s>;tag=a\r\nTo: <sip:1001@%s>;tag=b\r\nCall-ID: stray\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		addr, caller.addr(), testRealm, testRealm)
	_, err := caller.conn.WriteTo([]byte(msg), addr)
	require.NoError(t, err)
	res := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 481, res.StatusCode)
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if c := d.GetCounter(); c != nil {
		return c.GetValue()
	}
	return d.GetGauge().GetValue()
}

// Credentials for our realm stop at the proxy; those for another realm are
// not ours to touch.
func TestConsumeCredentials(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	req := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", extra: []string{
		`Proxy-Authorization: Digest username="1001a", realm="` + testRealm + `", nonce="n", uri="sip:x", response="00", algorithm=MD5`,
		`Proxy-Authorization: Digest username="acct", realm="carrier.example", nonce="m", uri="sip:x", response="11", algorithm=MD5`,
	}}.build(t)
	s.consumeCredentials(req)
	hs := req.GetHeaders("Proxy-Authorization")
	require.Len(t, hs, 1)
	require.Contains(t, hs[0].Value(), `realm="carrier.example"`)
}
