package sip

import (
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// raceEnabled reports a -race build, under which sync.Pool drops items on
// purpose and allocation counts mean nothing.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// testClock is a settable clock for NewNonces.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestNonces(lifetime time.Duration, slots int) (*Nonces, *testClock) {
	clock := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	return NewNonces(testSecret, lifetime, slots, clock.now), clock
}

func checkState(t *testing.T, what string, got, want NonceState) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func TestNonceStateString(t *testing.T) {
	for s, want := range map[NonceState]string{
		NonceUnknown: "unknown", NonceValid: "valid", NonceStale: "stale",
		NonceReplay: "replay", NonceForeign: "foreign", 200: "unknown",
	} {
		if got := s.String(); got != want {
			t.Errorf("NonceState(%d).String() = %q, want %q", s, got, want)
		}
	}
}

func TestNoncesFormat(t *testing.T) {
	n, _ := newTestNonces(time.Minute, 16)
	seen := map[string]bool{}
	for range 100 {
		nonce := n.Issue()
		if len(nonce) != nonceTextLen {
			t.Fatalf("len(%q) = %d, want %d", nonce, len(nonce), nonceTextLen)
		}
		// Nothing that needs quoting or escaping in a quoted-string.
		if i := strings.IndexFunc(nonce, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}); i >= 0 {
			t.Fatalf("nonce %q has %q at %d", nonce, nonce[i], i)
		}
		if seen[nonce] {
			t.Fatalf("nonce %q issued twice", nonce)
		}
		seen[nonce] = true
	}
}

func TestNoncesCountsUp(t *testing.T) {
	n, _ := newTestNonces(time.Minute, 16)
	nonce := n.Issue()
	steps := []struct {
		nc   uint32
		want NonceState
	}{
		{1, NonceValid},
		{1, NonceReplay},
		{2, NonceValid},
		{2, NonceReplay},
		{1, NonceReplay},
		{7, NonceValid}, // gaps are fine: requests can be lost
		{5, NonceReplay},
		{0xffffffff, NonceValid},
		{0xffffffff, NonceReplay},
		{0, NonceReplay},
	}
	for _, s := range steps {
		checkState(t, "Peek", n.Peek(nonce), NonceValid)
		checkState(t, "Check(nc="+itoaTest(s.nc)+")", n.Check(nonce, s.nc), s.want)
	}
}

