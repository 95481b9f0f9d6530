package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Instants the decision cases use, on the New York wall clock.
const (
	mondayMorning = "2026-06-15T10:00:00-04:00" // business hours
	mondayNight   = "2026-06-15T23:00:00-04:00" // nights
	christmas     = "2026-12-25T10:00:00-05:00" // a Friday: holidays and business hours both match
	boxingDay     = "2026-12-26T10:00:00-05:00" // a Saturday
)

const defaultRuleID = 100

func defaultRule() Rule { return Rule{ID: defaultRuleID, TimeFrame: AlwaysFrame, Enabled: true} }

// baseRequest is user 101 in New York with two registered phones (101a,
// 101b), one unregistered (101c), voicemail on, only the default rule, called
// from an outside number on a Monday morning.
func baseRequest() Request {
	return Request{
		Callee: Callee{
			Extension:        "101",
			Location:         newYork,
			VoicemailEnabled: true,
			Rules:            []Rule{defaultRule()},
			Frames: map[string]TimeFrame{
				AlwaysFrame:        {Name: AlwaysFrame, Always: true},
				businessHours.Name: businessHours,
				holidays.Name:      holidays,
				nights.Name:        nights,
			},
			DefaultRingFor: 20 * time.Second,
			Phones:         []PhoneState{{"101a", true}, {"101b", true}, {"101c", false}},
		},
		Caller: Caller{Number: "+12125550100", Name: "Pat Caller"},
		At:     at(mondayMorning),
	}
}

// Target and stage shorthands for the expected plans.
func phones(ext string) Target  { return Target{Kind: TargetPhones, To: ext} }
func phone(name string) Target  { return Target{Kind: TargetPhone, To: name} }
func user(ext string) Target    { return Target{Kind: TargetUser, To: ext} }
func mailbox(ext string) Target { return Target{Kind: TargetVoicemail, To: ext} }
func number(n string) Target    { return Target{Kind: TargetExternal, To: n} }

func after(t Target, d time.Duration, confirm bool) Target {
	t.Delay, t.Confirm = d, confirm
	return t
}

func stage(timeout time.Duration, onNoAnswer, onBusy int, ts ...Target) Stage {
	return Stage{Targets: ts, Timeout: timeout, OnNoAnswer: onNoAnswer, OnBusy: onBusy}
}

// final is a stage that owns the call from then on.
func final(t Target) Stage { return stage(0, StageEnd, StageEnd, t) }

func ringPlan(ruleID int64, idx int, stages ...Stage) Plan {
	return Plan{Action: ActionRing, RuleID: ruleID, RuleIndex: idx, Stages: stages}
}

func rejectPlan(code int, reason string, ruleID int64, idx int) Plan {
	return Plan{Action: ActionReject, Code: code, Reason: reason, RuleID: ruleID, RuleIndex: idx}
}

func screened(p Plan) Plan { p.Screening = true; return p }

// normal is what an unforwarded, unscreened call to 101 does under rule
// ruleID at index idx: ring the registered phones for 20 s, then voicemail on
// no answer and on busy.
func normal(ruleID int64, idx int) Plan {
	return ringPlan(ruleID, idx, stage(20*time.Second, 1, 1, phones("101")), final(mailbox("101")))
}

func rules(rs ...Rule) func(*Request) {
	return func(r *Request) { r.Callee.Rules = rs }
}

func dest(kind DestKind, to string) *Destination { return &Destination{Kind: kind, To: to} }

func simDest(kind DestKind, to string, delay time.Duration, confirm bool) SimRingDestination {
	return SimRingDestination{Destination: Destination{Kind: kind, To: to}, Delay: delay, Confirm: confirm}
}

// edits composes request edits.
func edits(fs ...func(*Request)) func(*Request) {
	return func(r *Request) {
		for _, f := range fs {
			f(r)
		}
	}
}

func atTime(s string) func(*Request) { return func(r *Request) { r.At = at(s) } }
func hops(n int) func(*Request)      { return func(r *Request) { r.Hops = n } }
func noVoicemail(r *Request)         { r.Callee.VoicemailEnabled = false }
func allow(ns ...string) func(*Request) {
	return func(r *Request) { r.Callee.AllowBlock.Allowed = ns }
}
func block(ns ...string) func(*Request) {
	return func(r *Request) { r.Callee.AllowBlock.Blocked = ns }
}
func blockAnonymous(r *Request) { r.Callee.AllowBlock.BlockAnonymous = true }
func allOffline(r *Request) {
	for i := range r.Callee.Phones {
		r.Callee.Phones[i].Registered = false
	}
}
func busyPaths(r *Request) { r.Callee.CallPaths, r.Callee.ActiveCalls = 2, 2 }

