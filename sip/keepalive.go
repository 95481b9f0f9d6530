package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// keepaliveBranchPrefix marks the Via branch of our OPTIONS pings, so their
// answers are recognised without a client transaction each.
const keepaliveBranchPrefix = "z9hG4bK.ka."

// keepaliveTimeout is how long an OPTIONS ping waits for its answer (at
// most the interval, so a ping is settled before the next one).
func (k *keepalive) timeout() time.Duration { return min(5*time.Second, k.s.cfg.KeepaliveInterval) }

// keepalive sends an OPTIONS to every registered contact once per interval,
// spread evenly over the interval, and marks contacts that stop answering
// as unreachable (they then count as offline before their registration
// expires). It is stateless on the wire: one pending entry per ping, no
// transaction, no goroutine.
type keepalive struct {
	s       *Server
	seq     atomic.Uint64
	tag     string
	mu      sync.Mutex // guards pending
	pending map[string]pendingPing
}

type pendingPing struct {
	aor, phone, contact string
	sent                time.Time
}

func newKeepalive(s *Server) *keepalive {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &keepalive{s: s, tag: hex.EncodeToString(b), pending: make(map[string]pendingPing)}
}

func (k *keepalive) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	slots := uint64(max(k.s.cfg.KeepaliveInterval/time.Second, 1))
	var tick uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tick++
			k.expire(k.s.now())
			for _, b := range k.s.bindings.all() {
				h := fnv.New64a()
				h.Write([]byte(b.Phone))
				h.Write([]byte(b.Contact))
				if h.Sum64()%slots == tick%slots {
					k.ping(&b)
				}
			}
		}
	}
}

// expire counts pings unanswered past the timeout as missed.
func (k *keepalive) expire(now time.Time) {
	var missed []pendingPing
	k.mu.Lock()
	for branch, p := range k.pending {
		if now.Sub(p.sent) >= k.timeout() {
			missed = append(missed, p)
			delete(k.pending, branch)
		}
	}
	k.mu.Unlock()
	for _, p := range missed {
		k.s.metrics.pings.WithLabelValues("timeout").Inc()
		k.s.bindings.pingResult(p.aor, p.phone, p.contact, false)
	}
}

func (k *keepalive) ping(b *Binding) {
	var uri gosip.Uri
	if err := gosip.ParseUri(b.Contact, &uri); err != nil {
		return
	}
	dest := b.target()
	branch := keepaliveBranchPrefix + k.tag + "." + strconv.FormatUint(k.seq.Add(1), 36)
	req := gosip.NewRequest(gosip.OPTIONS, uri)
	via := &gosip.ViaHeader{
		ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: strings.ToUpper(b.Transport),
		Params: gosip.NewParams(),
	}
	via.Host, via.Port = k.s.localHostPort(b.Transport)
	via.Params.Add("branch", branch)
	via.Params.Add("rport", "")
	req.AppendHeader(via)
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	from := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: "keepalive", Host: k.s.cfg.Realm}, Params: gosip.NewParams()}
	from.Params.Add("tag", k.tag)
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: uri, Params: gosip.NewParams()})
	callID := gosip.CallIDHeader(branch)
	req.AppendHeader(&callID)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.OPTIONS})
	req.SetBody(nil)

	k.mu.Lock()
	k.pending[branch] = pendingPing{aor: b.AOR, phone: b.Phone, contact: b.Contact, sent: k.s.now()}
	k.mu.Unlock()

	if err := k.s.sendMessage(req, b.Transport, dest); err != nil {
		k.mu.Lock()
		delete(k.pending, branch)
		k.mu.Unlock()
		k.s.metrics.pings.WithLabelValues("error").Inc()
		k.s.bindings.pingResult(b.AOR, b.Phone, b.Contact, false)
	}
}

func (k *keepalive) isKeepalive(res *gosip.Response) bool {
	v := res.Via()
	if v == nil {
		return false
	}
	branch, _ := v.Params.Get("branch")
	return strings.HasPrefix(branch, keepaliveBranchPrefix)
}

// answered records any final answer as a sign of life: a phone that says
// 405 or 404 to OPTIONS is still there.
func (k *keepalive) answered(res *gosip.Response) {
	if res.StatusCode < 200 {
		return
	}
	branch, _ := res.Via().Params.Get("branch")
	k.mu.Lock()
	p, ok := k.pending[branch]
	delete(k.pending, branch)
	k.mu.Unlock()
	if !ok {
		return
	}
	k.s.metrics.pings.WithLabelValues("answered").Inc()
	k.s.bindings.pingResult(p.aor, p.phone, p.contact, true)
}

// onStrayResponse gets responses no sipgo transaction claimed: our
// keepalive answers over TCP, and retransmissions (of a 2xx after the
// INVITE's transaction ended).
func (s *Server) onStrayResponse(res *gosip.Response) {
	if s.pings.isKeepalive(res) {
		s.pings.answered(res)
		return
	}
	s.relayAnswerRetransmission(res)
}

// target is where requests for a binding go. A contact with a private
// address behind a different public source is behind NAT (RFC 3581), and so
// is any TCP contact (the phone's own connection is the only way in):
// those get requests at the source the REGISTER came from.
func (b *Binding) target() string {
	if !strings.EqualFold(b.Transport, "UDP") {
		return b.Source
	}
	var uri gosip.Uri
	if err := gosip.ParseUri(b.Contact, &uri); err != nil {
		return b.Source
	}
	if _, ob := uri.UriParams.Get("ob"); ob {
		return b.Source
	}
	addr, err := netip.ParseAddr(strings.Trim(uri.Host, "[]"))
	if err != nil || addr.IsPrivate() || addr.IsLinkLocalUnicast() || isSharedAddress(addr) {
		if srcIP, err := netip.ParseAddr(sourceIP(b.Source)); err == nil && srcIP != addr {
			return b.Source
		}
	}
	port := uri.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(addr.String(), strconv.Itoa(port))
}

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598 carrier-grade NAT

func isSharedAddress(a netip.Addr) bool { return sharedAddressSpace.Contains(a) }

func (s *Server) anyUDPConn() net.PacketConn {
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	for _, c := range s.udpConns {
		return c
	}
	return nil
}

// localHostPort is the address put in our Via: the advertised address when
// configured, else the listening socket's.
func (s *Server) localHostPort(transport string) (string, int) {
	if s.advertiseHost != "" {
		return s.advertiseHost, s.advertisePort
	}
	if c := s.anyUDPConn(); c != nil {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			return a.IP.String(), a.Port
		}
	}
	return s.cfg.Realm, 5060
}
