package provision

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests name, even where the system has none

	"github.com/stretchr/testify/require"
)

// testSite is the site of the golden files.
func testSite() Site {
	return Site{
		SIPHost:      "192.0.2.10",
		ProvisionURL: "http://192.0.2.10:8080/provision/",
		Year:         2026,
	}
}

// testMACs gives each model a MAC with its vendor's prefix.
var testMACs = map[string]string{
	"yealink-t4x":     "001565a1b2c3",
	"yealink-t5x":     "805ec0112233",
	"polycom-vvx":     "0004f2aabbcc",
	"cisco-spa":       "0021a0445566",
	"cisco-mpp":       "00b771778899",
	"grandstream-gxp": "000b82123456",
	"grandstream-grp": "c074ad654321",
	"snom":            "000413abcdef",
}

func testDevice(model string) Device {
	return Device{
		PhoneName:   "1001a",
		SIPPassword: "Zb4kQ9xT2mLp7RwE3nVc",
		Model:       model,
		MAC:         testMACs[model],
		Extension:   "1001",
		FirstName:   "Ada",
		LastName:    "Lovelace",
		Timezone:    "America/New_York",
		Site:        "hq",
	}
}

// Credentials are where each vendor keeps the account's auth name,
// password and user (the extension).
var credentialKeys = map[string][3]string{
	"yealink-t4x":     {"account.1.auth_name", "account.1.password", "account.1.user_name"},
	"yealink-t5x":     {"account.1.auth_name", "account.1.password", "account.1.user_name"},
	"polycom-vvx":     {"reg.1.auth.userId", "reg.1.auth.password", "reg.1.address"},
	"cisco-spa":       {"Auth_ID_1_", "Password_1_", "User_ID_1_"},
	"cisco-mpp":       {"Auth_ID_1_", "Password_1_", "User_ID_1_"},
	"grandstream-gxp": {"P36", "P34", "P35"},
	"grandstream-grp": {"P36", "P34", "P35"},
	"snom":            {"user_pname.1", "user_pass.1", "user_name.1"},
}

// parseFile reads a rendered file back into its settings with parsers
// written for the tests, not the renderer's code.
func parseFile(t *testing.T, f Format, content []byte) map[string]string {
	t.Helper()
	var got map[string]string
	var err error
	switch f {
	case FormatKeyValue:
		got, err = parseKeyValue(content)
	case FormatXML:
		got, err = parseXMLSettings(content)
	default:
		t.Fatalf("format %v", f)
	}
	require.NoError(t, err, "%s", content)
	return got
}

// parseKeyValue reads a Yealink file as the phone does: a version line,
// then "key = value" lines, '#' comments, values trimmed.
func parseKeyValue(content []byte) (map[string]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(content))
	if !sc.Scan() || sc.Text() != "#!version:1.0.0.1" {
		return nil, errors.New("first line is not #!version:1.0.0.1")
	}
	out := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %q has no =", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key %q twice", k)
		}
		out[k] = v
	}
	if !bytes.HasSuffix(content, []byte("\n")) {
		return nil, errors.New("no final line feed")
	}
	return out, sc.Err()
}

// parseXMLSettings walks every token of an XML file (so a file that is not
// well-formed fails) and collects the settings: attributes of the root
// element (Polycom), and elements without children, named by their tag
// plus ".idx" when they have an idx attribute (Snom), valued by their text
// or their url attribute (Snom setting-files). ua and perm are access
// flags, not settings.
func parseXMLSettings(content []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(content))
	d.Strict = true
	out := map[string]string{}
	add := func(k, v string) error {
		if _, dup := out[k]; dup {
			return fmt.Errorf("setting %q twice", k)
		}
		out[k] = v
		return nil
	}
	type open struct {
		key      string
		text     strings.Builder
		children bool
		url      string
		attrs    []xml.Attr
	}
	var stack []*open
	roots := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			o := &open{key: tok.Name.Local}
			if len(stack) == 0 {
				roots++
				o.attrs = tok.Copy().Attr
			} else {
				stack[len(stack)-1].children = true
			}
			for _, a := range tok.Attr {
				switch a.Name.Local {
				case "idx":
					o.key += "." + a.Value
				case "url":
					o.url = a.Value
				}
			}
			stack = append(stack, o)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(tok)
			}
		case xml.EndElement:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 && !o.children { // Polycom: the settings are the root's attributes
				for _, a := range o.attrs {
					if err := add(a.Name.Local, a.Value); err != nil {
						return nil, err
					}
				}
			}
			if len(stack) > 0 && !o.children {
				v := o.text.String()
				if o.url != "" {
					v = o.url
				}
				if err := add(o.key, v); err != nil {
					return nil, err
				}
			}
		}
	}
	if roots != 1 || len(stack) != 0 {
		return nil, fmt.Errorf("%d root elements", roots)
	}
	return out, nil
}

