package sip

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	gosip "github.com/emiago/sipgo/sip"
)

// fakePhones is a PhoneDirectory over a map.
type fakePhones map[string]Phone

var _ PhoneDirectory = fakePhones(nil)

func (f fakePhones) LookupPhone(_ context.Context, name string) (Phone, bool, error) {
	p, ok := f[name]
	return p, ok, nil
}

// memStore is a BindingStore in memory.
type memStore struct {
	mu   sync.Mutex
	rows map[BindingKey]Binding
}

var _ BindingStore = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{rows: make(map[BindingKey]Binding)} }

func (m *memStore) SaveBindings(_ context.Context, ups []Binding, dels []BindingKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range dels {
		delete(m.rows, k)
	}
	for _, b := range ups {
		m.rows[BindingKey{b.Phone, b.Contact}] = b
	}
	return nil
}

func (m *memStore) LoadBindings(_ context.Context, now time.Time) ([]Binding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Binding
	for _, b := range m.rows {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (m *memStore) DeleteExpiredBindings(_ context.Context, now time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, b := range m.rows {
		if !b.Expires.After(now) {
			delete(m.rows, k)
			n++
		}
	}
	return n, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testRealm = "pbx.test"

func testServer(t testing.TB, cfg Config, opts ...Option) (*Server, *clock, *memStore) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	st := newMemStore()
	phones := fakePhones{
		"1001a": {Name: "1001a", Password: "secret-1001a", Extension: "1001"},
		"1001b": {Name: "1001b", Password: "secret-1001b", Extension: "1001"},
		"1002a": {Name: "1002a", Password: "secret-1002a", Extension: "1002"},
	}
	cfg.Realm = testRealm
	cfg.KeepaliveInterval = -1
	opts = append([]Option{WithClock(clk.now), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	s, err := NewServer(cfg, phones, st, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, clk, st
}

// regRequest builds a REGISTER as a phone would send it.
type regRequest struct {
	user, contact, callID string
	cseq                  int
	expires               string // Expires header; "" = none
	extra                 []string
	source                string
}

func (r regRequest) build(t testing.TB) *gosip.Request {
	t.Helper()
	if r.callID == "" {
		r.callID = "call-" + r.user
	}
	if r.cseq == 0 {
		r.cseq = 1
	}
	if r.source == "" {
		r.source = "192.0.2.10:5062"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", testRealm)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK%d%s;rport\r\n", r.cseq, r.callID)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=ft1\r\nTo: <sip:%s@%s>\r\n", r.user, testRealm, r.user, testRealm)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\n", r.callID, r.cseq)
	if r.contact != "" {
		fmt.Fprintf(&b, "Contact: %s\r\n", r.contact)
	}
	if r.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\r\n", r.expires)
	}
	for _, h := range r.extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	msg, err := gosip.ParseMessage([]byte(b.String()))
	require.NoError(t, err)
	req := msg.(*gosip.Request)
	req.SetSource(r.source)
	req.SetTransport("UDP")
	return req
}

// authorization answers a challenge with MD5 qop=auth, as a phone does.
func authorization(t testing.TB, res *gosip.Response, user, password string, nc int) string {
	t.Helper()
	h := res.GetHeader("WWW-Authenticate")
	require.NotNil(t, h, "challenge expected, got %d", res.StatusCode)
	v := h.Value()
	nonce := between(v, `nonce="`, `"`)
	realm := between(v, `realm="`, `"`)
	uri := "sip:" + testRealm
	md := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	ha1 := md(user + ":" + realm + ":" + password)
	ha2 := md("REGISTER:" + uri)
	ncs := fmt.Sprintf("%08x", nc)
	resp := md(ha1 + ":" + nonce + ":" + ncs + ":abc123:auth:" + ha2)
	return fmt.Sprintf(`Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%s, cnonce="abc123"`,
		user, realm, nonce, uri, resp, ncs)
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// registerOK runs the whole challenge/answer exchange and returns the
// final response.
func registerOK(t testing.TB, s *Server, r regRequest, password string) *gosip.Response {
	t.Helper()
	ch := s.register(r.build(t))
	require.NotNil(t, ch)
	require.Equal(t, 401, ch.StatusCode)
	r.cseq++
	r.extra = append(append([]string(nil), r.extra...), authorization(t, ch, r.user, password, 1))
	res := s.register(r.build(t))
	require.NotNil(t, res)
	return res
}

func contacts(res *gosip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}

func TestRegisterChallengeOffersEachAlgorithm(t *testing.T) {
	s, _, _ := testServer(t, Config{Algorithms: []Algorithm{AlgorithmSHA256, AlgorithmMD5}})
	res := s.register(regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10:5062>"}.build(t))
	require.Equal(t, 401, res.StatusCode)
	hs := res.GetHeaders("WWW-Authenticate")
	require.Len(t, hs, 2)
	require.Contains(t, hs[0].Value(), "algorithm=SHA-256")
	require.Contains(t, hs[1].Value(), "algorithm=MD5")
	require.Contains(t, hs[0].Value(), `qop="auth"`)
	require.Equal(t, between(hs[0].Value(), `nonce="`, `"`), between(hs[1].Value(), `nonce="`, `"`))
}

func TestRegisterBindsForTheExtension(t *testing.T) {
	s, clk, st := testServer(t, Config{})
	res := registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10:5062>", expires: "600",
		extra: []string{"User-Agent: Desk Phone 1.0"}}, "secret-1001a")
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, []string{"<sip:1001a@192.0.2.10:5062>;expires=600"}, contacts(res))
	require.NotNil(t, res.GetHeader("Date"))

	bs := s.Lookup("1001")
	require.Len(t, bs, 1)
	b := bs[0]
	require.Equal(t, "1001a", b.Phone)
	require.Equal(t, "192.0.2.10:5062", b.Source)
	require.Equal(t, "UDP", b.Transport)
	require.Equal(t, "Desk Phone 1.0", b.UserAgent)
	require.Equal(t, clk.now().Add(600*time.Second), b.Expires)

	require.NoError(t, s.Flush(context.Background()))
	stored, err := st.LoadBindings(context.Background(), clk.now())
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Equal(t, "1001", stored[0].AOR)
}

func TestRegisterExpires(t *testing.T) {
	cases := []struct {
		name       string
		header     string
		contact    string
		wantCode   int
		wantExpiry string
	}{
		{"default when absent", "", "<sip:1001a@192.0.2.10>", 200, "expires=3600"},
		{"header", "120", "<sip:1001a@192.0.2.10>", 200, "expires=120"},
		{"contact param wins", "120", "<sip:1001a@192.0.2.10>;expires=300", 200, "expires=300"},
		{"clamped to max", "86400", "<sip:1001a@192.0.2.10>", 200, "expires=3600"},
		{"below min", "30", "<sip:1001a@192.0.2.10>", 423, ""},
		{"below min in param", "", "<sip:1001a@192.0.2.10>;expires=5", 423, ""},
		{"garbage", "soon", "<sip:1001a@192.0.2.10>", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := testServer(t, Config{})
			res := registerOK(t, s, regRequest{user: "1001a", contact: tc.contact, expires: tc.header}, "secret-1001a")
			require.Equal(t, tc.wantCode, res.StatusCode)
			switch tc.wantCode {
			case 200:
				require.Len(t, contacts(res), 1)
				require.Contains(t, contacts(res)[0], tc.wantExpiry)
			case 423:
				require.Equal(t, "60", res.GetHeader("Min-Expires").Value())
				require.Empty(t, s.Lookup("1001"))
			}
		})
	}
}

func TestUnregister(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10:1>", callID: "c1"}, "secret-1001a")
	registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10:2>", callID: "c2"}, "secret-1001a")
	registerOK(t, s, regRequest{user: "1001b", contact: "<sip:1001b@192.0.2.11:1>", callID: "c3"}, "secret-1001b")
	require.Len(t, s.Lookup("1001"), 3)

	res := registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10:1>", expires: "0", callID: "c1", cseq: 5}, "secret-1001a")
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, []string{"<sip:1001a@192.0.2.10:2>;expires=3600"}, contacts(res))

	res = registerOK(t, s, regRequest{user: "1001a", contact: "*", expires: "0", callID: "c9"}, "secret-1001a")
	require.Equal(t, 200, res.StatusCode)
	require.Empty(t, contacts(res))
	// Only the phone's own bindings go; the user's other phone stays.
	bs := s.Lookup("1001")
	require.Len(t, bs, 1)
	require.Equal(t, "1001b", bs[0].Phone)

	res = registerOK(t, s, regRequest{user: "1001a", contact: "*", callID: "c9", cseq: 7}, "secret-1001a")
	require.Equal(t, 400, res.StatusCode, "wildcard without Expires: 0")
}

