package sip

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"hash/fnv"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/routing"

	gosip "github.com/emiago/sipgo/sip"
)

// Caller is who places a call: the authenticated phone and its user, and the
// caller ID the call carries.
type Caller struct {
	Phone, Extension string
	// Number and Name are the caller ID: the From user and display name
	// as the phone (or the provider) sent them.
	Number, Name string
	// FromTrunk marks a call from the provider: no phone, no extension;
	// the dialled string is one of the users' phone numbers.
	FromTrunk bool
	// To is the user part of the To header: on a call the provider sends
	// to this engine's registration, the Request-URI names the account
	// and To the number dialled.
	To string
}

// Router decides where a call goes. hops counts the user-to-user forwards
// already followed (routing.MaxHops bounds them).
type Router interface {
	Route(ctx context.Context, caller Caller, dialled string, hops int) (routing.Plan, error)
}

// WithRouter sets the call router. Without one, a dialled extension with
// registered phones rings them all for 30 s and anything else is 404.
func WithRouter(r Router) Option { return func(s *Server) { s.router = r } }

// WithTrunk sets where external targets go. Without it they answer 503.
func WithTrunk(t TrunkSource) Option { return func(s *Server) { s.trunk = t } }

// defaultRingFor is how long the default router rings an extension.
const defaultRingFor = 30 * time.Second

// defaultRouter rings the reachable phones of a dialled extension.
type defaultRouter struct{ s *Server }

var _ Router = defaultRouter{}

func (d defaultRouter) Route(_ context.Context, _ Caller, dialled string, _ int) (routing.Plan, error) {
	if dialled == "" || len(d.s.Lookup(dialled)) == 0 {
		return routing.Plan{Action: routing.ActionReject, Code: 404, Reason: "Not Found", RuleIndex: -1}, nil
	}
	return routing.Plan{
		Action:    routing.ActionRing,
		RuleIndex: -1,
		Stages: []routing.Stage{{
			Targets:    []routing.Target{{Kind: routing.TargetPhones, To: dialled}},
			Timeout:    defaultRingFor,
			OnNoAnswer: routing.StageEnd,
			OnBusy:     routing.StageEnd,
		}},
	}, nil
}

const (
	// proxyBranchPrefix starts the Via branch of the INVITEs the proxy
	// forks (RFC 3261 §16.6 step 8), followed by the loop-detection base
	// of the request and a branch number.
	proxyBranchPrefix = "z9hG4bKsbp"
	// statelessBranchPrefix starts the branch of requests forwarded
	// statelessly (RFC 3261 §16.11); responses carrying it are relayed by
	// their Via alone.
	statelessBranchPrefix = "z9hG4bKsbs"
	// uacBranchPrefix starts the branch of the ACK and BYE the proxy sends
	// itself to end a surplus answer.
	uacBranchPrefix = "z9hG4bKsbu"

	// flowParam is the Record-Route parameter naming both ends of a dialog
	// (see flowToken).
	flowParam = "sbf"

	// timerC bounds the ringing of a call whatever its plan says
	// (RFC 3261 §16.6 step 11: more than 3 minutes).
	timerC = 3*time.Minute + 10*time.Second
	// cancelWait is how long a cancelled branch may take to give its final
	// response before it is given up (RFC 3261 §9.1: 64*T1).
	cancelWait = 32 * time.Second
	// connectTimeout bounds setting up a connection towards a phone.
	connectTimeout = 5 * time.Second
	// maxStages bounds the stages one call goes through, whatever the
	// plan's fallbacks say.
	maxStages = 16
)

// reasonCompletedElsewhere goes in the CANCEL of branches that lost to
// another phone answering (RFC 3326), so they log no missed call.
const reasonCompletedElsewhere = `SIP;cause=200;text="Call completed elsewhere"`

var (
	errCancelTimeout = errors.New("no final response to CANCEL")
	errNoRoute       = errors.New("no usable contact")
)

// Call outcomes, the labels of switchboard_sip_calls_total.
const (
	outcomeAnswered  = "answered"
	outcomeForwarded = "forwarded"
	outcomeVoicemail = "voicemail"
	outcomeBusy      = "busy"
	outcomeNoAnswer  = "no_answer"
	outcomeRejected  = "rejected"
	outcomeCancelled = "cancelled"
	outcomeFailed    = "failed"
)

var callOutcomes = []string{outcomeAnswered, outcomeForwarded, outcomeVoicemail, outcomeBusy, outcomeNoAnswer, outcomeRejected, outcomeCancelled, outcomeFailed}

// proxy is the state the forking proxy shares between calls.
type proxy struct {
	client  *sipgo.Client
	metrics *proxyMetrics
	calls   *callTable
	// flowKey signs the flow tokens of our Record-Route entries; engines
	// sharing a NonceSecret accept each other's.
	flowKey []byte
	macs    sync.Pool // of hash.Hash: HMACs with flowKey, three a call
	seq     atomic.Uint64

	// setups counts the calls being set up (from the authenticated INVITE
	// to its final answer), bounded by Config.MaxCallSetups.
	setups atomic.Int64

	mu      sync.Mutex // guards closing and the Add side of wg
	closing bool
	wg      sync.WaitGroup // call owners, branch pumps, hang-ups
}

func newProxy(ua *sipgo.UserAgent, reg prometheus.Registerer, secret []byte) (*proxy, error) {
	client, err := sipgo.NewClient(ua)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("record-route flow"))
	calls := newCallTable()
	m := newProxyMetrics(reg, func() float64 { return float64(calls.len()) })
	return &proxy{client: client, metrics: m, calls: calls, flowKey: mac.Sum(nil)}, nil
}

// track counts a goroutine or call in; false once the server is closing.
func (p *proxy) track() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.wg.Add(1)
	return true
}

// close waits for every call and branch to finish; the server's context is
// already cancelled, which makes them cancel their branches and return.
func (p *proxy) close() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.wg.Wait()
}

// noBuild leaves a forwarded request as built: sipgo's client would
// otherwise add its own Via and headers.
func noBuild(*sipgo.Client, *gosip.Request) error { return nil }

