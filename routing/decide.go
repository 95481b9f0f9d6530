package routing

import (
	"strconv"
	"strings"
	"time"
)

// MaxHops bounds the user-to-user forwards one call may follow. A forwards to
// B forwards to A would otherwise ring forever; five is more than any real
// chain of colleagues covering for each other.
const MaxHops = 5

// DefaultRingFor is how long phones ring when neither the rule nor the user
// sets a ring time.
const DefaultRingFor = 25 * time.Second

// StageEnd as a stage's OnNoAnswer or OnBusy ends the call: the proxy answers
// 480 Temporarily Unavailable after no answer and 486 Busy Here after busy.
const StageEnd = -1

// SIP responses a plan may reject with (RFC 3261 section 21.4).
const (
	StatusForbidden              = 403
	StatusTemporarilyUnavailable = 480
	StatusLoopDetected           = 482
	StatusBusyHere               = 486
)

// Action is what the proxy does with the call.
type Action int

const (
	ActionUnknown Action = iota
	// ActionRing runs Plan.Stages from stage 0.
	ActionRing
	// ActionReject answers Plan.Code and Plan.Reason at once.
	ActionReject
)

var actionNames = [...]string{"unknown", "ring", "reject"}

func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return "Action(" + strconv.Itoa(int(a)) + ")"
	}
	return actionNames[a]
}

// TargetKind says what a stage rings.
type TargetKind int

const (
	TargetUnknown TargetKind = iota
	// TargetPhones rings every registered phone of the user whose extension
	// is Target.To.
	TargetPhones
	// TargetPhone rings one phone by name.
	TargetPhone
	// TargetUser hands the call to the user with extension Target.To: the
	// proxy calls Decide for that user with Request.Hops one higher and
	// runs the plan it gets in place of this target.
	TargetUser
	// TargetVoicemail connects the caller to the mailbox Target.To.
	TargetVoicemail
	// TargetExternal dials Target.To out through the trunk.
	TargetExternal
	// TargetMailboxAccess connects the caller to voicemail to manage the
	// mailbox Target.To (their own, *97), or one they name (To empty, *98).
	TargetMailboxAccess
	// TargetDirectory connects the caller to the dial-by-name directory.
	TargetDirectory
	// TargetScreening answers the caller of the user Target.To to ask
	// their name, then rings the user's plan (Plan.Screening).
	TargetScreening
)

var targetKindNames = [...]string{"unknown", "phones", "phone", "user", "voicemail", "external", "mailbox_access", "directory", "screening"}

func (k TargetKind) String() string {
	if k < 0 || int(k) >= len(targetKindNames) {
		return "TargetKind(" + strconv.Itoa(int(k)) + ")"
	}
	return targetKindNames[k]
}

// Target is one thing a stage rings.
type Target struct {
	Kind TargetKind
	To   string
	// Delay is how long after the stage starts this target starts ringing.
	Delay time.Duration
	// Confirm asks whoever answers to press 1 before the call is connected.
	Confirm bool
}

func (t Target) String() string {
	var b strings.Builder
	t.appendTo(&b)
	return b.String()
}

func (t Target) appendTo(b *strings.Builder) {
	b.WriteString(t.Kind.String())
	b.WriteByte(' ')
	b.WriteString(t.To)
	if t.Delay > 0 {
		b.WriteString(" after ")
		b.WriteString(t.Delay.String())
	}
	if t.Confirm {
		b.WriteString(" with confirmation")
	}
}

// Stage is a set of targets rung together. The stage ends when a target
// answers (the call is connected), when Timeout runs out, or when every target
// has failed. Then the proxy goes to OnBusy when every target answered busy,
// and to OnNoAnswer otherwise (timeout, or targets that failed or could not be
// reached); StageEnd ends the call.
type Stage struct {
	Targets []Target
	// Timeout bounds the stage; 0 gives it no timer of its own, for a
	// target that owns the call from then on (voicemail, another user's
	// plan, a forward), leaving only the proxy's own INVITE limit.
	Timeout    time.Duration
	OnNoAnswer int
	OnBusy     int
}