func TestRegisterContactLimitReplacesOldest(t *testing.T) {
	s, clk, _ := testServer(t, Config{MaxContactsPerPhone: 2})
	for i := 1; i <= 3; i++ {
		res := registerOK(t, s, regRequest{user: "1001a", contact: fmt.Sprintf("<sip:1001a@192.0.2.10:%d>", i), callID: fmt.Sprint("c", i)}, "secret-1001a")
		require.Equal(t, 200, res.StatusCode)
		clk.add(time.Second)
	}
	var got []string
	for _, b := range s.Lookup("1001") {
		got = append(got, b.Contact)
	}
	require.ElementsMatch(t, []string{"sip:1001a@192.0.2.10:2", "sip:1001a@192.0.2.10:3"}, got)
}

func TestRegisterSameInstanceReplacesBinding(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	inst := `;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>";reg-id=1`
	registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@10.0.0.5:5060>" + inst, callID: "boot1"}, "secret-1001a")
	// The phone rebooted behind NAT: new Call-ID, new port, same instance.
	res := registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@10.0.0.5:5070>" + inst, callID: "boot2", source: "198.51.100.7:40000"}, "secret-1001a")
	require.Equal(t, 200, res.StatusCode)
	bs := s.Lookup("1001")
	require.Len(t, bs, 1)
	require.Equal(t, "sip:1001a@10.0.0.5:5070", bs[0].Contact)
	require.Equal(t, "<urn:uuid:00000000-0000-1000-8000-000000000001>", bs[0].Instance)
	require.Contains(t, contacts(res)[0], `+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>";reg-id=1`)
	// Behind NAT: requests go to where the REGISTER came from.
	require.Equal(t, "198.51.100.7:40000", bs[0].target())
}