// always returns an enabled rule on the always frame with the given ID,
// changed by f.
func always(id int64, f func(*Rule)) Rule {
	r := Rule{ID: id, TimeFrame: AlwaysFrame, Enabled: true}
	if f != nil {
		f(&r)
	}
	return r
}

func onFrame(id int64, frame string, f func(*Rule)) Rule {
	r := always(id, f)
	r.TimeFrame = frame
	return r
}

func dnd(r *Rule) { r.DND = true }

// decideCases is shared by TestDecide, TestDecidePlansAreWellFormed and
// BenchmarkDecide: every case is checked for its plan, for the invariants
// every plan keeps, and for determinism.
var decideCases = []struct {
	name    string
	edit    func(*Request)
	want    Plan
	explain string // a substring one explanation line must contain
}{
	// Rule selection.
	{"default rule rings the phones then voicemail", nil, normal(defaultRuleID, 0), "rule 100 (time frame always) is active"},
	{"no rules at all behaves like an empty rule", rules(), normal(0, -1), "no rule is active"},
	{"disabled rules are skipped", rules(Rule{ID: 1, TimeFrame: AlwaysFrame, DND: true}), normal(0, -1), "rule 1 (time frame always) matches but is disabled"},
	{"first matching rule wins", rules(onFrame(1, "business-hours", func(r *Rule) { r.RingFor = 10 * time.Second }), defaultRule()),
		ringPlan(1, 0, stage(10*time.Second, 1, 1, phones("101")), final(mailbox("101"))), "rule 1 (time frame business-hours) is active"},
	{"a rule whose frame does not match is passed over", edits(rules(onFrame(1, "business-hours", dnd), defaultRule()), atTime(mondayNight)),
		normal(defaultRuleID, 1), ""},
	{"holidays above business hours wins on a weekday christmas", edits(rules(onFrame(2, "holidays", dnd), onFrame(1, "business-hours", nil), defaultRule()), atTime(christmas)),
		ringPlan(2, 0, final(mailbox("101"))), "rule 2 (time frame holidays) is active"},
	{"business hours above holidays wins on a weekday christmas", edits(rules(onFrame(1, "business-hours", nil), onFrame(2, "holidays", dnd), defaultRule()), atTime(christmas)),
		normal(1, 0), ""},
	{"holidays on a saturday", edits(rules(onFrame(1, "business-hours", nil), onFrame(2, "holidays", dnd), defaultRule()), atTime(boxingDay)),
		ringPlan(2, 1, final(mailbox("101"))), ""},
	{"disabled holidays rule is skipped on christmas", edits(rules(onFrame(2, "holidays", func(r *Rule) { r.DND, r.Enabled = true, false }), onFrame(1, "business-hours", nil), defaultRule()), atTime(christmas)),
		normal(1, 1), "rule 2 (time frame holidays) matches but is disabled"},
	{"unknown time frame never matches", rules(onFrame(3, "gone", dnd), defaultRule()),
		normal(defaultRuleID, 1), `rule 3 names an unknown time frame "gone"`},
	{"the always frame needs no entry", func(r *Request) { delete(r.Callee.Frames, AlwaysFrame) },
		normal(defaultRuleID, 0), ""},
	{"an always entry in the frames is used as given", func(r *Request) { r.Callee.Frames[AlwaysFrame] = TimeFrame{Name: AlwaysFrame} },
		normal(0, -1), ""},
	{"frames are read in the callee's zone (Berlin 16:00)", edits(rules(onFrame(1, "business-hours", dnd), defaultRule()), atTime("2026-06-15T14:00:00Z"), func(r *Request) { r.Callee.Location = berlin }),
		ringPlan(1, 0, final(mailbox("101"))), ""},
	{"frames are read in the callee's zone (Berlin 18:00)", edits(rules(onFrame(1, "business-hours", dnd), defaultRule()), atTime("2026-06-15T16:00:00Z"), func(r *Request) { r.Callee.Location = berlin }),
		normal(defaultRuleID, 1), ""},
	{"nil location reads UTC", edits(rules(onFrame(1, "business-hours", dnd), defaultRule()), atTime("2026-06-15T08:30:00Z"), func(r *Request) { r.Callee.Location = nil }),
		normal(defaultRuleID, 1), ""},

	// Do not disturb.
	{"dnd goes to voicemail without ringing", rules(always(1, dnd)), ringPlan(1, 0, final(mailbox("101"))), "do not disturb"},
	{"dnd without voicemail answers 480", edits(rules(always(1, dnd)), noVoicemail),
		rejectPlan(480, "Temporarily Unavailable", 1, 0), "no voicemail"},
	{"allowed number passes dnd", edits(rules(always(1, dnd)), allow("+1 (212) 555-0100")), normal(1, 0), "allowed number"},
	{"allowed extension passes dnd", edits(rules(always(1, dnd)), allow("102"), func(r *Request) {
		r.Caller = Caller{Number: "102", Internal: true, Extension: "102"}
	}), normal(1, 0), ""},
	{"allowed extension matches an internal caller's extension", edits(rules(always(1, dnd)), allow("102"), func(r *Request) {
		r.Caller = Caller{Number: "+12125550102", Internal: true, Extension: "102"}
	}), normal(1, 0), ""},
	{"dnd comes before forward always", rules(always(1, func(r *Rule) { r.DND, r.ForwardAlways = true, dest(DestExternal, "+12125550199") })),
		ringPlan(1, 0, final(mailbox("101"))), ""},
	{"an allowed caller past dnd is still forwarded", edits(rules(always(1, func(r *Rule) { r.DND, r.ForwardAlways = true, dest(DestUser, "102") })), allow("+12125550100")),
		ringPlan(1, 0, final(user("102"))), ""},

	// Allow and block.
	{"blocked number gets a fast busy", block("+1 212 555 0100"), rejectPlan(486, "Busy Here", defaultRuleID, 0), "blocked number"},
	{"blocked wins over allowed", edits(block("+12125550100"), allow("+12125550100")), rejectPlan(486, "Busy Here", defaultRuleID, 0), ""},
	{"blocked is an exact match after normalising", block("2125550100"), normal(defaultRuleID, 0), ""},
	{"blocked caller rejected even under dnd", edits(rules(always(1, dnd)), block("+12125550100")), rejectPlan(486, "Busy Here", 1, 0), ""},
	{"block anonymous refuses a withheld caller", edits(blockAnonymous, func(r *Request) { r.Caller = Caller{Anonymous: true} }),
		rejectPlan(403, "Anonymous Calls Not Accepted", defaultRuleID, 0), "anonymous"},
	{"block anonymous refuses an unknown number", edits(blockAnonymous, func(r *Request) { r.Caller.Number = "" }),
		rejectPlan(403, "Anonymous Calls Not Accepted", defaultRuleID, 0), ""},
	{"block anonymous refuses a number with no digits", edits(blockAnonymous, func(r *Request) { r.Caller.Number = "anonymous" }),
		rejectPlan(403, "Anonymous Calls Not Accepted", defaultRuleID, 0), ""},
	{"anonymous caller rings when not blocked", func(r *Request) { r.Caller = Caller{Anonymous: true} }, normal(defaultRuleID, 0), ""},
	{"withheld but asserted allowed number passes", edits(blockAnonymous, allow("+12125550100"), func(r *Request) { r.Caller.Anonymous = true }),
		normal(defaultRuleID, 0), ""},
	{"withheld but asserted blocked number is blocked", edits(block("+12125550100"), func(r *Request) { r.Caller.Anonymous = true }),
		rejectPlan(486, "Busy Here", defaultRuleID, 0), ""},
	{"block anonymous lets a known caller through", blockAnonymous, normal(defaultRuleID, 0), ""},
	{"internal caller with an extension is not unknown", edits(blockAnonymous, func(r *Request) { r.Caller = Caller{Internal: true, Extension: "102"} }),
		normal(defaultRuleID, 0), ""},

	// Forward always.
	{"forward always to a user", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestUser, "102") })),
		ringPlan(1, 0, final(user("102"))), "forward always to user 102"},
	{"forward always to a handset", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestHandset, "102a") })),
		ringPlan(1, 0, final(phone("102a"))), ""},
	{"forward always to a mailbox", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestVoicemail, "200") })),
		ringPlan(1, 0, final(mailbox("200"))), ""},
	{"forward always to an external number", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestExternal, "+1 (212) 555-0199") })),
		ringPlan(1, 0, final(number("+12125550199"))), ""},
	{"forward always to the user's own extension rings their phones", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestUser, "101") })),
		normal(1, 0), "own extension"},
	{"forward always of unknown kind is ignored", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestUnknown, "102") })),
		normal(1, 0), "forward always ignored: unknown destination kind unknown"},
	{"forward always to an external number with no digits is ignored", rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestExternal, "n/a") })),
		normal(1, 0), "no number given"},
	{"forward always to a user at the hop limit is a loop", edits(hops(MaxHops), rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestUser, "102") }))),
		rejectPlan(482, "Loop Detected", 1, 0), "forwards allowed"},
	{"forward always to a user one hop below the limit", edits(hops(MaxHops-1), rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestUser, "102") }))),
		ringPlan(1, 0, final(user("102"))), ""},
	{"forward always to a handset at the hop limit", edits(hops(MaxHops), rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestHandset, "102a") }))),
		ringPlan(1, 0, final(phone("102a"))), ""},
	{"forward always comes before busy and offline", edits(busyPaths, allOffline, rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestExternal, "+12125550199") }))),
		ringPlan(1, 0, final(number("+12125550199"))), ""},
	{"forward always to own disabled voicemail is ignored", edits(noVoicemail, rules(always(1, func(r *Rule) { r.ForwardAlways = dest(DestVoicemail, "101") }))),
		ringPlan(1, 0, stage(20*time.Second, StageEnd, StageEnd, phones("101"))), "voicemail is disabled"},

	// Busy: every call path in use.
	{"all call paths in use goes to voicemail", busyPaths, ringPlan(defaultRuleID, 0, final(mailbox("101"))), "busy: 2 calls in progress on 2 call paths"},
	{"all call paths in use goes to the busy forward", edits(busyPaths, rules(always(1, func(r *Rule) { r.ForwardBusy = dest(DestExternal, "+12125550199") }))),
		ringPlan(1, 0, final(number("+12125550199"))), ""},
	{"all call paths in use without voicemail answers 486", edits(busyPaths, noVoicemail), rejectPlan(486, "Busy Here", defaultRuleID, 0), ""},
	{"more calls than paths is busy too", func(r *Request) { r.Callee.CallPaths, r.Callee.ActiveCalls = 1, 3 },
		ringPlan(defaultRuleID, 0, final(mailbox("101"))), ""},
	{"a free call path rings", func(r *Request) { r.Callee.CallPaths, r.Callee.ActiveCalls = 2, 1 }, normal(defaultRuleID, 0), ""},
	{"zero call paths is unlimited", func(r *Request) { r.Callee.ActiveCalls = 10 }, normal(defaultRuleID, 0), ""},
	{"busy forward to a user at the hop limit is a loop", edits(busyPaths, hops(MaxHops), rules(always(1, func(r *Rule) { r.ForwardBusy = dest(DestUser, "102") }))),
		rejectPlan(482, "Loop Detected", 1, 0), ""},
	{"busy forward to the user's own extension is ignored", edits(busyPaths, rules(always(1, func(r *Rule) { r.ForwardBusy = dest(DestUser, "101") }))),
		ringPlan(1, 0, final(mailbox("101"))), "forward when busy ignored"},
	{"busy comes before offline", edits(busyPaths, allOffline, rules(always(1, func(r *Rule) {
		r.ForwardBusy, r.ForwardOffline = dest(DestUser, "102"), dest(DestExternal, "+12125550199")
	}))), ringPlan(1, 0, final(user("102"))), ""},

	// Offline: nothing stage 0 could ring.
	{"no registered phone goes to voicemail", allOffline, ringPlan(defaultRuleID, 0, final(mailbox("101"))), "no phone is registered"},
	{"no phone at all goes to voicemail", func(r *Request) { r.Callee.Phones = nil }, ringPlan(defaultRuleID, 0, final(mailbox("101"))), "offline"},
	{"offline forward to a handset", edits(allOffline, rules(always(1, func(r *Rule) { r.ForwardOffline = dest(DestHandset, "102a") }))),
		ringPlan(1, 0, final(phone("102a"))), "forward when offline to handset 102a"},
	{"offline without voicemail answers 480", edits(allOffline, noVoicemail), rejectPlan(480, "Temporarily Unavailable", defaultRuleID, 0), ""},
	{"offline forward to a user at the hop limit is a loop", edits(allOffline, hops(MaxHops), rules(always(1, func(r *Rule) { r.ForwardOffline = dest(DestUser, "102") }))),
		rejectPlan(482, "Loop Detected", 1, 0), ""},
	{"offline but a simultaneous-ring destination rings", edits(allOffline, rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{simDest(DestExternal, "+12125550199", 0, true)}}
	}))), ringPlan(1, 0, stage(20*time.Second, 1, 1, after(number("+12125550199"), 0, true)), final(mailbox("101"))), ""},
	{"unregistered main phone with nothing else is offline", edits(func(r *Request) { r.Callee.MainPhone = "101c" }, rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{IncludeUser: true}
	}))), ringPlan(1, 0, final(mailbox("101"))), "main phone 101c is not registered"},
	{"only user forwards past the hop limit is offline", edits(allOffline, hops(MaxHops), rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{Destinations: []SimRingDestination{simDest(DestUser, "102", 0, false)}}
	}))), ringPlan(1, 0, final(mailbox("101"))), "simultaneous ring to user 102 skipped"},

	// Simultaneous ring.
	{"include user rings the main phone", edits(func(r *Request) { r.Callee.MainPhone = "101b" }, rules(always(1, func(r *Rule) { r.SimRing = &SimRing{IncludeUser: true} }))),
		ringPlan(1, 0, stage(20*time.Second, 1, 1, phone("101b")), final(mailbox("101"))), ""},
	{"include user without a main phone rings the first phone", rules(always(1, func(r *Rule) { r.SimRing = &SimRing{IncludeUser: true} })),
		ringPlan(1, 0, stage(20*time.Second, 1, 1, phone("101a")), final(mailbox("101"))), ""},
	{"ring all phones", rules(always(1, func(r *Rule) { r.SimRing = &SimRing{RingAllPhones: true} })), normal(1, 0), "ring for 20s: phones 101 (101a, 101b)"},
	{"ring all phones covers include user", rules(always(1, func(r *Rule) { r.SimRing = &SimRing{IncludeUser: true, RingAllPhones: true} })), normal(1, 0), ""},
	{"destinations with delays and confirmation", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{
			simDest(DestExternal, "+1 212 555 0199", 10*time.Second, true),
			simDest(DestUser, "102", 5*time.Second, false),
			simDest(DestHandset, "102a", 0, false),
			simDest(DestVoicemail, "200", 15*time.Second, false),
		}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1,
		phones("101"),
		after(number("+12125550199"), 10*time.Second, true),
		after(user("102"), 5*time.Second, false),
		phone("102a"),
		after(mailbox("200"), 15*time.Second, false),
	), final(mailbox("101"))), "external +12125550199 after 10s with confirmation"},
	{"confirmation is kept as given", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{Destinations: []SimRingDestination{
			simDest(DestExternal, "+12125550199", 0, false),
			simDest(DestUser, "102", 0, true),
		}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, number("+12125550199"), after(user("102"), 0, true)), final(mailbox("101"))), ""},
	{"own handset is not rung twice when all phones ring", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{simDest(DestHandset, "101b", 3*time.Second, false)}}
	})), normal(1, 0), ""},
	{"own unregistered handset is skipped", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{IncludeUser: true, Destinations: []SimRingDestination{simDest(DestHandset, "101c", 0, false)}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, phone("101a")), final(mailbox("101"))), "phone 101c skipped: not registered"},
	{"simultaneous ring to the own extension rings all phones", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{IncludeUser: true, Destinations: []SimRingDestination{simDest(DestUser, "101", 2*time.Second, false)}}
	})), normal(1, 0), ""},
	{"simultaneous ring to the own extension keeps its delay", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{Destinations: []SimRingDestination{simDest(DestExternal, "+12125550199", 0, false), simDest(DestUser, "101", 4*time.Second, false)}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, number("+12125550199"), after(phones("101"), 4*time.Second, false)), final(mailbox("101"))), ""},
	{"simultaneous ring to a user past the hop limit is skipped", edits(hops(MaxHops), rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{simDest(DestUser, "102", 0, false)}}
	}))), normal(1, 0), "simultaneous ring to user 102 skipped: the call has already followed"},
	{"the same destination twice rings once, at the shorter delay", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{Destinations: []SimRingDestination{
			simDest(DestExternal, "+12125550199", 10*time.Second, true),
			simDest(DestExternal, "+1 212-555-0199", 4*time.Second, false),
		}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, after(number("+12125550199"), 4*time.Second, true)), final(mailbox("101"))), ""},
	{"an empty simultaneous ring rings the phones", rules(always(1, func(r *Rule) { r.SimRing = &SimRing{} })), normal(1, 0), ""},
	{"simultaneous ring without the user's phones", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{Destinations: []SimRingDestination{simDest(DestExternal, "+12125550199", 0, true)}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, after(number("+12125550199"), 0, true)), final(mailbox("101"))), ""},
	{"simultaneous ring destination of unknown kind is skipped", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{simDest(DestKind(9), "x", 0, false)}}
	})), normal(1, 0), "DestKind(9)"},
	{"a delay not shorter than the ring time is explained", rules(always(1, func(r *Rule) {
		r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{simDest(DestExternal, "+12125550199", 20*time.Second, false)}}
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, phones("101"), after(number("+12125550199"), 20*time.Second, false)), final(mailbox("101"))),
		"external +12125550199 never rings"},

	// Ring time.
	{"the rule's ring time", rules(always(1, func(r *Rule) { r.RingFor = 15 * time.Second })),
		ringPlan(1, 0, stage(15*time.Second, 1, 1, phones("101")), final(mailbox("101"))), ""},
	{"the package default ring time", func(r *Request) { r.Callee.DefaultRingFor = 0 },
		ringPlan(defaultRuleID, 0, stage(DefaultRingFor, 1, 1, phones("101")), final(mailbox("101"))), "ring for 25s"},

	// After stage 0.
	{"unanswered to an external number, busy to voicemail", rules(always(1, func(r *Rule) { r.ForwardUnanswered = dest(DestExternal, "+12125550199") })),
		ringPlan(1, 0, stage(20*time.Second, 1, 2, phones("101")), final(number("+12125550199")), final(mailbox("101"))),
		"on no answer: external +12125550199; when busy: voicemail 101"},
	{"unanswered to a user", rules(always(1, func(r *Rule) { r.ForwardUnanswered = dest(DestUser, "102") })),
		ringPlan(1, 0, stage(20*time.Second, 1, 2, phones("101")), final(user("102")), final(mailbox("101"))), ""},
	{"every phone busy goes to the busy forward", rules(always(1, func(r *Rule) { r.ForwardBusy = dest(DestHandset, "102a") })),
		ringPlan(1, 0, stage(20*time.Second, 1, 2, phones("101")), final(mailbox("101")), final(phone("102a"))), ""},
	{"the same forward on no answer and busy is one stage", rules(always(1, func(r *Rule) {
		r.ForwardUnanswered, r.ForwardBusy = dest(DestExternal, "+12125550199"), dest(DestExternal, "+1 212 555 0199")
	})), ringPlan(1, 0, stage(20*time.Second, 1, 1, phones("101")), final(number("+12125550199"))), ""},
	{"unanswered to a user past the hop limit goes to voicemail", edits(hops(MaxHops), rules(always(1, func(r *Rule) { r.ForwardUnanswered = dest(DestUser, "102") }))),
		normal(1, 0), "forward when unanswered ignored: the call has already followed"},
	{"unanswered to the user's own extension goes to voicemail", rules(always(1, func(r *Rule) { r.ForwardUnanswered = dest(DestUser, "101") })),
		normal(1, 0), ""},
	{"no voicemail and no forwards ends after ringing", noVoicemail,
		ringPlan(defaultRuleID, 0, stage(20*time.Second, StageEnd, StageEnd, phones("101"))), "on no answer: answer 480; when busy: answer 486"},
	{"no voicemail with an unanswered forward", edits(noVoicemail, rules(always(1, func(r *Rule) { r.ForwardUnanswered = dest(DestExternal, "+12125550199") }))),
		ringPlan(1, 0, stage(20*time.Second, 1, StageEnd, phones("101")), final(number("+12125550199"))), ""},

	// Screening.
	{"screening rule asks for the caller's name", rules(always(1, func(r *Rule) { r.Screening = true })), screened(normal(1, 0)), "call screening"},
	{"allowed caller is not screened", edits(allow("+12125550100"), rules(always(1, func(r *Rule) { r.Screening = true }))), normal(1, 0), ""},
	{"no screening on the way to voicemail", rules(always(1, func(r *Rule) { r.Screening, r.DND = true, true })),
		ringPlan(1, 0, final(mailbox("101"))), ""},
	{"no screening for forward always", rules(always(1, func(r *Rule) { r.Screening, r.ForwardAlways = true, dest(DestUser, "102") })),
		ringPlan(1, 0, final(user("102"))), ""},
	{"no screening when busy", edits(busyPaths, rules(always(1, func(r *Rule) { r.Screening = true }))),
		ringPlan(1, 0, final(mailbox("101"))), ""},
}