// Plan is the decision for one call, and its explanation.
type Plan struct {
	Action Action
	// Code and Reason are the SIP answer of an ActionReject.
	Code   int
	Reason string
	// Extension is the user the plan is for.
	Extension string
	// RuleID and RuleIndex name the active rule; RuleIndex is -1 and
	// RuleID 0 when no rule is active.
	RuleID    int64
	RuleIndex int
	// Screening asks the proxy to have the caller say their name before
	// the user's phones ring.
	Screening bool
	// Record lists the extensions of the users who record this call (the
	// caller's and the callee's record_calls): the proxy bridges it and
	// keeps a recording for each. Decide leaves it empty; the router
	// fills it in.
	Record []string
	Stages []Stage
	// Explanation says in short sentences why the call goes where it goes,
	// for logs and the explain endpoint.
	Explanation []string
}

// String renders the plan on one line for logs.
func (p Plan) String() string {
	var b strings.Builder
	b.WriteString(p.Action.String())
	if p.Action == ActionReject {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(p.Code))
		b.WriteByte(' ')
		b.WriteString(p.Reason)
	}
	if p.RuleIndex >= 0 {
		b.WriteString(" (rule ")
		b.WriteString(strconv.FormatInt(p.RuleID, 10))
		b.WriteString(" at ")
		b.WriteString(strconv.Itoa(p.RuleIndex))
		b.WriteByte(')')
	} else {
		b.WriteString(" (no rule)")
	}
	if p.Screening {
		b.WriteString(" screening")
	}
	if len(p.Record) > 0 {
		b.WriteString(" recorded for ")
		b.WriteString(strings.Join(p.Record, ","))
	}
	for i, s := range p.Stages {
		b.WriteString("; stage ")
		b.WriteString(strconv.Itoa(i))
		if s.Timeout > 0 {
			b.WriteString(" for ")
			b.WriteString(s.Timeout.String())
		}
		b.WriteString(": ")
		for j, t := range s.Targets {
			if j > 0 {
				b.WriteString(", ")
			}
			t.appendTo(&b)
		}
		if s.OnNoAnswer != StageEnd {
			b.WriteString(", no answer -> ")
			b.WriteString(strconv.Itoa(s.OnNoAnswer))
		}
		if s.OnBusy != StageEnd {
			b.WriteString(", busy -> ")
			b.WriteString(strconv.Itoa(s.OnBusy))
		}
	}
	return b.String()
}

// Request is everything Decide looks at.
type Request struct {
	Callee Callee
	Caller Caller
	// At is the instant of the call; time frames read it in the callee's
	// time zone.
	At time.Time
	// Hops counts the user-to-user forwards this call has already
	// followed.
	Hops int
}