func itoaTest(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestNoncesWithoutQOPOnce(t *testing.T) {
	n, _ := newTestNonces(time.Minute, 16)
	nonce := n.Issue()
	checkState(t, "first use", n.Check(nonce, 0), NonceValid)
	checkState(t, "second use", n.Check(nonce, 0), NonceReplay)
	checkState(t, "then with qop", n.Check(nonce, 1), NonceReplay)
	checkState(t, "Peek after use", n.Peek(nonce), NonceValid)

	other := n.Issue()
	checkState(t, "with qop", n.Check(other, 1), NonceValid)
	checkState(t, "then without", n.Check(other, 0), NonceReplay)
}

func TestNoncesPeekRecordsNothing(t *testing.T) {
	n, _ := newTestNonces(time.Minute, 16)
	nonce := n.Issue()
	for range 5 {
		checkState(t, "Peek", n.Peek(nonce), NonceValid)
	}
	checkState(t, "Check", n.Check(nonce, 1), NonceValid)
	nonce = n.Issue()
	n.Peek(nonce)
	checkState(t, "Check without qop after Peek", n.Check(nonce, 0), NonceValid)
}

func TestNoncesExpire(t *testing.T) {
	n, clock := newTestNonces(time.Minute, 16)
	nonce := n.Issue()
	checkState(t, "fresh", n.Check(nonce, 1), NonceValid)

	clock.advance(time.Minute)
	checkState(t, "at the lifetime", n.Check(nonce, 2), NonceValid)
	clock.advance(time.Millisecond)
	checkState(t, "Peek past the lifetime", n.Peek(nonce), NonceStale)
	checkState(t, "Check past the lifetime", n.Check(nonce, 3), NonceStale)

	// A clock stepped back by more than a lifetime does not revive a nonce
	// or keep one alive indefinitely.
	nonce = n.Issue()
	clock.advance(-time.Minute)
	checkState(t, "clock back by the lifetime", n.Peek(nonce), NonceValid)
	clock.advance(-time.Millisecond)
	checkState(t, "clock back past the lifetime", n.Peek(nonce), NonceStale)
}

func TestNoncesSlotReuse(t *testing.T) {
	const slots = 4
	n, _ := newTestNonces(time.Minute, slots)
	first := n.Issue()
	checkState(t, "first", n.Check(first, 1), NonceValid)
	for range slots - 1 {
		n.Issue()
	}
	checkState(t, "after slots-1 issues", n.Check(first, 2), NonceValid)
	newer := n.Issue() // takes first's slot
	checkState(t, "Peek after slots issues", n.Peek(first), NonceStale)
	checkState(t, "Check after slots issues", n.Check(first, 3), NonceStale)
	// The newer nonce starts from nc 0, not from first's nc.
	checkState(t, "newer nonce in the same slot", n.Check(newer, 1), NonceValid)
	checkState(t, "first, still", n.Check(first, 4), NonceStale)
}

func TestNoncesForeign(t *testing.T) {
	n, _ := newTestNonces(time.Minute, 16)
	nonce := n.Issue()
	other := NewNonces([]byte("fedcba9876543210fedcba9876543210"), time.Minute, 16, nil)

	tests := []struct {
		name  string
		nonce string
	}{
		{"empty", ""},
		{"garbage", "hello world"},
		{"right length, not base64", strings.Repeat("!", len(nonce))},
		{"right length, base64, no MAC", strings.Repeat("A", len(nonce))},
		{"padded", nonce + "="},
		{"truncated", nonce[:len(nonce)-1]},
		{"extended", nonce + "A"},
		{"very long", strings.Repeat(nonce, 20000)},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(nonce) + "+"},
		{"other secret", other.Issue()},
		{"RFC 7616 example", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"},
	}
	for i := range len(nonce) {
		// Every position, including the instance, time, counter and MAC,
		// and the last character whose low bits are padding.
		b := []byte(nonce)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tests = append(tests, struct {
			name  string
			nonce string
		}{"tampered at " + itoaTest(uint32(i)), string(b)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.nonce == nonce {
				t.Fatal("test nonce equals the issued one")
			}
			checkState(t, "Peek", n.Peek(tt.nonce), NonceForeign)
			checkState(t, "Check", n.Check(tt.nonce, 1), NonceForeign)
		})
	}
	checkState(t, "issued nonce after all that", n.Check(nonce, 1), NonceValid)
}

func TestNoncesSharedSecret(t *testing.T) {
	// Another engine with the same secret, or this one after a restart:
	// the nonce is authentic but its replay state is not here, so the
	// phone is asked to retry (stale), never accepted and never failed.
	a, _ := newTestNonces(time.Minute, 16)
	b, _ := newTestNonces(time.Minute, 16)
	nonce := a.Issue()
	checkState(t, "Peek at the other engine", b.Peek(nonce), NonceStale)
	checkState(t, "Check at the other engine", b.Check(nonce, 1), NonceStale)
	checkState(t, "Check at the issuer", a.Check(nonce, 1), NonceValid)
}

func TestNewNoncesDefaults(t *testing.T) {
	n := NewNonces(nil, 0, 0, nil)
	if len(n.slots) != defaultNonceSlots || n.lifetime != defaultNonceLifetime {
		t.Fatalf("defaults: %d slots, lifetime %v", len(n.slots), n.lifetime)
	}
	nonce := n.Issue()
	checkState(t, "Check", n.Check(nonce, 1), NonceValid)
	// An empty secret is random, not empty.
	m := NewNonces([]byte{}, 0, 0, nil)
	checkState(t, "other random secret", m.Check(nonce, 1), NonceForeign)

	// The secret is copied, so the caller may wipe its slice.
	secret := append([]byte(nil), testSecret...)
	k := NewNonces(secret, time.Minute, 16, nil)
	nonce = k.Issue()
	clear(secret)
	checkState(t, "after wiping the caller's secret", k.Check(nonce, 1), NonceValid)
}

func TestNoncesConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	const (
		workers = 8
		rounds  = 300
		shared  = 200
	)
	n := NewNonces(testSecret, time.Minute, workers*rounds*2, nil)
	contended := n.Issue()
	var accepted [shared + 1]atomic.Int32

	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for range workers {
		wg.Go(func() {
			for i := range rounds {
				// Each worker's own nonces count up undisturbed.
				nonce := n.Issue()
				for nc := uint32(1); nc <= 3; nc++ {
					if st := n.Check(nonce, nc); st != NonceValid {
						errs <- "own nonce nc " + itoaTest(nc) + ": " + st.String()
						return
					}
				}
				// All workers race on one nonce with the same counts: each
				// count may be accepted at most once.
				nc := uint32(i%shared + 1)
				if n.Check(contended, nc) == NonceValid {
					accepted[nc].Add(1)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("workers did not finish in 30s")
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	total := 0
	for nc := range accepted {
		if c := accepted[nc].Load(); c > 1 {
			t.Errorf("nc %d accepted %d times", nc, c)
		} else {
			total += int(c)
		}
	}
	if total == 0 {
		t.Error("no check of the contended nonce was accepted")
	}
}

func TestNoncesAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	n, _ := newTestNonces(time.Minute, 1024)
	nonce := n.Issue()
	nc := uint32(0)
	if a := testing.AllocsPerRun(100, func() {
		nc++
		if n.Check(nonce, nc) != NonceValid {
			t.Fatal("Check failed")
		}
	}); a != 0 {
		t.Errorf("Check allocates %v times per call, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { n.Peek("garbage") }); a != 0 {
		t.Errorf("Peek(garbage) allocates %v times per call, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() { n.Issue() }); a > 1 {
		t.Errorf("Issue allocates %v times per call, want at most 1 (the string)", a)
	}
}

func BenchmarkNoncesIssue(b *testing.B) {
	n := NewNonces(testSecret, time.Minute, 1<<16, nil)
	b.ReportAllocs()
	for b.Loop() {
		n.Issue()
	}
}

func BenchmarkNoncesCheck(b *testing.B) {
	n := NewNonces(testSecret, time.Minute, 1<<16, nil)
	nonce := n.Issue()
	nc := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		nc++
		if n.Check(nonce, nc) != NonceValid {
			b.Fatal("Check failed")
		}
	}
}

func BenchmarkNoncesCheckParallel(b *testing.B) {
	n := NewNonces(testSecret, time.Minute, 1<<16, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		nonce := n.Issue()
		nc := uint32(0)
		for pb.Next() {
			nc++
			if nc > 1000 {
				nonce, nc = n.Issue(), 1
			}
			if n.Check(nonce, nc) != NonceValid {
				b.Error("Check failed")
				return
			}
		}
	})
}
