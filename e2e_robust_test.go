package switchboard_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard"
	"switchboard/sip"
)

// rawRequest fills the placeholders of a hand-written request: {port} is
// the sender's port, {branch} a fresh Via branch, {callid} a fresh Call-ID.
func rawRequest(c *sipConn, text string) string {
	return strings.NewReplacer(
		"{port}", strconv.Itoa(c.localAddr().Port),
		"{branch}", newBranch(),
		"{callid}", randomKey(16),
	).Replace(crlf(text))
}

func TestE2EBadInputKeepsServing(t *testing.T) {
	t.Parallel()
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	_, usersBefore := e.api.do(http.MethodGet, "/api/v1/users", nil)

	c := dialSIP(t, "127.0.0.1", e.sipAddr())

	// Requests that parse but must not reach the registrar, each answered
	// with the status RFC 3261 gives it.
	for _, tc := range []struct {
		name   string
		text   string
		status int
	}{
		{"SIP version 3.0", `REGISTER sip:127.0.0.1 SIP/3.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport
Max-Forwards: 70
From: <sip:1001a@127.0.0.1>;tag=a1
To: <sip:1001a@127.0.0.1>
Call-ID: {callid}
CSeq: 1 REGISTER
Contact: <sip:1001a@127.0.0.1:{port}>
Content-Length: 0

`, 505},
		{"missing Call-ID", `REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport
Max-Forwards: 70
From: <sip:1001a@127.0.0.1>;tag=a1
To: <sip:1001a@127.0.0.1>
CSeq: 1 REGISTER
Contact: <sip:1001a@127.0.0.1:{port}>
Content-Length: 0

`, 400},
		{"duplicated From", `REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport
Max-Forwards: 70
From: <sip:1001a@127.0.0.1>;tag=a1
From: <sip:mallory@127.0.0.1>;tag=a2
To: <sip:1001a@127.0.0.1>
Call-ID: {callid}
CSeq: 1 REGISTER
Contact: <sip:1001a@127.0.0.1:{port}>
Content-Length: 0

`, 400},
		{"CSeq method INVITE on a REGISTER", `REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport
Max-Forwards: 70
From: <sip:1001a@127.0.0.1>;tag=a1
To: <sip:1001a@127.0.0.1>
Call-ID: {callid}
CSeq: 1 INVITE
Contact: <sip:1001a@127.0.0.1:{port}>
Content-Length: 0

`, 400},
		{"Request-URI scheme http", `REGISTER http://x SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport
Max-Forwards: 70
From: <sip:1001a@127.0.0.1>;tag=a1
To: <sip:1001a@127.0.0.1>
Call-ID: {callid}
CSeq: 1 REGISTER
Contact: <sip:1001a@127.0.0.1:{port}>
Content-Length: 0

`, 416},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.exchange(rawRequest(c, tc.text))
			require.Equal(t, tc.status, res.Status(), "answer: %s", res.First)
		})
	}

	// RFC 3261 §18.3: a datagram that ends before the Content-Length says
	// is an error; a request gets 400.
	t.Run("Content-Length larger than the body", func(t *testing.T) {
		c.send([]byte(rawRequest(c, `REGISTER sip:127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport
Max-Forwards: 70
From: <sip:1001a@127.0.0.1>;tag=a1
To: <sip:1001a@127.0.0.1>
Call-ID: {callid}
CSeq: 1 REGISTER
Contact: <sip:1001a@127.0.0.1:{port}>
Content-Type: text/plain
Content-Length: 50

short body`)))
		res, ok := c.recv(time.Second)
		require.True(t, ok, "no answer to a REGISTER whose Content-Length (50) exceeds its body (10 bytes)")
		require.Equal(t, 400, res.Status(), "answer: %s", res.First)
	})

	// Junk: a few hundred datagrams of random bytes, one as large as a
	// datagram gets, and a TCP connection that sends garbage and closes.
	// None of it is answered.
	rng := rand.New(rand.NewPCG(1, 2))
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		b[0] = 'X' // not a CRLF keepalive
		return b
	}
	c.send([]byte("\x00\x01\x02 this is not SIP \xff\xfe\r\n\r\n"))
	total := 0
	for range 300 {
		b := junk(16 + rng.IntN(460))
		total += len(b)
		c.send(b)
	}
	c.send(junk(65507))
	total += 65507
	require.Greater(t, total, 70_000)
	if res, ok := c.recv(500 * time.Millisecond); ok {
		t.Fatalf("junk was answered: %s", res.First)
	}

	tcp, err := net.DialTimeout("tcp", e.sipAddr(), 2*time.Second)
	require.NoError(t, err)
	_, err = tcp.Write([]byte("GARBAGE \x00\xff\r\nNot: a header\r\n\r\n\x01\x02\x03"))
	require.NoError(t, err)
	require.NoError(t, tcp.Close())

	// The server still serves, on both transports, and nothing stored
	// changed.
	// The kernel may drop part of a burst of datagrams; what arrives is
	// counted.
	require.Greater(t, e.api.metric("switchboard_sip_unparsable_messages_total"), 0.0)
	for _, tr := range []string{"u1", "t1"} {
		e.register(t, sippRun{Transport: tr, User: "1001a", Password: "secret-1001a"})
	}
	e.api.registrationsLen(2)
	_, usersAfter := e.api.do(http.MethodGet, "/api/v1/users", nil)
	require.JSONEq(t, string(usersBefore), string(usersAfter))

	// Unparsable input is logged at a bounded rate, not a line per datagram.
	require.NotEmpty(t, e.logs.Lines("unparsable message"))
	require.Less(t, len(e.logs.Lines("unparsable message")), 50)
}