// Decide returns the plan for req. It is pure: the same request always gets
// the same plan, which is what makes the explain endpoint truthful.
//
// The steps, in order:
//  1. A blocked caller number gets a fast busy (486). An anonymous or unknown
//     caller gets 403 when the user blocks those, unless the number is
//     allowed. An allowed number bypasses screening and do-not-disturb.
//  2. The active rule is the first enabled rule whose time frame matches At
//     in the callee's time zone; a frame name the callee does not have never
//     matches. With no active rule the call rings the user's phones and goes
//     to voicemail on no answer, as a rule with nothing set would.
//  3. Do-not-disturb sends the call to voicemail without ringing, or answers
//     480 when the user has no voicemail.
//  4. Forward-always sends the call to its destination alone. A forward to
//     another user when the call has followed MaxHops such forwards
//     answers 482 instead.
//  5. Busy (every call path in use) goes to the busy forward, else to
//     voicemail, else 486.
//  6. Offline (nothing that stage 0 would ring: no registered phone and no
//     simultaneous-ring destination) goes to the offline forward, else to
//     voicemail, else 480.
//  7. Otherwise stage 0 rings the user's phones and any simultaneous-ring
//     destinations for the ring time. No answer goes to the unanswered
//     forward, else voicemail, else ends with 480; every phone busy goes to
//     the busy forward, else voicemail, else ends with 486.
//  8. Screening is asked for when the rule screens, the caller is not
//     allowed and the call rings the user (step 7).
//
// Step 2 is evaluated before step 1 only so that every plan, rejections
// included, names the rule that was active; the outcome is the same.
//
// A forward (or simultaneous-ring destination) to the callee's own extension
// means the callee's phones, never a new hop: that is what someone who picks
// their own extension means, and it cannot loop.
func Decide(req Request) Plan {
	d := decider{c: &req.Callee, hops: req.Hops}
	d.p.RuleIndex = -1
	d.p.Extension = req.Callee.Extension
	d.p.Explanation = make([]string, 0, 4)

	// Step 2.
	idx := d.activeRule(req.At)
	var rule Rule
	if idx >= 0 {
		rule = d.c.Rules[idx]
		d.p.RuleIndex = idx
		d.p.RuleID = rule.ID
		d.explain("rule " + strconv.FormatInt(rule.ID, 10) + " (time frame " + rule.TimeFrame + ") is active")
	} else {
		d.explain("no rule is active: the call is handled as by a rule with nothing set")
	}

	// Step 1.
	caller := NormalizeNumber(req.Caller.Number)
	ext := NormalizeNumber(req.Caller.Extension)
	ab := &d.c.AllowBlock
	if listed(ab.Blocked, caller, ext) {
		d.explain("blocked number: fast busy")
		return d.reject(StatusBusyHere, "Busy Here")
	}
	allowed := listed(ab.Allowed, caller, ext)
	anonymous := req.Caller.Anonymous || (caller == "" && ext == "")
	if anonymous && ab.BlockAnonymous && !allowed {
		d.explain("anonymous or unknown caller, and the user blocks those")
		return d.reject(StatusForbidden, "Anonymous Calls Not Accepted")
	}
	if allowed {
		d.explain("allowed number: do-not-disturb and screening do not apply")
	}

	// Step 3.
	if rule.DND && !allowed {
		d.explain("do not disturb: no phone rings")
		return d.fallback(nil, "", StatusTemporarilyUnavailable, "Temporarily Unavailable")
	}

	// Step 4.
	if fa := rule.ForwardAlways; fa != nil {
		t, why := d.target(*fa)
		switch why {
		case "":
			d.explain("forward always to " + describe(*fa))
			return d.ring(Stage{Targets: []Target{t}, OnNoAnswer: StageEnd, OnBusy: StageEnd})
		case whyLoop:
			d.explain("forward always to " + describe(*fa) + ": " + whyLoop)
			return d.reject(StatusLoopDetected, "Loop Detected")
		case whySelf:
			d.explain("forward always to the user's own extension: handled as no forward")
		default:
			d.explain("forward always ignored: " + why)
		}
	}

	// Step 5.
	if d.c.CallPaths > 0 && d.c.ActiveCalls >= d.c.CallPaths {
		d.explain("busy: " + strconv.Itoa(d.c.ActiveCalls) + " calls in progress on " + strconv.Itoa(d.c.CallPaths) + " call paths")
		return d.fallback(rule.ForwardBusy, "forward when busy", StatusBusyHere, "Busy Here")
	}

	// Step 6.
	targets := d.ringTargets(rule)
	if len(targets) == 0 {
		d.explain("offline: nothing to ring")
		return d.fallback(rule.ForwardOffline, "forward when offline", StatusTemporarilyUnavailable, "Temporarily Unavailable")
	}

	// Step 7.
	ringFor := rule.RingFor
	if ringFor <= 0 {
		ringFor = d.c.DefaultRingFor
	}
	if ringFor <= 0 {
		ringFor = DefaultRingFor
	}
	for _, t := range targets {
		if t.Delay >= ringFor {
			d.explain(t.Kind.String() + " " + t.To + " never rings: its delay is not shorter than the ring time " + ringFor.String())
		}
	}
	d.p.Action = ActionRing
	d.p.Stages = make([]Stage, 1, 3)
	d.p.Stages[0] = Stage{Targets: targets, Timeout: ringFor}
	noAnswer := d.fallbackStage(rule.ForwardUnanswered, "forward when unanswered")
	busy := d.fallbackStage(rule.ForwardBusy, "forward when busy")
	d.p.Stages[0].OnNoAnswer = noAnswer
	d.p.Stages[0].OnBusy = busy
	d.explain("ring for " + ringFor.String() + ": " + d.describeTargets(targets))
	d.explain("on no answer: " + d.stageName(noAnswer, "480") + "; when busy: " + d.stageName(busy, "486"))

	// Step 8.
	if rule.Screening && !allowed {
		d.p.Screening = true
		d.explain("call screening: the caller is asked for their name")
	}
	return d.p
}