func TestDecide(t *testing.T) {
	for _, c := range decideCases {
		t.Run(c.name, func(t *testing.T) {
			req := baseRequest()
			if c.edit != nil {
				c.edit(&req)
			}
			got := Decide(req)
			if c.explain != "" {
				require.Contains(t, strings.Join(got.Explanation, "\n"), c.explain)
			}
			got.Explanation = nil
			require.Equal(t, req.Callee.Extension, got.Extension, "the plan names its user")
			got.Extension = ""
			require.Equal(t, c.want, got, "explanation: %q", Decide(req).Explanation)
		})
	}
}

// TestDecidePlansAreWellFormed runs every decision case through the checks
// the proxy relies on, and checks Decide gives the same plan twice.
func TestDecidePlansAreWellFormed(t *testing.T) {
	for _, c := range decideCases {
		t.Run(c.name, func(t *testing.T) {
			req := baseRequest()
			if c.edit != nil {
				c.edit(&req)
			}
			p := Decide(req)
			checkPlan(t, req, p)
			require.Equal(t, p, Decide(req))
			require.NotEmpty(t, p.String())
		})
	}
}

// checkPlan asserts what every plan keeps, whatever the input.
func checkPlan(t testing.TB, req Request, p Plan) {
	t.Helper()
	require.NotEmpty(t, p.Explanation, "a plan always explains itself")
	if p.RuleIndex >= 0 {
		require.Less(t, p.RuleIndex, len(req.Callee.Rules))
		require.Equal(t, req.Callee.Rules[p.RuleIndex].ID, p.RuleID)
		require.True(t, req.Callee.Rules[p.RuleIndex].Enabled)
	} else {
		require.Equal(t, -1, p.RuleIndex)
		require.Zero(t, p.RuleID)
	}
	switch p.Action {
	case ActionReject:
		require.Contains(t, []int{403, 480, 482, 486}, p.Code)
		require.NotEmpty(t, p.Reason)
		require.Empty(t, p.Stages)
		require.False(t, p.Screening)
	case ActionRing:
		require.Zero(t, p.Code)
		require.NotEmpty(t, p.Stages)
		for i, s := range p.Stages {
			require.NotEmpty(t, s.Targets, "stage %d", i)
			// Only a stage with a timer can give up and move on; one
			// without hands the call over for good.
			if s.Timeout == 0 {
				require.Equal(t, StageEnd, s.OnNoAnswer, "stage %d", i)
				require.Equal(t, StageEnd, s.OnBusy, "stage %d", i)
			}
			// Fallbacks only point forward: the stage graph cannot cycle.
			for _, next := range []int{s.OnNoAnswer, s.OnBusy} {
				require.True(t, next == StageEnd || (next > i && next < len(p.Stages)), "stage %d goes to %d", i, next)
			}
			for _, tg := range s.Targets {
				require.NotEqual(t, TargetUnknown, tg.Kind)
				require.NotEmpty(t, tg.To)
				require.GreaterOrEqual(t, tg.Delay, time.Duration(0))
				if tg.Kind == TargetUser {
					require.Less(t, req.Hops, MaxHops, "no user forward at the hop limit")
					require.NotEqual(t, req.Callee.Extension, tg.To, "no forward to oneself")
				}
			}
		}
	default:
		t.Fatalf("action %v", p.Action)
	}
}

