package sip

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"switchboard/routing"
)

// DialRequest is a call this engine places itself for a caller it has
// answered: the directory connecting the person found, screening ringing
// the user. It rings like any call to To: that user's answering rules, or
// Plan when set, with every branch bridged.
type DialRequest struct {
	// Caller is who the called phones see calling.
	Caller Caller
	// To is the extension dialled.
	To string
	// Plan, when set, is rung in place of To's own plan.
	Plan *routing.Plan
	// Media opens each branch's media and joins the answer to the
	// caller; its Close releases nothing of the caller's, which stays the
	// application's.
	Media BridgedCall
}

// DialResult is how a Dial ended.
type DialResult struct {
	// Session is set when a branch answered: Media.Connect's result, to
	// run with the caller's AppCall. The called party's dialog is its
	// callee.
	Session AppSession
	// Voicemail is set when the plan reached a mailbox before anyone
	// answered: the caller is to leave a message there.
	Voicemail *routing.Target
	// Code is the final status otherwise (480 no answer, 486 busy, ...).
	Code int
}

// dialState is what a placed call keeps besides the call itself.
type dialState struct {
	plan      *routing.Plan
	voicemail *routing.Target
}

// Dial places a call to req.To for a caller this engine answered, and
// waits until it is answered, fails, or ctx ends (the caller hung up: every
// branch is cancelled).
func (s *Server) Dial(ctx context.Context, req DialRequest) (DialResult, error) {
	if s.ctx == nil || !s.proxy.track() {
		return DialResult{}, net.ErrClosed
	}
	defer s.proxy.wg.Done()
	if req.Media == nil {
		return DialResult{}, errors.New("dial: no media")
	}
	inv := s.dialInvite(req)
	up := &dialUpstream{done: ctx.Done()}
	c := newCall(s, inv, up, Phone{Name: req.Caller.Phone, Extension: req.Caller.Extension})
	c.caller = req.Caller
	c.caller.To = req.To
	c.dial = &dialState{plan: req.Plan}
	c.bridge = req.Media
	c.start = time.Now()
	c.entry = s.proxy.calls.begin(c.key, CallInfo{
		CallID: c.key.callID, From: req.Caller.Number, FromName: req.Caller.Name, CallerExtension: req.Caller.Extension,
		FromTrunk: req.Caller.FromTrunk, Dialled: req.To, Started: c.start,
	})
	c.log.Info("call placed", "from", req.Caller.Number, "to", req.To)
	outcome, code := c.run()
	res := DialResult{Code: code}
	switch {
	case c.bridged:
		res.Session = c.app
	case c.dial.voicemail != nil:
		res.Voicemail = c.dial.voicemail
		outcome = outcomeVoicemail
		c.entry.end()
	default:
		c.entry.end()
	}
	s.proxy.metrics.callsBy[outcome].Inc()
	c.log.Info("placed call ended", "outcome", outcome, "code", res.Code, "branches", len(c.branches),
		"duration", time.Since(c.start).Round(time.Millisecond).String())
	return res, nil
}

// dialInvite is the INVITE a placed call stands on: the caller's identity
// and the number dialled, which the branches' own INVITEs copy.
func (s *Server) dialInvite(req DialRequest) *gosip.Request {
	uri := gosip.Uri{Scheme: "sip", User: req.To, Host: s.cfg.Realm, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}
	inv := gosip.NewRequest(gosip.INVITE, uri)
	number := req.Caller.Number
	if req.Caller.Extension != "" && !req.Caller.FromTrunk {
		number = req.Caller.Extension
	}
	from := &gosip.FromHeader{DisplayName: quotedStringSafe(req.Caller.Name), Params: gosip.NewParams(),
		Address: gosip.Uri{Scheme: "sip", User: number, Host: s.cfg.Realm, UriParams: gosip.NewParams(), Headers: gosip.NewParams()}}
	from.Params.Add("tag", newAppTag())
	inv.AppendHeader(from)
	inv.AppendHeader(&gosip.ToHeader{Address: *uri.Clone(), Params: gosip.NewParams()})
	callID := gosip.CallIDHeader(strings.ToLower(rand.Text()) + "@" + s.cfg.Realm)
	inv.AppendHeader(&callID)
	inv.AppendHeader(&gosip.CSeqHeader{SeqNo: 1, MethodName: gosip.INVITE})
	mf := gosip.MaxForwardsHeader(70)
	inv.AppendHeader(&mf)
	return inv
}

// plan is the call's plan: the one a placed call was given, or the
// router's.
func (c *call) plan() (routing.Plan, error) {
	if c.dial != nil && c.dial.plan != nil {
		return *c.dial.plan, nil
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, 5*time.Second)
	defer cancel()
	hops := 0
	if c.dial != nil && c.caller.FromTrunk {
		// A caller from the provider reached one of our applications
		// already: what it dials now is an extension, as in a forward,
		// never a way back out.
		hops = 1
	}
	return c.s.router.Route(ctx, c.caller, c.req.Recipient.User, hops)
}

// dialApp takes a voice application target of a placed call: a mailbox
// ends the call for the caller to leave a message there; anything else
// cannot answer a caller who is already in an application.
func (c *call) dialApp(t routing.Target) {
	if t.Kind == routing.TargetVoicemail && c.dial.voicemail == nil {
		c.dial.voicemail = &t
		return
	}
	c.results = append(c.results, finalResult{code: 480})
}

// dialed is the outcome of a placed call whose stage ended with an answer
// or a mailbox.
func (c *call) dialed() (string, int) {
	if c.dial.voicemail != nil {
		return outcomeVoicemail, 0
	}
	return outcomeAnswered, 200
}

// dialUpstream stands for the caller of a placed call: the application
// that answered them, which learns the outcome from Dial's result; done is
// Dial's context.
type dialUpstream struct {
	done <-chan struct{}
}

func (u *dialUpstream) OnCancel(gosip.FnTxCancel) bool { return true }
func (u *dialUpstream) Done() <-chan struct{}          { return u.done }
func (u *dialUpstream) Respond(*gosip.Response) error  { return nil }