// digestClient registers a phone over a raw UDP socket, computing the
// digest itself (RFC 2617 §3.2.2 with qop=auth, MD5).
type digestClient struct {
	c        *sipConn
	user     string
	password string
	callID   string
	cseq     int
	nc       int
	realm    string
	nonce    string
}

func newDigestClient(c *sipConn, user, password string) *digestClient {
	return &digestClient{c: c, user: user, password: password, callID: randomKey(20)}
}

func (d *digestClient) request(authorization string) string {
	d.cseq++
	port := d.c.localAddr().Port
	ip := d.c.localAddr().IP.String()
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", testDomain)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n", ip, port, newBranch())
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", d.user, testDomain, d.callID[:8])
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", d.user, testDomain)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", d.callID)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", d.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s:%d>\r\n", d.user, ip, port)
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	b.WriteString("Expires: 60\r\nUser-Agent: e2e-digest\r\nContent-Length: 0\r\n\r\n")
	return b.String()
}

var (
	realmParam = regexp.MustCompile(`realm="([^"]*)"`)
	nonceParam = regexp.MustCompile(`nonce="([^"]*)"`)
)

// challenge sends a REGISTER without credentials and keeps the MD5
// challenge of the 401.
func (d *digestClient) challenge(t *testing.T) {
	t.Helper()
	res := d.c.exchange(d.request(""))
	require.Equal(t, 401, res.Status(), "answer: %s", res.First)
	for _, h := range res.Headers {
		if strings.EqualFold(h.Name, "WWW-Authenticate") && strings.Contains(h.Value, "algorithm=MD5") {
			d.realm = realmParam.FindStringSubmatch(h.Value)[1]
			d.nonce = nonceParam.FindStringSubmatch(h.Value)[1]
			d.nc = 0
			return
		}
	}
	t.Fatalf("401 without an MD5 challenge: %+v", res.Headers)
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// authorized builds a REGISTER answering the kept challenge with password.
func (d *digestClient) authorized(password string) string {
	d.nc++
	uri := "sip:" + testDomain
	nc := fmt.Sprintf("%08x", d.nc)
	cnonce := randomKey(16)
	ha1 := md5Hex(d.user + ":" + d.realm + ":" + password)
	ha2 := md5Hex("REGISTER:" + uri)
	response := md5Hex(ha1 + ":" + d.nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	return d.request(fmt.Sprintf(
		`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, cnonce="%s", qop=auth, nc=%s`,
		d.user, d.realm, d.nonce, uri, response, cnonce, nc))
}

func TestE2EBruteForceBlocked(t *testing.T) {
	t.Parallel()
	const blockAfter = 5
	e := startEngine(t, func(c *switchboard.Config) {
		c.SIP.Guard = sip.GuardConfig{
			Window:           10 * time.Minute,
			ThrottleAfter:    3,
			ThrottleInterval: time.Millisecond,
			BlockAfter:       blockAfter,
			BlockFor:         time.Hour,
			MaxSources:       1024,
		}
	})
	e.addPhone(t, "1001", "1001a", "secret-1001a")

	// The client's digest is right: with the right password it registers.
	good := newDigestClient(dialSIP(t, "127.0.0.1", e.sipAddr()), "1001a", "secret-1001a")
	good.challenge(t)
	require.Equal(t, 200, good.c.exchange(good.authorized(good.password)).Status())
	e.api.registrationsLen(1)

	// 25 attempts with a wrong password from one source: answered until
	// the source is blocked, then not at all.
	c := dialSIP(t, "127.0.0.1", e.sipAddr())
	bad := newDigestClient(c, "1001a", "guessed-password")
	bad.challenge(t)
	for i := 1; i <= blockAfter; i++ {
		// Slower than ThrottleInterval, so no attempt is throttled.
		time.Sleep(5 * time.Millisecond)
		res := c.exchange(bad.authorized(bad.password))
		require.Equal(t, 401, res.Status(), "attempt %d: %s", i, res.First)
	}
	for i := blockAfter + 1; i <= 25; i++ {
		time.Sleep(2 * time.Millisecond)
		c.send([]byte(bad.authorized(bad.password)))
	}
	if res, ok := c.recv(500 * time.Millisecond); ok {
		t.Fatalf("a blocked source was answered: %s", res.First)
	}
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_blocked_sources"))
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_sources_blocked_total"))
	require.Equal(t, float64(blockAfter), e.api.metric("switchboard_sip_auth_failures_total"))
	require.Len(t, e.logs.Lines("event=source_blocked", "src=127.0.0.1"), 1)

	// The right password from the blocked address is ignored too, from the
	// same socket and from another port.
	c.send([]byte(bad.authorized("secret-1001a")))
	c.send([]byte(bad.request("")))
	if res, ok := c.recv(300 * time.Millisecond); ok {
		t.Fatalf("a blocked source was answered: %s", res.First)
	}
	other := dialSIP(t, "127.0.0.1", e.sipAddr())
	other.send([]byte(newDigestClient(other, "1001a", "secret-1001a").request("")))
	if res, ok := other.recv(300 * time.Millisecond); ok {
		t.Fatalf("another port of a blocked address was answered: %s", res.First)
	}

	// Another source address registers as usual.
	res := e.register(t, sippRun{LocalIP: "127.0.0.2", User: "1001a", Password: "secret-1001a"})
	var fromOther []apiRegistration
	for _, r := range e.api.registrationsLen(2) {
		if strings.HasPrefix(r.Source, "127.0.0.2:") {
			fromOther = append(fromOther, r)
		}
	}
	require.Len(t, fromOther, 1)
	require.Equal(t, "127.0.0.2:"+strconv.Itoa(res.Port), fromOther[0].Source)
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_blocked_sources"))
}

func TestE2EReplayedRegisterRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	e := startEngineWith(t, cfg)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	res := e.register(t, sippRun{User: "1001a", Password: "secret-1001a"})

	// The REGISTER that carried valid credentials, captured and sent
	// again from elsewhere: its nonce count was used, so it is refused.
	var captured string
	for _, m := range res.Messages {
		if _, ok := m.Header("Authorization"); ok && m.Sent {
			captured = m.Raw
		}
	}
	require.NotEmpty(t, captured, "sipp sent no credentials:\n%s", res.dump())
	c := dialSIP(t, "127.0.0.1", e.sipAddr())
	got := c.exchange(captured)
	require.Equal(t, 401, got.Status(), "a replayed REGISTER was answered %s", got.First)
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_auth_failures_total", "reason", "replay"))

	// Nor is it accepted by the next run of the engine, which shares the
	// nonce secret through the database: the phone is told to retry.
	e.stop(t)
	e = startEngineWith(t, cfg)
	c = dialSIP(t, "127.0.0.1", e.sipAddr())
	got = c.exchange(captured)
	require.Equal(t, 401, got.Status(), "a replayed REGISTER was answered %s after a restart", got.First)
	auth, _ := got.Header("WWW-Authenticate")
	require.Contains(t, auth, "stale=true")
}
