package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	gosip "github.com/emiago/sipgo/sip"
)

// fakeMailboxes is a Mailboxes in memory: counts per extension (absent: no
// voicemail) and subscriptions, and how often the counts were read.
type fakeMailboxes struct {
	mu     sync.Mutex // guards everything below
	counts map[string][2]int
	subs   []MWISubscription
	reads  int
}

var _ Mailboxes = (*fakeMailboxes)(nil)

func newFakeMailboxes() *fakeMailboxes { return &fakeMailboxes{counts: make(map[string][2]int)} }

func (f *fakeMailboxes) set(ext string, newMsgs, saved int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[ext] = [2]int{newMsgs, saved}
}

func (f *fakeMailboxes) countReads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeMailboxes) MailboxCounts(_ context.Context, ext string) (int, int, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	c, ok := f.counts[ext]
	return c[0], c[1], ok, nil
}

func (f *fakeMailboxes) SaveMWISubscription(_ context.Context, s MWISubscription, now time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.subs, func(o MWISubscription) bool {
		return o.Phone == s.Phone && o.CallID == s.CallID && o.FromTag == s.FromTag
	})
	switch {
	case !s.ExpiresAt.After(now):
		if i >= 0 {
			f.subs = slices.Delete(f.subs, i, i+1)
		}
	case i >= 0:
		s.CSeq = f.subs[i].CSeq
		f.subs[i] = s
	default:
		s.CSeq = 0
		f.subs = append(f.subs, s)
	}
	return nil
}

func (f *fakeMailboxes) MWISubscriptions(_ context.Context, ext string, now time.Time) ([]MWISubscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []MWISubscription
	for i := range f.subs {
		if f.subs[i].Extension == ext && f.subs[i].ExpiresAt.After(now) {
			f.subs[i].CSeq++
			out = append(out, f.subs[i])
		}
	}
	return out, nil
}

func (f *fakeMailboxes) MWISubscribers(_ context.Context, ext string, now time.Time) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.subs {
		if s.Extension == ext && s.ExpiresAt.After(now) && !slices.Contains(out, s.Phone) {
			out = append(out, s.Phone)
		}
	}
	return out, nil
}

func (f *fakeMailboxes) MWIMailboxes(_ context.Context, now time.Time) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.subs {
		if s.ExpiresAt.After(now) && !slices.Contains(out, s.Extension) {
			out = append(out, s.Extension)
		}
	}
	return out, nil
}

