package switchboard

import (
	"context"
	"os"
	"time"

	"switchboard/ivr"
	"switchboard/media"
	"switchboard/sip"
)

// Call screening: the engine answers the caller of a user whose active rule
// screens, records their name (at most 4 s, trailing silence trimmed),
// rings the user's plan with ringback to the caller, and plays the phone
// that answers "you have a call from" and the name: 1 connects the two, 2
// (or hanging up, or no key) sends the caller to the user's voicemail, and
// so does nobody answering.
const (
	screenNameMax     = 4 * time.Second
	screenNameSilence = 1500 * time.Millisecond
	screenAnswerWait  = 6 * time.Second // for a key after the question
)

// screening is what a screened call rings once the caller said their name:
// the user's plan, screening left out; To is the user, whose mailbox takes
// the caller when they do not connect.
type screening struct {
	plan sip.DialRequest
}

// screenIntro asks the caller's name and records it.
type screenIntro struct {
	done bool
	rec  ivr.RecordDone
}

func (s *screenIntro) Start(context.Context) []ivr.Action {
	return []ivr.Action{
		ivr.Play{Items: []ivr.Item{ivr.Prompt("screen-say-name"), ivr.Beep()}},
		ivr.Record{MaxDuration: screenNameMax, SilenceTimeout: screenNameSilence, StopKeys: "#"},
	}
}

func (s *screenIntro) Handle(_ context.Context, ev ivr.Event) []ivr.Action {
	if s.done {
		return nil
	}
	s.done = true
	if rd, ok := ev.(ivr.RecordDone); ok {
		s.rec = rd
		return []ivr.Action{ivr.Play{Items: []ivr.Item{ivr.Prompt("screen-hold")}}}
	}
	return nil
}

func (s *screenIntro) Done() bool { return s.done }
func (s *screenIntro) Err() error { return nil }

// runScreening serves a screened call from the answer to its end.
func (c *voiceCall) runScreening(ctx context.Context, call sip.AppCall) {
	defer c.sess.Close()
	a := c.apps
	t := &placingCall{AppCall: call, c: c}
	intro := &screenIntro{}
	// The runner hangs up when an application stops; this one is only
	// the first part of the call.
	if err := a.runner.WithLogger(c.log).Run(ctx, intro, c.sess, keepCall{t}); err != nil {
		c.log.Info("screening: name", "error", err)
	}
	name := a.takeRecording(intro.rec.Recording)
	if gone(call) {
		return
	}

	p := c.startPlacing(ctx, call)
	defer p.cancel()
	req := c.screen.plan
	req.Media = a.bridges.answered(c.mediaLeg, c.req)
	res, err := a.dialer.Dial(p.ctx, req)
	mailbox := c.screen.plan.To
	switch {
	case err != nil:
		c.log.Error("screening: ring", "error", err)
	case res.Session != nil:
		run := res.Session.(*bridgeRun)
		accepted := a.askCallee(p.ctx, run, name)
		p.stopRinging()
		if accepted {
			c.log.Info("screened call accepted")
			run.Run(ctx, call)
			return
		}
		c.log.Info("screened call sent to voicemail")
		run.decline()
	case res.Voicemail != nil:
		mailbox = res.Voicemail.To
	}
	p.stopRinging()
	if gone(call) {
		return
	}
	dep, err := c.leaveMessage(ctx, t, mailbox)
	c.log.Info("screened call: voicemail", "mailbox", mailbox, "outcome", dep.Outcome().String(), "error", err)
}

// keepCall is a call a runner does not hang up when its application ends.
type keepCall struct{ *placingCall }

func (keepCall) HangUp() {}

func gone(call sip.AppCall) bool {
	select {
	case <-call.Ended():
		return true
	default:
		return false
	}
}

// takeRecording reads a recording the runner made and deletes it; nil
// when there is none.
func (a *voiceApps) takeRecording(handle string) []int16 {
	if handle == "" {
		return nil
	}
	defer func() { _ = a.store.recordings.Remove(handle) }()
	f, err := os.Open(a.store.recordings.Path(handle))
	if err != nil {
		return nil
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f, media.Samples(screenNameMax+time.Second))
	if err != nil {
		return nil
	}
	return pcm
}

// askCallee plays the answering phone who calls and waits for 1 (accept)
// or 2 (voicemail); false also for a hang-up or no key.
func (a *voiceApps) askCallee(ctx context.Context, run *bridgeRun, name []int16) bool {
	question := func() (media.Source, error) {
		intro, err := a.runner.Prompts("call-from")
		if err != nil {
			return nil, err
		}
		options, err := a.runner.Prompts("screen-accept", "screen-voicemail")
		if err != nil {
			return nil, err
		}
		return media.Concat(intro, media.PCM(name), media.Silence(300*time.Millisecond), options), nil
	}
	return run.ask(ctx, question, "12", screenAnswerWait) == '1'
}
