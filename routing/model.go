package routing

import (
	"fmt"
	"strconv"
	"time"
)

// Limits on what a rule may ask for. They keep a plan small enough to execute
// and explain, and catch typing mistakes (a ring time in milliseconds).
const (
	// MaxRingFor is the longest a rule may ring before its no-answer
	// fallback; also the longest delay of a simultaneous-ring destination.
	MaxRingFor = 5 * time.Minute
	// MaxSimRingDestinations bounds the extra destinations of one rule.
	MaxSimRingDestinations = 10

	maxListNumbers = 1000
	maxNumberLen   = 32
	maxExtLen      = 16
	maxPhoneName   = 32
)

// DestKind says what a forward or simultaneous-ring destination names.
type DestKind int

const (
	DestUnknown DestKind = iota
	// DestUser is another user by extension; their own rules decide.
	DestUser
	// DestHandset is one phone by name; it rings whatever its user's rules
	// say.
	DestHandset
	// DestVoicemail is a mailbox by extension.
	DestVoicemail
	// DestExternal is a number dialled out through the trunk.
	DestExternal
)

var destKindNames = [...]string{"unknown", "user", "handset", "voicemail", "external"}

// String returns the name the admin API uses for k ("user", "handset", ...).
func (k DestKind) String() string {
	if k < 0 || int(k) >= len(destKindNames) {
		return "DestKind(" + strconv.Itoa(int(k)) + ")"
	}
	return destKindNames[k]
}

// ParseDestKind is the inverse of String for the four usable kinds.
func ParseDestKind(s string) (DestKind, error) {
	for k := DestUser; k <= DestExternal; k++ {
		if s == destKindNames[k] {
			return k, nil
		}
	}
	return DestUnknown, fmt.Errorf("destination kind %q: want user, handset, voicemail or external", s)
}

// Destination is where a rule sends a call.
type Destination struct {
	Kind DestKind
	To   string // extension (user, voicemail), phone name (handset) or number (external)
}

// Validate checks that Kind is known and To has the shape that kind needs.
// Whether the user, phone or mailbox exists, or whether an external number is
// allowed out through the trunk, is for the caller to check: routing knows no
// other user.
func (d Destination) Validate() error {
	// A nil *ValidationError returned as error would not compare equal to
	// nil.
	if err := d.validate(); err != nil {
		return err
	}
	return nil
}

func (d Destination) validate() *ValidationError {
	switch d.Kind {
	case DestUser, DestVoicemail:
		if d.To == "" {
			return invalid("to", "required", "an extension is required")
		}
		if len(d.To) > maxExtLen || !allDigits(d.To) {
			return invalid("to", "digits", "an extension is 1 to "+strconv.Itoa(maxExtLen)+" digits")
		}
	case DestHandset:
		if d.To == "" {
			return invalid("to", "required", "a phone name is required")
		}
		if len(d.To) > maxPhoneName || !isPhoneName(d.To) {
			return invalid("to", "token", "a phone name is letters, digits, '.', '_' and '-'")
		}
	case DestExternal:
		if err := checkNumber(d.To); err != nil {
			return err.under("to")
		}
	default:
		return invalid("kind", "enum", "kind is user, handset, voicemail or external")
	}
	return nil
}

// SimRing rings more than the user's phones at once. Without it a rule rings
// all of the user's registered phones.
type SimRing struct {
	// IncludeUser rings the user's main phone (the one with the user's
	// extension).
	IncludeUser bool
	// RingAllPhones rings every registered phone of the user.
	RingAllPhones bool
	Destinations  []SimRingDestination
}

// SimRingDestination is one extra destination of a simultaneous ring.
type SimRingDestination struct {
	Destination
	// Delay is how long after the call arrives this destination starts
	// ringing.
	Delay time.Duration
	// Confirm asks whoever answers to press 1 before the call is connected,
	// so a mobile's voicemail cannot take it.
	Confirm bool
}

// Rule is one answering rule. A user's rules are ordered; the first enabled
// rule whose time frame matches the time of the call is the active one.
type Rule struct {
	ID        int64
	TimeFrame string // name of a TimeFrame
	Enabled   bool
	// DND sends calls straight to voicemail without ringing.
	DND bool
	// Screening asks callers for their name before the user is rung.
	Screening bool
	// RingFor is how long the user's phones ring before the no-answer
	// fallback; 0 uses the user's default.
	RingFor           time.Duration
	ForwardAlways     *Destination
	ForwardBusy       *Destination
	ForwardUnanswered *Destination
	ForwardOffline    *Destination
	SimRing           *SimRing
}

// Validate checks the rule's own fields. That its time frame exists is for
// the caller to check against the frames it knows; Decide treats an unknown
// frame as one that never matches.
func (r Rule) Validate() error {
	if err := checkFrameName(r.TimeFrame); err != nil {
		return err.under("time_frame")
	}
	if r.RingFor < 0 || r.RingFor > MaxRingFor {
		return invalid("ring_for_s", "range", "ring time is 0 (the user's default) to "+strconv.Itoa(int(MaxRingFor/time.Second))+" seconds")
	}
	forwards := [...]struct {
		field string
		d     *Destination
	}{
		{"forward_always", r.ForwardAlways},
		{"forward_busy", r.ForwardBusy},
		{"forward_unanswered", r.ForwardUnanswered},
		{"forward_offline", r.ForwardOffline},
	}
	for _, f := range forwards {
		if f.d == nil {
			continue
		}
		if err := f.d.validate(); err != nil {
			return err.under(f.field)
		}
	}
	if r.SimRing != nil {
		if err := r.SimRing.validate(); err != nil {
			return err.under("simring")
		}
	}
	return nil
}

