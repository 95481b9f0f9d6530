package sip

import (
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// challengeTagPrefix starts the To tag of the 407s (and 503s) sent without
// a transaction (see challengeInvite).
const challengeTagPrefix = "sbc"

// challengeInvite answers, on UDP, an INVITE that carries no credentials at
// all with a 407 straight from the read path, as the registrar answers a
// REGISTER with 401: no sipgo transaction, which would keep the parsed
// INVITE, the 407, three timers and, once the ACK comes, a goroutine waiting
// for a reader of the ACK, for Timer I (5 s) after it. Every call from a
// phone starts with one such INVITE.
//
// Like any stateless server (RFC 3261 §8.2.7) it does not retransmit the
// 407: a lost one is answered afresh when the phone retransmits its INVITE,
// with the same To tag (challengeTag) and a fresh nonce. The ACK of the 407
// is recognised by that tag and dropped (isChallengeAck).
//
// While the proxy is overloaded (see Config.MaxCallSetups), the answer is
// a 503 instead, as stateless.
//
// INVITEs the transaction path answers otherwise are left to it (false):
// the provider's, which are not challenged, and those refused for
// Max-Forwards or a loop.
func (s *Server) challengeInvite(laddr, raddr net.Addr, req *gosip.Request, start time.Time) bool {
	if req.GetHeader("Proxy-Authorization") != nil || s.checkForwardable(req) != nil {
		return false
	}
	if fromTrunk, err := s.fromTrunk(req); err != nil || fromTrunk {
		return false
	}
	var res *gosip.Response
	if s.overloaded() {
		// Refused before anything is kept for it: a 503 through a
		// transaction would keep the INVITE and the 503 until the ACK.
		res = gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(gosip.NewHeader("Retry-After", "5"))
	} else {
		res = s.digestChallenge(req, true, false)
	}
	if to := res.To(); to != nil {
		// NewResponseFromRequest gave it a random tag: retransmissions
		// must get the same one.
		to.Params.Remove("tag")
		to.Params.Add("tag", challengeTag(req))
	}
	s.writeUDP(laddr, raddr, req, res, "", start)
	return true
}

// overloaded reports whether Config.MaxCallSetups calls are being set up.
func (s *Server) overloaded() bool {
	limit := s.cfg.MaxCallSetups
	return limit > 0 && s.proxy.setups.Load() >= int64(limit)
}

// challengeTag is the To tag of a stateless 407 (or 503): a hash of what
// the INVITE, its retransmissions and the ACK of the answer share
// (RFC 3261 §17.1.1.3): Call-ID, From tag and the top Via branch.
func challengeTag(req *gosip.Request) string {
	h := fnv.New64a()
	if id := req.CallID(); id != nil {
		h.Write([]byte(id.Value()))
	}
	h.Write([]byte{0})
	if f := req.From(); f != nil {
		t, _ := f.Params.Get("tag")
		h.Write([]byte(t))
	}
	h.Write([]byte{0})
	if v := req.Via(); v != nil {
		b, _ := v.Params.Get("branch")
		h.Write([]byte(b))
	}
	return challengeTagPrefix + strconv.FormatUint(h.Sum64(), 36)
}

// isChallengeAck reports whether an ACK acknowledges a stateless 407 or
// 503.
func isChallengeAck(ack *gosip.Request) bool {
	to := ack.To()
	if to == nil {
		return false
	}
	tag, _ := to.Params.Get("tag")
	return len(tag) > len(challengeTagPrefix) && tag[:len(challengeTagPrefix)] == challengeTagPrefix && tag == challengeTag(ack)
}

// answerRetention is how long an answered INVITE is remembered after its
// 2xx went to the caller: retransmissions of the INVITE are absorbed and
// retransmissions of the 2xx relayed for that long. sipgo's own INVITE
// transactions end at once after a 2xx (Timer L and M are zero, see
// shortenTransactionRetention): each kept the parsed INVITE twice, both
// 2xx, the call and its branch, which at a few thousand calls a second was
// most of the heap. What is kept instead is a key and an address.
const answerRetention = 5 * time.Second

// rememberAnswer records a call whose branch b answered, before its 2xx
// goes to the caller.
func (s *Server) rememberAnswer(c *call, b *branch) {
	if !strings.EqualFold(c.req.Transport(), "UDP") {
		// Nothing is retransmitted to or by a caller on a reliable
		// transport.
		return
	}
	now := s.now()
	s.answers.put(answeredInviteKey(c.req), nil, now)
	if v := b.fwd.Via(); v != nil {
		if branch, _ := v.Params.Get("branch"); branch != "" {
			s.answers.put(answeredBranchKey(branch), []byte(c.req.Source()), now)
		}
	}
}

func answeredInviteKey(req *gosip.Request) string { return "i\x00" + retransmissionKey(req) }
func answeredBranchKey(branch string) string      { return "b\x00" + branch }

// isAnsweredInvite reports whether an INVITE retransmits one answered
// already (RFC 6026 §7.1: absorbed, no second call).
func (s *Server) isAnsweredInvite(req *gosip.Request) bool {
	_, ok := s.answers.get(answeredInviteKey(req))
	return ok
}

// relayAnswerRetransmission handles a retransmitted 2xx to one of the
// proxy's INVITE branches (the phone has not had the caller's ACK yet)
// without a transaction: relayed to the caller without our Via, as RFC 3261
// §16.7 has a proxy forward 2xx retransmissions, or, for an answer the
// proxy hung up itself, acknowledged again. It reports whether the
// response was one of those.
func (s *Server) relayAnswerRetransmission(res *gosip.Response) bool {
	if !res.IsSuccess() {
		return false
	}
	if cs := res.CSeq(); cs == nil || cs.MethodName != gosip.INVITE {
		return false
	}
	v := res.Via()
	if v == nil {
		return false
	}
	branch, _ := v.Params.Get("branch")
	if !strings.HasPrefix(branch, proxyBranchPrefix) {
		return false
	}
	if b := s.surplus.get(branch); b != nil {
		if err := b.sendAck(res); err != nil {
			s.log.Debug("ACK surplus answer", "error", err)
		}
		return true
	}
	caller, ok := s.answers.get(answeredBranchKey(branch))
	if !ok || !s.isOurHostPort(v.Host, v.Port) {
		return false
	}
	res.RemoveHeader("Via")
	if err := s.sendMessage(res, "UDP", string(caller)); err != nil {
		s.log.Debug("relay 2xx retransmission", "to", string(caller), "error", err)
	}
	return true
}

// surplusAnswers holds the branches whose 2xx the proxy is hanging up
// itself (see hangUp), by Via branch, so that retransmissions of that 2xx
// are acknowledged, not relayed. Rare: two phones answering at once, or an
// answer racing a CANCEL.
type surplusAnswers struct {
	mu sync.Mutex // guards m
	m  map[string]*branch
}

// add keeps b for cancelWait, as long as its phone may retransmit the 2xx.
func (t *surplusAnswers) add(viaBranch string, b *branch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*branch)
	}
	if _, ok := t.m[viaBranch]; ok {
		return
	}
	t.m[viaBranch] = b
	time.AfterFunc(cancelWait, func() { t.remove(viaBranch) })
}

func (t *surplusAnswers) remove(viaBranch string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, viaBranch)
}

func (t *surplusAnswers) get(viaBranch string) *branch {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[viaBranch]
}

// isRecordRouted reports whether a request's first Route entry is one of
// this engine's Record-Route entries (with a flow token): a request inside
// a dialog it record-routed. The ACK of a non-2xx final response has the
// INVITE's Route set instead, never a flow token.
func (s *Server) isRecordRouted(req *gosip.Request) bool {
	r := req.Route()
	return r != nil && r.Address.UriParams.Has(flowParam) && s.isOurURI(&r.Address)
}
