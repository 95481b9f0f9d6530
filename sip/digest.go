package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Algorithm is a digest hash algorithm (RFC 7616 §3.3; RFC 8760 brings
// SHA-256 to SIP).
// Only the non-session variants are supported: "-sess" would need the
// cnonce in HA1, which no phone we serve uses.
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

// ParseAlgorithm maps an algorithm parameter value to an Algorithm. The
// names are case-insensitive (RFC 7616 §3.3), and an absent parameter
// (the empty string) means MD5 (RFC 2617 §3.2.1, RFC 3261 §22.4).
func ParseAlgorithm(s string) Algorithm {
	switch {
	case s == "", strings.EqualFold(s, "MD5"):
		return AlgorithmMD5
	case strings.EqualFold(s, "SHA-256"):
		return AlgorithmSHA256
	default:
		return AlgorithmUnknown
	}
}

// size is the length of the algorithm's binary digest; 0 if unknown.
func (a Algorithm) size() int {
	switch a {
	case AlgorithmMD5:
		return md5.Size
	case AlgorithmSHA256:
		return sha256.Size
	default:
		return 0
	}
}

// sum hashes msg into dst and returns the digest's bytes. md5.Sum and
// sha256.Sum256 keep their state on the stack, so this allocates nothing.
func (a Algorithm) sum(dst *[sha256.Size]byte, msg []byte) []byte {
	switch a {
	case AlgorithmMD5:
		s := md5.Sum(msg)
		return dst[:copy(dst[:], s[:])]
	case AlgorithmSHA256:
		*dst = sha256.Sum256(msg)
		return dst[:]
	default:
		return dst[:0]
	}
}

// hexSum hashes msg and writes the digest as lowercase hex into dst, the
// form in which HA1 and HA2 enter the next hash (RFC 7616 §3.4.1).
func (a Algorithm) hexSum(dst *[2 * sha256.Size]byte, msg []byte) []byte {
	var d [sha256.Size]byte
	return dst[:hex.Encode(dst[:], a.sum(&d, msg))]
}

var (
	// ErrBadCredentials is returned for an Authorization or
	// Proxy-Authorization value that cannot be used: malformed, too long,
	// or asking for an algorithm or qop this server does not offer.
	ErrBadCredentials = errors.New("malformed digest credentials")
	// ErrNotDigest is returned for credentials of another scheme, such as
	// Basic; it wraps ErrBadCredentials.
	ErrNotDigest = fmt.Errorf("%w: scheme is not Digest", ErrBadCredentials)
)

// maxCredentialsLen bounds an Authorization header value. Real clients
// send 250 to 600 bytes; the bound keeps a hostile header from costing
// more than a few microseconds.
const maxCredentialsLen = 4096

// Credentials are the parameters of a Digest Authorization or
// Proxy-Authorization header (RFC 7616 §3.4, RFC 3261 §22.4). Strings are
// unquoted and unescaped. NC is 0 exactly when QOP is empty (RFC 2069
// compatibility).
type Credentials struct {
	Username, Realm, Nonce, URI, Response, Opaque, CNonce, QOP string
	NC                                                         uint32
	Algorithm                                                  Algorithm
}

// Parameter bits, to refuse duplicates of the parameters we use.
const (
	paramUsername = 1 << iota
	paramRealm
	paramNonce
	paramURI
	paramResponse
	paramOpaque
	paramCNonce
	paramQOP
	paramNC
	paramAlgorithm
)

var paramNames = [...]string{
	"username", "realm", "nonce", "uri", "response",
	"opaque", "cnonce", "qop", "nc", "algorithm",
}

// ParseCredentials parses the value of an Authorization or
// Proxy-Authorization header carrying Digest credentials:
//
//	Digest username="111a", realm="pbx.example", nonce="...", uri="sip:pbx.example",
//	       response="...", algorithm=MD5, cnonce="...", qop=auth, nc=00000001
//
// The grammar is RFC 3261 §25.1 (credentials, dig-resp) read leniently
// where clients differ: parameter names are case-insensitive, any value may
// be a token or a quoted-string (some phones quote qop and nc), whitespace
// around "=" and "," and empty list elements (RFC 7230 §7) are allowed, and
// unknown parameters are ignored (RFC 7616 §3.4: auth-param). It is strict
// where the meaning would be ambiguous: a duplicated parameter, nc other
// than 8 lowercase hex digits, a control character, or a value longer than
// 4 KiB is an error.
//
// The caller still has to compare Realm with its own realm and URI with the
// Request-URI (RFC 2617 §3.2.2.5), and Nonce with what it issued.
func ParseCredentials(v string) (Credentials, error) {
	var c Credentials
	if len(v) > maxCredentialsLen {
		return Credentials{}, fmt.Errorf("%d bytes, limit %d: %w", len(v), maxCredentialsLen, ErrBadCredentials)
	}
	p := authParser{s: v}
	p.skipSpace()
	scheme := p.token()
	if !strings.EqualFold(scheme, "Digest") {
		return Credentials{}, ErrNotDigest
	}
	if !p.done() && !isSpace(p.s[p.i]) {
		return Credentials{}, fmt.Errorf("no space after scheme: %w", ErrBadCredentials)
	}

	var seen uint
	var nc, algorithm string
	for {
		p.skipSpace()
		if p.done() {
			break
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		name := p.token()
		if name == "" {
			return Credentials{}, fmt.Errorf("expected parameter name at offset %d: %w", p.i, ErrBadCredentials)
		}
		p.skipSpace()
		if p.done() || p.s[p.i] != '=' {
			return Credentials{}, fmt.Errorf("parameter %.32q has no value: %w", name, ErrBadCredentials)
		}
		p.i++
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return Credentials{}, fmt.Errorf("parameter %.32q: %w", name, err)
		}
		p.skipSpace()
		if !p.done() && p.s[p.i] != ',' {
			return Credentials{}, fmt.Errorf("expected comma after parameter %.32q: %w", name, ErrBadCredentials)
		}

		bit := uint(0)
		for i, known := range paramNames {
			// Names are ASCII tokens, so equal lengths are necessary.
			if len(name) == len(known) && strings.EqualFold(name, known) {
				bit = 1 << i
				break
			}
		}
		if bit == 0 {
			continue
		}
		if seen&bit != 0 {
			return Credentials{}, fmt.Errorf("duplicate parameter %.32q: %w", name, ErrBadCredentials)
		}
		seen |= bit
		switch bit {
		case paramUsername:
			c.Username = val
		case paramRealm:
			c.Realm = val
		case paramNonce:
			c.Nonce = val
		case paramURI:
			c.URI = val
		case paramResponse:
			c.Response = val
		case paramOpaque:
			c.Opaque = val
		case paramCNonce:
			c.CNonce = val
		case paramQOP:
			c.QOP = val
		case paramNC:
			nc = val
		case paramAlgorithm:
			algorithm = val
		}
	}

	// The first five are required (RFC 3261 §25.1 dig-resp, RFC 7616 §3.4).
	for i, name := range paramNames[:5] {
		if seen&(1<<i) == 0 {
			return Credentials{}, fmt.Errorf("missing parameter %q: %w", name, ErrBadCredentials)
		}
	}
	if seen&paramAlgorithm != 0 && algorithm == "" {
		return Credentials{}, fmt.Errorf("empty algorithm: %w", ErrBadCredentials)
	}
	if c.Algorithm = ParseAlgorithm(algorithm); c.Algorithm == AlgorithmUnknown {
		return Credentials{}, fmt.Errorf("unsupported algorithm %.32q: %w", algorithm, ErrBadCredentials)
	}

	if seen&paramQOP == 0 {
		// RFC 2069 style: nc and cnonce are not covered by the response,
		// so accepting them would let a replayed request pass as a new
		// one (RFC 2617 §3.2.2: they MUST NOT be sent without qop).
		if seen&(paramNC|paramCNonce) != 0 {
			return Credentials{}, fmt.Errorf("nc or cnonce without qop: %w", ErrBadCredentials)
		}
		return c, nil
	}
	// We only offer qop="auth"; auth-int would need the body hash.
	if !strings.EqualFold(c.QOP, "auth") {
		return Credentials{}, fmt.Errorf("unsupported qop %.32q: %w", c.QOP, ErrBadCredentials)
	}
	if seen&paramNC == 0 || seen&paramCNonce == 0 {
		return Credentials{}, fmt.Errorf("qop without nc and cnonce: %w", ErrBadCredentials)
	}
	n, ok := parseNC(nc)
	if !ok {
		return Credentials{}, fmt.Errorf("nc %.32q is not 8 lowercase hex digits: %w", nc, ErrBadCredentials)
	}
	// Counting starts at 1 (RFC 7616 §3.4); 0 is kept for "no qop".
	if n == 0 {
		return Credentials{}, fmt.Errorf("nc is zero: %w", ErrBadCredentials)
	}
	c.NC = n
	return c, nil
}

// parseNC reads nc-value = 8LHEX (RFC 3261 §25.1). Only lowercase is
// accepted because the response hashes nc as sent and Verify re-encodes
// it in lowercase.
func parseNC(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case '0' <= b && b <= '9':
			n = n<<4 | uint32(b-'0')
		case 'a' <= b && b <= 'f':
			n = n<<4 | uint32(b-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// authParser walks a header value; it never indexes past len(s).
type authParser struct {
	s string
	i int
}

func (p *authParser) done() bool { return p.i >= len(p.s) }

// Byte classes for the parser, in a table because it runs per byte of
// every Authorization header.
const (
	classSpace   = 1 << iota // SP, HTAB, and CR and LF as parts of folded LWS (RFC 3261 §7.3.1)
	classToken               // tchar (RFC 7230 §3.2.6), a superset of the RFC 3261 token characters
	classControl             // CTL other than HTAB: refused inside values, quoted or not
)

var byteClass = func() (t [256]uint8) {
	for b := range 0x20 {
		t[b] = classControl
	}
	t[0x7f] = classControl
	for _, b := range []byte(" \r\n") {
		t[b] |= classSpace
	}
	t['\t'] = classSpace
	for b := '0'; b <= '9'; b++ {
		t[b] = classToken
	}
	for b := 'a'; b <= 'z'; b++ {
		t[b] = classToken
		t[b-'a'+'A'] = classToken
	}
	for _, b := range []byte("!#$%&'*+-.^_`|~") {
		t[b] = classToken
	}
	return t
}()

func isSpace(b byte) bool   { return byteClass[b]&classSpace != 0 }
func isControl(b byte) bool { return byteClass[b]&classControl != 0 }

func (p *authParser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *authParser) token() string {
	start := p.i
	for p.i < len(p.s) && byteClass[p.s[p.i]]&classToken != 0 {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a quoted-string or an unquoted value. Unquoted values are
// read up to a comma or whitespace rather than as strict tokens: broken
// clients send uri=sip:host:5060 unquoted, and the response hashes the
// value as sent anyway.
func (p *authParser) value() (string, error) {
	if p.done() {
		return "", fmt.Errorf("missing value: %w", ErrBadCredentials)
	}
	if p.s[p.i] == '"' {
		return p.quoted()
	}
	start := p.i
	for p.i < len(p.s) {
		b := p.s[p.i]
		if b == ',' || isSpace(b) {
			break
		}
		if b <= ' ' || b >= 0x7f || b == '"' || b == '\\' {
			return "", fmt.Errorf("byte %#02x in unquoted value: %w", b, ErrBadCredentials)
		}
		p.i++
	}
	if p.i == start {
		return "", fmt.Errorf("missing value: %w", ErrBadCredentials)
	}
	return p.s[start:p.i], nil
}

// quoted reads a quoted-string (RFC 3261 §25.1, RFC 7230 §3.2.6) starting
// at the opening quote. It returns a substring of the input unless there is
// a quoted-pair to undo. Control characters other than HTAB are refused,
// quoted or not: no client needs them, and they would let a logged or
// echoed value forge header lines.
func (p *authParser) quoted() (string, error) {
	start := p.i + 1
	escaped := false
	for i := start; i < len(p.s); i++ {
		b := p.s[i]
		switch {
		case b == '"':
			p.i = i + 1
			if escaped {
				return unescape(p.s[start:i]), nil
			}
			return p.s[start:i], nil
		case b == '\\':
			i++
			if i == len(p.s) {
				return "", fmt.Errorf("unterminated quoted-string: %w", ErrBadCredentials)
			}
			if isControl(p.s[i]) {
				return "", fmt.Errorf("escaped control byte %#02x: %w", p.s[i], ErrBadCredentials)
			}
			escaped = true
		case isControl(b):
			return "", fmt.Errorf("control byte %#02x in quoted-string: %w", b, ErrBadCredentials)
		}
	}
	return "", fmt.Errorf("unterminated quoted-string: %w", ErrBadCredentials)
}

// unescape undoes quoted-pairs in s, which quoted has checked: every
// backslash is followed by the byte it escapes.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Verify reports whether the response in c is the one a client knowing
// password computes for a request with this method, per RFC 7616 §3.4.1
// (RFC 2617 §3.2.2.1 for MD5):
//
//	HA1      = H(username ":" realm ":" password)
//	HA2      = H(method ":" uri)
//	response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)   with qop=auth
//	response = H(HA1 ":" nonce ":" HA2)                             without qop (RFC 2069)
//
// Credentials without qop are accepted here because some old phones send
// them; a caller that wants to refuse them checks QOP. The comparison is
// constant-time. Verify says nothing about the nonce: check it with
// Nonces.Check after Verify succeeds.
func (c Credentials) Verify(method, password string) bool {
	size := c.Algorithm.size()
	var want [sha256.Size]byte
	if size == 0 || !decodeHex(want[:size], c.Response) {
		return false
	}
	hasQOP := c.QOP != ""
	if hasQOP != (c.NC != 0) {
		// Parsed credentials never get here; hand-built ones might, and
		// an nc not covered by the hash must not reach Nonces.Check.
		return false
	}

	// Typical inputs fit in scratch, which stays on the stack; longer
	// ones make append move to the heap, which is correct, only slower.
	var scratch [512]byte
	var ha1, ha2 [2 * sha256.Size]byte
	var got [sha256.Size]byte

	msg := append(scratch[:0], c.Username...)
	msg = append(msg, ':')
	msg = append(msg, c.Realm...)
	msg = append(msg, ':')
	msg = append(msg, password...)
	h1 := c.Algorithm.hexSum(&ha1, msg)

	msg = append(msg[:0], method...)
	msg = append(msg, ':')
	msg = append(msg, c.URI...)
	h2 := c.Algorithm.hexSum(&ha2, msg)

	msg = append(msg[:0], h1...)
	msg = append(msg, ':')
	msg = append(msg, c.Nonce...)
	msg = append(msg, ':')
	if hasQOP {
		msg = appendNC(msg, c.NC)
		msg = append(msg, ':')
		msg = append(msg, c.CNonce...)
		msg = append(msg, ':')
		msg = append(msg, c.QOP...)
		msg = append(msg, ':')
	}
	msg = append(msg, h2...)
	sum := c.Algorithm.sum(&got, msg)
	return subtle.ConstantTimeCompare(sum, want[:size]) == 1
}

// appendNC appends n as 8 lowercase hex digits (nc-value, RFC 3261 §25.1).
func appendNC(dst []byte, n uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[n>>uint(shift)&0xf])
	}
	return dst
}

// decodeHex decodes s, in either case, into exactly len(dst) bytes. It
// works on the string directly to avoid a []byte conversion per request.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// HA1 returns H(username:realm:password) in lowercase hex (RFC 7616
// §3.4.2), the form a credential store can keep instead of the password.
// It returns "" for AlgorithmUnknown.
func HA1(alg Algorithm, username, realm, password string) string {
	if alg.size() == 0 {
		return ""
	}
	msg := make([]byte, 0, len(username)+len(realm)+len(password)+2)
	msg = append(msg, username...)
	msg = append(msg, ':')
	msg = append(msg, realm...)
	msg = append(msg, ':')
	msg = append(msg, password...)
	var out [2 * sha256.Size]byte
	return string(alg.hexSum(&out, msg))
}

// Challenge returns the value of a WWW-Authenticate or Proxy-Authenticate
// header (RFC 7616 §3.3, RFC 3261 §22.4) offering qop="auth":
//
//	Digest realm="pbx.example", nonce="...", opaque="...", algorithm=MD5, qop="auth"
//
// with ", stale=true" appended when stale: the client's credentials were
// right but the nonce is no longer usable, so it retries without asking
// its user (RFC 7616 §3.3). An empty opaque is left out. AlgorithmUnknown
// is written as MD5, the default of RFC 2617. To offer several algorithms,
// send one header per algorithm, the preferred first (RFC 8760 §2.4).
//
// Values are quoted with '"' and '\' escaped; control characters cannot be
// quoted (RFC 3261 §25.1 quoted-pair) and are dropped, so realms must not
// contain them. Some clients do not undo escapes either: a realm is best
// kept to letters, digits, '.', '-' and '@'.
func Challenge(realm, nonce, opaque string, alg Algorithm, stale bool) string {
	if alg != AlgorithmSHA256 {
		alg = AlgorithmMD5
	}
	var b strings.Builder
	b.Grow(len(`Digest realm="", nonce="", opaque="", algorithm=SHA-256, qop="auth", stale=true`) +
		2*(len(realm)+len(nonce)+len(opaque)))
	b.WriteString("Digest realm=")
	writeQuoted(&b, realm)
	b.WriteString(", nonce=")
	writeQuoted(&b, nonce)
	if opaque != "" {
		b.WriteString(", opaque=")
		writeQuoted(&b, opaque)
	}
	b.WriteString(", algorithm=")
	b.WriteString(alg.String())
	b.WriteString(`, qop="auth"`)
	if stale {
		b.WriteString(", stale=true")
	}
	return b.String()
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case isControl(c):
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
