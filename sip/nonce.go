package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// NonceState is what Nonces knows about a nonce presented by a client.
type NonceState uint8

const (
	// NonceUnknown is the zero value; Check and Peek never return it.
	NonceUnknown NonceState = iota
	// NonceValid: issued here, live, and (for Check) its nc was recorded.
	NonceValid
	// NonceStale: authentic but no longer usable here: expired, its slot
	// taken by a newer nonce, or issued by another engine or an earlier
	// run sharing the secret. Answer with a fresh challenge and
	// stale=true (RFC 7616 §3.3) so the phone retries silently.
	NonceStale
	// NonceReplay: nc is not above the last one accepted for this nonce
	// (RFC 7616 §3.4, §5.5), or a nonce used without qop came back.
	NonceReplay
	// NonceForeign: malformed or not authenticated by our secret. This
	// engine did not issue it; answer with a fresh challenge and do not
	// count it as an authentication failure (SPEC §8a).
	NonceForeign
)

func (s NonceState) String() string {
	switch s {
	case NonceValid:
		return "valid"
	case NonceStale:
		return "stale"
	case NonceReplay:
		return "replay"
	case NonceForeign:
		return "foreign"
	default:
		return "unknown"
	}
}

// Layout of a nonce before encoding: who issued it, when, its issue
// counter, and a MAC over those three. All of it is needed to check a
// nonce, so no per-nonce state is kept beyond one slot word.
const (
	nonceInstanceLen = 8
	nonceSignedLen   = nonceInstanceLen + 8 + 8 // instance, issue time (unix ms), counter
	nonceMACLen      = 16                       // HMAC-SHA256 truncated to 128 bits (RFC 2104 §5)
	nonceRawLen      = nonceSignedLen + nonceMACLen
)

// nonceEncoding is unpadded base64url: nothing in it needs quoting or
// escaping in a header. Strict refuses non-zero trailing bits, so each
// nonce has exactly one spelling.
var nonceEncoding = base64.RawURLEncoding.Strict()

var nonceTextLen = nonceEncoding.EncodedLen(nonceRawLen)

// Default parameters for NewNonces arguments that are not positive.
const (
	defaultNonceLifetime = 5 * time.Minute
	defaultNonceSlots    = 1 << 16
)

// Nonces issues and checks digest nonces (RFC 7616 §3.3, §5.4-5.5) in fixed
// memory. A nonce is self-describing: it carries a random tag of the
// Nonces that issued it, its issue time and a 64-bit issue counter,
// authenticated with HMAC-SHA256 under the secret.
// Replay protection lives in a ring of slots, one uint64 each: nonce
// number c owns slot c % slots until nonce c+slots is issued, and the slot
// holds the low 32 bits of c and the highest nc accepted so far. So a nonce
// stays usable for at most the lifetime and at most the next slots issues;
// size slots to at least the peak challenge rate times the lifetime (for
// example 2,000/s × 300 s = 600,000 slots, 4.8 MB). A flood of
// unauthenticated requests that each get a challenge makes nonces go stale
// sooner; throttling per source keeps that in check.
//
// The secret should be 32 random bytes. Engines that share a secret
// recognise each other's nonces as authentic, and so does this engine after
// a restart: but the replay state is each run's own, so such a nonce is
// answered NonceStale (a silent retry for the phone), never NonceValid,
// which would let a request captured at one engine be replayed at another.
// With different secrets the answer is NonceForeign.
//
// All methods are safe for concurrent use and take no mutex.
type Nonces struct {
	instance [nonceInstanceLen]byte // random per NewNonces: tells this run's nonces apart
	lifetime time.Duration
	now      func() time.Time
	counter  atomic.Uint64
	slots    []atomic.Uint64
	macs     sync.Pool // *nonceScratch: HMAC state and buffers, so checks do not allocate
}

// nonceScratch is pooled per-call state. Its buffers live with it on the
// heap because slices passed to hash.Hash methods escape.
type nonceScratch struct {
	mac  hash.Hash
	sum  [sha256.Size]byte
	raw  [nonceRawLen]byte
	text [64]byte
}

// NewNonces returns a Nonces that signs with secret, considers a nonce
// stale after lifetime, tracks the last slots nonces issued, and reads the
// clock from now. A lifetime or slots that is not positive gets a default
// (5 minutes, 65,536 slots), a nil now means time.Now, and an empty
// secret is replaced by a random one (whose nonces then die with this
// Nonces). The secret is copied.
func NewNonces(secret []byte, lifetime time.Duration, slots int, now func() time.Time) *Nonces {
	if lifetime <= 0 {
		lifetime = defaultNonceLifetime
	}
	if slots <= 0 {
		slots = defaultNonceSlots
	}
	if now == nil {
		now = time.Now
	}
	key := make([]byte, len(secret))
	copy(key, secret)
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand, Go 1.24)
	}
	n := &Nonces{
		lifetime: lifetime,
		now:      now,
		slots:    make([]atomic.Uint64, slots),
	}
	rand.Read(n.instance[:])
	n.macs.New = func() any {
		return &nonceScratch{mac: hmac.New(sha256.New, key)}
	}
	return n
}

