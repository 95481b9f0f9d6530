package sip

import (
	"context"
	"crypto/rand"
	"net/netip"
	"slices"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"switchboard/routing"
)

// Bridging puts this engine in the media path of the calls that need it
// (recorded calls): it answers the caller itself and calls each phone or
// number the plan rings with a call of its own (a back-to-back user agent),
// then bridges the two on answer. Set with WithBridging; without it those
// calls are proxied like any other and not recorded.
type Bridging interface {
	// Open prepares the caller's side of a bridged call: media ready for
	// the caller's offer. An error with a SIPStatus() int method is the
	// caller's answer (488 for an offer without a common codec, 503 when
	// no media port is free); the call is then refused and nothing rings.
	Open(ctx context.Context, req BridgeRequest) (BridgedCall, error)
}

// WithBridging lets the proxy bridge the calls that need the engine in
// their media path.
func WithBridging(b Bridging) Option { return func(s *Server) { s.bridging = b } }

// BridgeRequest is a call the engine bridges.
type BridgeRequest struct {
	Caller Caller
	CallID string
	// Dialled is the number or extension the caller dialled.
	Dialled string
	// Offer is the caller's SDP offer; empty when the caller expects ours
	// in the 200 OK and answers in the ACK.
	Offer []byte
	// LocalIP is the address of this host that the caller reaches.
	LocalIP netip.Addr
	// Record lists the extensions of the users the call is recorded for.
	Record []string
}

// BridgedCall is the media side of one bridged call.
type BridgedCall interface {
	// Leg opens the media of one branch: the offer our INVITE carries
	// (Answer), with localIP in it, the address the branch's peer reaches.
	Leg(localIP netip.Addr) (CalledLeg, error)
	// Connect joins the caller with the branch that answered: answer is
	// the SDP of its 200 OK, callee its dialog. It returns the caller's
	// side, which the engine answers the caller with and runs: Run relays
	// the media until either side hangs up, and hangs up callee. After
	// Connect the call owns leg; on an error leg is closed and the branch
	// counts as failed (488).
	Connect(leg CalledLeg, answer []byte, callee AppCall, info Answerer) (AppSession, error)
	// Also records the extensions of more users the call is recorded for
	// (a forward to a recorded user); before Connect.
	Also(record []string)
	// Close releases the caller's side of a call that was never
	// connected.
	Close()
	// Confirm asks the called party of an answered branch (Connect's
	// session) to press 1, and reports whether they did before a timeout,
	// a hang-up or the end of ctx.
	Confirm(ctx context.Context, answered AppSession) bool
	// Decline ends the called side of a branch Connect joined that is not
	// to be connected (no confirmation, or another branch won); the
	// caller's side stays.
	Decline(answered AppSession)
}

// Answerer says who answered a bridged call.
type Answerer struct {
	Extension string // "" for a number reached through the provider
	Phone     string
	Number    string // the number dialled through the provider
}

// CalledLeg is the media of one branch of a bridged call.
type CalledLeg interface {
	// Answer is our SDP: the offer of our INVITE, or our answer to the
	// peer's last re-offer.
	Answer() []byte
	// Reoffer answers an offer the called party makes in the dialog (hold,
	// resume).
	Reoffer(offer []byte) ([]byte, error)
	// Info takes the body of an INFO request (keys pressed).
	Info(contentType string, body []byte) error
	// Close releases the leg's media.
	Close()
}

// bridgeContact names the engine in the Contact of bridged calls' dialogs.
const bridgeContact = "call"

