package provision

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// harness is a handler on a real HTTP server with a fake clock, a fake
// directory and a log capture.
type harness struct {
	t     *testing.T
	h     *Handler
	srv   *httptest.Server
	clock *fakeClock
	dir   *fakeDirectory
	reg   *prometheus.Registry
	logs  *syncBuffer
}

func newHarness(t *testing.T, devs []Device, opts ...Option) *harness {
	t.Helper()
	x := &harness{t: t, clock: newFakeClock(), dir: newFakeDirectory(devs...), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	site := testSite()
	site.Year = 0 // from the handler's clock
	opts = append([]Option{
		WithClock(x.clock.Now),
		WithRegisterer(x.reg),
		WithLogger(slog.New(slog.NewJSONHandler(x.logs, nil))),
	}, opts...)
	h, err := NewHandler(x.dir, func() Site { return site }, opts...)
	require.NoError(t, err)
	x.h = h
	mux := http.NewServeMux()
	mux.Handle("GET /provision/{file}", h)
	mux.Handle("/provision/", h) // other methods reach the handler, which answers 405
	x.srv = httptest.NewServer(mux)
	t.Cleanup(x.srv.Close)
	return x
}

func (x *harness) url(file string) string { return x.srv.URL + "/provision/" + file }

func (x *harness) client(user, pass string) *digestClient {
	return newDigestClient(x.t, user, pass, "MD5")
}

func (x *harness) counter(c *prometheus.CounterVec, label string) float64 {
	return metricValue(x.t, c.WithLabelValues(label))
}

// metricValue reads a counter or gauge.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, m.Write(&d))
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.GetGauge().GetValue()
}

// phoneB is a second phone, of another user and model.
func phoneB() Device {
	return Device{
		PhoneName: "1002a", SIPPassword: "k9PqW3eRt5yU7iO1pAsD", Model: "yealink-t4x", MAC: "001565000002",
		Extension: "1002", FirstName: "Alan", LastName: "Turing", Timezone: "Europe/London", Site: "lab",
	}
}

// TestServePhoneFile: every model's phone gets its files with its own
// credentials, over MD5 and SHA-256, exactly as Render makes them.
func TestServePhoneFile(t *testing.T) {
	var devs []Device
	for _, m := range Models() {
		dev := testDevice(m.ID)
		dev.PhoneName = "p-" + m.ID
		devs = append(devs, dev)
	}
	x := newHarness(t, devs)
	site := testSite()
	for _, dev := range devs {
		m, _ := Lookup(dev.Model)
		for _, alg := range []string{"MD5", "SHA-256"} {
			c := newDigestClient(t, dev.PhoneName, dev.SIPPassword, alg)
			name, want, ctype, err := Render(m, dev, site)
			require.NoError(t, err)
			resp, body := c.fetch(x.url(name))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", m.ID, alg, body)
			require.Equal(t, string(want), body)
			require.Equal(t, ctype, resp.Header.Get("Content-Type"))
			require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			for _, f := range m.spec.other {
				resp, body := c.fetch(x.url(f.nameFor(dev.MAC)))
				require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", m.ID, f.pattern, body)
				require.NotContains(t, body, dev.SIPPassword)
			}
		}
	}
	require.Equal(t, float64(2), x.counter(x.h.metrics.served.MustCurryWith(prometheus.Labels{"kind": "phone"}), "snom"))
	logs := x.logs.String()
	require.Contains(t, logs, `"msg":"provisioning file served","phone":"p-snom","model":"snom","file":"000413ABCDEF.xml","src":"127.0.0.1","auth":"phone"`)
	require.NotContains(t, logs, "provisioning authentication failed")
}