// proxyInvite serves an out-of-dialog INVITE (RFC 3261 §16): it checks,
// authenticates the caller, asks the router, and runs the plan. It runs on
// sipgo's handler goroutine and returns once the caller has its final
// response: sipgo ends an unanswered server transaction when the handler
// returns.
func (s *Server) proxyInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	start := time.Now()
	respond := func(res *gosip.Response) {
		if res == nil {
			return
		}
		markReceived(req, res)
		if err := tx.Respond(res); err != nil {
			s.log.Debug("respond", "method", req.Method, "source", req.Source(), "error", err)
			return
		}
		s.observe(req, res, start)
	}
	if res := s.checkForwardable(req); res != nil {
		respond(res)
		return
	}
	var phone Phone
	fromTrunk, err := s.fromTrunk(req)
	if err != nil {
		s.log.Error("check trunk source", "error", err)
		respond(gosip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	if !fromTrunk {
		var res *gosip.Response
		var outcome string
		phone, res, outcome = s.authenticate(req, true)
		if outcome != authOK {
			respond(res)
			return
		}
	}
	if s.ctx == nil || !s.proxy.track() {
		res := gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(gosip.NewHeader("Retry-After", "5"))
		respond(res)
		return
	}
	defer s.proxy.wg.Done()
	if limit := s.cfg.MaxCallSetups; limit > 0 && s.proxy.setups.Add(1) > int64(limit) {
		// Overloaded: calls already wait seconds for their answers. A
		// quick refusal keeps the ones in progress going and the memory
		// bounded; accepting more would fail them all.
		s.proxy.setups.Add(-1)
		res := gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(gosip.NewHeader("Retry-After", "5"))
		respond(res)
		return
	} else if limit > 0 {
		defer s.proxy.setups.Add(-1)
	}
	respond(gosip.NewResponseFromRequest(req, 100, "Trying", nil))

	c := newCall(s, req, tx, phone)
	c.caller.FromTrunk = fromTrunk
	c.start = start
	c.entry = s.proxy.calls.begin(c.key, CallInfo{
		CallID: c.key.callID, From: c.caller.Number, FromName: c.caller.Name, CallerExtension: phone.Extension,
		FromTrunk: fromTrunk, Dialled: req.Recipient.User, Started: start,
	})
	c.log.Info("call started", "from", c.caller.Number, "phone", phone.Name, "to", req.Recipient.User)
	outcome, code := c.run()
	if code != 200 {
		c.entry.end()
	}
	if !c.rang {
		s.proxy.metrics.postDial.Observe(time.Since(start).Seconds())
	}
	switch {
	case outcome == outcomeAnswered && c.forwarded:
		outcome = outcomeForwarded
	case outcome == outcomeNoAnswer && c.voicemail:
		outcome = outcomeVoicemail
	}
	s.proxy.metrics.callsBy[outcome].Inc()
	c.log.Info("call ended", "outcome", outcome, "code", code, "branches", len(c.branches),
		"duration", time.Since(start).Round(time.Millisecond).String())
}

// fromTrunk reports whether req comes from the provider's addresses.
func (s *Server) fromTrunk(req *gosip.Request) (bool, error) {
	if s.trunk == nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.trunk.FromTrunk(ctx, sourceIP(req.Source()))
}

// checkForwardable applies RFC 3261 §16.3 steps 3 and 4 to a request the
// proxy is about to forward: Max-Forwards (483) and loops (482).
func (s *Server) checkForwardable(req *gosip.Request) *gosip.Response {
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return gosip.NewResponseFromRequest(req, 483, "Too Many Hops", nil)
	}
	base := proxyBranchPrefix + loopBase(req) + "."
	for _, h := range req.GetHeaders("Via") {
		v, ok := h.(*gosip.ViaHeader)
		if !ok {
			continue
		}
		if b, _ := v.Params.Get("branch"); strings.HasPrefix(b, base) && s.isOurHostPort(v.Host, v.Port) {
			return gosip.NewResponseFromRequest(req, 482, "Loop Detected", nil)
		}
	}
	return nil
}