func TestRegisterOutOfOrderCSeq(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", callID: "same", cseq: 10}, "secret-1001a")
	res := registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", callID: "same", cseq: 3, expires: "0"}, "secret-1001a")
	require.Equal(t, 500, res.StatusCode)
	require.Len(t, s.Lookup("1001"), 1)
}

func TestRegisterForbiddenForAnotherAOR(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	r := regRequest{user: "1002", contact: "<sip:x@192.0.2.10>"}
	ch := s.register(r.build(t))
	r.cseq = 2
	r.extra = []string{strings.Replace(authorization(t, ch, "1001a", "secret-1001a", 1), `username="1001a"`, `username="1001a"`, 1)}
	res := s.register(r.build(t))
	require.Equal(t, 403, res.StatusCode)
	require.Empty(t, s.Lookup("1002"))
}

// The answer to an unknown phone and to a wrong password must not differ.
func TestRegisterUnknownAndWrongPasswordLookAlike(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	wrong := registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>"}, "not-the-password")
	unknown := registerOK(t, s, regRequest{user: "1099z", contact: "<sip:1099z@192.0.2.10>"}, "not-the-password")
	require.Equal(t, 401, wrong.StatusCode)
	require.Equal(t, wrong.StatusCode, unknown.StatusCode)
	shape := func(r *gosip.Response) []string {
		var out []string
		for _, h := range r.Headers() {
			if h.Name() == "From" || h.Name() == "To" || h.Name() == "Via" || h.Name() == "Call-ID" {
				continue // echoed from the request
			}
			out = append(out, fmt.Sprintf("%s:%d", h.Name(), len(h.Value())))
		}
		return out
	}
	require.Equal(t, shape(wrong), shape(unknown))
	require.Equal(t, len(wrong.Body()), len(unknown.Body()))
	require.Empty(t, s.Lookup("1001"))
}

func TestRegisterNonceReplayAndStale(t *testing.T) {
	s, clk, _ := testServer(t, Config{})
	r := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>"}
	ch := s.register(r.build(t))
	auth := authorization(t, ch, "1001a", "secret-1001a", 1)
	r.cseq, r.extra = 2, []string{auth}
	require.Equal(t, 200, s.register(r.build(t)).StatusCode)

	// The same nonce count again is a replay: challenged, not accepted.
	r.cseq = 3
	res := s.register(r.build(t))
	require.Equal(t, 401, res.StatusCode)
	require.NotContains(t, res.GetHeader("WWW-Authenticate").Value(), "stale=true")

	// After the nonce lifetime the same credentials are stale.
	r.cseq, r.extra = 4, []string{authorization(t, ch, "1001a", "secret-1001a", 2)}
	clk.add(DefaultConfig.NonceLifetime + time.Second)
	res = s.register(r.build(t))
	require.Equal(t, 401, res.StatusCode)
	require.Contains(t, res.GetHeader("WWW-Authenticate").Value(), "stale=true")
}