// Why a destination cannot be used as given.
const (
	whySelf = "it is the user's own extension"
	whyLoop = "the call has already followed the most forwards allowed"
)

type decider struct {
	c    *Callee
	hops int
	p    Plan
}

func (d *decider) explain(s string) { d.p.Explanation = append(d.p.Explanation, s) }

func (d *decider) reject(code int, reason string) Plan {
	d.p.Action = ActionReject
	d.p.Code = code
	d.p.Reason = reason
	d.p.Stages = nil
	return d.p
}

func (d *decider) ring(stages ...Stage) Plan {
	d.p.Action = ActionRing
	d.p.Stages = stages
	return d.p
}

// activeRule returns the index of the first enabled rule whose frame
// matches at, or -1. Disabled rules and unknown frames ahead of it are
// explained, since they are the usual answer to "why did my holiday rule not
// apply".
func (d *decider) activeRule(at time.Time) int {
	for i, r := range d.c.Rules {
		f, ok := d.frame(r.TimeFrame)
		if !ok {
			d.explain("rule " + strconv.FormatInt(r.ID, 10) + " names an unknown time frame " + strconv.Quote(r.TimeFrame) + ": skipped")
			continue
		}
		if !f.Matches(at, d.c.Location) {
			continue
		}
		if !r.Enabled {
			d.explain("rule " + strconv.FormatInt(r.ID, 10) + " (time frame " + r.TimeFrame + ") matches but is disabled")
			continue
		}
		return i
	}
	return -1
}

// frame looks a frame up by name. "always" needs no entry: the default rule
// must apply even if the snapshot left the built-in frame out.
func (d *decider) frame(name string) (TimeFrame, bool) {
	if f, ok := d.c.Frames[name]; ok {
		return f, true
	}
	if name == AlwaysFrame {
		return TimeFrame{Name: AlwaysFrame, Always: true}, true
	}
	return TimeFrame{}, false
}

// target turns a destination into what the proxy rings. A non-empty reason
// says why it cannot be used: whySelf, whyLoop, or a fault in the
// destination itself.
func (d *decider) target(dest Destination) (Target, string) {
	switch dest.Kind {
	case DestUser:
		switch {
		case dest.To == "":
			return Target{}, "no extension given"
		case dest.To == d.c.Extension:
			return Target{}, whySelf
		case d.hops >= MaxHops:
			return Target{}, whyLoop
		}
		return Target{Kind: TargetUser, To: dest.To}, ""
	case DestHandset:
		if dest.To == "" {
			return Target{}, "no phone given"
		}
		return Target{Kind: TargetPhone, To: dest.To}, ""
	case DestVoicemail:
		switch {
		case dest.To == "":
			return Target{}, "no mailbox given"
		case dest.To == d.c.Extension && !d.c.VoicemailEnabled:
			return Target{}, "the user's voicemail is disabled"
		}
		return Target{Kind: TargetVoicemail, To: dest.To}, ""
	case DestExternal:
		n := NormalizeNumber(dest.To)
		if n == "" {
			return Target{}, "no number given"
		}
		return Target{Kind: TargetExternal, To: n}, ""
	default:
		return Target{}, "unknown destination kind " + dest.Kind.String()
	}
}