// loopBase hashes what a looping request keeps and a spiral changes
// (RFC 3261 §16.6 step 8): the Request-URI as received, the tags, Call-ID
// and CSeq number.
func loopBase(req *gosip.Request) string {
	h := fnv.New64a()
	h.Write([]byte(req.Recipient.String()))
	h.Write([]byte{0})
	if f := req.From(); f != nil {
		t, _ := f.Params.Get("tag")
		h.Write([]byte(t))
	}
	h.Write([]byte{0})
	if t := req.To(); t != nil {
		tag, _ := t.Params.Get("tag")
		h.Write([]byte(tag))
	}
	h.Write([]byte{0})
	if id := req.CallID(); id != nil {
		h.Write([]byte(id.Value()))
	}
	if cs := req.CSeq(); cs != nil {
		h.Write([]byte(strconv.FormatUint(uint64(cs.SeqNo), 10)))
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// isOurHostPort reports whether a host and port name this engine: its
// advertised address or one of its listening sockets.
func (s *Server) isOurHostPort(host string, port int) bool {
	host = strings.Trim(host, "[]")
	if port == 0 {
		port = 5060
	}
	if s.advertiseHost != "" {
		ap := s.advertisePort
		if ap == 0 {
			ap = 5060
		}
		if strings.EqualFold(host, s.advertiseHost) && port == ap {
			return true
		}
	}
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	for _, c := range s.udpConns {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.Port == port && (a.IP.String() == host || a.IP.IsUnspecified()) {
			return true
		}
	}
	return false
}

func (s *Server) isOurURI(u *gosip.Uri) bool { return s.isOurHostPort(u.Host, u.Port) }

// listenerAddr is the local address of the UDP listener, to send branches
// from: the phone's NAT binding was opened towards it.
func (s *Server) listenerAddr() (gosip.Addr, bool) {
	c := s.anyUDPConn()
	if c == nil {
		return gosip.Addr{}, false
	}
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return gosip.Addr{}, false
	}
	return gosip.Addr{IP: a.IP, Port: a.Port}, true
}

// call is one INVITE being proxied. Its owner (the goroutine in run) alone
// touches the fields below events; branch pumps reach it only through
// events and the atomic flags.
type call struct {
	s      *Server
	req    *gosip.Request
	tx     upstream
	log    *slog.Logger
	caller Caller
	base   string // loop-detection base of req

	events chan branchEvent // unbuffered: a send succeeds only while the owner runs
	done   chan struct{}    // closed when the owner returns
	// cancelled is set by sipgo's CANCEL handling, which has sent the
	// caller 200 and 487 by then; cancelCh wakes the owner.
	cancelled atomic.Bool
	cancelCh  chan struct{}

	branches []*branch
	gen      int           // the stage generation now ringing
	results  []finalResult // final answers of this stage's targets
	pending  []pendingTarget
	answered bool
	timerC   *time.Timer

	key   callKey
	entry callEntry
	start time.Time
	// rang is set once a ringing or early media answer went to the
	// caller; forwarded once a stage after the first or another user's
	// plan rings; voicemail once a voicemail target was reached.
	rang, forwarded, voicemail bool
	// stage is the index of the plan stage ringing; viaForward is set
	// while starting a target reached through a forward; hops counts the
	// forwards to other users the call has followed.
	stage      int
	viaForward bool
	hops       int
	// busy is set while the stage ringing follows one whose phones were
	// all busy.
	busy bool
	// app is the voice application that took the call (voicemail), until
	// the caller is answered for it.
	app       AppSession
	appTarget routing.Target
	// tag is our To tag towards the caller once this engine answers or
	// rings for the call itself.
	tag string
	// dial is set for a call this engine places itself (Dial).
	dial *dialState
	// bridge is set when the engine is in the call's media path: its
	// branches are calls of our own, bridged to the caller on answer.
	bridge  BridgedCall
	record  []string // the users whose record_calls bridges the call
	bridged bool     // a leg answered and the bridge owns the call
	// confirmNext is set while starting a target whose answer must be
	// confirmed (a 1 pressed) before it counts.
	confirmNext bool
	rangBack    bool // a Ringing of ours went to the caller
}

type finalResult struct {
	code int
	res  *gosip.Response // nil for an answer the proxy made up
}

type pendingTarget struct {
	t    routing.Target
	at   time.Time
	hops int
}

// upstream is where a call's caller is: the INVITE's server transaction, or
// a caller this engine answered itself (Dial).
type upstream interface {
	OnCancel(gosip.FnTxCancel) bool
	Respond(*gosip.Response) error
	Done() <-chan struct{}
}

func newCall(s *Server, req *gosip.Request, tx upstream, phone Phone) *call {
	c := &call{
		s:        s,
		req:      req,
		tx:       tx,
		base:     loopBase(req),
		events:   make(chan branchEvent),
		done:     make(chan struct{}),
		cancelCh: make(chan struct{}, 1),
	}
	c.caller = Caller{Phone: phone.Name, Extension: phone.Extension}
	if f := req.From(); f != nil {
		c.caller.Number, c.caller.Name = f.Address.User, f.DisplayName
	}
	if to := req.To(); to != nil {
		c.caller.To = to.Address.User
	}
	callID := ""
	if id := req.CallID(); id != nil {
		callID = id.Value()
	}
	c.log = s.log.With("call_id", callID)
	c.key.callID = callID
	if f := req.From(); f != nil {
		c.key.tag, _ = f.Params.Get("tag")
	}
	return c
}

// run routes the call and executes its plan; it returns the outcome and the
// status the caller got.
func (c *call) run() (string, int) {
	defer close(c.done)
	if !c.tx.OnCancel(c.onCancel) {
		return outcomeCancelled, 487
	}
	// Our Route entries are consumed here (RFC 3261 §16.4); the proxy is
	// the one routing the call from now on.
	for c.req.RemoveHeader("Route") {
	}

	plan, err := c.plan()
	if err != nil {
		c.log.Error("route call", "error", err)
		return outcomeFailed, c.finish(500, "Server Internal Error")
	}
	c.log.Debug("call plan", "plan", plan.String())
	if plan.Action != routing.ActionRing {
		return c.reject(plan)
	}
	if plan.Screening && c.dial == nil && c.s.apps != nil {
		// The engine answers to ask the caller's name, then rings the
		// plan itself; without an application it rings unscreened.
		screened := plan
		screened.Screening = false
		c.startAppWith(routing.Target{Kind: routing.TargetScreening, To: plan.Extension}, &screened)
		if c.app != nil {
			return c.answerByApp()
		}
		c.results = c.results[:0]
	}
	defer c.closeBridge()
	if code := c.openBridge(plan); code != 0 {
		return outcomeFailed, c.finish(code, reasonPhrase(code))
	}

	c.timerC = time.NewTimer(timerC)
	defer c.timerC.Stop()
	stage := 0
	for n := 0; ; n++ {
		if stage < 0 || stage >= len(plan.Stages) || n >= maxStages {
			return outcomeNoAnswer, c.finish(480, "Temporarily Unavailable")
		}
		st := plan.Stages[stage]
		if len(st.Targets) == 1 && st.Targets[0].Kind == routing.TargetUser {
			// A forward to another user: that user's own plan takes
			// over, their rules and fallbacks included.
			next, err := c.handOver(st.Targets[0].To)
			if err != nil {
				c.log.Error("route forward", "to", st.Targets[0].To, "error", err)
				return outcomeFailed, c.finish(500, "Server Internal Error")
			}
			if next.Action != routing.ActionRing {
				return c.reject(next)
			}
			c.alsoRecord(next)
			plan, stage = next, 0
			continue
		}
		c.stage = stage
		switch r := c.runStage(st); r {
		case stageAnswered:
			switch {
			case c.dial != nil:
				return c.dialed()
			case c.app != nil:
				return c.answerByApp()
			}
			return outcomeAnswered, 200
		case stageCancelled:
			return outcomeCancelled, 487
		case stageShutdown:
			return outcomeFailed, c.finish(503, "Service Unavailable")
		case stageTimeout:
			if st.OnNoAnswer == routing.StageEnd {
				return outcomeNoAnswer, c.finish(480, "Temporarily Unavailable")
			}
			stage, c.busy = st.OnNoAnswer, false
		case stageBusy:
			if st.OnBusy == routing.StageEnd {
				return outcomeBusy, c.relayBest()
			}
			stage, c.busy = st.OnBusy, true
		case stageFailed:
			if st.OnNoAnswer == routing.StageEnd {
				code := c.relayBest()
				if code == 480 || code == 408 {
					return outcomeNoAnswer, code
				}
				return outcomeFailed, code
			}
			stage, c.busy = st.OnNoAnswer, false
		}
	}
}

// handOver returns the plan of the user ext that the call is forwarded
// to, one hop further; past routing.MaxHops it is a loop (482).
func (c *call) handOver(ext string) (routing.Plan, error) {
	c.hops++
	c.forwarded = true
	if c.hops > routing.MaxHops {
		return routing.Plan{Action: routing.ActionReject, Code: 482, Reason: "Loop Detected"}, nil
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
	defer cancel()
	plan, err := c.s.router.Route(ctx, c.caller, ext, c.hops)
	if err == nil {
		c.log.Debug("forwarded call plan", "to", ext, "hops", c.hops, "plan", plan.String())
	}
	return plan, err
}

// reject answers the caller as a plan that rings nothing says.
func (c *call) reject(plan routing.Plan) (string, int) {
	if plan.Action != routing.ActionReject {
		return outcomeFailed, c.finish(500, "Server Internal Error")
	}
	code, reason := plan.Code, plan.Reason
	if code < 300 || code > 699 {
		code, reason = 480, "Temporarily Unavailable"
	}
	if reason == "" {
		reason = reasonPhrase(code)
	}
	if code == 486 || code == 600 {
		// Blocked callers and users on all their call paths hear busy.
		return outcomeBusy, c.finish(code, reason)
	}
	return outcomeRejected, c.finish(code, reason)
}

func (c *call) onCancel(*gosip.Request) {
	// Runs inside sipgo's transaction state machine, which then sends the
	// 487: only flag and wake the owner.
	c.cancelled.Store(true)
	select {
	case c.cancelCh <- struct{}{}:
	default:
	}
}

type stageResult int

const (
	stageUnknown stageResult = iota
	stageAnswered
	stageCancelled
	stageShutdown
	stageTimeout
	stageBusy
	stageFailed
)

// runStage rings one stage's targets until one answers, all fail, the
// stage times out or the caller gives up.
func (c *call) runStage(st routing.Stage) stageResult {
	c.gen++
	c.results = c.results[:0]
	now := time.Now()
	c.pending = c.pending[:0]
	for _, t := range st.Targets {
		c.pending = append(c.pending, pendingTarget{t: t, at: now.Add(t.Delay), hops: c.hops})
	}
	var stageTimer <-chan time.Time
	if st.Timeout > 0 {
		t := time.NewTimer(st.Timeout)
		defer t.Stop()
		stageTimer = t.C
	}
	delay := time.NewTimer(time.Hour)
	defer delay.Stop()
	for {
		c.startDue()
		if c.app != nil || (c.dial != nil && c.dial.voicemail != nil) {
			// An application answers: whatever else rings stops.
			c.cancelAll("")
			return stageAnswered
		}
		if len(c.pending) == 0 && c.stageSettled() {
			if len(c.results) > 0 && allBusy(c.results) {
				return stageBusy
			}
			return stageFailed
		}
		var delayC <-chan time.Time
		if next, ok := c.nextDue(); ok {
			delay.Reset(time.Until(next))
			delayC = delay.C
		}
		select {
		case ev := <-c.events:
			if c.onEvent(ev) {
				return stageAnswered
			}
			if c.cancelled.Load() {
				c.cancelAll("")
				return stageCancelled
			}
		case <-delayC:
		case <-stageTimer:
			c.cancelAll("")
			return stageTimeout
		case <-c.timerC.C:
			c.cancelAll("")
			return stageTimeout
		case <-c.cancelCh:
			c.cancelAll("")
			return stageCancelled
		case <-c.tx.Done():
			c.cancelAll("")
			return stageCancelled
		case <-c.s.ctx.Done():
			c.cancelAll("")
			return stageShutdown
		}
	}
}

func (c *call) nextDue() (time.Time, bool) {
	var next time.Time
	for i, p := range c.pending {
		if i == 0 || p.at.Before(next) {
			next = p.at
		}
	}
	return next, len(c.pending) > 0
}

// startDue starts the targets whose delay has run out.
func (c *call) startDue() {
	now := time.Now()
	for i := 0; i < len(c.pending); {
		p := c.pending[i]
		if p.at.After(now) {
			i++
			continue
		}
		c.pending = slices.Delete(c.pending, i, i+1)
		c.confirmNext = p.t.Confirm
		c.startTarget(p.t, p.hops)
		c.confirmNext = false
	}
}

// stageSettled reports whether every branch of this stage has its final
// answer.
func (c *call) stageSettled() bool {
	for _, b := range c.branches {
		if b.gen == c.gen && b.final == 0 {
			return false
		}
	}
	return true
}

// startTarget rings one target of the plan, or records at once why it
// cannot ring.
func (c *call) startTarget(t routing.Target, hops int) {
	c.viaForward = c.stage > 0 || hops > 0 || c.forwarded
	switch t.Kind {
	case routing.TargetPhones:
		c.startBindings(c.s.Lookup(t.To))
	case routing.TargetPhone:
		ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
		phone, found, err := c.s.phones.LookupPhone(ctx, t.To)
		cancel()
		if err != nil || !found {
			c.results = append(c.results, finalResult{code: 480})
			return
		}
		var bs []Binding
		for _, b := range c.s.Lookup(phone.Extension) {
			if b.Phone == phone.Name {
				bs = append(bs, b)
			}
		}
		c.startBindings(bs)
	case routing.TargetUser:
		// The other user's own plan decides; its first stage rings within
		// this one (its targets' delays counted from now), and this
		// stage's timeout and fallbacks stay in charge.
		if hops+1 > routing.MaxHops {
			c.results = append(c.results, finalResult{code: 482})
			return
		}
		ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
		plan, err := c.s.router.Route(ctx, c.caller, t.To, hops+1)
		cancel()
		switch {
		case err != nil:
			c.log.Error("route forward", "to", t.To, "error", err)
			c.results = append(c.results, finalResult{code: 500})
		case plan.Action == routing.ActionReject:
			c.results = append(c.results, finalResult{code: plan.Code})
		case plan.Action == routing.ActionRing && len(plan.Stages) > 0:
			c.alsoRecord(plan)
			now := time.Now()
			for _, nt := range plan.Stages[0].Targets {
				c.pending = append(c.pending, pendingTarget{t: nt, at: now.Add(nt.Delay), hops: hops + 1})
			}
		default:
			c.results = append(c.results, finalResult{code: 480})
		}
	case routing.TargetExternal:
		c.startTrunk(t.To)
	case routing.TargetVoicemail, routing.TargetMailboxAccess, routing.TargetDirectory:
		c.voicemail = c.voicemail || t.Kind == routing.TargetVoicemail
		if c.dial != nil {
			c.dialApp(t)
			return
		}
		c.startApp(t)
	default:
		c.results = append(c.results, finalResult{code: 480})
	}
}

func (c *call) startBindings(bs []Binding) {
	if len(bs) == 0 {
		c.results = append(c.results, finalResult{code: 480})
		return
	}
	for i := range bs {
		if err := c.startBranch(&bs[i]); err != nil {
			c.log.Debug("start branch", "contact", bs[i].Contact, "error", err)
			c.results = append(c.results, finalResult{code: 480})
		}
	}
}

// branch is one INVITE forked to one contact. Its pump goroutine reads the
// client transaction and hands responses to the call's owner, or settles
// them alone once the owner has returned.
type branch struct {
	c       *call
	gen     int
	fwd     *gosip.Request
	tx      gosip.ClientTransaction
	dest    string // where requests for this contact go
	network string // UDP or TCP
	trunk   *Trunk // set for a branch to the provider
	// leg is the media of a bridged call's branch: the INVITE is ours,
	// with its offer; released by releaseLeg unless the bridge takes it.
	leg     CalledLeg
	legOnce sync.Once
	// confirm asks whoever answers to press 1 first; stopConfirm ends
	// the question (owned by the call's owner).
	confirm     bool
	stopConfirm context.CancelFunc
	// ext and phone name the phone rung ("" for the provider); forward
	// is set for a target reached through a forward.
	ext, phone string
	forward    bool

	// Owned by the call's owner.
	final int

	// Owned by the pump; so are fwd and tx once it runs.
	provisional bool
	authTried   bool // the provider's challenge was answered once
	cancelTx    gosip.ClientTransaction

	mu           sync.Mutex // guards cancelWanted and cancelReason
	cancelWanted bool
	cancelReason string
	wake         chan struct{}

	// state says what to do with retransmissions of a 2xx.
	state atomic.Int32
}

const (
	branchRinging int32 = iota
	branchRelayed       // its 2xx went to the caller: relay retransmissions
	branchHungUp        // its 2xx was surplus: ACK retransmissions
)

type branchEvent struct {
	b   *branch
	res *gosip.Response
	err error
	// For the outcome of an answer's confirmation: whether 1 was
	// pressed, and the answered call.
	confirmed *bool
	sess      AppSession
}

// startBranch forwards the INVITE to one binding (RFC 3261 §16.6).
func (c *call) startBranch(bd *Binding) error {
	var contact gosip.Uri
	if err := gosip.ParseUri(bd.Contact, &contact); err != nil {
		return err
	}
	network := strings.ToUpper(bd.Transport)
	if network == "" {
		network = "UDP"
	}
	fwd := c.prepareForward(contact)
	dest := bd.target()
	// A phone registered through an edge proxy is reached through its Path
	// (RFC 3327 §5.3): the Path entries become the Route set.
	if bd.Path != "" {
		routes, err := parseRouteList(bd.Path)
		if err != nil || len(routes) == 0 {
			return errNoRoute
		}
		for i := len(routes) - 1; i >= 0; i-- {
			fwd.PrependHeader(&gosip.RouteHeader{Address: routes[i]})
		}
		dest = uriDestination(&routes[0])
		if tp, ok := routes[0].UriParams.Get("transport"); ok {
			network = strings.ToUpper(tp)
		}
	}
	return c.sendBranch(fwd, network, dest, nil, bd)
}

// prepareForward copies the caller's INVITE for one branch (RFC 3261 §16.6
// steps 1 to 3): its Request-URI, our credentials removed, Max-Forwards
// decremented.
func (c *call) prepareForward(recipient gosip.Uri) *gosip.Request {
	fwd := c.req.Clone()
	fwd.Recipient = recipient
	c.s.consumeCredentials(fwd)
	// Clone shares the Max-Forwards header between branches: each gets
	// its own.
	if mf := fwd.MaxForwards(); mf != nil {
		m := gosip.MaxForwardsHeader(mf.Val() - 1)
		fwd.ReplaceHeader(&m)
	} else {
		m := gosip.MaxForwardsHeader(70)
		fwd.AppendHeader(&m)
	}
	if v := fwd.Via(); v != nil {
		setReceived(v, c.req.Source())
	}
	return fwd
}

// proxyVia is the Via the proxy puts on a forked INVITE (RFC 3261 §16.6
// step 8), its branch carrying the request's loop-detection base.
func (s *Server) proxyVia(network, base string) *gosip.ViaHeader {
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: network, Params: gosip.NewParams()}
	via.Host, via.Port = s.localHostPort(network)
	via.Params.Add("branch", proxyBranchPrefix+base+"."+strconv.FormatUint(s.proxy.seq.Add(1), 36))
	via.Params.Add("rport", "")
	return via
}

// sendBranch record-routes a prepared INVITE and sends it to dest over
// network (RFC 3261 §16.6 steps 4 to 10); trunk is set for a branch to the
// provider, whose challenges it answers, bd for a branch to a phone.
func (c *call) sendBranch(fwd *gosip.Request, network, dest string, trunk *Trunk, bd *Binding) error {
	s := c.s
	ext, phone := "", ""
	if bd != nil {
		ext, phone = bd.AOR, bd.Phone
	}
	var leg CalledLeg
	confirm := c.confirmNext && c.confirmBridge()
	if c.bridge != nil {
		var err error
		if fwd, leg, err = c.b2bInvite(fwd, network, dest); err != nil {
			return err
		}
	} else {
		for _, rr := range s.recordRoutes(c.req.Transport(), network, c.req.Source(), dest) {
			fwd.PrependHeader(rr)
		}
	}
	fwd.PrependHeader(s.proxyVia(network, c.base))
	fwd.SetTransport(network)
	fwd.SetDestination(dest)
	fwd.SetSource("")
	fwd.Laddr = gosip.Addr{}
	if network == "UDP" {
		if la, ok := s.listenerAddr(); ok {
			fwd.Laddr = la
		}
	}

	if !s.proxy.track() {
		if leg != nil {
			leg.Close()
		}
		return net.ErrClosed
	}
	// The table before the INVITE leaves: a user is busy from the moment
	// a phone of theirs may ring (a branch that fails to start keeps the
	// mark until the call ends).
	if trunk != nil {
		c.entry.outside()
	} else {
		c.entry.ringing(ext)
	}
	ctx, cancel := context.WithTimeout(s.ctx, connectTimeout)
	tx, err := s.proxy.client.TransactionRequest(ctx, fwd, noBuild)
	cancel()
	if err != nil {
		s.proxy.wg.Done()
		if leg != nil {
			leg.Close()
		}
		return err
	}
	b := &branch{c: c, gen: c.gen, fwd: fwd, tx: tx, dest: dest, network: network, trunk: trunk, wake: make(chan struct{}, 1),
		ext: ext, phone: phone, forward: c.viaForward, leg: leg, confirm: confirm && leg != nil}
	tx.OnRetransmission(b.onRetransmission)
	c.branches = append(c.branches, b)
	s.proxy.metrics.started.Inc()
	go b.pump()
	return nil
}

// onEvent handles one branch response; true when the call is answered.
func (c *call) onEvent(ev branchEvent) bool {
	if ev.confirmed != nil {
		return c.onConfirmed(ev)
	}
	b := ev.b
	res := ev.res
	if ev.err != nil {
		code := 480
		if errors.Is(ev.err, gosip.ErrTransactionTimeout) {
			code = 408 // RFC 3261 §16.8
		}
		b.releaseLeg()
		c.settle(b, finalResult{code: code})
		return false
	}
	switch {
	case res.IsProvisional():
		if b.leg != nil {
			c.ringBack()
		} else {
			c.relay(res)
		}
		return false
	case res.IsSuccess() && b.confirm:
		c.askConfirmation(b, res)
		return false
	case res.IsSuccess() && b.leg != nil:
		return c.connect(b, res)
	case res.IsSuccess():
		if c.answered || c.cancelled.Load() {
			c.hangUpLater(b, res)
			return false
		}
		b.final = res.StatusCode
		b.state.Store(branchRelayed)
		// The table first: whoever hears of the answer finds it there.
		c.entry.answered(b.ext, b.phone, time.Now(), b.trunk != nil)
		c.s.rememberAnswer(c, b)
		c.relay(res)
		if c.cancelled.Load() {
			// The caller's CANCEL got in before the 2xx (sipgo sent 487 and
			// dropped our 2xx; OnCancel only runs before a final response).
			b.state.Store(branchHungUp)
			c.hangUpLater(b, res)
			c.cancelAll("")
			return false
		}
		c.answered = true
		c.forwarded = b.forward
		c.cancelAll(reasonCompletedElsewhere)
		return true
	default:
		code := res.StatusCode
		if code == 503 {
			code = 500 // RFC 3261 §16.7 step 6: a branch's 503 is not ours
		}
		if b.trunk != nil && (code == 401 || code == 407) {
			// The provider refused the trunk's credentials: the caller has
			// none to offer it.
			c.settle(b, finalResult{code: 403})
			return false
		}
		if b.leg != nil {
			// Our own call's answer: the caller gets one of ours.
			b.releaseLeg()
			if code == 401 || code == 407 {
				code = 480
			}
			c.settle(b, finalResult{code: code})
			return false
		}
		c.settle(b, finalResult{code: code, res: res})
		return false
	}
}

func (c *call) settle(b *branch, r finalResult) {
	b.final = r.code
	if b.gen == c.gen {
		c.results = append(c.results, r)
	}
}

// cancelAll cancels every branch still ringing.
func (c *call) cancelAll(reason string) {
	c.pending = c.pending[:0]
	for _, b := range c.branches {
		if b.final == 0 {
			b.cancel(reason)
			if b.stopConfirm != nil {
				b.stopConfirm()
			}
		}
	}
}

// relay sends a branch's response to the caller (RFC 3261 §16.7 step 9):
// the same response without our Via. 100 Trying is ours alone.
func (c *call) relay(res *gosip.Response) {
	if res.StatusCode == 100 {
		return
	}
	if !c.rang {
		c.rang = true
		c.s.proxy.metrics.postDial.Observe(time.Since(c.start).Seconds())
	}
	up := res.Clone()
	up.RemoveHeader("Via")
	up.SetSource("")
	up.SetTransport(c.req.Transport())
	up.SetDestination(c.req.Source())
	if err := c.tx.Respond(up); err != nil {
		c.log.Debug("relay response", "status", res.StatusCode, "error", err)
	}
}

// finish answers the caller with a response of our own. Once this engine
// has answered the caller with a tag of its own (the 180 of a bridged
// call), the final response has the same tag (RFC 3261 §8.2.6.2).
func (c *call) finish(code int, reason string) int {
	res := gosip.NewResponseFromRequest(c.req, code, reason, nil)
	if to := res.To(); to != nil && c.tag != "" {
		to.Params.Remove("tag")
		to.Params.Add("tag", c.tag)
	}
	markReceived(c.req, res)
	if err := c.tx.Respond(res); err != nil {
		c.log.Debug("respond", "status", code, "error", err)
	}
	return code
}

// relayBest sends the caller the best of the stage's final answers
// (RFC 3261 §16.7 step 6): a 6xx if any, else the lowest class, preferring
// within it the answers a caller can act on, else the first one.
func (c *call) relayBest() int {
	best := -1
	rank := func(r finalResult) int {
		cls := r.code / 100
		if cls == 6 {
			cls = 0
		}
		r1 := cls * 10
		switch r.code {
		case 401, 407, 415, 420, 484:
		default:
			r1++
		}
		return r1
	}
	for i, r := range c.results {
		if best < 0 || rank(r) < rank(c.results[best]) {
			best = i
		}
	}
	if best < 0 {
		return c.finish(480, "Temporarily Unavailable")
	}
	r := c.results[best]
	if r.res != nil && r.res.StatusCode == r.code {
		c.relay(r.res)
		return r.code
	}
	return c.finish(r.code, reasonPhrase(r.code))
}

func allBusy(rs []finalResult) bool {
	for _, r := range rs {
		if r.code != 486 && r.code != 600 {
			return false
		}
	}
	return true
}

func reasonPhrase(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 415:
		return "Unsupported Media Type"
	case 480:
		return "Temporarily Unavailable"
	case 482:
		return "Loop Detected"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 491:
		return "Request Pending"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Unavailable"
}

// cancel asks the pump to CANCEL the branch (RFC 3261 §9.1): at once when
// it has had a provisional response, else as soon as it has one.
func (b *branch) cancel(reason string) {
	b.mu.Lock()
	first := !b.cancelWanted
	b.cancelWanted, b.cancelReason = true, reason
	b.mu.Unlock()
	if first {
		b.c.s.proxy.metrics.cancelled.Inc()
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *branch) wantsCancel() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cancelWanted
}

// pump reads the branch's transaction until its final response. It ends
// with the branch, never later than cancelWait after a CANCEL.
func (b *branch) pump() {
	s := b.c.s
	defer s.proxy.wg.Done()
	defer func() {
		if b.cancelTx != nil {
			b.cancelTx.Terminate()
		}
	}()
	var deadline *time.Timer
	var deadlineC <-chan time.Time
	var cancelRes <-chan *gosip.Response
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for {
		if b.provisional && b.cancelTx == nil && deadline == nil {
			b.mu.Lock()
			want, reason := b.cancelWanted, b.cancelReason
			b.mu.Unlock()
			if want {
				if tx, err := b.sendCancel(reason); err == nil {
					b.cancelTx, cancelRes = tx, tx.Responses()
				} else {
					s.log.Debug("send CANCEL", "to", b.dest, "error", err)
				}
				deadline = time.NewTimer(cancelWait)
				deadlineC = deadline.C
			}
		}
		select {
		case res := <-b.tx.Responses():
			if res.IsProvisional() {
				b.provisional = true
				if res.StatusCode != 100 {
					b.deliver(res, nil)
				}
				continue
			}
			if b.trunk != nil && (res.StatusCode == 401 || res.StatusCode == 407) && !b.authTried && !b.wantsCancel() {
				err := b.authenticate(res)
				if err == nil {
					continue
				}
				s.log.Debug("answer trunk challenge", "to", b.dest, "error", err)
			}
			b.deliver(res, nil)
			return
		case <-b.tx.Done():
			err := b.tx.Err()
			if err == nil {
				err = gosip.ErrTransactionTerminated
			}
			b.deliver(nil, err)
			return
		case res := <-cancelRes:
			if res != nil && !res.IsProvisional() {
				cancelRes = nil
			}
		case <-b.wake:
		case <-deadlineC:
			b.tx.Terminate()
			b.deliver(nil, errCancelTimeout)
			return
		case <-s.ctx.Done():
			b.tx.Terminate()
			return
		}
	}
}

// deliver hands a response to the call's owner, or settles it here once the
// owner has returned: a 2xx nobody wants is ACKed and hung up.
func (b *branch) deliver(res *gosip.Response, err error) {
	select {
	case b.c.events <- branchEvent{b: b, res: res, err: err}:
	case <-b.c.done:
		if res != nil && res.IsSuccess() {
			b.hangUp(res)
		}
		b.releaseLeg()
	}
}

// sendCancel sends the CANCEL of the branch's INVITE (RFC 3261 §9.1): same
// Request-URI, top Via, Route set, Call-ID, From, To and CSeq number.
func (b *branch) sendCancel(reason string) (gosip.ClientTransaction, error) {
	inv := b.fwd
	req := gosip.NewRequest(gosip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(inv.Via().Clone())
	for _, h := range inv.GetHeaders("Route") {
		if r, ok := h.(*gosip.RouteHeader); ok {
			req.AppendHeader(r.Clone())
		}
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	copyDialogHeaders(inv, req, gosip.CANCEL)
	if reason != "" {
		req.AppendHeader(gosip.NewHeader("Reason", reason))
	}
	req.SetBody(nil)
	req.SetTransport(inv.Transport())
	req.SetDestination(b.dest)
	req.Laddr = inv.Laddr
	ctx, cancel := context.WithTimeout(b.c.s.ctx, connectTimeout)
	defer cancel()
	return b.c.s.proxy.client.TransactionRequest(ctx, req, noBuild)
}

// copyDialogHeaders copies From, To, Call-ID and the CSeq number of a
// request for another method.
func copyDialogHeaders(from, to *gosip.Request, method gosip.RequestMethod) {
	if h := from.From(); h != nil {
		to.AppendHeader(gosip.HeaderClone(h))
	}
	if h := from.To(); h != nil {
		to.AppendHeader(gosip.HeaderClone(h))
	}
	if h := from.CallID(); h != nil {
		to.AppendHeader(gosip.HeaderClone(h))
	}
	if h := from.CSeq(); h != nil {
		to.AppendHeader(&gosip.CSeqHeader{SeqNo: h.SeqNo, MethodName: method})
	}
}

func (b *branch) onRetransmission(res *gosip.Response) {
	if !res.IsSuccess() {
		return
	}
	switch b.state.Load() {
	case branchRelayed:
		// The caller's ACK has not reached the phone yet: the caller may
		// have missed the 2xx too (RFC 3261 §13.3.1.4).
		if !b.c.s.relayAnswerRetransmission(res.Clone()) {
			b.c.relay(res)
		}
	case branchHungUp:
		_ = b.sendAck(res)
	}
}

// hangUpLater ends a surplus answer on its own goroutine: the owner must not
// wait for the BYE's answer.
func (c *call) hangUpLater(b *branch, res *gosip.Response) {
	b.state.Store(branchHungUp)
	if !c.s.proxy.track() {
		return
	}
	go func() {
		defer c.s.proxy.wg.Done()
		b.hangUp(res)
	}()
}

// hangUp ACKs and BYEs a 2xx the caller will never see: a second phone
// answering at the same moment as the first, or an answer racing the
// caller's CANCEL. The proxy acts as the caller's user agent for that
// dialog (RFC 3261 §13.2.2.4, §15).
func (b *branch) hangUp(res *gosip.Response) {
	b.state.Store(branchHungUp)
	s := b.c.s
	if v := b.fwd.Via(); v != nil {
		// Retransmissions of this 2xx get an ACK.
		if branch, _ := v.Params.Get("branch"); branch != "" {
			s.surplus.add(branch, b)
		}
	}
	if err := b.sendAck(res); err != nil {
		s.log.Debug("ACK surplus answer", "error", err)
	}
	bye := b.inDialogRequest(res, gosip.BYE, 1)
	bye.AppendHeader(gosip.NewHeader("Reason", reasonCompletedElsewhere))
	ctx, cancel := context.WithTimeout(s.ctx, connectTimeout)
	tx, err := s.proxy.client.TransactionRequest(ctx, bye, noBuild)
	cancel()
	if err != nil {
		s.log.Debug("BYE surplus answer", "error", err)
		return
	}
	defer tx.Terminate()
	t := time.NewTimer(cancelWait)
	defer t.Stop()
	for {
		select {
		case r := <-tx.Responses():
			if !r.IsProvisional() {
				return
			}
		case <-tx.Done():
			return
		case <-t.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

func (b *branch) sendAck(res *gosip.Response) error {
	ack := b.inDialogRequest(res, gosip.ACK, 0)
	return b.c.s.sendMessage(ack, ack.Transport(), ack.Destination())
}

// inDialogRequest builds a request in the dialog a branch's 2xx created,
// as its caller would (RFC 3261 §12.2.1.1): to the remote target through the
// route set learnt from Record-Route, below our own entry.
func (b *branch) inDialogRequest(res *gosip.Response, method gosip.RequestMethod, cseqAdd uint32) *gosip.Request {
	s := b.c.s
	target := b.fwd.Recipient
	if ct := res.Contact(); ct != nil {
		target = ct.Address
	}
	req := gosip.NewRequest(method, *target.Clone())
	network := b.network
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: network, Params: gosip.NewParams()}
	via.Host, via.Port = s.localHostPort(network)
	via.Params.Add("branch", uacBranchPrefix+strconv.FormatUint(s.proxy.seq.Add(1), 36)+gosip.GenerateBranchN(8)[len("z9hG4bK"):])
	req.AppendHeader(via)
	// Record-Route lists the proxies nearest the phone first: those before
	// ours are between us and the phone, in reverse order.
	var routes []gosip.Uri
	for _, h := range res.GetHeaders("Record-Route") {
		rr, ok := h.(*gosip.RecordRouteHeader)
		if !ok {
			continue
		}
		if s.isOurURI(&rr.Address) {
			break
		}
		routes = append(routes, rr.Address)
	}
	dest := b.dest
	for i := len(routes) - 1; i >= 0; i-- {
		req.AppendHeader(&gosip.RouteHeader{Address: routes[i]})
	}
	if len(routes) > 0 {
		dest = uriDestination(&routes[len(routes)-1])
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if h := b.fwd.From(); h != nil {
		req.AppendHeader(gosip.HeaderClone(h))
	}
	if h := res.To(); h != nil {
		req.AppendHeader(gosip.HeaderClone(h))
	}
	if h := b.fwd.CallID(); h != nil {
		req.AppendHeader(gosip.HeaderClone(h))
	}
	if h := b.fwd.CSeq(); h != nil {
		req.AppendHeader(&gosip.CSeqHeader{SeqNo: h.SeqNo + cseqAdd, MethodName: method})
	}
	req.SetBody(nil)
	req.SetTransport(network)
	req.SetDestination(dest)
	req.Laddr = b.fwd.Laddr
	return req
}

// recordRoutes builds our Record-Route entries for a request arriving over
// one transport and leaving over another: one entry, or two when the
// transports differ (RFC 5658), the outgoing side's on top. Each carries
// the flow token naming both ends (see flowToken).
func (s *Server) recordRoutes(inNet, outNet, caller, callee string) []gosip.Header {
	flow := s.flowToken(inNet, caller, outNet, callee)
	mk := func(network string) gosip.Header {
		host, port := s.localHostPort(network)
		u := gosip.Uri{Scheme: "sip", Host: host, Port: port, UriParams: gosip.NewParams()}
		if !strings.EqualFold(network, "UDP") {
			u.UriParams.Add("transport", strings.ToLower(network))
		}
		u.UriParams.Add("lr", "")
		u.UriParams.Add(flowParam, flow)
		return &gosip.RecordRouteHeader{Address: u}
	}
	if strings.EqualFold(inNet, outNet) {
		return []gosip.Header{mk(outNet)}
	}
	// Prepended one by one: the incoming side's first, so the outgoing
	// side's ends up on top.
	return []gosip.Header{mk(inNet), mk(outNet)}
}

// flowToken names where each end of a dialog is reached, so that requests
// in the dialog are routed from their Route set alone (no dialog state on
// this engine, SPEC 8a), NAT included: the phone's Contact may be a private
// address only its registration source reaches. It is signed, so that a
// forged Route cannot make this engine send requests anywhere.
//
// Form: <a>~<b>~<mac>, each end as a transport letter and host:port.
func (s *Server) flowToken(netA, a, netB, b string) string {
	end := func(network, addr string) string {
		l := "u"
		if !strings.EqualFold(network, "UDP") {
			l = "t"
		}
		return l + addr
	}
	body := end(netA, a) + "~" + end(netB, b)
	return body + "~" + s.flowMAC(body)
}

func (s *Server) flowMAC(body string) string {
	m, _ := s.proxy.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.proxy.flowKey)
	}
	m.Reset()
	m.Write([]byte(body))
	var sum [sha256.Size]byte
	mac := hex.EncodeToString(m.Sum(sum[:0])[:8])
	s.proxy.macs.Put(m)
	return mac
}

// parseFlow checks a flow token and returns its two ends.
func (s *Server) parseFlow(tok string) (netA, a, netB, b string, ok bool) {
	i := strings.LastIndexByte(tok, '~')
	if i < 0 {
		return "", "", "", "", false
	}
	body, mac := tok[:i], tok[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.flowMAC(body))) {
		return "", "", "", "", false
	}
	ea, eb, found := strings.Cut(body, "~")
	if !found || len(ea) < 2 || len(eb) < 2 {
		return "", "", "", "", false
	}
	letter := func(c byte) string {
		if c == 't' {
			return "TCP"
		}
		return "UDP"
	}
	return letter(ea[0]), ea[1:], letter(eb[0]), eb[1:], true
}

// forwardInDialog forwards a request inside a dialog this engine
// record-routed (RFC 3261 §16.4, §16.12): our Route entries are popped and
// the request goes to the next Route entry, or to the other end of the
// dialog as the flow token names it.
//
// It is stateless (RFC 3261 §16.11), ACK or not: no transaction, no
// goroutine, nothing kept. Retransmissions are forwarded again with the same
// branch, and responses come back to our Via and are relayed by the next
// Via (relayResponse). A proxy that record-routes need not be stateful for
// requests inside the dialog, and a stateless hop costs nothing while the
// call lasts.
//
// It returns a response to send when the request is answered here instead.
func (s *Server) forwardInDialog(req *gosip.Request) *gosip.Response {
	if s.isAppRequest(req) {
		return s.appRequest(req)
	}
	var flow string
	popped := false
	for {
		r := req.Route()
		if r == nil || !s.isOurURI(&r.Address) {
			break
		}
		if v, ok := r.Address.UriParams.Get(flowParam); ok && flow == "" {
			flow = v
		}
		req.RemoveHeader("Route")
		popped = true
	}
	if !popped {
		if req.IsAck() {
			return nil
		}
		// No dialog of ours: as its user agent, we know no such dialog
		// (RFC 3261 §12.2.2); for anywhere else, we route no such request.
		if s.isOurURI(&req.Recipient) || strings.EqualFold(req.Recipient.Host, s.cfg.Realm) {
			return gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
		}
		return gosip.NewResponseFromRequest(req, 404, "Not Found", nil)
	}
	if mf := req.MaxForwards(); mf != nil {
		if mf.Val() == 0 {
			if req.IsAck() {
				return nil
			}
			return gosip.NewResponseFromRequest(req, 483, "Too Many Hops", nil)
		}
		mf.Dec()
	}
	// Phones repeat their credentials on in-dialog requests: ours stop here.
	s.consumeCredentials(req)

	var network, dest string
	if r := req.Route(); r != nil {
		network, dest = uriNetwork(&r.Address), uriDestination(&r.Address)
	} else if netA, a, netB, b, ok := s.parseFlow(flow); ok {
		// From one end to the other.
		if req.Source() == a && strings.EqualFold(req.Transport(), netA) {
			network, dest = netB, b
		} else {
			network, dest = netA, a
		}
	} else if flow != "" {
		return gosip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	} else {
		network, dest = uriNetwork(&req.Recipient), uriDestination(&req.Recipient)
	}

	prev := req.Via()
	if prev == nil {
		return nil
	}
	setReceived(prev, req.Source())
	prevBranch, _ := prev.Params.Get("branch")
	h := fnv.New64a()
	h.Write([]byte(prevBranch))
	h.Write([]byte{0})
	h.Write([]byte(prev.Host))
	h.Write([]byte(strconv.Itoa(prev.Port)))
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: network, Params: gosip.NewParams()}
	via.Host, via.Port = s.localHostPort(network)
	via.Params.Add("branch", statelessBranchPrefix+strconv.FormatUint(h.Sum64(), 36))
	via.Params.Add("rport", "")
	req.PrependHeader(via)
	if req.Method == gosip.BYE {
		s.endCall(req)
	}
	if err := s.sendMessage(req, network, dest); err != nil {
		s.log.Debug("forward in-dialog request", "method", req.Method, "to", dest, "error", err)
		if req.IsAck() {
			return nil
		}
		req.RemoveHeader("Via")
		return gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
	}
	return nil
}

// endCall removes the call a BYE ends from the call table.
func (s *Server) endCall(bye *gosip.Request) {
	id := bye.CallID()
	if id == nil {
		return
	}
	var fromTag, toTag string
	if f := bye.From(); f != nil {
		fromTag, _ = f.Params.Get("tag")
	}
	if t := bye.To(); t != nil {
		toTag, _ = t.Params.Get("tag")
	}
	s.proxy.calls.hangUp(id.Value(), fromTag, toTag)
}

// isStatelessResponse reports whether a response answers a request we
// forwarded statelessly.
func isStatelessResponse(res *gosip.Response) bool {
	v := res.Via()
	if v == nil {
		return false
	}
	b, _ := v.Params.Get("branch")
	return strings.HasPrefix(b, statelessBranchPrefix)
}

// relayResponse sends a response to a statelessly forwarded request on to
// the next Via (RFC 3261 §16.11, §18.2.2): its received and rport, which
// we set, name the sender's address.
func (s *Server) relayResponse(res *gosip.Response) {
	if !s.isOurHostPort(res.Via().Host, res.Via().Port) {
		return
	}
	res.RemoveHeader("Via")
	next := res.Via()
	if next == nil {
		return
	}
	host, port := next.Host, next.Port
	if r, ok := next.Params.Get("received"); ok && r != "" {
		host = r
	}
	if r, ok := next.Params.Get("rport"); ok && r != "" {
		if p, err := strconv.Atoi(r); err == nil {
			port = p
		}
	}
	if port == 0 {
		port = 5060
	}
	network := strings.ToUpper(next.Transport)
	if err := s.sendMessage(res, network, net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))); err != nil {
		s.log.Debug("relay response", "status", res.StatusCode, "error", err)
	}
}

