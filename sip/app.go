package sip

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"switchboard/routing"
)

// Applications answers the calls this engine serves itself: a caller
// leaving a message (routing.TargetVoicemail) and a user managing a
// mailbox (routing.TargetMailboxAccess). Set with WithApplications; without
// it those targets count as unavailable (480).
type Applications interface {
	// Accept prepares the application for a call: it answers the SDP
	// offer, with media ready to receive, and returns the session. An error
	// with a SIPStatus() int method gives the caller's answer (488 for an
	// offer without a common codec, 503 when no media port is free); any
	// other error is a 500.
	Accept(ctx context.Context, req AppRequest) (AppSession, error)
}

// WithApplications lets the proxy answer voicemail and mailbox-access
// targets itself.
func WithApplications(a Applications) Option { return func(s *Server) { s.apps = a } }

// AppRequest is a call routed to an application.
type AppRequest struct {
	Target routing.Target
	Caller Caller
	CallID string
	// Busy says the call reached voicemail because the user's phones were
	// busy (the default greeting says so).
	Busy bool
	// Offer is the SDP offer of the INVITE; empty when the caller expects
	// one in the 200 OK and answers in the ACK.
	Offer []byte
	// LocalIP is the address of this host that the caller reaches, for the
	// SDP's c= line: the advertised or listening address, else the one the
	// host routes towards the caller from.
	LocalIP netip.Addr
	// Plan is, for routing.TargetScreening, the plan to ring once the
	// caller has said their name (Dial with it).
	Plan *routing.Plan
}

// AppSession is one call an application serves.
type AppSession interface {
	// Answer is the SDP that goes in the 200 OK: the answer to the offer,
	// or our offer when the INVITE had none.
	Answer() []byte
	// Acknowledged takes the body of the ACK, which holds the answer when
	// the INVITE had no offer. An error ends the call before Run.
	Acknowledged(sdp []byte) error
	// Run runs the application once the caller has acknowledged the
	// answer, until it is over; call is the signalling side. Run releases
	// everything Accept took.
	Run(ctx context.Context, call AppCall)
	// Reoffer answers a new offer within the call (re-INVITE, UPDATE).
	Reoffer(offer []byte) ([]byte, error)
	// Info takes the body of an INFO request: keys pressed, sent by SIP
	// INFO. An error with a SIPStatus method refuses it (415 for a body it
	// does not know).
	Info(contentType string, body []byte) error
	// Close releases what Accept took when Run will never run: the caller
	// never acknowledged the answer, or hung up first.
	Close()
}

// AppCall is the signalling side of a call an application serves.
type AppCall interface {
	// Transfer asks the caller's user agent to call to (an extension or an
	// outside number) in place of this call (REFER, RFC 3515), and waits
	// until it reports the outcome: nil once the new call is answered.
	// This call ends either way afterwards.
	Transfer(ctx context.Context, to string) error
	// HangUp ends the call (BYE); calling it again does nothing.
	HangUp()
	// Ended is closed once the call is over: the caller hung up, the
	// answer was never acknowledged, or HangUp.
	Ended() <-chan struct{}
}

// statusOf is the SIP status an application error carries, or 500.
func statusOf(err error) int {
	var s interface{ SIPStatus() int }
	if errors.As(err, &s) {
		if code := s.SIPStatus(); code >= 400 && code <= 699 {
			return code
		}
	}
	return 500
}

// appTagPrefix starts our To tag in a dialog an application answered; the
// in-dialog requests of those dialogs are ours, not forwarded.
const appTagPrefix = "sba"

// appLinger is how long an ended application dialog still answers a
// retransmitted BYE with 200 (64*T1).
const appLinger = 32 * time.Second

// appDialogs are the dialogs applications answered, by Call-ID and our tag.
type appDialogs struct {
	mu sync.Mutex // guards m
	m  map[string]*appDialog
}

func appDialogKey(callID, ourTag string) string { return callID + "\x00" + ourTag }

func (t *appDialogs) add(d *appDialog) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*appDialog)
	}
	t.m[d.key] = d
}

func (t *appDialogs) get(key string) *appDialog {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[key]
}

