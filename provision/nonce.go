package provision

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"
)

// Nonces are signed rather than stored: a nonce is its issue time, random
// bytes and an HMAC over both, so checking one needs only the key, and
// engines sharing the key accept each other's nonces. A nonce this engine
// cannot verify gets a fresh challenge, never a failure count.

const (
	nonceTimeLen   = 8
	nonceRandomLen = 12
	nonceMACLen    = 16
	nonceLen       = nonceTimeLen + nonceRandomLen + nonceMACLen
	// nonceSkew is how far in the future an issue time may be, for
	// engines whose clocks differ a little.
	nonceSkew = 5 * time.Second
)

type nonceState uint8

const (
	nonceUnknown nonceState = iota // not ours: bad encoding or signature
	nonceFresh
	nonceExpired
)

type nonceMaker struct {
	key      []byte
	lifetime time.Duration
}

func (n nonceMaker) sign(msg []byte) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("switchboard provisioning nonce\x00"))
	m.Write(msg)
	return m.Sum(nil)[:nonceMACLen]
}

// issue returns a new nonce: base64url(time | random | HMAC).
func (n nonceMaker) issue(now time.Time) string {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:nonceTimeLen], uint64(now.UnixNano()))
	rand.Read(b[nonceTimeLen : nonceTimeLen+nonceRandomLen]) // never fails (Go 1.24+)
	copy(b[nonceTimeLen+nonceRandomLen:], n.sign(b[:nonceTimeLen+nonceRandomLen]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// check says whether nonce was issued with our key and is still young.
func (n nonceMaker) check(nonce string, now time.Time) nonceState {
	if base64.RawURLEncoding.DecodedLen(len(nonce)) != nonceLen {
		return nonceUnknown
	}
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return nonceUnknown
	}
	if !hmac.Equal(b[nonceTimeLen+nonceRandomLen:], n.sign(b[:nonceTimeLen+nonceRandomLen])) {
		return nonceUnknown
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:nonceTimeLen])))
	if issued.After(now.Add(nonceSkew)) {
		return nonceUnknown
	}
	if now.Sub(issued) > n.lifetime {
		return nonceExpired
	}
	return nonceFresh
}

// replayTable remembers the highest nonce count accepted for recent nonces,
// so that a request replayed with the same nonce and count gets a fresh
// challenge. It is a fixed-size ring: when it is full the oldest nonce is
// forgotten, and a replay of that nonce is then only stopped by the nonce's
// expiry.
type replayTable struct {
	mu   sync.Mutex // guards seen, ring, next
	seen map[string]uint32
	ring []string
	next int
}

func newReplayTable(size int) *replayTable {
	return &replayTable{seen: make(map[string]uint32, size), ring: make([]string, size)}
}

// fresh records nc for nonce and reports whether it is higher than any
// count accepted before for that nonce.
func (t *replayTable) fresh(nonce string, nc uint32) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.seen[nonce]; ok {
		if nc <= last {
			return false
		}
		t.seen[nonce] = nc
		return true
	}
	if old := t.ring[t.next]; old != "" {
		delete(t.seen, old)
	}
	t.ring[t.next] = nonce
	t.next = (t.next + 1) % len(t.ring)
	t.seen[nonce] = nc
	return true
}