// TestDecideFollowsFrames runs the time-frame cases through Decide: a rule on
// the frame is active exactly when the frame matches, so what the admin sees
// for a frame and what a call does cannot disagree.
func TestDecideFollowsFrames(t *testing.T) {
	for _, c := range frameCases {
		t.Run(c.name, func(t *testing.T) {
			req := baseRequest()
			req.Callee.Location = c.loc
			req.Callee.Frames = map[string]TimeFrame{c.frame.Name: c.frame}
			req.Callee.Rules = []Rule{onFrame(1, c.frame.Name, dnd), defaultRule()}
			req.At = at(c.at)
			p := Decide(req)
			if c.want {
				require.Equal(t, int64(1), p.RuleID)
				require.Equal(t, []Stage{final(mailbox("101"))}, p.Stages)
			} else {
				require.Equal(t, int64(defaultRuleID), p.RuleID)
			}
		})
	}
}

// TestForwardLoops plays the proxy: it follows every TargetUser of every stage
// by calling Decide for that user with one more hop, as the proxy does, and
// checks the walk ends within MaxHops whatever the rules.
func TestForwardLoops(t *testing.T) {
	fwdAlways := func(to string) Rule {
		return always(1, func(r *Rule) { r.ForwardAlways = dest(DestUser, to) })
	}
	fwdUnanswered := func(to string) Rule {
		return always(1, func(r *Rule) { r.ForwardUnanswered = dest(DestUser, to) })
	}
	simring := func(tos ...string) Rule {
		return always(1, func(r *Rule) {
			r.SimRing = &SimRing{RingAllPhones: true}
			for _, to := range tos {
				r.SimRing.Destinations = append(r.SimRing.Destinations, simDest(DestUser, to, 0, false))
			}
		})
	}
	cases := []struct {
		name  string
		rules map[string]Rule // by extension
		start string
		// wantLoop: some branch ends in 482.
		wantLoop bool
		// wantDepth: the deepest hop any branch reaches.
		wantDepth int
	}{
		{"A forwards to B forwards to A", map[string]Rule{"101": fwdAlways("102"), "102": fwdAlways("101")}, "101", true, MaxHops},
		{"A to B to C to A", map[string]Rule{"101": fwdAlways("102"), "102": fwdAlways("103"), "103": fwdAlways("101")}, "101", true, MaxHops},
		{"A to B, B to itself", map[string]Rule{"101": fwdAlways("102"), "102": fwdAlways("102")}, "101", false, 1},
		{"chain that ends", map[string]Rule{"101": fwdAlways("102"), "102": fwdAlways("103"), "103": defaultRule()}, "101", false, 2},
		{"unanswered ping-pong", map[string]Rule{"101": fwdUnanswered("102"), "102": fwdUnanswered("101")}, "101", false, MaxHops},
		{"simultaneous rings that fan out", map[string]Rule{"101": simring("102", "103"), "102": simring("101", "103"), "103": simring("101", "102")}, "101", false, MaxHops},
		{"forward always into a simring loop", map[string]Rule{"101": fwdAlways("102"), "102": simring("101")}, "101", false, MaxHops},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			callee := func(ext string) Callee {
				req := baseRequest()
				req.Callee.Extension = ext
				req.Callee.Rules = []Rule{c.rules[ext]}
				for i := range req.Callee.Phones {
					req.Callee.Phones[i].Name = ext + string(rune('a'+i))
				}
				return req.Callee
			}
			type visit struct {
				ext  string
				hops int
			}
			queue := []visit{{c.start, 0}}
			decisions, depth, loops := 0, 0, 0
			for len(queue) > 0 {
				v := queue[0]
				queue = queue[1:]
				decisions++
				require.Less(t, decisions, 10000, "the walk must end")
				require.LessOrEqual(t, v.hops, MaxHops)
				depth = max(depth, v.hops)
				req := baseRequest()
				req.Callee = callee(v.ext)
				req.Hops = v.hops
				p := Decide(req)
				checkPlan(t, req, p)
				if p.Action == ActionReject {
					require.Equal(t, StatusLoopDetected, p.Code)
					loops++
					continue
				}
				for _, s := range p.Stages {
					for _, tg := range s.Targets {
						if tg.Kind == TargetUser {
							queue = append(queue, visit{tg.To, v.hops + 1})
						}
					}
				}
			}
			require.Equal(t, c.wantLoop, loops > 0)
			require.Equal(t, c.wantDepth, depth)
		})
	}
}