// BenchmarkRegisterWithMailboxes is BenchmarkRegister on a started server
// with message-waiting on: the refresh of a phone whose user has voicemail.
func BenchmarkRegisterWithMailboxes(b *testing.B) {
	mb := newFakeMailboxes()
	mb.set("1001", 2, 0)
	s, _, _ := testServer(b, Config{}, WithMailboxes(mb))
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	r := regRequest{user: "1001a", contact: "<sip:1001a@192.0.2.10>"}
	ch := s.register(r.build(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i%1000 == 0 {
			ch = s.register(r.build(b))
		}
		r.cseq = i + 2
		r.extra = []string{authorization(b, ch, "1001a", "secret-1001a", i%1000+1)}
		req := r.build(b)
		b.StartTimer()
		if res := s.register(req); res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

// mwiServer runs a Server with message-waiting on a loopback UDP socket,
// over st (several servers in turn may share one). stop closes it; the test
// does too at its end.
func mwiServer(t *testing.T, mb *fakeMailboxes, clk *clock, st *memStore) (s *Server, addr net.Addr, stop func()) {
	t.Helper()
	phones := fakePhones{
		"1001a": {Name: "1001a", Password: "secret-1001a", Extension: "1001"},
		"1001b": {Name: "1001b", Password: "secret-1001b", Extension: "1001"},
		"1002a": {Name: "1002a", Password: "secret-1002a", Extension: "1002"},
	}
	s, err := NewServer(Config{Realm: testRealm, KeepaliveInterval: -1}, phones, st, WithMailboxes(mb),
		WithClock(clk.now), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	served := make(chan struct{})
	go func() { defer close(served); s.ServeUDP(conn) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			conn.Close()
			<-served
			require.NoError(t, s.Close())
		})
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool { return s.anyUDPConn() != nil }, time.Second, 5*time.Millisecond)
	return s, conn.LocalAddr(), stop
}

// mwiPhone is a test UA that registers and subscribes over the wire.
type mwiPhone struct {
	*testUA
	password string
	cseq     int
}

func newMWIPhone(t *testing.T, name string, server net.Addr) *mwiPhone {
	return &mwiPhone{testUA: newTestUA(t, name, server), password: "secret-" + name}
}

func (p *mwiPhone) contact() string { return "<sip:" + p.name + "@" + p.addr() + ">" }

// authorized sends req, answers its 401 with the phone's credentials and
// returns the final response.
func (p *mwiPhone) authorized(build func(authorization string) *gosip.Request, method, uri string) *gosip.Response {
	p.t.Helper()
	p.send(build(""), p.server)
	ch := p.nextRes(200, 3*time.Second)
	require.Equal(p.t, 401, ch.StatusCode)
	h := ch.GetHeader("WWW-Authenticate").Value()
	nonce, realm := between(h, `nonce="`, `"`), between(h, `realm="`, `"`)
	md := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	resp := md(md(p.name+":"+realm+":"+p.password) + ":" + nonce + ":00000001:c0ffee:auth:" + md(method+":"+uri))
	p.send(build(fmt.Sprintf(`Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`,
		p.name, realm, nonce, uri, resp)), p.server)
	return p.nextRes(200, 3*time.Second)
}

// register binds the phone's contact for expires seconds (0 removes it).
func (p *mwiPhone) register(expires int) {
	p.t.Helper()
	res := p.authorized(func(authorization string) *gosip.Request {
		p.cseq++
		r := regRequest{user: p.name, contact: p.contact(), callID: "reg-" + p.name, cseq: p.cseq, expires: strconv.Itoa(expires)}
		if authorization != "" {
			r.extra = []string{authorization}
		}
		return r.build(p.t)
	}, "REGISTER", "sip:"+testRealm)
	require.Equal(p.t, 200, res.StatusCode)
}

// subscribe subscribes the phone to its user's mailbox.
func (p *mwiPhone) subscribe(ext string, expires int) {
	p.t.Helper()
	uri := "sip:" + ext + "@" + testRealm
	res := p.authorized(func(authorization string) *gosip.Request {
		p.cseq++
		var b strings.Builder
		fmt.Fprintf(&b, "SUBSCRIBE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-sub-%s-%d;rport\r\nMax-Forwards: 70\r\n", uri, p.addr(), p.name, p.cseq)
		fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=sub-%s\r\nTo: <%s>\r\nCall-ID: sub-%s\r\nCSeq: %d SUBSCRIBE\r\n", p.name, testRealm, p.name, uri, p.name, p.cseq)
		fmt.Fprintf(&b, "Contact: %s\r\nEvent: message-summary\r\nExpires: %d\r\n", p.contact(), expires)
		if authorization != "" {
			b.WriteString(authorization + "\r\n")
		}
		b.WriteString("Content-Length: 0\r\n\r\n")
		msg, err := gosip.ParseMessage([]byte(b.String()))
		require.NoError(p.t, err)
		return msg.(*gosip.Request)
	}, "SUBSCRIBE", uri)
	require.Equal(p.t, 200, res.StatusCode)
}

// notify waits for the next NOTIFY and checks that it carries want (a
// Voice-Message line).
func (p *mwiPhone) notify(want string) *gosip.Request {
	p.t.Helper()
	n := p.nextReq(gosip.NOTIFY, 3*time.Second)
	require.Contains(p.t, string(n.Body()), "Voice-Message: "+want+" (0/0)")
	return n
}

// noNotify checks that no NOTIFY comes for a while: longer than a queued
// check waits.
func (p *mwiPhone) noNotify() {
	p.t.Helper()
	p.noReq(gosip.NOTIFY, 3*mwiSettle+200*time.Millisecond)
}

// A phone of a user with voicemail hears the counts when it registers, not
// again on each refresh while they stay the same, and again when they
// changed, when an hour has passed, and when it binds anew.
func TestMWIOnRegister(t *testing.T) {
	mb := newFakeMailboxes()
	mb.set("1001", 2, 0)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	s, addr, _ := mwiServer(t, mb, clk, newMemStore())
	phone := newMWIPhone(t, "1001a", addr)

	phone.register(3600)
	n := phone.notify("2/0")
	require.Contains(t, string(n.Body()), "Messages-Waiting: yes")
	require.Contains(t, string(n.Body()), "Message-Account: sip:1001@"+testRealm)
	require.Equal(t, "message-summary", n.GetHeader("Event").Value())
	require.Equal(t, "active", n.GetHeader("Subscription-State").Value())
	require.False(t, n.To().Params.Has("tag"), "unsolicited: outside any dialog")

	// A refresh within the minute: decided without reading the mailbox.
	reads := mb.countReads()
	clk.add(30 * time.Second)
	phone.register(3600)
	phone.noNotify()
	require.Equal(t, reads, mb.countReads(), "no mailbox read for a refresh")

	// Later refreshes read the counts again; unchanged, they are not sent.
	clk.add(2 * time.Minute)
	phone.register(3600)
	phone.noNotify()
	require.Greater(t, mb.countReads(), reads)

	// The counts changed where this engine did not see it (another
	// engine, or the store): the next refresh that reads them sends them.
	mb.set("1001", 3, 1)
	clk.add(2 * time.Minute)
	phone.register(3600)
	phone.notify("3/1")

	// Changes this engine makes are sent at once, and the refresh after
	// has nothing to add.
	mb.set("1001", 0, 4)
	s.NotifyMailbox(context.Background(), "1001")
	phone.notify("0/4")
	phone.register(3600)
	phone.noNotify()

	// An hour after the last NOTIFY the refresh sends the same counts.
	clk.add(50 * time.Minute)
	phone.register(3600)
	phone.noNotify()
	clk.add(11 * time.Minute)
	phone.register(3600)
	phone.notify("0/4")

	// A contact that unregistered and binds again is a new binding.
	phone.register(0)
	require.Empty(t, s.Lookup("1001"))
	phone.register(3600)
	phone.notify("0/4")

	// A user without voicemail: nothing.
	other := newMWIPhone(t, "1002a", addr)
	other.register(3600)
	other.noNotify()
}

// A phone with a subscription hears the counts in its dialog only: its
// REGISTERs send no unsolicited NOTIFY, while its colleague's do.
func TestMWISubscribedPhoneGetsNoUnsolicitedNotify(t *testing.T) {
	mb := newFakeMailboxes()
	mb.set("1001", 1, 0)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	_, addr, _ := mwiServer(t, mb, clk, newMemStore())
	phone := newMWIPhone(t, "1001a", addr)

	phone.subscribe("1001", 600)
	n := phone.notify("1/0")
	require.Equal(t, "sub-1001a", n.CallID().Value(), "in the subscription's dialog")

	phone.register(3600)
	phone.noNotify()
	clk.add(2 * time.Minute) // the mailbox is read again
	phone.register(3600)
	phone.noNotify()

	colleague := newMWIPhone(t, "1001b", addr)
	colleague.register(3600)
	colleague.notify("1/0")
}

// After a restart every bound contact of a user with voicemail hears the
// counts once, and every live subscription gets a NOTIFY in its dialog
// with the next CSeq of the store.
func TestMWIAfterRestart(t *testing.T) {
	mb := newFakeMailboxes()
	mb.set("1001", 2, 0)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	st := newMemStore()
	_, addr, stop := mwiServer(t, mb, clk, st)
	phone := newMWIPhone(t, "1001a", addr)
	phone.register(3600)
	phone.notify("2/0")
	noVoicemail := newMWIPhone(t, "1002a", addr)
	noVoicemail.register(3600)
	// A phone that subscribed and whose binding is gone (subscriptions
	// outlive registrations).
	subscriber := newMWIPhone(t, "1001b", addr)
	require.NoError(t, mb.SaveMWISubscription(context.Background(), MWISubscription{Phone: "1001b", Extension: "1001",
		CallID: "sub-1001b", FromTag: "theirs", ToTag: "ours", Contact: "sip:1001b@" + subscriber.addr(),
		Source: subscriber.addr(), Transport: "UDP", ExpiresAt: clk.now().Add(time.Hour)}, clk.now()))
	_, err := mb.MWISubscriptions(context.Background(), "1001", clk.now()) // its first NOTIFY: CSeq 1
	require.NoError(t, err)
	stop()

	clk.add(5 * time.Minute)
	s2, addr2, _ := mwiServer(t, mb, clk, st)
	phone.notify("2/0")
	phone.noNotify()
	n := subscriber.notify("2/0")
	require.Equal(t, "sub-1001b", n.CallID().Value())
	require.EqualValues(t, 2, n.CSeq().SeqNo, "the dialog's CSeq goes on from the store")
	tag, _ := n.From().Params.Get("tag")
	require.Equal(t, "ours", tag)
	tag, _ = n.To().Params.Get("tag")
	require.Equal(t, "theirs", tag)
	require.Equal(t, "active;expires=3300", n.GetHeader("Subscription-State").Value())
	noVoicemail.noNotify()

	// Once: the phone's next REGISTER to the new server adds nothing.
	phone.server = addr2
	phone.register(3600)
	phone.noNotify()
	require.Len(t, s2.Lookup("1001"), 1)
}

// The pass after a restart sends at its rate, and Close stops it.
func TestMWIRestartPassIsPacedAndStops(t *testing.T) {
	mb := newFakeMailboxes()
	mb.set("1001", 1, 0)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	st := newMemStore()
	phone := newMWIPhone(t, "1001a", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	var bs []Binding
	for i := range 500 {
		bs = append(bs, Binding{AOR: "1001", Phone: "1001a", Contact: fmt.Sprintf("sip:1001a-%d@%s", i, phone.addr()),
			Source: phone.addr(), Transport: "UDP", CallID: "c" + strconv.Itoa(i), CSeq: 1, Expires: clk.now().Add(time.Hour)})
	}
	require.NoError(t, st.SaveBindings(context.Background(), bs, nil))

	_, _, stop := mwiServer(t, mb, clk, st)
	got := 0
	deadline := time.After(time.Second)
count:
	for {
		select {
		case r := <-phone.reqs:
			if r.Method == gosip.NOTIFY {
				got++
			}
		case <-deadline:
			break count
		}
	}
	require.Positive(t, got)
	require.LessOrEqual(t, got, mwiRestartRate+5, "at most %d a second", mwiRestartRate)

	start := time.Now()
	stop()
	require.Less(t, time.Since(start), 2*time.Second, "Close does not wait for the pass")
}

// The queue after REGISTERs keeps each mailbox once, is bounded, and the
// memory of what was read follows the mailboxes in use.
func TestMWITrackerCoalescesAndBounds(t *testing.T) {
	m := newMWITracker()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	b := []Binding{{AOR: "1001", Phone: "1001a", Contact: "sip:1001a@192.0.2.1"}}
	changes := []bindingChange{{Contact: "sip:1001a@192.0.2.1", Expires: time.Hour}}
	for range 100 {
		m.registered("1001", "1001a", b, changes, now)
	}
	q, ok := m.pop()
	require.True(t, ok)
	require.Equal(t, "1001", q.ext)
	_, ok = m.pop()
	require.False(t, ok, "a hundred REGISTERs, one check")

	// Removals alone queue nothing.
	m.registered("1001", "1001a", nil, []bindingChange{{Contact: "sip:1001a@192.0.2.1"}}, now)
	_, ok = m.pop()
	require.False(t, ok)

	// Known and told: nothing to do.
	m.learn("1001", mailboxState{counts: mwiCounts{1, 0}, ok: true, read: now})
	b[0].mwi = &mwiMark{at: now, counts: mwiCounts{1, 0}}
	m.registered("1001", "1001a", b, changes, now.Add(30*time.Second))
	_, ok = m.pop()
	require.False(t, ok)
	// No voicemail, or a subscription: nothing either.
	m.learn("1002", mailboxState{read: now})
	m.registered("1002", "1002a", []Binding{{Contact: "sip:1002a@192.0.2.2"}}, []bindingChange{{Contact: "sip:1002a@192.0.2.2", Expires: time.Hour}}, now)
	m.learn("1003", mailboxState{ok: true, subscribed: []string{"1003a"}, read: now})
	m.registered("1003", "1003a", []Binding{{Contact: "sip:1003a@192.0.2.3"}}, []bindingChange{{Contact: "sip:1003a@192.0.2.3", Expires: time.Hour}}, now)
	_, ok = m.pop()
	require.False(t, ok)

	for i := range mwiQueueLimit + 10 {
		m.mu.Lock()
		m.push(strconv.Itoa(i))
		m.mu.Unlock()
	}
	require.Len(t, m.order, mwiQueueLimit)
	require.Len(t, m.queued, mwiQueueLimit)

	m.sweep(now.Add(mwiCountsFresh))
	require.Empty(t, m.boxes)
}

// Counts are never shown negative.
func TestMessageSummaryClampsCounts(t *testing.T) {
	require.Equal(t, "Messages-Waiting: no\r\nMessage-Account: sip:1001@pbx.test\r\nVoice-Message: 0/0 (0/0)\r\n",
		messageSummary("sip:1001@pbx.test", -1, -3))
}