// fallback decides a call that does not ring the user: the rule's forward
// for the situation when it has one, else the user's voicemail, else a
// rejection. A forward to another user past the hop limit is a loop and
// answers 482, as forward-always does, rather than quietly landing in a
// voicemail the caller did not dial.
func (d *decider) fallback(fwd *Destination, what string, code int, reason string) Plan {
	if fwd != nil {
		t, why := d.target(*fwd)
		switch why {
		case "":
			d.explain(what + " to " + describe(*fwd))
			return d.ring(Stage{Targets: []Target{t}, OnNoAnswer: StageEnd, OnBusy: StageEnd})
		case whyLoop:
			d.explain(what + " to " + describe(*fwd) + ": " + whyLoop)
			return d.reject(StatusLoopDetected, "Loop Detected")
		default:
			d.explain(what + " ignored: " + why)
		}
	}
	if d.c.VoicemailEnabled {
		d.explain("to voicemail " + d.c.Extension)
		return d.ring(Stage{Targets: []Target{{Kind: TargetVoicemail, To: d.c.Extension}}, OnNoAnswer: StageEnd, OnBusy: StageEnd})
	}
	d.explain("no voicemail: answer " + strconv.Itoa(code) + " " + reason)
	return d.reject(code, reason)
}

// fallbackStage returns the index of the stage that follows stage 0 in a
// situation (no answer, busy): the rule's forward, else the user's
// voicemail, else StageEnd. Equal stages are shared, so "voicemail on no
// answer and on busy" is one stage. Past the hop limit a forward to another
// user is skipped here rather than failing the call: the user's phones have
// already rung, and voicemail is still a better end than 482.
func (d *decider) fallbackStage(fwd *Destination, what string) int {
	if fwd != nil {
		t, why := d.target(*fwd)
		if why == "" {
			return d.stageFor(t)
		}
		d.explain(what + " ignored: " + why)
	}
	if d.c.VoicemailEnabled {
		return d.stageFor(Target{Kind: TargetVoicemail, To: d.c.Extension})
	}
	return StageEnd
}

// stageFor returns the index of a fallback stage ringing t alone, adding it
// when no such stage exists yet.
func (d *decider) stageFor(t Target) int {
	for i := 1; i < len(d.p.Stages); i++ {
		if s := d.p.Stages[i]; len(s.Targets) == 1 && s.Targets[0] == t {
			return i
		}
	}
	d.p.Stages = append(d.p.Stages, Stage{Targets: []Target{t}, OnNoAnswer: StageEnd, OnBusy: StageEnd})
	return len(d.p.Stages) - 1
}

// describeTargets names what stage 0 rings, with the registered phones
// behind "phones", since which phones ring is the usual question.
func (d *decider) describeTargets(ts []Target) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		t.appendTo(&b)
		if t.Kind == TargetPhones && t.To == d.c.Extension {
			b.WriteString(" (")
			n := 0
			for _, ph := range d.c.Phones {
				if ph.Registered {
					if n > 0 {
						b.WriteString(", ")
					}
					b.WriteString(ph.Name)
					n++
				}
			}
			b.WriteByte(')')
		}
	}
	return b.String()
}

func (d *decider) stageName(i int, end string) string {
	if i == StageEnd {
		return "answer " + end
	}
	t := d.p.Stages[i].Targets[0]
	return t.Kind.String() + " " + t.To
}