// openBridge puts the engine in the call's media path when the plan asks
// for it (users who record their calls); 0, or the status that refuses the
// call.
func (c *call) openBridge(plan routing.Plan) int {
	if c.s.bridging == nil || len(plan.Record) == 0 {
		return 0
	}
	if c.bridge != nil {
		c.bridge.Also(plan.Record)
		return 0
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
	defer cancel()
	b, err := c.s.bridging.Open(ctx, BridgeRequest{
		Caller: c.caller, CallID: c.key.callID, Dialled: c.req.Recipient.User, Offer: c.req.Body(),
		LocalIP: c.s.localIPFor(c.req.Transport(), c.req.Source()), Record: slices.Clone(plan.Record),
	})
	if err != nil {
		code := statusOf(err)
		c.log.Info("bridge refused", "code", code, "error", err)
		return code
	}
	c.bridge = b
	return 0
}

// alsoRecord bridges the call, or records it for more users, when a plan
// reached through a forward asks for it. A bridge refused there leaves the
// call proxied.
func (c *call) alsoRecord(plan routing.Plan) {
	if code := c.openBridge(plan); code != 0 {
		c.log.Info("forwarded call not recorded: no bridge", "code", code)
	}
}

// closeBridge releases the caller's side of a bridge that never connected.
func (c *call) closeBridge() {
	if c.bridge != nil && !c.bridged {
		c.bridge.Close()
	}
}

// b2bInvite is the INVITE of our own that a bridged call's branch sends in
// place of the caller's (fwd, prepared for the branch): the same
// Request-URI, Route set, To, caller ID and Max-Forwards, and everything
// else ours: Call-ID, From tag, CSeq, Contact and our offer. Nothing of the
// caller's dialog (Via, Record-Route, extensions, credentials) goes on.
func (c *call) b2bInvite(fwd *gosip.Request, network, dest string) (*gosip.Request, CalledLeg, error) {
	s := c.s
	leg, err := c.bridge.Leg(s.localIPFor(network, dest))
	if err != nil {
		return nil, nil, err
	}
	req := gosip.NewRequest(gosip.INVITE, *fwd.Recipient.Clone())
	for _, h := range fwd.GetHeaders("Route") {
		req.AppendHeader(gosip.HeaderClone(h))
	}
	if mf := fwd.MaxForwards(); mf != nil {
		m := gosip.MaxForwardsHeader(mf.Val())
		req.AppendHeader(&m)
	}
	if f := fwd.From(); f != nil {
		from := &gosip.FromHeader{DisplayName: f.DisplayName, Address: *f.Address.Clone(), Params: gosip.NewParams()}
		from.Params.Add("tag", newAppTag())
		req.AppendHeader(from)
	}
	if t := fwd.To(); t != nil {
		req.AppendHeader(&gosip.ToHeader{DisplayName: t.DisplayName, Address: *t.Address.Clone(), Params: gosip.NewParams()})
	}
	callID := gosip.CallIDHeader(strings.ToLower(rand.Text()) + "@" + s.cfg.Realm)
	req.AppendHeader(&callID)
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
	host, port := s.contactHostPort(network, dest)
	contact := gosip.Uri{Scheme: "sip", User: bridgeContact, Host: host, Port: port, UriParams: gosip.NewParams()}
	if network != "UDP" {
		contact.UriParams.Add("transport", strings.ToLower(network))
	}
	req.AppendHeader(&gosip.ContactHeader{Address: contact})
	for _, name := range []string{"P-Asserted-Identity", "Privacy", "Alert-Info"} {
		for _, h := range fwd.GetHeaders(name) {
			req.AppendHeader(gosip.HeaderClone(h))
		}
	}
	req.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY"))
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(leg.Answer())
	return req, leg, nil
}

// releaseLeg closes a branch's media unless the bridge took it.
func (b *branch) releaseLeg() {
	if b.leg != nil {
		b.legOnce.Do(b.leg.Close)
	}
}

// ringBack tells the caller of a bridged call that a branch rings: a 180
// of ours (the branch's own response belongs to another dialog), once.
func (c *call) ringBack() {
	if c.rangBack {
		return
	}
	c.rangBack = true
	if !c.rang {
		c.rang = true
		c.s.proxy.metrics.postDial.Observe(time.Since(c.start).Seconds())
	}
	res := gosip.NewResponseFromRequest(c.req, 180, "Ringing", nil)
	if to := res.To(); to != nil {
		to.Params.Remove("tag")
		to.Params.Add("tag", c.localTag())
	}
	markReceived(c.req, res)
	if err := c.tx.Respond(res); err != nil {
		c.log.Debug("ringing", "error", err)
	}
}

// connect takes the 2xx of a bridged call's branch: our ACK, then the
// caller's side from the bridge, which the caller is answered with. True
// when the call is answered.
func (c *call) connect(b *branch, res *gosip.Response) bool {
	sess, ok := c.join(b, res)
	if !ok {
		return false
	}
	b.final = res.StatusCode
	c.bridged = true
	c.entry.answered(b.ext, b.phone, time.Now(), b.trunk != nil)
	c.answered = true
	c.forwarded = b.forward
	c.cancelAll(reasonCompletedElsewhere)
	c.app = sess
	c.appTarget = routing.Target{}
	return true
}

// join ACKs the 2xx of a bridged call's branch and joins its leg to the
// caller's side (Connect). A surplus answer, or one without usable SDP, is
// hung up on and false returned.
func (c *call) join(b *branch, res *gosip.Response) (AppSession, bool) {
	if c.answered || c.cancelled.Load() {
		c.hangUpLater(b, res)
		b.releaseLeg()
		return nil, false
	}
	d := c.calledDialog(b, res)
	if err := b.sendAck(res); err != nil {
		c.log.Debug("ACK bridged branch", "error", err)
	}
	c.s.appDialogs.add(d)
	var sess AppSession
	var err error
	b.legOnce.Do(func() {
		sess, err = c.bridge.Connect(b.leg, res.Body(), d, c.answerer(b))
	})
	if err != nil {
		c.log.Info("bridged branch answered with no usable SDP", "error", err)
		go d.HangUp()
		c.settle(b, finalResult{code: 488})
		return nil, false
	}
	return sess, true
}

// confirmBridge makes sure a branch that needs a confirmation can have it:
// the call is bridged.
func (c *call) confirmBridge() bool {
	if c.bridge != nil {
		return true
	}
	if c.s.bridging == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
	defer cancel()
	b, err := c.s.bridging.Open(ctx, BridgeRequest{
		Caller: c.caller, CallID: c.key.callID, Dialled: c.req.Recipient.User, Offer: c.req.Body(),
		LocalIP: c.s.localIPFor(c.req.Transport(), c.req.Source()),
	})
	if err != nil {
		c.log.Info("answer confirmation unavailable: no bridge", "error", err)
		return false
	}
	c.bridge = b
	return true
}

// askConfirmation takes the 2xx of a branch whose answer must be confirmed:
// the called party is asked to press 1 while the other branches ring on.
func (c *call) askConfirmation(b *branch, res *gosip.Response) {
	sess, ok := c.join(b, res)
	if !ok {
		return
	}
	if !c.s.proxy.track() {
		c.bridge.Decline(sess)
		c.settle(b, finalResult{code: 503})
		return
	}
	ctx, cancel := context.WithCancel(c.s.ctx)
	b.stopConfirm = cancel
	go func() {
		defer c.s.proxy.wg.Done()
		defer cancel()
		ok := c.bridge.Confirm(ctx, sess)
		select {
		case c.events <- branchEvent{b: b, confirmed: &ok, sess: sess}:
		case <-c.done:
			c.bridge.Decline(sess)
		}
	}()
}

// onConfirmed takes the outcome of a branch's confirmation: a 1 answers the
// call, anything else drops the branch. True when the call is answered.
func (c *call) onConfirmed(ev branchEvent) bool {
	b := ev.b
	if !*ev.confirmed || c.answered || c.cancelled.Load() {
		c.bridge.Decline(ev.sess)
		c.settle(b, finalResult{code: 480})
		return false
	}
	b.final = 200
	c.bridged = true
	c.entry.answered(b.ext, b.phone, time.Now(), b.trunk != nil)
	c.answered = true
	c.forwarded = b.forward
	c.cancelAll(reasonCompletedElsewhere)
	c.app = ev.sess
	c.appTarget = routing.Target{}
	return true
}

// answerer says who answered on branch b.
func (c *call) answerer(b *branch) Answerer {
	who := Answerer{Extension: b.ext, Phone: b.phone}
	if b.trunk != nil {
		who.Number = b.fwd.Recipient.User
	}
	return who
}

// calledDialog is the dialog a bridged call's branch made with its 2xx, of
// which this engine is the caller (RFC 3261 §12.1.2): the remote target
// from Contact, the route set from Record-Route in reverse.
func (c *call) calledDialog(b *branch, res *gosip.Response) *appDialog {
	s := c.s
	b.state.Store(branchHungUp) // retransmissions of the 2xx get our ACK again
	if v := b.fwd.Via(); v != nil {
		if branch, _ := v.Params.Get("branch"); branch != "" {
			s.surplus.add(branch, b)
		}
	}
	d := &appDialog{
		s: s, log: c.log, media: b.leg,
		acked: make(chan struct{}), ended: make(chan struct{}), referred: make(chan int, 1),
		network: b.network, dest: b.dest,
		callID: b.fwd.CallID(), contact: b.fwd.Contact(),
		target: *b.fwd.Recipient.Clone(),
	}
	if c.dial != nil {
		// A placed call is in the table until its called party's dialog
		// ends.
		d.entry = c.entry
	}
	if f := b.fwd.From(); f != nil {
		d.local = f
		tag, _ := f.Params.Get("tag")
		d.key = appDialogKey(d.callID.Value(), tag)
	}
	d.remote = res.To()
	if ct := res.Contact(); ct != nil {
		d.target = *ct.Address.Clone()
	}
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		if rr, ok := rrs[i].(*gosip.RecordRouteHeader); ok {
			d.routes = append(d.routes, rr.Address)
		}
	}
	if len(d.routes) > 0 {
		d.network, d.dest = uriNetwork(&d.routes[0]), uriDestination(&d.routes[0])
	}
	if cs := b.fwd.CSeq(); cs != nil {
		d.cseq = cs.SeqNo
	}
	// We are the caller: there is no ACK to wait for.
	d.ackOnce.Do(func() { close(d.acked) })
	return d
}
