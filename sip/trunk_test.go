package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/routing"

	gosip "github.com/emiago/sipgo/sip"
)

// fakeTrunkRouter routes like fakeRouter and provides the trunk.
type fakeTrunkRouter struct {
	fakeRouter
	trunk Trunk // guarded by fakeRouter.mu, as is has
	has   bool
}

func (f *fakeTrunkRouter) setTrunk(t Trunk) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trunk, f.has = t, true
}

var _ TrunkSource = (*fakeTrunkRouter)(nil)

func (f *fakeTrunkRouter) FromTrunk(context.Context, string) (bool, error) { return false, nil }

func (f *fakeTrunkRouter) Trunk(context.Context) (Trunk, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.trunk, f.has, nil
}

func (f *fakeTrunkRouter) OutboundCallerID(_ context.Context, c Caller, to string) (CallerID, error) {
	return CallerID{Number: "+14155550100", Name: "Ext " + c.Extension}, nil
}

// provider is a SIP provider behind the trunk that the test drives by hand.
func provider(t *testing.T, server net.Addr) (*testUA, Trunk) {
	p := newTestUA(t, "provider", server)
	p.mode.Store("manual")
	host, port, err := net.SplitHostPort(p.addr())
	require.NoError(t, err)
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	return p, Trunk{Host: host, Port: n, Username: "acct-42", Password: "trunk-secret", FromDomain: "pbx.example"}
}

func (u *testUA) challenge(req *gosip.Request, nonce string) {
	res := gosip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
	res.To().Params.Add("tag", u.tag)
	res.AppendHeader(gosip.NewHeader("Proxy-Authenticate", `Digest realm="provider.example", nonce="`+nonce+`", algorithm=MD5, qop="auth"`))
	u.send(res, u.server)
}

func TestProxyTrunkAnswersChallengeOnce(t *testing.T) {
	router := &fakeTrunkRouter{fakeRouter: fakeRouter{plan: ringPlan(5*time.Second,
		routing.Target{Kind: routing.TargetExternal, To: "+14155550123"})}}
	_, addr := proxyServer(t, WithRouter(router), WithTrunk(router))
	p, trunk := provider(t, addr)
	router.setTrunk(trunk)
	caller := newTestUA(t, "1002a", addr)

	caller.dial("5550123", "secret-1002a")
	inv := p.nextReq(gosip.INVITE, 2*time.Second)
	wantURI := "sip:+14155550123@" + p.addr()
	require.Equal(t, wantURI, inv.Recipient.String())
	require.Equal(t, "+14155550100", inv.From().Address.User)
	require.Equal(t, "pbx.example", inv.From().Address.Host)
	require.Equal(t, "Ext 1002", inv.From().DisplayName)
	fromTag, _ := inv.From().Params.Get("tag")
	require.Equal(t, "tag-1002a", fromTag, "the dialog stays the caller's")
	require.Equal(t, wantURI, inv.To().Address.String())
	require.Nil(t, inv.GetHeader("Proxy-Authorization"), "the phone's credentials stop at the proxy")
	require.NotNil(t, inv.GetHeader("Record-Route"))

	p.challenge(inv, "n-1")
	p.nextReq(gosip.ACK, 2*time.Second)
	inv2 := p.nextReq(gosip.INVITE, 2*time.Second)
	b1, _ := inv.Via().Params.Get("branch")
	b2, _ := inv2.Via().Params.Get("branch")
	require.NotEqual(t, b1, b2, "a new transaction")
	require.Equal(t, inv.CallID().Value(), inv2.CallID().Value())
	h := inv2.GetHeader("Proxy-Authorization")
	require.NotNil(t, h)
	v := h.Value()
	md := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	ha1 := md("acct-42:provider.example:trunk-secret")
	ha2 := md("INVITE:" + wantURI)
	want := md(ha1 + ":n-1:" + between(v, "nc=", ",") + ":" + between(v, `cnonce="`, `"`) + ":auth:" + ha2)
	require.Equal(t, want, between(v, `response="`, `"`), v)

	p.respond(inv2, addr, 200, "OK")
	require.Equal(t, 200, caller.nextRes(200, 2*time.Second).StatusCode)
}

func TestProxyTrunkSecondChallengeFails(t *testing.T) {
	router := &fakeTrunkRouter{fakeRouter: fakeRouter{plan: ringPlan(5*time.Second,
		routing.Target{Kind: routing.TargetExternal, To: "+14155550123"})}}
	_, addr := proxyServer(t, WithRouter(router), WithTrunk(router))
	p, trunk := provider(t, addr)
	router.setTrunk(trunk)
	caller := newTestUA(t, "1002a", addr)

	call := caller.dial("5550123", "secret-1002a")
	p.challenge(p.nextReq(gosip.INVITE, 2*time.Second), "n-1")
	p.challenge(p.nextReq(gosip.INVITE, 2*time.Second), "n-2")
	res := caller.nextRes(200, 2*time.Second)
	require.Equal(t, 403, res.StatusCode, "the caller cannot answer the provider's challenge")
	caller.ackNon2xx(call.invite, res)
	p.noReq(gosip.INVITE, 300*time.Millisecond)
}

func TestProxyNoTrunk(t *testing.T) {
	plan := ringPlan(5*time.Second, routing.Target{Kind: routing.TargetExternal, To: "+14155550123"})
	unset := &fakeTrunkRouter{fakeRouter: fakeRouter{plan: plan}}
	for name, opts := range map[string][]Option{
		"no trunk source":     {WithRouter(&fakeRouter{plan: plan})},
		"no trunk configured": {WithRouter(unset), WithTrunk(unset)},
	} {
		t.Run(name, func(t *testing.T) {
			_, addr := proxyServer(t, opts...)
			caller := newTestUA(t, "1002a", addr)
			caller.dial("5550123", "secret-1002a")
			require.Equal(t, 503, caller.nextRes(200, 2*time.Second).StatusCode)
		})
	}
}