// fakeDirectory is a Directory over a map, with an interface guard.
type fakeDirectory struct {
	mu      sync.Mutex
	devices map[string]Device
	lookups int
}

var _ Directory = (*fakeDirectory)(nil)

func newFakeDirectory(devs ...Device) *fakeDirectory {
	d := &fakeDirectory{devices: map[string]Device{}}
	for _, dev := range devs {
		d.devices[dev.MAC] = dev
	}
	return d
}

func (d *fakeDirectory) DeviceByMAC(_ context.Context, mac string) (Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	dev, ok := d.devices[mac]
	if !ok {
		return Device{}, fmt.Errorf("mac %s: %w", mac, ErrUnknownDevice)
	}
	return dev, nil
}

// fakeClock is a clock the tests move.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// challenge is one parsed WWW-Authenticate: Digest value.
type challenge map[string]string

// parseChallenges reads the WWW-Authenticate headers of a response with a
// parser of the tests' own.
func parseChallenges(t *testing.T, h http.Header) []challenge {
	t.Helper()
	var out []challenge
	for _, v := range h.Values("WWW-Authenticate") {
		rest, ok := strings.CutPrefix(v, "Digest ")
		require.True(t, ok, "challenge %q", v)
		c := challenge{}
		for rest != "" {
			rest = strings.TrimLeft(rest, " ,")
			name, after, ok := strings.Cut(rest, "=")
			require.True(t, ok, "challenge %q", v)
			var val string
			if strings.HasPrefix(after, `"`) {
				end := strings.IndexByte(after[1:], '"')
				require.GreaterOrEqual(t, end, 0, "challenge %q", v)
				val, rest = after[1:1+end], after[2+end:]
			} else {
				val, rest, _ = strings.Cut(after, ",")
			}
			c[strings.TrimSpace(name)] = strings.TrimSpace(val)
		}
		out = append(out, c)
	}
	return out
}

// digestClient fetches files the way a phone does: without credentials
// first, then answering the challenge (RFC 7616 §3.4) with the algorithm
// it prefers among those offered.
type digestClient struct {
	t          *testing.T
	user, pass string
	alg        string // "MD5" or "SHA-256"
	http       *http.Client
	nc         int
	cnonce     string
}

func newDigestClient(t *testing.T, user, pass, alg string) *digestClient {
	return &digestClient{t: t, user: user, pass: pass, alg: alg, http: &http.Client{}, cnonce: rand.Text()[:16]}
}

// fetch returns the final response and its body.
func (c *digestClient) fetch(url string) (*http.Response, string) {
	c.t.Helper()
	resp, body := c.do(url, "")
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, body
	}
	return c.answer(url, resp)
}

// answer retries url with credentials for the challenge in resp.
func (c *digestClient) answer(url string, resp *http.Response) (*http.Response, string) {
	c.t.Helper()
	return c.do(url, c.authorization(url, resp))
}

// authorization builds the Authorization value answering resp's
// challenge for url.
func (c *digestClient) authorization(url string, resp *http.Response) string {
	c.t.Helper()
	var ch challenge
	for _, cand := range parseChallenges(c.t, resp.Header) {
		if cand["algorithm"] == c.alg {
			ch = cand
		}
	}
	require.NotNil(c.t, ch, "no %s challenge in %v", c.alg, resp.Header.Values("WWW-Authenticate"))
	require.Equal(c.t, "auth", ch["qop"])
	c.nc++
	nc := fmt.Sprintf("%08x", c.nc)
	uri := url[strings.Index(url[len("http://"):], "/")+len("http://"):]
	var h func() hash.Hash = md5.New
	if c.alg == "SHA-256" {
		h = sha256.New
	}
	H := func(s string) string {
		x := h()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := H(c.user + ":" + ch["realm"] + ":" + c.pass)
	ha2 := H("GET:" + uri)
	response := H(ha1 + ":" + ch["nonce"] + ":" + nc + ":" + c.cnonce + ":auth:" + ha2)
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, qop=auth, nc=%s, cnonce="%s", response="%s"`,
		c.user, ch["realm"], ch["nonce"], uri, c.alg, nc, c.cnonce, response)
}

func (c *digestClient) do(url, authz string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(c.t, err)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp, string(body)
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