// ringTargets returns what stage 0 rings: the user's registered phones, or
// with a simultaneous ring the phones it names plus its destinations. An
// empty result means the user is offline.
func (d *decider) ringTargets(rule Rule) []Target {
	c := d.c
	registered := false
	for _, ph := range c.Phones {
		if ph.Registered {
			registered = true
			break
		}
	}
	sr := rule.SimRing
	if sr == nil || (!sr.IncludeUser && !sr.RingAllPhones && len(sr.Destinations) == 0) {
		// A simultaneous ring that names nothing would leave nothing to
		// ring; the user surely still wants their phones to.
		if !registered {
			d.explain("no phone is registered")
			return nil
		}
		return []Target{{Kind: TargetPhones, To: c.Extension}}
	}

	targets := make([]Target, 0, 1+len(sr.Destinations))
	allPhones := -1 // index of the TargetPhones entry, once there is one
	addAll := func(delay time.Duration) {
		if !registered {
			d.explain("no phone is registered")
			return
		}
		if allPhones >= 0 {
			targets[allPhones].Delay = min(targets[allPhones].Delay, delay)
			return
		}
		allPhones = len(targets)
		targets = append(targets, Target{Kind: TargetPhones, To: c.Extension, Delay: delay})
	}
	switch {
	case sr.RingAllPhones:
		addAll(0)
	case sr.IncludeUser:
		main := d.mainPhone()
		switch {
		case main == "":
			d.explain("the user has no phone")
		case !d.phoneRegistered(main):
			d.explain("main phone " + main + " is not registered")
		default:
			targets = append(targets, Target{Kind: TargetPhone, To: main})
		}
	}
	for _, sd := range sr.Destinations {
		if sd.Kind == DestUser && sd.To == c.Extension && sd.To != "" {
			addAll(sd.Delay)
			continue
		}
		if sd.Kind == DestHandset {
			if own, reg := d.ownPhone(sd.To); own && !reg {
				d.explain("simultaneous ring to phone " + sd.To + " skipped: not registered")
				continue
			}
		}
		t, why := d.target(sd.Destination)
		if why != "" {
			d.explain("simultaneous ring to " + describe(sd.Destination) + " skipped: " + why)
			continue
		}
		t.Delay = sd.Delay
		t.Confirm = sd.Confirm
		targets = appendTarget(targets, t)
	}
	if allPhones >= 0 {
		// Every registered phone rings already; a single one of them
		// listed again would get a second INVITE for the same call. It
		// keeps its place in time: the phones start at the earliest delay
		// any of them was given.
		all := targets[allPhones]
		kept := targets[:0]
		for _, t := range targets {
			if t.Kind == TargetPhone {
				if own, _ := d.ownPhone(t.To); own {
					all.Delay = min(all.Delay, t.Delay)
					continue
				}
			}
			kept = append(kept, t)
		}
		for i := range kept {
			if kept[i].Kind == TargetPhones && kept[i].To == c.Extension {
				kept[i] = all
			}
		}
		targets = kept
	}
	return targets
}

// appendTarget adds t unless the same destination is there already, in
// which case the earlier delay wins: one INVITE per destination.
func appendTarget(ts []Target, t Target) []Target {
	for i := range ts {
		if ts[i].Kind == t.Kind && ts[i].To == t.To {
			ts[i].Delay = min(ts[i].Delay, t.Delay)
			return ts
		}
	}
	return append(ts, t)
}

func (d *decider) mainPhone() string {
	if d.c.MainPhone != "" {
		return d.c.MainPhone
	}
	if len(d.c.Phones) > 0 {
		return d.c.Phones[0].Name
	}
	return ""
}

func (d *decider) phoneRegistered(name string) bool {
	_, reg := d.ownPhone(name)
	return reg
}

// ownPhone reports whether name is one of the callee's phones, and whether it
// is registered.
func (d *decider) ownPhone(name string) (own, registered bool) {
	for _, ph := range d.c.Phones {
		if ph.Name == name {
			return true, ph.Registered
		}
	}
	return false, false
}

// listed reports whether the caller's number or extension is in list.
func listed(list []string, number, ext string) bool {
	for _, n := range list {
		if sameNumber(n, number) || sameNumber(n, ext) {
			return true
		}
	}
	return false
}

func describe(d Destination) string {
	return d.Kind.String() + " " + d.To
}
