package provision

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want credentials
		err  bool
	}{
		{
			name: "typical phone",
			in:   `Digest username="1001a", realm="switchboard provisioning", nonce="abc", uri="/provision/805ec0112233.cfg", algorithm=MD5, response="0123abcd", qop=auth, nc=00000001, cnonce="xyz"`,
			want: credentials{username: "1001a", realm: "switchboard provisioning", nonce: "abc", uri: "/provision/805ec0112233.cfg",
				response: "0123abcd", qop: "auth", nc: "00000001", ncValue: 1, cnonce: "xyz", algorithm: AlgorithmMD5},
		},
		{
			name: "lenient: case, quotes, spaces, empty elements, unknown parameters",
			in:   `digest  USERNAME = "a\"b" ,, Realm=r, Nonce="n", URI="/x", Response="R", QOP="auth", NC="0000000a", CNonce=c, Algorithm=sha-256, opaque="o", charset=UTF-8,`,
			want: credentials{username: `a"b`, realm: "r", nonce: "n", uri: "/x", response: "R", qop: "auth", nc: "0000000a", ncValue: 10,
				cnonce: "c", algorithm: AlgorithmSHA256},
		},
		{
			name: "no algorithm means MD5",
			in:   `Digest username="u", nonce="n", uri="/x", response="r", qop=auth, nc=00000001, cnonce=c`,
			want: credentials{username: "u", nonce: "n", uri: "/x", response: "r", qop: "auth", nc: "00000001", ncValue: 1, cnonce: "c", algorithm: AlgorithmMD5},
		},
		{name: "basic", in: `Basic dTpw`, err: true},
		{name: "no space after scheme", in: `Digest,username="u"`, err: true},
		{name: "duplicate", in: `Digest username="u", username="v", nonce="n", uri="/x", response="r"`, err: true},
		{name: "missing response", in: `Digest username="u", nonce="n", uri="/x"`, err: true},
		{name: "unknown algorithm", in: `Digest username="u", nonce="n", uri="/x", response="r", algorithm=SHA-512-256`, err: true},
		{name: "nc not 8 hex digits", in: `Digest username="u", nonce="n", uri="/x", response="r", qop=auth, nc=1`, err: true},
		{name: "userhash", in: `Digest username="u", nonce="n", uri="/x", response="r", userhash=true`, err: true},
		{name: "unterminated", in: `Digest username="u`, err: true},
		{name: "control character", in: "Digest username=\"u\x01\", nonce=\"n\", uri=\"/x\", response=\"r\"", err: true},
		{name: "no value", in: `Digest username=, nonce="n"`, err: true},
		{name: "too long", in: `Digest username="` + strings.Repeat("u", maxCredentialsLen) + `"`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCredentials(tc.in)
			if tc.err {
				require.Error(t, err)
				require.True(t, errors.Is(err, errBadCredentials), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestDigestResponse pins the computation to RFC 7616 §3.9.1's example
// (user Mufasa, password "Circle of Life"), for both algorithms.
func TestDigestResponse(t *testing.T) {
	const (
		realm  = "http-auth@example.org"
		nonce  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
		uri    = "/dir/index.html"
	)
	require.Equal(t, "8ca523f5e9506fed4657c9700eebdbec",
		digestResponse(AlgorithmMD5, "Mufasa", realm, "Circle of Life", "GET", uri, nonce, "00000001", cnonce, "auth"))
	require.Equal(t, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
		digestResponse(AlgorithmSHA256, "Mufasa", realm, "Circle of Life", "GET", uri, nonce, "00000001", cnonce, "auth"))
}

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		`Digest username="1001a", realm="r", nonce="n", uri="/p/x.cfg", algorithm=MD5, response="00", qop=auth, nc=00000001, cnonce="c"`,
		`Digest username="a\"b", nc="0000000a"`,
		`Basic x`, `Digest `, `Digest a="\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCredentials(s)
		if err != nil {
			return
		}
		if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" || c.algorithm == AlgorithmUnknown {
			t.Fatalf("accepted incomplete credentials %+v from %q", c, s)
		}
	})
}

func TestNonces(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n := nonceMaker{key: []byte("k"), lifetime: time.Minute}
	a, b := n.issue(now), n.issue(now)
	require.NotEqual(t, a, b)
	require.Equal(t, nonceFresh, n.check(a, now.Add(time.Minute)))
	require.Equal(t, nonceExpired, n.check(a, now.Add(time.Minute+time.Nanosecond)))
	require.Equal(t, nonceUnknown, n.check(a, now.Add(-time.Hour)), "issued in the future")
	require.Equal(t, nonceUnknown, nonceMaker{key: []byte("other"), lifetime: time.Minute}.check(a, now))
	tampered := []byte(a)
	tampered[3] ^= 1
	require.Equal(t, nonceUnknown, n.check(string(tampered), now))
	for _, bad := range []string{"", "x", a + "A", a[:len(a)-1], strings.Repeat("!", len(a))} {
		require.Equal(t, nonceUnknown, n.check(bad, now), "%q", bad)
	}
}

func TestReplayTable(t *testing.T) {
	r := newReplayTable(2)
	require.True(t, r.fresh("a", 1))
	require.False(t, r.fresh("a", 1))
	require.True(t, r.fresh("a", 2))
	require.False(t, r.fresh("a", 1))
	require.True(t, r.fresh("b", 1))
	require.True(t, r.fresh("c", 1)) // forgets a
	require.True(t, r.fresh("a", 1))
	require.Len(t, r.seen, 2, "bounded")
}