// sign computes the MAC of s.raw's signed part into s.sum.
func (s *nonceScratch) sign() []byte {
	s.mac.Reset()
	s.mac.Write(s.raw[:nonceSignedLen])
	return s.mac.Sum(s.sum[:0])[:nonceMACLen]
}

// slotWord packs a slot: the low 32 bits of the counter above the last
// nc accepted. Two counters sharing a slot and those bits are at least
// 2^32 issues apart, far beyond any lifetime.
func slotWord(counter uint64, nc uint32) uint64 {
	return uint64(uint32(counter))<<32 | uint64(nc)
}

// Issue returns a fresh nonce and claims its slot, which forgets the nonce
// issued slots issues ago.
func (n *Nonces) Issue() string {
	c := n.counter.Add(1)
	// Two Issue calls slots apart may store out of order; the loser's
	// nonce is then merely stale, never accepted with another's state.
	n.slots[c%uint64(len(n.slots))].Store(slotWord(c, 0))

	s := n.macs.Get().(*nonceScratch)
	defer n.macs.Put(s)
	copy(s.raw[:nonceInstanceLen], n.instance[:])
	binary.BigEndian.PutUint64(s.raw[nonceInstanceLen:], uint64(n.now().UnixMilli()))
	binary.BigEndian.PutUint64(s.raw[nonceInstanceLen+8:], c)
	copy(s.raw[nonceSignedLen:], s.sign())
	nonceEncoding.Encode(s.text[:], s.raw[:])
	return string(s.text[:nonceTextLen])
}

// Check reports whether nonce may be used with nonce count nc and, if it
// is NonceValid, records nc so that the same or a lower one is refused
// from then on (RFC 7616 §3.4). Pass nc = 0 for credentials without qop:
// such a nonce is good for exactly one request, since nothing else tells a
// replay from a retry.
//
// Call Check only after the response verified: a check records the nc,
// so checking unverified credentials would let anyone who saw a nonce use
// it up. Use Peek to classify a nonce before verifying.
func (n *Nonces) Check(nonce string, nc uint32) NonceState {
	slot, word, state := n.lookup(nonce)
	if state != NonceValid {
		return state
	}
	next := nc
	if nc == 0 {
		// Used once without qop: no nc is above this, so every later
		// request with this nonce, with or without qop, is a replay.
		next = math.MaxUint32
	}
	for {
		last := uint32(word)
		if (nc == 0 && last != 0) || (nc != 0 && nc <= last) {
			return NonceReplay
		}
		if slot.CompareAndSwap(word, word>>32<<32|uint64(next)) {
			return NonceValid
		}
		// Another request with this nonce got in first, or the slot was
		// taken by a newer nonce; look again.
		cur := slot.Load()
		if cur>>32 != word>>32 {
			return NonceStale
		}
		word = cur
	}
}

// Peek classifies nonce as Check does (authenticity, age, slot) but
// records nothing and ignores nc, so it is safe before the response is
// verified: NonceForeign and NonceStale answer a request without looking
// up the user at all.
func (n *Nonces) Peek(nonce string) NonceState {
	_, _, state := n.lookup(nonce)
	return state
}

// lookup authenticates nonce and returns its slot and the slot's current
// word when NonceValid.
func (n *Nonces) lookup(nonce string) (*atomic.Uint64, uint64, NonceState) {
	if len(nonce) != nonceTextLen {
		return nil, 0, NonceForeign
	}
	s := n.macs.Get().(*nonceScratch)
	defer n.macs.Put(s)
	copy(s.text[:], nonce)
	if k, err := nonceEncoding.Decode(s.raw[:], s.text[:nonceTextLen]); err != nil || k != nonceRawLen {
		return nil, 0, NonceForeign
	}
	if !hmac.Equal(s.sign(), s.raw[nonceSignedLen:]) {
		return nil, 0, NonceForeign
	}
	if [nonceInstanceLen]byte(s.raw[:nonceInstanceLen]) != n.instance {
		return nil, 0, NonceStale
	}
	issued := int64(binary.BigEndian.Uint64(s.raw[nonceInstanceLen:]))
	c := binary.BigEndian.Uint64(s.raw[nonceInstanceLen+8:])

	// Compared in milliseconds, which cannot overflow the way converting
	// the age to a Duration could. A clock stepped back by more than a
	// lifetime also makes the nonce stale.
	age := n.now().UnixMilli() - issued
	if limit := n.lifetime.Milliseconds(); age > limit || age < -limit {
		return nil, 0, NonceStale
	}
	slot := &n.slots[c%uint64(len(n.slots))]
	word := slot.Load()
	if word>>32 != uint64(uint32(c)) {
		return nil, 0, NonceStale
	}
	return slot, word, NonceValid
}