// TestChallenge: a request without credentials gets 401 with a digest
// challenge per algorithm, qop=auth, one fresh nonce.
func TestChallenge(t *testing.T) {
	x := newHarness(t, []Device{testDevice("yealink-t5x")})
	resp, body := x.client("", "").do(x.url("805ec0112233.cfg"), "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "401 Unauthorized\n", body)
	chs := parseChallenges(t, resp.Header)
	require.Len(t, chs, 2)
	require.Equal(t, "MD5", chs[0]["algorithm"], "MD5 first: desk phones know it")
	require.Equal(t, "SHA-256", chs[1]["algorithm"])
	for _, c := range chs {
		require.Equal(t, "auth", c["qop"])
		require.Equal(t, "switchboard provisioning", c["realm"])
		require.Equal(t, chs[0]["nonce"], c["nonce"])
		require.NotContains(t, c, "stale")
	}
	resp2, _ := x.client("", "").do(x.url("805ec0112233.cfg"), "")
	require.NotEqual(t, chs[0]["nonce"], parseChallenges(t, resp2.Header)[0]["nonce"], "every challenge has a fresh nonce")
	require.Equal(t, float64(0), x.counter(x.h.metrics.authFail, reasonUnknownDevice), "no credentials is no failure")
}

// shape is a response with its nonces blanked: what must not differ
// between an unknown MAC and wrong credentials.
func shape(t *testing.T, resp *http.Response, body string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", resp.StatusCode)
	for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Content-Length", "Retry-After"} {
		fmt.Fprintf(&b, "%s: %q\n", k, resp.Header.Values(k))
	}
	nonce := regexp.MustCompile(`nonce="[^"]*"`)
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		fmt.Fprintf(&b, "WWW-Authenticate: %s\n", nonce.ReplaceAllString(v, `nonce="N"`))
	}
	var keys []string
	for k := range resp.Header {
		if k != "Date" {
			keys = append(keys, k)
		}
	}
	fmt.Fprintf(&b, "%d headers\n%s", len(keys), body)
	return b.String()
}

// TestUnknownMACLooksLikeWrongPassword: an unknown MAC, a known MAC with a
// wrong password, a wrong user name and no credentials at all answer the
// same status, headers and body, and the failures cost the same work: one
// digest computation and one directory lookup each.
func TestUnknownMACLooksLikeWrongPassword(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	known := x.url("805ec0112233.cfg")
	unknown := x.url("805ec0999999.cfg")

	resp, body := x.client("", "").do(known, "")
	noCreds := shape(t, resp, body)

	type attempt struct {
		name, url, user, pass string
	}
	var shapes []string
	for _, a := range []attempt{
		{"wrong password", known, dev.PhoneName, "not-the-password"},
		{"unknown MAC, real credentials of another MAC", unknown, dev.PhoneName, dev.SIPPassword},
		{"unknown MAC", unknown, "1009z", "guess"},
		{"wrong user name", known, "1009z", dev.SIPPassword},
	} {
		digests, lookups := x.h.digests.Load(), x.dir.lookups
		resp, body := x.client(a.user, a.pass).fetch(a.url)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, a.name)
		require.Equal(t, int64(1), x.h.digests.Load()-digests, "%s: one digest computed", a.name)
		require.Equal(t, 1, x.dir.lookups-lookups, "%s: one lookup", a.name)
		shapes = append(shapes, shape(t, resp, body))
	}
	for i, s := range shapes {
		require.Equal(t, noCreds, s, "attempt %d", i)
	}
	require.Equal(t, float64(1), x.counter(x.h.metrics.authFail, reasonBadPassword))
	require.Equal(t, float64(2), x.counter(x.h.metrics.authFail, reasonUnknownDevice))
	require.Equal(t, float64(1), x.counter(x.h.metrics.authFail, reasonWrongUser))
	require.Contains(t, x.logs.String(), `"event":"provision_auth_failure","user":"1009z","file":"805ec0999999.cfg","src":"127.0.0.1","reason":"unknown_device"`)
}