func TestPlanString(t *testing.T) {
	cases := []struct {
		name string
		plan Plan
		want string
	}{
		{"reject", rejectPlan(486, "Busy Here", 7, 2), "reject 486 Busy Here (rule 7 at 2)"},
		{"no rule", normal(0, -1), "ring (no rule); stage 0 for 20s: phones 101, no answer -> 1, busy -> 1; stage 1: voicemail 101"},
		{"screened simring", screened(ringPlan(3, 0,
			stage(30*time.Second, 1, StageEnd, phone("101a"), after(number("+12125550199"), 5*time.Second, true)),
			final(user("102")))),
			"ring (rule 3 at 0) screening; stage 0 for 30s: phone 101a, external +12125550199 after 5s with confirmation, no answer -> 1; stage 1: user 102"},
		{"zero plan", Plan{}, "unknown (rule 0 at 0)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, c.plan.String())
		})
	}
	require.Equal(t, "external +1 after 1s with confirmation", after(number("+1"), time.Second, true).String())
}

func TestEnumStrings(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{ActionUnknown.String(), "unknown"},
		{ActionRing.String(), "ring"},
		{ActionReject.String(), "reject"},
		{Action(9).String(), "Action(9)"},
		{Action(-1).String(), "Action(-1)"},
		{TargetUnknown.String(), "unknown"},
		{TargetPhones.String(), "phones"},
		{TargetPhone.String(), "phone"},
		{TargetUser.String(), "user"},
		{TargetVoicemail.String(), "voicemail"},
		{TargetExternal.String(), "external"},
		{TargetKind(9).String(), "TargetKind(9)"},
		{DestUnknown.String(), "unknown"},
		{DestUser.String(), "user"},
		{DestHandset.String(), "handset"},
		{DestVoicemail.String(), "voicemail"},
		{DestExternal.String(), "external"},
		{DestKind(-3).String(), "DestKind(-3)"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, c.got)
	}
	for k := DestUser; k <= DestExternal; k++ {
		got, err := ParseDestKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	for _, s := range []string{"", "unknown", "User", "queue"} {
		_, err := ParseDestKind(s)
		require.Error(t, err, s)
	}
}

