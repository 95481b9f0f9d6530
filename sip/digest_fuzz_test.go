package sip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// formatCredentials writes c back as a header value, every string quoted,
// for the round-trip property of FuzzParseCredentials.
func formatCredentials(c Credentials) string {
	var b strings.Builder
	b.WriteString("Digest ")
	quoted := func(name, v string) {
		b.WriteString(name)
		b.WriteString(`="`)
		for i := 0; i < len(v); i++ {
			if v[i] == '"' || v[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(v[i])
		}
		b.WriteString(`", `)
	}
	quoted("username", c.Username)
	quoted("realm", c.Realm)
	quoted("nonce", c.Nonce)
	quoted("uri", c.URI)
	quoted("response", c.Response)
	quoted("opaque", c.Opaque)
	if c.QOP != "" {
		quoted("cnonce", c.CNonce)
		b.WriteString("qop=" + c.QOP + ", nc=" + string(appendNC(nil, c.NC)) + ", ")
	}
	b.WriteString("algorithm=" + c.Algorithm.String())
	return b.String()
}

func FuzzParseCredentials(f *testing.F) {
	for _, tt := range clientHeaders {
		f.Add(tt.header)
	}
	for _, s := range []string{
		// RFC 2617 §3.5 and RFC 7616 §3.9.1.
		`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
		`Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		// username* and userhash, shaped like RFC 7616 §3.9.2; both are
		// ignored, so the username is missing.
		`Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org", uri="/doe.json", qop=auth, algorithm=SHA-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", response="ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", userhash=false`,
		// Proxy-Authorization for an INVITE, with a Request-URI carrying parameters.
		`Digest username="111a", realm="pbx.example.com", nonce="Wg3n0nce", uri="sip:112@pbx.example.com;user=phone", response="cd6f1cb951731702c072a5be84ef540e", cnonce="0a4f113b", qop=auth, nc=00000001, algorithm=MD5`,
		// Broken clients: unquoted uri, quoted algorithm, UTF-8 user name.
		`Digest username="Jäsøn", realm="pbx", nonce="n", uri=sip:pbx:5060, response="x", algorithm="MD5"`,
		`Digest username="a\"b", realm="\\", nonce="", uri="", response=""`,
		"Digest username=\"u\"\r\n\t,realm=\"r\"",
		`Basic dXNlcjpwYXNz`,
		`Digest`,
		`Digest ,,,,`,
		`Digest username="unterminated`,
		`Digest username=\`,
		`Digest a=b=c`,
		"",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCredentials(s)
		if err != nil {
			if !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("error %v does not wrap ErrBadCredentials", err)
			}
			return
		}
		if len(s) > 4096 {
			t.Fatalf("accepted %d bytes", len(s))
		}
		if c.Algorithm == AlgorithmUnknown {
			t.Fatal("accepted an unknown algorithm")
		}
		if (c.QOP == "") != (c.NC == 0) {
			t.Fatalf("QOP %q with NC %d", c.QOP, c.NC)
		}
		if c.QOP != "" && !strings.EqualFold(c.QOP, "auth") {
			t.Fatalf("accepted qop %q", c.QOP)
		}
		for _, v := range []string{c.Username, c.Realm, c.Nonce, c.URI, c.Response, c.Opaque, c.CNonce, c.QOP} {
			if strings.IndexFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) >= 0 {
				t.Fatalf("control character in %q", v)
			}
		}

		// Writing the credentials back and parsing them again gives the
		// same credentials.
		if h := formatCredentials(c); len(h) <= 4096 {
			again, err := ParseCredentials(h)
			if err != nil {
				t.Fatalf("reparse %q: %v", h, err)
			}
			if again != c {
				t.Fatalf("reparse of %q =\n%+v\nwant\n%+v", h, again, c)
			}
		}

		// Verify agrees with the plain computation, on the response sent
		// and on the right one.
		want := referenceResponse(c, "REGISTER", "pw")
		if got := c.Verify("REGISTER", "pw"); got != strings.EqualFold(c.Response, want) {
			t.Fatalf("Verify = %v for response %q, reference %q", got, c.Response, want)
		}
		c.Response = want
		if !c.Verify("REGISTER", "pw") {
			t.Fatalf("Verify = false for the reference response of %+v", c)
		}
	})
}

func FuzzNoncesCheck(f *testing.F) {
	// A fixed instance, clock and secret make the issued nonces the same
	// in every fuzzing worker, so the seeds below are valid in each.
	n, _ := newTestNonces(time.Minute, 8)
	n.instance = [nonceInstanceLen]byte{1, 2, 3, 4, 5, 6, 7, 8}
	issued := map[string]bool{}
	for i := range 4 {
		nonce := n.Issue()
		issued[nonce] = true
		f.Add(nonce, uint32(i))
		f.Add(nonce, uint32(i+1))
		f.Add(nonce[:len(nonce)-1]+"B", uint32(1))
		f.Add(strings.ToUpper(nonce), uint32(1))
	}
	other := NewNonces([]byte("fedcba9876543210fedcba9876543210"), time.Minute, 8, nil)
	for _, s := range []string{
		"", "x", "=", strings.Repeat("A", nonceTextLen), strings.Repeat("/", nonceTextLen),
		strings.Repeat("A", nonceTextLen+2), strings.Repeat("A", 10000), other.Issue(),
		"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
	} {
		f.Add(s, uint32(1))
		f.Add(s, uint32(0))
	}

	f.Fuzz(func(t *testing.T, nonce string, nc uint32) {
		peek := n.Peek(nonce)
		st := n.Check(nonce, nc)
		if st == NonceUnknown || peek == NonceUnknown {
			t.Fatalf("Check = %v, Peek = %v", st, peek)
		}
		if !issued[nonce] {
			if st != NonceForeign || peek != NonceForeign {
				t.Fatalf("nonce %q never issued: Check = %v, Peek = %v", nonce, st, peek)
			}
			return
		}
		// The clock stands still and no slot is reused.
		if peek != NonceValid || (st != NonceValid && st != NonceReplay) {
			t.Fatalf("issued nonce: Check = %v, Peek = %v", st, peek)
		}
	})
}