func (t *appDialogs) remove(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

// isAppRequest reports whether an in-dialog request belongs to a dialog an
// application answered: our tag in To, and no Route entry of ours (those
// are dialogs the proxy record-routed).
func (s *Server) isAppRequest(req *gosip.Request) bool {
	if s.isRecordRouted(req) {
		return false
	}
	to := req.To()
	if to == nil {
		return false
	}
	tag, _ := to.Params.Get("tag")
	return strings.HasPrefix(tag, appTagPrefix)
}

// appDialog is one dialog this engine is an end of: a call an application
// answered, where it is the caller's user agent server (RFC 3261 §12.1.1),
// or the called leg of a bridged call, where it is the user agent client
// (§12.1.2).
type appDialog struct {
	s     *Server
	log   *slog.Logger
	entry callEntry
	key   string
	// media answers the offers and digits the peer sends in the dialog.
	media dialogMedia

	// For a call an application answered: the application, the INVITE
	// and our 200.
	app    AppSession
	invite *gosip.Request
	ok     *gosip.Response

	// The dialog's identity: our From (with our tag) in the requests we
	// send, the peer's To, the Call-ID and our Contact.
	local   *gosip.FromHeader
	remote  *gosip.ToHeader
	callID  *gosip.CallIDHeader
	contact *gosip.ContactHeader
	// Where our requests go: the caller's Contact, through the route set
	// its INVITE recorded, or straight to where it came from.
	target  gosip.Uri
	routes  []gosip.Uri
	network string
	dest    string

	acked    chan struct{}
	ackOnce  sync.Once
	ackBody  []byte // written before acked closes
	ended    chan struct{}
	endOnce  sync.Once
	byeOnce  sync.Once
	referred chan int // final status of the transferred call, from NOTIFY

	mu   sync.Mutex // guards cseq
	cseq uint32
}

// dialogMedia is what answers the session offers and digits of a dialog:
// an AppSession, or a CalledLeg.
type dialogMedia interface {
	Answer() []byte
	Reoffer(offer []byte) ([]byte, error)
	Info(contentType string, body []byte) error
}

// startApp offers the call to the application for target t. When the
// application takes it, c.app is set and the caller is to be answered;
// otherwise the target's result is recorded.
func (c *call) startApp(t routing.Target) { c.startAppWith(t, nil) }

// startAppWith is startApp with the plan a screening application rings.
func (c *call) startAppWith(t routing.Target, plan *routing.Plan) {
	if c.s.apps == nil || c.app != nil {
		c.results = append(c.results, finalResult{code: 480})
		return
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
	defer cancel()
	sess, err := c.s.apps.Accept(ctx, AppRequest{
		Target: t, Caller: c.caller, CallID: c.key.callID, Busy: c.busy,
		Offer: c.req.Body(), LocalIP: c.s.localIPFor(c.req.Transport(), c.req.Source()), Plan: plan,
	})
	if err != nil {
		code := statusOf(err)
		if code == 500 {
			c.log.Error("voice application", "target", t.String(), "error", err)
		} else {
			c.log.Info("voice application refused", "target", t.String(), "code", code, "error", err)
		}
		c.results = append(c.results, finalResult{code: code})
		return
	}
	c.app, c.appTarget = sess, t
}

// answerByApp answers the caller for the application that took the call.
func (c *call) answerByApp() (string, int) {
	if c.cancelled.Load() {
		// The caller's CANCEL came first: sipgo has answered 487.
		c.app.Close()
		c.app = nil
		return outcomeCancelled, 487
	}
	if c.bridged {
		c.answerApp(bridgeContact)
		return outcomeAnswered, 200
	}
	kind := c.appTarget.Kind
	by := "voicemail"
	switch kind {
	case routing.TargetDirectory:
		by = "directory"
	case routing.TargetScreening:
		by = "screening"
	}
	// The caller holds a call path; the mailbox user does not.
	c.entry.answered("", by, time.Now(), false)
	c.answerApp(by)
	if kind == routing.TargetVoicemail {
		return outcomeVoicemail, 200
	}
	return outcomeAnswered, 200
}

// newAppTag is a To or From tag of ours for a dialog this engine is an end
// of.
func newAppTag() string { return appTagPrefix + strings.ToLower(rand.Text()[:16]) }

// localTag is our To tag towards the caller, the same in every response
// this engine makes up for the call.
func (c *call) localTag() string {
	if c.tag == "" {
		c.tag = newAppTag()
	}
	return c.tag
}

// answerApp answers the caller for the application that took the call and
// hands the dialog to it; contactUser names it in our Contact.
func (c *call) answerApp(contactUser string) {
	s := c.s
	tag := c.localTag()
	res := gosip.NewResponseFromRequest(c.req, 200, "OK", c.app.Answer())
	if to := res.To(); to != nil {
		to.Params.Remove("tag")
		to.Params.Add("tag", tag)
	}
	res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	host, port := s.contactHostPort(c.req.Transport(), c.req.Source())
	contact := gosip.Uri{Scheme: "sip", User: contactUser, Host: host, Port: port, UriParams: gosip.NewParams()}
	if !strings.EqualFold(c.req.Transport(), "UDP") {
		contact.UriParams.Add("transport", strings.ToLower(c.req.Transport()))
	}
	res.AppendHeader(&gosip.ContactHeader{Address: contact})
	res.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY"))
	markReceived(c.req, res)

	d := &appDialog{
		s: s, app: c.app, media: c.app, log: c.log, entry: c.entry, key: appDialogKey(c.key.callID, tag),
		invite: c.req, ok: res, acked: make(chan struct{}), ended: make(chan struct{}), referred: make(chan int, 1),
		network: c.req.Transport(), dest: c.req.Source(),
		callID: c.req.CallID(), contact: res.Contact(),
	}
	if h := res.To(); h != nil {
		d.local = &gosip.FromHeader{DisplayName: h.DisplayName, Address: h.Address, Params: h.Params.Clone()}
	}
	if h := c.req.From(); h != nil {
		d.remote = &gosip.ToHeader{DisplayName: h.DisplayName, Address: h.Address, Params: h.Params.Clone()}
	}
	if ct := c.req.Contact(); ct != nil {
		d.target = *ct.Address.Clone()
	} else if f := c.req.From(); f != nil {
		d.target = *f.Address.Clone()
	}
	for _, h := range c.req.GetHeaders("Record-Route") {
		if rr, ok := h.(*gosip.RecordRouteHeader); ok {
			d.routes = append(d.routes, rr.Address)
		}
	}
	if len(d.routes) > 0 {
		d.network, d.dest = uriNetwork(&d.routes[0]), uriDestination(&d.routes[0])
	}
	s.appDialogs.add(d)
	if strings.EqualFold(c.req.Transport(), "UDP") {
		s.answers.put(answeredInviteKey(c.req), nil, s.now())
	}
	if err := c.tx.Respond(res); err != nil {
		c.log.Debug("answer for voice application", "error", err)
	}
	c.app = nil // the dialog owns it now
	if !s.proxy.track() {
		d.app.Close()
		d.end()
		return
	}
	go d.run()
}

// run waits for the ACK (retransmitting the 200 over UDP, RFC 3261
// §13.3.1.4), then runs the application until the call is over.
func (d *appDialog) run() {
	s := d.s
	defer s.proxy.wg.Done()
	defer d.end()

	if !d.waitAck() {
		d.app.Close()
		select {
		case <-d.ended: // the caller hung up
		default:
			if s.ctx.Err() == nil {
				d.log.Info("voice application: answer never acknowledged")
			}
			d.HangUp()
		}
		return
	}
	if err := d.app.Acknowledged(d.ackBody); err != nil {
		d.log.Info("voice application: no usable answer in the ACK", "error", err)
		d.app.Close()
		d.HangUp()
		return
	}
	d.app.Run(s.ctx, d)
	d.HangUp()
}

func (d *appDialog) waitAck() bool {
	s := d.s
	interval := gosip.T1
	var resend <-chan time.Time
	var timer *time.Timer
	if strings.EqualFold(d.invite.Transport(), "UDP") {
		timer = time.NewTimer(interval)
		defer timer.Stop()
		resend = timer.C
	}
	giveUp := time.NewTimer(64 * gosip.T1)
	defer giveUp.Stop()
	for {
		select {
		case <-d.acked:
			return true
		case <-d.ended:
			return false
		case <-s.ctx.Done():
			return false
		case <-giveUp.C:
			return false
		case <-resend:
			if err := s.sendMessage(d.ok, "UDP", d.invite.Source()); err != nil {
				d.log.Debug("retransmit 200", "error", err)
			}
			interval = min(2*interval, gosip.T2)
			timer.Reset(interval)
		}
	}
}

// end marks the call over: the application's Ended closes and the call
// leaves the call table.
func (d *appDialog) end() {
	d.endOnce.Do(func() {
		close(d.ended)
		d.entry.end()
		// Retransmissions of the BYE still find it for a while.
		time.AfterFunc(appLinger, func() { d.s.appDialogs.remove(d.key) })
	})
}

func (d *appDialog) Ended() <-chan struct{} { return d.ended }

// HangUp sends the caller a BYE, once, unless the call is over already.
func (d *appDialog) HangUp() {
	select {
	case <-d.ended:
		return
	default:
	}
	d.byeOnce.Do(func() {
		d.end()
		wait := 4 * time.Second
		if d.s.ctx.Err() != nil {
			wait = 500 * time.Millisecond // shutting down
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(d.s.ctx), wait)
		defer cancel()
		if code, err := d.request(ctx, gosip.BYE, nil); err != nil {
			d.log.Debug("BYE", "error", err)
		} else if code >= 300 {
			d.log.Debug("BYE refused", "code", code)
		}
	})
}

// Transfer sends the caller a REFER to to, and waits for the outcome of the
// call it makes (RFC 3515 NOTIFYs with a message/sipfrag status line).
func (d *appDialog) Transfer(ctx context.Context, to string) error {
	target := gosip.Uri{Scheme: "sip", User: to, Host: d.s.cfg.Realm}
	code, err := d.request(ctx, gosip.REFER, func(req *gosip.Request) {
		req.AppendHeader(gosip.NewHeader("Refer-To", "<"+target.String()+">"))
		req.AppendHeader(gosip.NewHeader("Referred-By", "<"+d.local.Address.String()+">"))
	})
	if err != nil {
		return err
	}
	if code >= 300 {
		return errors.New("transfer refused with " + strconv.Itoa(code))
	}
	select {
	case code := <-d.referred:
		if code >= 300 {
			return errors.New("transferred call failed with " + strconv.Itoa(code))
		}
		return nil
	case <-d.ended:
		// The caller's agent hung up on us once the new call was set up.
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request sends a request in the dialog and returns the final status.
func (d *appDialog) request(ctx context.Context, method gosip.RequestMethod, build func(*gosip.Request)) (int, error) {
	s := d.s
	req := gosip.NewRequest(method, *d.target.Clone())
	via := &gosip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: strings.ToUpper(d.network), Params: gosip.NewParams()}
	via.Host, via.Port = s.contactHostPort(d.network, d.dest)
	via.Params.Add("branch", uacBranchPrefix+strconv.FormatUint(s.proxy.seq.Add(1), 36)+gosip.GenerateBranchN(8)[len("z9hG4bK"):])
	req.AppendHeader(via)
	for _, r := range d.routes {
		req.AppendHeader(&gosip.RouteHeader{Address: r})
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(&gosip.FromHeader{DisplayName: d.local.DisplayName, Address: d.local.Address, Params: d.local.Params.Clone()})
	req.AppendHeader(&gosip.ToHeader{DisplayName: d.remote.DisplayName, Address: d.remote.Address, Params: d.remote.Params.Clone()})
	req.AppendHeader(gosip.HeaderClone(d.callID))
	d.mu.Lock()
	d.cseq++
	seq := d.cseq
	d.mu.Unlock()
	req.AppendHeader(&gosip.CSeqHeader{SeqNo: seq, MethodName: method})
	if d.contact != nil {
		req.AppendHeader(gosip.HeaderClone(d.contact))
	}
	if build != nil {
		build(req)
	}
	req.SetTransport(strings.ToUpper(d.network))
	req.SetDestination(d.dest)
	tx, err := s.proxy.client.TransactionRequest(ctx, req, noBuild)
	if err != nil {
		return 0, err
	}
	defer tx.Terminate()
	for {
		select {
		case r := <-tx.Responses():
			if !r.IsProvisional() {
				return r.StatusCode, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return 0, err
			}
			return 0, errors.New(string(method) + " transaction ended without an answer")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// appRequest answers a request inside a dialog an application answered; nil
// for an ACK.
func (s *Server) appRequest(req *gosip.Request) *gosip.Response {
	id := req.CallID()
	to := req.To()
	if id == nil || to == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	d := s.appDialogs.get(appDialogKey(id.Value(), tag))
	if req.IsAck() {
		if d != nil {
			d.ackOnce.Do(func() {
				d.ackBody = req.Body()
				close(d.acked)
			})
		}
		return nil
	}
	if d == nil {
		return gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
	}
	ok := func(body []byte) *gosip.Response {
		res := gosip.NewResponseFromRequest(req, 200, "OK", body)
		if body != nil {
			res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
		}
		if d.contact != nil && (req.Method == gosip.INVITE || req.Method == gosip.UPDATE) {
			res.AppendHeader(gosip.HeaderClone(d.contact))
		}
		return res
	}
	switch req.Method {
	case gosip.BYE:
		// Also a retransmission of a BYE that already ended the call.
		d.ackOnce.Do(func() { close(d.acked) })
		d.end()
		return ok(nil)
	}
	select {
	case <-d.ended:
		return gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
	default:
	}
	switch req.Method {
	case gosip.INVITE, gosip.UPDATE:
		// A re-INVITE also stands for the ACK of a 200 that was lost.
		d.ackOnce.Do(func() { close(d.acked) })
		if len(req.Body()) == 0 {
			// No new offer (a session refresh): the same answer again.
			return ok(d.media.Answer())
		}
		answer, err := d.media.Reoffer(req.Body())
		if err != nil {
			code := statusOf(err)
			if code == 500 {
				code = 488
			}
			return gosip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
		}
		return ok(answer)
	case gosip.INFO:
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = h.Value()
		}
		if len(req.Body()) == 0 {
			return ok(nil) // a keep-alive INFO
		}
		if err := d.media.Info(ct, req.Body()); err != nil {
			code := statusOf(err)
			if code == 500 {
				code = 400
			}
			return gosip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
		}
		return ok(nil)
	case gosip.NOTIFY:
		// Progress of a transfer (RFC 3515 §2.4.5): a sipfrag status line.
		if code, final := sipfragStatus(req.Body()); final {
			select {
			case d.referred <- code:
			default:
			}
		}
		return ok(nil)
	case gosip.OPTIONS:
		return ok(nil)
	}
	res := gosip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(gosip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY"))
	return res
}

// sipfragStatus reads the status line of a message/sipfrag body
// ("SIP/2.0 200 OK") and reports whether it is final.
func sipfragStatus(body []byte) (int, bool) {
	line, _, _ := strings.Cut(string(body), "\n")
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
		return 0, false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 699 {
		return 0, false
	}
	return code, code >= 200
}

// contactHostPort is the host and port this engine puts in its Contact and
// Via towards peer: the advertised address, else the listening socket's,
// else (a wildcard listener) the local address the host routes towards the
// peer from.
func (s *Server) contactHostPort(network, peer string) (string, int) {
	host, port := s.localHostPort(network)
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		if local := s.localIPFor(network, peer); local.IsValid() {
			host = local.String()
		}
	}
	return host, port
}

// localIPFor is the address of this host that a peer reaches: the
// advertised one when it is an IP, the listening socket's when it is not a
// wildcard, else the source address the host would send to peer from.
func (s *Server) localIPFor(network, peer string) netip.Addr {
	if ip, err := netip.ParseAddr(s.advertiseHost); err == nil {
		return ip
	}
	host, _ := s.localHostPort(network)
	if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
		return ip
	}
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return netip.Addr{}
	}
	// No packet is sent: connecting a UDP socket only picks the route.
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return netip.Addr{}
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}