func (s *SimRing) validate() *ValidationError {
	if len(s.Destinations) > MaxSimRingDestinations {
		return invalid("destinations", "max_items", "at most "+strconv.Itoa(MaxSimRingDestinations)+" destinations")
	}
	for i, d := range s.Destinations {
		at := "destinations[" + strconv.Itoa(i) + "]"
		if err := d.Destination.validate(); err != nil {
			return err.under(at)
		}
		if d.Delay < 0 || d.Delay > MaxRingFor {
			return invalid(at+".delay_s", "range", "delay is 0 to "+strconv.Itoa(int(MaxRingFor/time.Second))+" seconds")
		}
	}
	return nil
}

// AllowBlock holds a user's allowed and blocked caller numbers. Numbers are
// compared after NormalizeNumber, so "+1 (555) 010-0199" and "+15550100199"
// are the same entry.
type AllowBlock struct {
	// Allowed callers bypass call screening and do-not-disturb.
	Allowed []string
	// Blocked callers get a fast busy.
	Blocked []string
	// BlockAnonymous refuses callers who withhold or have no number.
	BlockAnonymous bool
}

// Validate checks every entry is a number and none is both allowed and
// blocked (Decide would block it, which is unlikely to be what was meant).
func (a AllowBlock) Validate() error {
	for _, l := range [...]struct {
		field string
		nums  []string
	}{{"allowed", a.Allowed}, {"blocked", a.Blocked}} {
		if len(l.nums) > maxListNumbers {
			return invalid(l.field, "max_items", "at most "+strconv.Itoa(maxListNumbers)+" numbers")
		}
		for i, n := range l.nums {
			if err := checkNumber(n); err != nil {
				return err.under(l.field + "[" + strconv.Itoa(i) + "]")
			}
		}
	}
	for i, b := range a.Blocked {
		nb := NormalizeNumber(b)
		for _, al := range a.Allowed {
			if sameNumber(al, nb) {
				return invalid("blocked["+strconv.Itoa(i)+"]", "overlap", b+" is also allowed")
			}
		}
	}
	return nil
}

// PhoneState is one of the user's phones and whether it has a live binding.
type PhoneState struct {
	Name       string
	Registered bool
}

// Callee is the snapshot of the called user that Decide needs.
type Callee struct {
	Extension string
	// Location is the user's time zone; nil reads time frames in UTC.
	Location         *time.Location
	VoicemailEnabled bool
	// Rules in priority order. The default rule (time frame "always") is
	// normally last; Decide evaluates whatever list it is given.
	Rules []Rule
	// Frames by name.
	Frames     map[string]TimeFrame
	AllowBlock AllowBlock
	// DefaultRingFor applies when the active rule's RingFor is 0; when it
	// is 0 too, DefaultRingFor (the package constant) applies.
	DefaultRingFor time.Duration
	// CallPaths is how many calls the user may have at once; 0 is
	// unlimited.
	CallPaths   int
	ActiveCalls int
	Phones      []PhoneState
	// MainPhone is the phone "with the same extension as the user" that
	// SimRing.IncludeUser rings; empty means the first of Phones.
	MainPhone string
}

// Caller is who is calling.
type Caller struct {
	Number string
	Name   string
	// Anonymous is set when the caller withheld their identity (Privacy:
	// id, "anonymous" in From).
	Anonymous bool
	// Internal is set for a call from one of this PBX's phones.
	Internal  bool
	Extension string
}

// NormalizeNumber keeps the digits of s and a '+' when it is the first one of
// them, dropping the spaces, dashes, dots and brackets people type. It
// returns s itself when s is already normal, so the common case does not
// allocate.
func NormalizeNumber(s string) string {
	clean := s != "+"
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && (s[i] != '+' || i != 0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			b = append(b, c)
		case c == '+' && len(b) == 0:
			b = append(b, c)
		}
	}
	if len(b) == 1 && b[0] == '+' {
		return ""
	}
	return string(b)
}

// sameNumber reports whether raw, once normalised, equals the normalised
// number norm, without building the normalised copy of raw: lists are
// compared against every call.
func sameNumber(raw, norm string) bool {
	if norm == "" {
		return false
	}
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		// The same keep-or-drop choice as NormalizeNumber: digits, and a
		// '+' only before anything else was kept.
		if !isDigit(c) && (c != '+' || j != 0) {
			continue
		}
		if j >= len(norm) || norm[j] != c {
			return false
		}
		j++
	}
	return j == len(norm)
}

// checkNumber accepts a phone number as people write it: at least one digit,
// an optional leading '+', and spaces, dashes, dots or brackets between.
func checkNumber(s string) *ValidationError {
	digits, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digits++
		case c == '+':
			if plus || digits > 0 {
				return invalid("", "number", "one '+', only at the start")
			}
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return invalid("", "number", "a number is digits, an optional leading '+', spaces, dashes, dots and brackets")
		}
	}
	if digits == 0 {
		return invalid("", "required", "a number is required")
	}
	if digits > maxNumberLen {
		return invalid("", "length", "at most "+strconv.Itoa(maxNumberLen)+" digits")
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isPhoneName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return s != ""
}
