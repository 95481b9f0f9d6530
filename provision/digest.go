package provision

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Algorithm is an HTTP digest hash algorithm (RFC 7616 §3.3). Only the
// non-session variants are offered: "-sess" adds nothing for a GET of a
// file and no phone needs it.
type Algorithm uint8

const (
	AlgorithmUnknown Algorithm = iota
	AlgorithmMD5
	AlgorithmSHA256
)

func (a Algorithm) String() string {
	switch a {
	case AlgorithmMD5:
		return "MD5"
	case AlgorithmSHA256:
		return "SHA-256"
	default:
		return "Unknown"
	}
}

// parseAlgorithm reads an algorithm parameter; absent means MD5 (RFC 7616
// §3.4.1, compatible with RFC 2617).
func parseAlgorithm(s string) Algorithm {
	switch {
	case s == "", strings.EqualFold(s, "MD5"):
		return AlgorithmMD5
	case strings.EqualFold(s, "SHA-256"):
		return AlgorithmSHA256
	}
	return AlgorithmUnknown
}

func (a Algorithm) newHash() hash.Hash {
	if a == AlgorithmSHA256 {
		return sha256.New()
	}
	return md5.New()
}

// hexHash is H(s) as lowercase hex (RFC 7616 §3.4.1).
func (a Algorithm) hexHash(parts ...string) string {
	h := a.newHash()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestResponse is the expected response for qop=auth (RFC 7616 §3.4.1):
// KD(H(A1), nonce:nc:cnonce:qop:H(A2)) with A1 = username:realm:password
// and A2 = method:uri.
func digestResponse(a Algorithm, username, realm, password, method, uri, nonce, nc, cnonce, qop string) string {
	ha1 := a.hexHash(username, realm, password)
	ha2 := a.hexHash(method, uri)
	return a.hexHash(ha1, nonce, nc, cnonce, qop, ha2)
}

// errBadCredentials is returned for an Authorization value that cannot be
// used: not Digest, malformed, duplicated parameters, or too long.
var errBadCredentials = errors.New("malformed digest credentials")

// maxCredentialsLen bounds an Authorization value; real ones are well
// under 1 KiB.
const maxCredentialsLen = 4096

// credentials are the parameters of a Digest Authorization header (RFC
// 7616 §3.4), unquoted.
type credentials struct {
	username, realm, nonce, uri, response, cnonce, qop, nc string
	ncValue                                                uint32
	algorithm                                              Algorithm
}

// parseCredentials parses an Authorization header value carrying Digest
// credentials. It is lenient where clients differ (parameter names in any
// case, quoted or token values, spaces around "=" and ",", empty list
// elements, unknown parameters ignored) and strict where the meaning would
// be ambiguous (a duplicated parameter, a control character, nc other than
// 8 hex digits, userhash, which is not offered).
func parseCredentials(v string) (credentials, error) {
	var c credentials
	if len(v) > maxCredentialsLen {
		return c, fmt.Errorf("%d bytes: %w", len(v), errBadCredentials)
	}
	p := paramParser{s: v}
	p.space()
	if scheme := p.token(); !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("scheme %.16q: %w", scheme, errBadCredentials)
	}
	if !p.done() && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		return c, fmt.Errorf("no space after scheme: %w", errBadCredentials)
	}
	seen := map[string]bool{}
	var algorithm string
	for {
		p.space()
		if p.done() {
			break
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		name := strings.ToLower(p.token())
		if name == "" {
			return c, fmt.Errorf("parameter name expected at %d: %w", p.i, errBadCredentials)
		}
		p.space()
		if p.done() || p.s[p.i] != '=' {
			return c, fmt.Errorf("parameter %.32q without value: %w", name, errBadCredentials)
		}
		p.i++
		p.space()
		val, err := p.value()
		if err != nil {
			return c, fmt.Errorf("parameter %.32q: %w", name, err)
		}
		p.space()
		if !p.done() && p.s[p.i] != ',' {
			return c, fmt.Errorf("comma expected after %.32q: %w", name, errBadCredentials)
		}
		var dst *string
		switch name {
		case "username":
			dst = &c.username
		case "realm":
			dst = &c.realm
		case "nonce":
			dst = &c.nonce
		case "uri":
			dst = &c.uri
		case "response":
			dst = &c.response
		case "cnonce":
			dst = &c.cnonce
		case "qop":
			dst = &c.qop
		case "nc":
			dst = &c.nc
		case "algorithm":
			dst = &algorithm
		case "userhash":
			if strings.EqualFold(val, "true") {
				return c, fmt.Errorf("userhash is not offered: %w", errBadCredentials)
			}
			continue
		default:
			continue // opaque, charset and extensions
		}
		if seen[name] {
			return c, fmt.Errorf("parameter %q repeated: %w", name, errBadCredentials)
		}
		seen[name] = true
		*dst = val
	}
	if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" {
		return c, fmt.Errorf("username, nonce, uri and response are required: %w", errBadCredentials)
	}
	if c.algorithm = parseAlgorithm(algorithm); c.algorithm == AlgorithmUnknown {
		return c, fmt.Errorf("algorithm %.32q: %w", algorithm, errBadCredentials)
	}
	if c.qop != "" || c.nc != "" {
		n, err := strconv.ParseUint(c.nc, 16, 32)
		if len(c.nc) != 8 || err != nil {
			return c, fmt.Errorf("nc %.16q: %w", c.nc, errBadCredentials)
		}
		c.ncValue = uint32(n)
	}
	return c, nil
}

// paramParser reads the auth-param list of RFC 7235 §2.1.
type paramParser struct {
	s string
	i int
}

func (p *paramParser) done() bool { return p.i >= len(p.s) }

func (p *paramParser) space() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// token reads an RFC 7230 token.
func (p *paramParser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted-string, unescaping quoted pairs.
func (p *paramParser) value() (string, error) {
	if p.done() {
		return "", errBadCredentials
	}
	if p.s[p.i] != '"' {
		t := p.token()
		if t == "" {
			return "", fmt.Errorf("value expected at %d: %w", p.i, errBadCredentials)
		}
		return t, nil
	}
	p.i++
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			p.i++
			if p.done() {
				return "", fmt.Errorf("unfinished escape: %w", errBadCredentials)
			}
			c = p.s[p.i]
			fallthrough
		default:
			if c < 0x20 && c != '\t' || c == 0x7f {
				return "", fmt.Errorf("control character: %w", errBadCredentials)
			}
			b.WriteByte(c)
			p.i++
		}
	}
	return "", fmt.Errorf("unterminated quoted string: %w", errBadCredentials)
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
