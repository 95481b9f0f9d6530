package routing

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func FuzzTimeOfDay(f *testing.F) {
	for _, s := range []string{"00:00", "09:30", "23:59", "24:00", "24:01", "9:00", "12:60", "", "ab:cd", "09:00\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTimeOfDay(s)
		if err != nil {
			return
		}
		if !v.Valid() {
			t.Fatalf("%q parsed to %d, out of range", s, v)
		}
		// Strict: whatever is accepted formats back to the same text.
		if v.String() != s {
			t.Fatalf("%q parsed to %d, formats as %q", s, v, v.String())
		}
		b, err := v.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back TimeOfDay
		if err := back.UnmarshalText(b); err != nil || back != v {
			t.Fatalf("%q: text round trip gave %d, %v", s, back, err)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-12-25", "2028-02-29", "2027-02-29", "0000-01-01", "9999-12-31", "2026-1-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if !d.Valid() || d.String() != s {
			t.Fatalf("%q parsed to %+v, formats as %q", s, d, d.String())
		}
		// The calendar agrees that the day exists.
		if got := DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)); got != d {
			t.Fatalf("%q is %v on the calendar", s, got)
		}
	})
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range [][2]string{{"+1 (212) 555-0100", "+12125550100"}, {"102", "+102"}, {"+", "+"}, {"++1", "+1"}, {"", "1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, nb := NormalizeNumber(a), NormalizeNumber(b)
		if NormalizeNumber(na) != na {
			t.Fatalf("%q normalises to %q, then to %q", a, na, NormalizeNumber(na))
		}
		// sameNumber is NormalizeNumber and == without the copy.
		if got, want := sameNumber(a, nb), nb != "" && na == nb; got != want {
			t.Fatalf("sameNumber(%q, %q) = %v; normalised %q and %q", a, nb, got, na, nb)
		}
	})
}

// FuzzDecide builds requests from arbitrary bytes and checks every plan keeps
// the invariants the proxy relies on (checkPlan): no panic, stages that only
// point forward, no user forward at the hop limit or to oneself.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, int64(0))
	f.Add([]byte("forward loops and busy phones"), int64(1_790_000_000))
	f.Add(make([]byte, 64), int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, unix int64) {
		req := fuzzRequest(data, unix)
		p := Decide(req)
		checkPlan(t, req, p)
		require.Equal(t, p, Decide(req))
		_ = p.String()
	})
}

// fuzzRequest spends data on choices among a few extensions, kinds, frames
// and flags, so the fuzzer explores rule combinations rather than strings.
func fuzzRequest(data []byte, unix int64) Request {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	exts := []string{"101", "102", "", "1x"}
	kinds := []DestKind{DestUnknown, DestUser, DestHandset, DestVoicemail, DestExternal, DestKind(7)}
	dests := []string{"101", "102", "101a", "101c", "+1 212 555 0199", "", "n/a"}
	frames := []string{AlwaysFrame, businessHours.Name, holidays.Name, nights.Name, "missing"}
	destination := func() *Destination {
		if next()%3 == 0 {
			return nil
		}
		return &Destination{Kind: kinds[int(next())%len(kinds)], To: dests[int(next())%len(dests)]}
	}
	req := baseRequest()
	req.At = time.Unix(unix%(1<<40), 0)
	req.Hops = int(next() % (MaxHops + 3))
	req.Callee.Extension = exts[int(next())%2]
	req.Callee.VoicemailEnabled = next()%2 == 0
	req.Callee.CallPaths = int(next() % 3)
	req.Callee.ActiveCalls = int(next() % 4)
	req.Callee.DefaultRingFor = time.Duration(next()%40) * time.Second
	req.Callee.MainPhone = []string{"", "101a", "101c", "nope"}[next()%4]
	for i := range req.Callee.Phones {
		req.Callee.Phones[i].Registered = next()%2 == 0
	}
	if next()%4 == 0 {
		req.Callee.Location = nil
	}
	req.Callee.AllowBlock = AllowBlock{BlockAnonymous: next()%2 == 0}
	if next()%3 == 0 {
		req.Callee.AllowBlock.Allowed = []string{"+1 212 555 0100", "102"}
	}
	if next()%3 == 0 {
		req.Callee.AllowBlock.Blocked = []string{"+12125550100"}
	}
	req.Caller = Caller{
		Number:    []string{"+12125550100", "", "102", "anonymous"}[next()%4],
		Anonymous: next()%3 == 0,
		Internal:  next()%2 == 0,
		Extension: exts[int(next())%len(exts)],
	}
	req.Callee.Rules = nil
	for n := int(next() % 5); n > 0; n-- {
		r := Rule{
			ID:        int64(binary.LittleEndian.Uint16([]byte{next(), next()})),
			TimeFrame: frames[int(next())%len(frames)],
			Enabled:   next()%4 != 0,
			DND:       next()%4 == 0,
			Screening: next()%3 == 0,
			RingFor:   time.Duration(next()%40) * time.Second,
		}
		r.ForwardAlways, r.ForwardBusy = destination(), destination()
		r.ForwardUnanswered, r.ForwardOffline = destination(), destination()
		if next()%2 == 0 {
			r.SimRing = &SimRing{IncludeUser: next()%2 == 0, RingAllPhones: next()%2 == 0}
			for m := int(next() % 4); m > 0; m-- {
				d := destination()
				if d == nil {
					continue
				}
				r.SimRing.Destinations = append(r.SimRing.Destinations, SimRingDestination{
					Destination: *d, Delay: time.Duration(next()%30) * time.Second, Confirm: next()%2 == 0,
				})
			}
		}
		req.Callee.Rules = append(req.Callee.Rules, r)
	}
	return req
}
