package switchboard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"switchboard/ivr"
	"switchboard/media"
	"switchboard/sip"
	"switchboard/store"
	"switchboard/voicemail"
)

// dialer places calls for callers the engine answered (sip.Server.Dial).
type dialer interface {
	Dial(ctx context.Context, req sip.DialRequest) (sip.DialResult, error)
}

// placingCall is the signalling side of a call a voice application serves,
// with transfers done by the engine: the directory connecting the person
// found, voicemail's operator forward. The application's caller is
// bridged with a call the engine places through the destination's
// answering rules; a mailbox reached on the way takes a message there, on
// the same call. A transfer to ivr.DirectoryDestination runs the directory.
type placingCall struct {
	sip.AppCall
	c *voiceCall
}

func (t *placingCall) Transfer(ctx context.Context, to string) error {
	c := t.c
	a := c.apps
	if to == ivr.DirectoryDestination {
		dir, err := a.directory(ctx)
		if err != nil {
			return err
		}
		if err := a.runner.WithLogger(c.log).Run(ctx, dir, c.sess, t); err != nil {
			c.log.Info("directory", "error", err)
		}
		return nil
	}
	if a.dialer == nil {
		return errors.New("no calls can be placed")
	}
	p := c.startPlacing(ctx, t)
	defer p.cancel()
	media := a.bridges.answered(c.mediaLeg, c.req)
	res, err := a.dialer.Dial(p.ctx, sip.DialRequest{Caller: c.req.Caller, To: to, Media: media})
	p.stopRinging()
	if err != nil {
		return err
	}
	switch {
	case res.Session != nil:
		c.log.Info("transfer answered", "to", to)
		res.Session.Run(ctx, t.AppCall)
		return nil
	case res.Voicemail != nil:
		c.log.Info("transfer reached voicemail", "to", to, "mailbox", res.Voicemail.To)
		if _, err := c.leaveMessage(ctx, t, res.Voicemail.To); err != nil {
			c.log.Info("voicemail after transfer", "error", err)
		}
		return nil
	}
	return fmt.Errorf("%s did not answer (%d)", to, res.Code)
}

// placing is a call the engine places for a voice application's caller:
// its ctx ends when the caller hangs up (every branch is cancelled then),
// and the caller hears ringback until stopRinging.
type placing struct {
	ctx      context.Context
	cancel   context.CancelFunc
	stopRing context.CancelFunc
	ringing  sync.WaitGroup
}

// startPlacing starts what goes with placing a call for c's caller; the
// caller's end is call's. Its cancel must be called.
func (c *voiceCall) startPlacing(ctx context.Context, call sip.AppCall) *placing {
	p := &placing{}
	p.ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		select {
		case <-call.Ended():
			p.cancel()
		case <-p.ctx.Done():
		}
	}()
	var ringCtx context.Context
	ringCtx, p.stopRing = context.WithCancel(p.ctx)
	p.ringing.Go(func() { playRingback(ringCtx, c.sess) })
	return p
}

// stopRinging ends the ringback and waits until the session's sending side
// is free again (a bridge or a prompt needs it); calling it again does
// nothing.
func (p *placing) stopRinging() {
	p.stopRing()
	p.ringing.Wait()
}

// leaveMessage has the caller leave a message in mailbox on this call.
func (c *voiceCall) leaveMessage(ctx context.Context, call voicemail.Call, mailbox string) (*ivr.Deposit, error) {
	a := c.apps
	dep := ivr.NewDeposit(a.store, ivr.DepositConfig{
		Extension: mailbox, CallerNumber: callerNumber(c.req.Caller), CallerName: c.req.Caller.Name, ReceivedAt: a.now(),
	})
	return dep, a.runner.WithLogger(c.log).Run(ctx, dep, c.sess, call)
}

// directory is the dial-by-name directory as the settings have it.
func (a *voiceApps) directory(ctx context.Context) (*ivr.Directory, error) {
	st, err := a.settings(ctx)
	if err != nil {
		return nil, err
	}
	return ivr.NewDirectory(directoryStore{a.db}, ivr.DirectoryConfig{ByFirstName: st.DirectoryByFirstName}), nil
}

// directoryStore lists the users announced in the directory.
type directoryStore struct{ db *store.DB }

func (d directoryStore) DirectoryEntries(ctx context.Context) ([]ivr.DirectoryEntry, error) {
	ls, err := d.db.Users().Announced(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ivr.DirectoryEntry, len(ls))
	for i, l := range ls {
		out[i] = ivr.DirectoryEntry{Extension: l.Extension, FirstName: l.FirstName, LastName: l.LastName, NameKey: l.NameKey}
	}
	return out, nil
}

// answered is the media side of a call placed for a caller the engine has
// answered already: the caller's session runs, and stays the
// application's if nobody answers.
func (b *callBridges) answered(caller *mediaLeg, req sip.AppRequest) *bridgedCall {
	return &bridgedCall{b: b, caller: caller, log: caller.log, answeredCaller: true, req: sip.BridgeRequest{
		Caller: req.Caller, CallID: req.CallID, Dialled: req.Target.To, LocalIP: req.LocalIP,
	}}
}

// ringbackPCM is one cadence of North American ringback: 440 and 480 Hz
// together for 2 s, then 4 s of silence.
var ringbackPCM = func() []int16 {
	on, off := media.Samples(2*time.Second), media.Samples(4*time.Second)
	pcm := make([]int16, on+off)
	for i := range on {
		t := float64(i) / media.SampleRate
		pcm[i] = int16(0.2 * math.MaxInt16 * (math.Sin(2*math.Pi*440*t) + math.Sin(2*math.Pi*480*t)))
	}
	return pcm
}()

// playRingback plays ringback to the session until ctx ends.
func playRingback(ctx context.Context, sess *media.Session) {
	for ctx.Err() == nil {
		if err := sess.Play(ctx, media.PCM(ringbackPCM)); err != nil {
			return
		}
	}
}