// TestPhoneCannotFetchAnotherPhonesFile: phone A's valid credentials get
// nothing of phone B's, in any of B's file names.
func TestPhoneCannotFetchAnotherPhonesFile(t *testing.T) {
	a, b := testDevice("yealink-t5x"), phoneB()
	x := newHarness(t, []Device{a, b})
	c := x.client(a.PhoneName, a.SIPPassword)
	for _, name := range []string{"001565000002.cfg", "001565000002.CFG", "001565000002.xml", "spa001565000002.xml"} {
		resp, body := c.fetch(x.url(name))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		require.NotContains(t, body, b.SIPPassword)
	}
	resp, _ := c.fetch(x.url("805ec0112233.cfg"))
	require.Equal(t, http.StatusOK, resp.StatusCode, "A's own file")
	require.Equal(t, float64(4), x.counter(x.h.metrics.authFail, reasonWrongUser))
}

// TestScanEndsBlocked: 1,000 random MACs probed with guessed credentials
// find no file, and the scanner ends up blocked; blocked, it gets 403 for
// everything, even a real phone's credentials.
func TestScanEndsBlocked(t *testing.T) {
	real := testDevice("yealink-t5x")
	x := newHarness(t, []Device{real})
	statuses := map[int]int{}
	for i := 0; i < 1000; i++ {
		var b [6]byte
		rand.Read(b[:])
		b[0], b[1], b[2] = 0x80, 0x5e, 0xc0 // Yealink's prefix, as a scanner would
		mac := hex.EncodeToString(b[:])
		for _, name := range []string{mac + ".cfg", "cfg" + mac + ".xml"} {
			resp, body := x.client("admin", "admin").fetch(x.url(name))
			statuses[resp.StatusCode]++
			require.NotEqual(t, http.StatusOK, resp.StatusCode)
			require.NotEqual(t, http.StatusNotFound, resp.StatusCode, "a 404 would tell the MAC exists")
			require.NotContains(t, body, "account.")
		}
		x.clock.Advance(10 * time.Millisecond)
	}
	require.Equal(t, float64(1), metricValue(t, x.h.metrics.blockedTot))
	t.Logf("statuses: %v", statuses)
	require.Greater(t, statuses[http.StatusForbidden], 1900, "%v", statuses)

	resp, _ := x.client(real.PhoneName, real.SIPPassword).fetch(x.url(real.MAC + ".cfg"))
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "blocked means blocked")
	resp, _ = x.client("", "").do(x.url("y000000000028.cfg"), "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "common files too")
	require.Equal(t, 1.0, gaugeValue(t, x.reg, "switchboard_provision_blocked_sources"))
	require.Contains(t, x.logs.String(), `"msg":"provisioning source blocked","event":"provision_source_blocked","src":"127.0.0.1"`)

	// The block ends.
	x.clock.Advance(DefaultGuardConfig.BlockFor + time.Second)
	resp, _ = x.client(real.PhoneName, real.SIPPassword).fetch(x.url(real.MAC + ".cfg"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestThrottle: after ThrottleAfter failures an attempt sooner than
// ThrottleInterval after the last gets 429, and one later is processed.
func TestThrottle(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	url := x.url("805ec0112233.cfg")
	for i := 0; i < DefaultGuardConfig.ThrottleAfter; i++ {
		resp, _ := x.client(dev.PhoneName, "wrong").fetch(url)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	c := x.client(dev.PhoneName, dev.SIPPassword)
	resp, _ := c.do(url, "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a challenge is still given")
	resp2, _ := c.answer(url, resp)
	require.Equal(t, http.StatusTooManyRequests, resp2.StatusCode)
	require.Equal(t, "2", resp2.Header.Get("Retry-After"))

	x.clock.Advance(DefaultGuardConfig.ThrottleInterval)
	resp, _ = c.fetch(url)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestStaleNonce: a replayed request and an expired nonce get a fresh
// challenge with stale=true when the credentials are right, without
// counting a failure; wrong credentials on an old nonce are a failure.
func TestStaleNonce(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	url := x.url("805ec0112233.cfg")
	c := x.client(dev.PhoneName, dev.SIPPassword)

	// Replay: the same Authorization twice.
	resp, _ := c.do(url, "")
	authz := c.authorization(url, resp)
	resp, _ = c.do(url, authz)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = c.do(url, authz)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "true", parseChallenges(t, resp.Header)[0]["stale"])
	// The client answers the fresh challenge and gets the file.
	resp, _ = c.answer(url, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The same nonce with a higher count is accepted (RFC 7616 §3.4).
	resp, _ = c.do(url, "")
	first := c.authorization(url, resp)
	second := c.authorization(url, resp) // nc one higher
	resp, _ = c.do(url, first)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = c.do(url, second)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Expired.
	resp, _ = c.do(url, "")
	x.clock.Advance(5*time.Minute + time.Second)
	resp, _ = c.answer(url, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "true", parseChallenges(t, resp.Header)[0]["stale"])
	resp, _ = c.answer(url, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, float64(2), x.counter(x.h.metrics.requests, resultStale))

	// Expired, wrong password: a plain failure, no stale.
	bad := x.client(dev.PhoneName, "wrong")
	resp, _ = bad.do(url, "")
	x.clock.Advance(5*time.Minute + time.Second)
	resp, _ = bad.answer(url, resp)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.NotContains(t, parseChallenges(t, resp.Header)[0], "stale")
	require.Equal(t, float64(1), x.counter(x.h.metrics.authFail, reasonBadPassword))
}

// TestForeignNonce: a nonce signed with another key (another engine's, or
// made up) gets a fresh challenge and is not counted against the source.
func TestForeignNonce(t *testing.T) {
	dev := testDevice("yealink-t5x")
	other := newHarness(t, []Device{dev}, WithNonceKey([]byte("another engine's key")))
	x := newHarness(t, []Device{dev}, WithNonceKey([]byte("this engine's key")))
	c := x.client(dev.PhoneName, dev.SIPPassword)
	resp, _ := c.do(other.url("805ec0112233.cfg"), "")
	for i := 0; i < 3*DefaultGuardConfig.BlockAfter; i++ {
		got, _ := c.do(x.url("805ec0112233.cfg"), c.authorization(x.url("805ec0112233.cfg"), resp))
		require.Equal(t, http.StatusUnauthorized, got.StatusCode)
		require.NotContains(t, parseChallenges(t, got.Header)[0], "stale")
	}
	resp, _ = c.fetch(x.url("805ec0112233.cfg"))
	require.Equal(t, http.StatusOK, resp.StatusCode, "never blocked")
	require.Equal(t, int64(1), x.h.digests.Load(), "foreign nonces cost no digest")

	// Engines sharing a key accept each other's nonces.
	shared := newHarness(t, []Device{dev}, WithNonceKey([]byte("this engine's key")))
	resp, _ = c.do(shared.url("805ec0112233.cfg"), "")
	resp, _ = c.do(x.url("805ec0112233.cfg"), c.authorization(x.url("805ec0112233.cfg"), resp))
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestSiteCredentials: a site credential fetches the files of that site's
// phones; for another site's phone or an unknown MAC it gets 404 (it is
// authenticated, so nothing is revealed to a guesser); a wrong site
// password is an ordinary failure.
func TestSiteCredentials(t *testing.T) {
	a, b := testDevice("yealink-t5x"), phoneB() // sites hq and lab
	creds := map[string]SiteCredential{
		"prov-hq":  {Username: "prov-hq", Password: "hq-secret-123", Site: "hq"},
		"prov-all": {Username: "prov-all", Password: "all-secret-123"},
	}
	x := newHarness(t, []Device{a, b}, WithSiteCredentials(func(u string) (SiteCredential, bool) {
		c, ok := creds[u]
		return c, ok
	}))
	hq := x.client("prov-hq", "hq-secret-123")
	resp, body := hq.fetch(x.url(a.MAC + ".cfg"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "account.1.password = "+a.SIPPassword)
	resp, _ = hq.fetch(x.url(b.MAC + ".cfg"))
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "another site's phone")
	resp, _ = hq.fetch(x.url("805ec0999999.cfg"))
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "unknown MAC, after authentication")

	all := x.client("prov-all", "all-secret-123")
	resp, _ = all.fetch(x.url(b.MAC + ".cfg"))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, _ = x.client("prov-hq", "wrong").fetch(x.url(a.MAC + ".cfg"))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, x.logs.String(), `"phone":"1001a","model":"yealink-t5x","file":"805ec0112233.cfg","src":"127.0.0.1","auth":"site"`)
}

// TestCommonFilesWithoutAuth: common files are served to anyone not
// blocked, and hold no secret.
func TestCommonFilesWithoutAuth(t *testing.T) {
	dev := testDevice("polycom-vvx")
	x := newHarness(t, []Device{dev})
	for _, m := range Models() {
		name := m.CommonFileName()
		resp, body := x.client("", "").do(x.url(name), "")
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		want, ctype, err := RenderCommon(m, name, testSite())
		require.NoError(t, err)
		require.Equal(t, string(want), body, name)
		require.Equal(t, ctype, resp.Header.Get("Content-Type"))
		require.NotContains(t, body, dev.SIPPassword)
	}
	require.Contains(t, x.logs.String(), `"msg":"provisioning file served","phone":"","model":"polycom-vvx","file":"000000000000.cfg","src":"127.0.0.1","auth":"none"`)
}

// TestFileOfAnotherModel: a phone asking for a file its model does not
// have gets 404 once authenticated.
func TestFileOfAnotherModel(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	c := x.client(dev.PhoneName, dev.SIPPassword)
	for _, name := range []string{"cfg805ec0112233.xml", "805EC0112233.xml", "805ec0112233-switchboard.cfg"} {
		resp, _ := c.fetch(x.url(name))
		require.Equal(t, http.StatusNotFound, resp.StatusCode, name)
	}
	dev.Model = "acme-9000"
	x = newHarness(t, []Device{dev})
	resp, _ := x.client(dev.PhoneName, dev.SIPPassword).fetch(x.url("805ec0112233.cfg"))
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, x.logs.String(), "provisioning: phone has no supported model")
}

func TestBadRequests(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	for _, name := range []string{"index.html", "805ec0112233.cfg.bak", "y000000000028.boot", "805EC0112233.boot",
		"x%2F805ec0112233.cfg", "..%2Fy000000000028.cfg"} {
		resp, body := x.client("", "").do(x.url(name), "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, name)
		require.Equal(t, "404 Not Found\n", body)
	}
	req, err := http.NewRequest(http.MethodPut, x.url("805ec0112233-phone.cfg"), strings.NewReader("x"))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))

	// Malformed credentials are a failure like a wrong password.
	for _, authz := range []string{"Basic YWRtaW46YWRtaW4=", `Digest username="x"`, `Digest username="a", username="b"`, "Digest " + strings.Repeat("a", 5000)} {
		resp, _ := x.client("", "").do(x.url("805ec0112233.cfg"), authz)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, authz)
	}
	require.Equal(t, float64(4), x.counter(x.h.metrics.authFail, reasonMalformed))
}

func TestHead(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	req, err := http.NewRequest(http.MethodHead, x.url("y000000000028.cfg"), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Content-Length"))
}

// TestConcurrentFetches runs phones fetching at once (for -race).
func TestConcurrentFetches(t *testing.T) {
	var devs []Device
	for i := 0; i < 20; i++ {
		dev := testDevice("yealink-t5x")
		dev.PhoneName = fmt.Sprintf("20%02da", i)
		dev.MAC = fmt.Sprintf("805ec00000%02x", i)
		devs = append(devs, dev)
	}
	x := newHarness(t, devs)
	var wg sync.WaitGroup
	for _, dev := range devs {
		wg.Go(func() {
			for j := 0; j < 5; j++ {
				resp, _ := newDigestClient(t, dev.PhoneName, dev.SIPPassword, "SHA-256").fetch(x.url(dev.MAC + ".cfg"))
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: %d", dev.PhoneName, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, float64(100), x.counter(x.h.metrics.requests, resultServed))
}

// gaugeValue reads a gauge without labels from a registry.
func gaugeValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1)
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestNewHandlerChecks(t *testing.T) {
	site := func() Site { return testSite() }
	_, err := NewHandler(nil, site)
	require.Error(t, err)
	_, err = NewHandler(newFakeDirectory(), site, WithRealm(`a"b`))
	require.Error(t, err)
	_, err = NewHandler(newFakeDirectory(), site, WithAlgorithms())
	require.Error(t, err)
	_, err = NewHandler(newFakeDirectory(), site, WithAlgorithms(AlgorithmUnknown))
	require.Error(t, err)
	_, err = NewHandler(newFakeDirectory(), site, WithNonceLifetime(-time.Second))
	require.Error(t, err)
	reg := prometheus.NewRegistry()
	_, err = NewHandler(newFakeDirectory(), site, WithRegisterer(reg))
	require.NoError(t, err)
	_, err = NewHandler(newFakeDirectory(), site, WithRegisterer(reg))
	require.Error(t, err, "metrics registered twice")

	// SHA-256 only.
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev}, WithAlgorithms(AlgorithmSHA256))
	resp, _ := x.client(dev.PhoneName, dev.SIPPassword).do(x.url("805ec0112233.cfg"), "")
	require.Len(t, parseChallenges(t, resp.Header), 1)
	resp, _ = newDigestClient(t, dev.PhoneName, dev.SIPPassword, "SHA-256").fetch(x.url("805ec0112233.cfg"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestLogFields: the served-file line is structured JSON with the phone,
// model, file and source.
func TestLogFields(t *testing.T) {
	dev := testDevice("grandstream-grp")
	x := newHarness(t, []Device{dev})
	resp, _ := x.client(dev.PhoneName, dev.SIPPassword).fetch(x.url("cfg" + dev.MAC + ".xml"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(x.logs.String()), "\n") {
		require.NoError(t, json.Unmarshal([]byte(l), &line))
		if line["msg"] == "provisioning file served" {
			break
		}
	}
	require.Equal(t, "1001a", line["phone"])
	require.Equal(t, "grandstream-grp", line["model"])
	require.Equal(t, "cfgc074ad654321.xml", line["file"])
	require.Equal(t, "127.0.0.1", line["src"])
}

// TestMountedUnderPrefix: without a {file} path value the last segment
// names the file, so a provisioning URL may have directories of its own.
func TestMountedUnderPrefix(t *testing.T) {
	x := newHarness(t, nil)
	for path, want := range map[string]int{
		"/provision/y000000000028.cfg":        http.StatusOK,
		"/pbx/yealink/y000000000028.cfg":      http.StatusOK,
		"/provision/a%2Fy000000000028.cfg":    http.StatusNotFound,
		"/provision/":                         http.StatusNotFound,
		"/provision/805ec0112233.cfg?x=../..": http.StatusUnauthorized,
	} {
		rec := httptest.NewRecorder()
		x.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://pbx"+path, nil))
		require.Equal(t, want, rec.Code, path)
	}
}

// TestIPv6SourcesShareABlock: failures from addresses of one /64 count
// together, so walking through a subscriber's prefix does not help.
func TestIPv6SourcesShareABlock(t *testing.T) {
	dev := testDevice("yealink-t5x")
	x := newHarness(t, []Device{dev})
	for i := 0; i < DefaultGuardConfig.BlockAfter; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://pbx/provision/805ec0112233.cfg", nil)
		req.RemoteAddr = fmt.Sprintf("[2001:db8:5:6::%x]:40000", i+1)
		req.Header.Set("Authorization", `Digest username="x"`) // malformed: a failure
		x.h.ServeHTTP(rec, req)
		x.clock.Advance(3 * time.Second) // past the throttle
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "http://pbx/provision/y000000000028.cfg", nil)
	req.RemoteAddr = "[2001:db8:5:6:ffff::1]:1"
	x.h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusForbidden, rec.Code)
	rec = httptest.NewRecorder()
	req.RemoteAddr = "[2001:db8:5:7::1]:1"
	x.h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, "another /64")
}