// benchRequest is a realistic call: four rules ahead of the default, frames
// with several ranges, allow and block lists, a simultaneous ring.
func benchRequest() Request {
	req := baseRequest()
	req.Callee.Location = berlin
	req.Callee.AllowBlock = AllowBlock{
		Allowed: []string{"+49 30 1234567", "+49 30 7654321", "102"},
		Blocked: []string{"+1 900 555 0000", "+44 909 876 5432", "+49 900 1234"},
	}
	req.Callee.Rules = []Rule{
		onFrame(5, "holidays", dnd),
		onFrame(4, "nights", func(r *Rule) { r.ForwardAlways = dest(DestVoicemail, "101") }),
		onFrame(3, "business-hours", func(r *Rule) {
			r.RingFor = 30 * time.Second
			r.Screening = true
			r.ForwardUnanswered = dest(DestUser, "200")
			r.SimRing = &SimRing{RingAllPhones: true, Destinations: []SimRingDestination{
				simDest(DestExternal, "+49 170 1234567", 10*time.Second, true),
				simDest(DestHandset, "300a", 0, false),
			}}
		}),
		defaultRule(),
	}
	req.At = at("2026-06-16T08:30:00Z") // Tuesday 10:30 in Berlin
	return req
}

func BenchmarkDecide(b *testing.B) {
	req := benchRequest()
	if p := Decide(req); p.RuleID != 3 || len(p.Stages) != 3 {
		b.Fatalf("unexpected plan: %v", p)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Decide(req)
	}
}