// consumeCredentials removes the Proxy-Authorization entries for our realm
// from a request about to be forwarded: they were meant for us and go no
// further, while those for other realms pass untouched (RFC 3261 §22.3).
func (s *Server) consumeCredentials(req *gosip.Request) {
	hs := req.GetHeaders("Proxy-Authorization")
	if len(hs) == 0 {
		return
	}
	keep := make([]string, 0, len(hs))
	for _, h := range hs {
		if creds, err := ParseCredentials(h.Value()); err == nil && creds.Realm == s.cfg.Realm {
			continue
		}
		keep = append(keep, h.Value())
	}
	for req.RemoveHeader("Proxy-Authorization") {
	}
	for _, v := range keep {
		req.AppendHeader(gosip.NewHeader("Proxy-Authorization", v))
	}
}

// sendMessage writes a message outside any transaction: over UDP from our
// listening socket, over TCP on the connection the pool holds for dest.
func (s *Server) sendMessage(msg gosip.Message, network, dest string) error {
	if strings.EqualFold(network, "UDP") || network == "" {
		raddr, err := udpAddr(dest)
		if err != nil {
			return err
		}
		conn := s.anyUDPConn()
		if conn == nil {
			return net.ErrClosed
		}
		buf := messageBuffer(msg)
		_, err = conn.WriteTo(buf.Bytes(), raddr)
		messageBuffers.Put(buf)
		return err
	}
	conn, err := s.ua.TransportLayer().GetConnection(strings.ToLower(network), dest)
	if err != nil {
		return err
	}
	return conn.WriteMsg(msg)
}