func TestRegisterGuardThrottlesThenBlocks(t *testing.T) {
	s, clk, _ := testServer(t, Config{Guard: GuardConfig{
		Window: time.Minute, ThrottleAfter: 2, ThrottleInterval: time.Second,
		BlockAfter: 4, BlockFor: time.Hour, MaxSources: 100,
	}})
	src := "203.0.113.9:5060"
	attempt := func() *gosip.Response {
		return registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@203.0.113.9>", source: src}, "guess")
	}
	require.Equal(t, 401, attempt().StatusCode)
	require.Equal(t, 401, attempt().StatusCode)
	// Throttled: a second attempt within the interval gets no answer.
	clk.add(2 * time.Second)
	require.Equal(t, 401, attempt().StatusCode)
	r := regRequest{user: "1001a", contact: "<sip:1001a@203.0.113.9>", source: src}
	ch := s.register(r.build(t))
	r.cseq, r.extra = 2, []string{authorization(t, ch, "1001a", "guess", 1)}
	require.Nil(t, s.register(r.build(t)), "throttled attempt must be dropped")
	// Hammering while throttled counts: this 4th attempt blocks.
	require.True(t, s.guard.blocked("203.0.113.9", clk.now()))
	// Blocked: even the right password is ignored, other sources are not.
	clk.add(2 * time.Second)
	r = regRequest{user: "1001a", contact: "<sip:1001a@203.0.113.9>", source: src}
	ch = s.register(r.build(t))
	r.cseq, r.extra = 2, []string{authorization(t, ch, "1001a", "secret-1001a", 1)}
	require.Nil(t, s.register(r.build(t)))
	ok := registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.99>", source: "192.0.2.99:5060"}, "secret-1001a")
	require.Equal(t, 200, ok.StatusCode)
	// The block ends on time.
	clk.add(time.Hour + time.Second)
	require.False(t, s.guard.blocked("203.0.113.9", clk.now()))
}

// A nonce from another engine (or before a restart) is answered with a
// fresh challenge and is not an authentication failure.
func TestRegisterForeignNonceIsNotAFailure(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	other, _, _ := testServer(t, Config{})
	r := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>"}
	ch := other.register(r.build(t))
	r.cseq, r.extra = 2, []string{authorization(t, ch, "1001a", "wrong", 1)}
	for range 50 {
		res := s.register(r.build(t))
		require.Equal(t, 401, res.StatusCode)
	}
	require.False(t, s.guard.blocked("192.0.2.10", s.now()))
}

func TestBindingsSurviveRestart(t *testing.T) {
	s, clk, st := testServer(t, Config{})
	registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", expires: "600"}, "secret-1001a")
	require.NoError(t, s.Close())

	s2, err := NewServer(Config{Realm: testRealm, KeepaliveInterval: -1}, fakePhones{}, st, WithClock(clk.now),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	require.NoError(t, s2.Start(context.Background()))
	defer s2.Close()
	bs := s2.Lookup("1001")
	require.Len(t, bs, 1)
	require.Equal(t, clk.now().Add(600*time.Second), bs[0].Expires)

	clk.add(601 * time.Second)
	require.Empty(t, s2.Lookup("1001"))
	require.Equal(t, 1, s2.bindings.expire(clk.now()))
}

func TestUDPRetransmissionGetsTheSameAnswer(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	go s.ServeUDP(conn)
	defer conn.Close()

	client, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer client.Close()
	read := func() string {
		buf := make([]byte, 4096)
		require.NoError(t, client.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, _, err := client.ReadFrom(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}
	send := func(req *gosip.Request) {
		_, err := client.WriteTo([]byte(req.String()), conn.LocalAddr())
		require.NoError(t, err)
	}
	r := regRequest{user: "1001a", contact: "<sip:1001a@127.0.0.1>"}
	send(r.build(t))
	msg, err := gosip.ParseMessage([]byte(read()))
	require.NoError(t, err)
	r.cseq, r.extra = 2, []string{authorization(t, msg.(*gosip.Response), "1001a", "secret-1001a", 1)}
	authed := r.build(t)
	send(authed)
	first := read()
	send(authed) // a retransmission: same branch, same nonce count
	second := read()
	require.True(t, strings.HasPrefix(first, "SIP/2.0 200"), first)
	require.Equal(t, first, second, "a retransmission gets the very same response, not a replay refusal")
}

func BenchmarkRegister(b *testing.B) {
	s, _, _ := testServer(b, Config{})
	r := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>"}
	ch := s.register(r.build(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i%1000 == 0 {
			ch = s.register(r.build(b))
		}
		r.cseq = i + 2
		r.extra = []string{authorization(b, ch, "1001a", "secret-1001a", i%1000+1)}
		req := r.build(b)
		b.StartTimer()
		if res := s.register(req); res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

// A phone answering the SHA-256 challenge (RFC 8760) registers.
func TestRegisterWithSHA256(t *testing.T) {
	s, _, _ := testServer(t, Config{Algorithms: []Algorithm{AlgorithmSHA256, AlgorithmMD5}})
	r := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>"}
	ch := s.register(r.build(t))
	v := ch.GetHeaders("WWW-Authenticate")[0].Value()
	require.Contains(t, v, "algorithm=SHA-256")
	nonce := between(v, `nonce="`, `"`)
	h := func(s string) string { x := sha256.Sum256([]byte(s)); return hex.EncodeToString(x[:]) }
	uri := "sip:" + testRealm
	resp := h(h("1001a:"+testRealm+":secret-1001a") + ":" + nonce + ":00000001:c0ffee:auth:" + h("REGISTER:"+uri))
	r.cseq = 2
	r.extra = []string{fmt.Sprintf(`Authorization: Digest username="1001a", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c0ffee"`,
		testRealm, nonce, uri, resp)}
	res := s.register(r.build(t))
	require.Equal(t, 200, res.StatusCode)
	require.Len(t, s.Lookup("1001"), 1)

	// SHA-256 credentials are refused when only MD5 is offered.
	md5only, _, _ := testServer(t, Config{})
	require.Equal(t, 401, md5only.register(r.build(t)).StatusCode)
}

func TestForgetPhoneAndMoveExtension(t *testing.T) {
	s, clk, st := testServer(t, Config{})
	registerOK(t, s, regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", callID: "a"}, "secret-1001a")
	registerOK(t, s, regRequest{user: "1001b", contact: "<sip:1001b@192.0.2.11>", callID: "b"}, "secret-1001b")
	require.Len(t, s.Lookup("1001"), 2)

	// The user was renumbered: the phones stay registered under the new
	// extension, in memory and in the store.
	s.MoveExtension("1001", "2001")
	require.Empty(t, s.Lookup("1001"))
	require.Len(t, s.Lookup("2001"), 2)

	// A deleted phone's bindings go at once.
	s.ForgetPhone("1001b")
	bs := s.Lookup("2001")
	require.Len(t, bs, 1)
	require.Equal(t, "1001a", bs[0].Phone)

	require.NoError(t, s.Flush(context.Background()))
	stored, err := st.LoadBindings(context.Background(), clk.now())
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Equal(t, "2001", stored[0].AOR)
}

func TestResponsesMarkReceived(t *testing.T) {
	req := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", source: "198.51.100.7:40000"}.build(t)
	req.Via().Params.Remove("rport")
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	markReceived(req, res)
	got, _ := res.Via().Params.Get("received")
	require.Equal(t, "198.51.100.7", got, "sent-by 192.0.2.10 differs from the source")

	req = regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>", source: "192.0.2.10:5062"}.build(t)
	req.Via().Params.Remove("rport")
	res = gosip.NewResponseFromRequest(req, 200, "OK", nil)
	markReceived(req, res)
	require.False(t, res.Via().Params.Has("received"), "same address: nothing to add")
}

func TestUDPAnswersOtherMethodsStatelessly(t *testing.T) {
	s, _, _ := testServer(t, Config{})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	go s.ServeUDP(conn)
	defer conn.Close()
	client, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer client.Close()

	for _, tc := range []struct{ method, want string }{
		{"MESSAGE", "SIP/2.0 405 Method Not Allowed"},
		{"OPTIONS", "SIP/2.0 200 OK"},
		{"FROBNICATE", "SIP/2.0 501 Not Implemented"},
	} {
		msg := fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s\r\nMax-Forwards: 70\r\n"+
			"From: <sip:scan@example.com>;tag=1\r\nTo: <sip:1001@%s>\r\nCall-ID: scan-%s\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
			tc.method, testRealm, client.LocalAddr(), tc.method, testRealm, tc.method, tc.method)
		_, err := client.WriteTo([]byte(msg), conn.LocalAddr())
		require.NoError(t, err)
		buf := make([]byte, 4096)
		require.NoError(t, client.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, _, err := client.ReadFrom(buf)
		require.NoError(t, err, tc.method)
		require.True(t, strings.HasPrefix(string(buf[:n]), tc.want), "%s: %s", tc.method, buf[:n])
		require.Contains(t, string(buf[:n]), "Allow: INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS")
	}
}