// setReceived records where a request really came from in its Via
// (RFC 3261 §18.2.1, RFC 3581 §4), so that responses find their way back
// through NAT and to the right connection.
func setReceived(v *gosip.ViaHeader, source string) {
	host, port, err := net.SplitHostPort(source)
	if err != nil {
		return
	}
	if strings.Trim(v.Host, "[]") != host {
		v.Params.Remove("received")
		v.Params.Add("received", host)
	}
	if v.Params.Has("rport") {
		v.Params.Remove("rport")
		v.Params.Add("rport", port)
	}
}

// uriDestination is the host:port a URI is reached at.
func uriDestination(u *gosip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
		if strings.EqualFold(u.Scheme, "sips") {
			port = 5061
		}
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}

func uriNetwork(u *gosip.Uri) string {
	if tp, ok := u.UriParams.Get("transport"); ok && tp != "" {
		return strings.ToUpper(tp)
	}
	return "UDP"
}

// parseRouteList parses a comma-separated list of name-addrs, as the Path
// of a binding is kept.
func parseRouteList(v string) ([]gosip.Uri, error) {
	var out []gosip.Uri
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		part = strings.TrimPrefix(part, "<")
		if i := strings.IndexByte(part, '>'); i >= 0 {
			part = part[:i]
		}
		var u gosip.Uri
		if err := gosip.ParseUri(part, &u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}
