package routing

import (
	"strconv"
	"strings"
)

// DialKind says what a dialled string reaches.
type DialKind int

const (
	DialUnknown DialKind = iota
	// DialExtension is a user's extension.
	DialExtension
	// DialFeature is a feature code (own voicemail, any mailbox,
	// directory).
	DialFeature
	// DialEmergency is an emergency number: it goes out with the caller's
	// emergency caller ID and is never refused by limits or deny lists.
	DialEmergency
	// DialExternal is an outside number, normalised to +E.164.
	DialExternal
	// DialInvalid is anything else: the caller hears 404/484.
	DialInvalid
)

var dialKindNames = [...]string{"unknown", "extension", "feature", "emergency", "external", "invalid"}

func (k DialKind) String() string {
	if k < 0 || int(k) >= len(dialKindNames) {
		return "DialKind(" + strconv.Itoa(int(k)) + ")"
	}
	return dialKindNames[k]
}

// Feature is a service reached by a feature code.
type Feature int

const (
	FeatureUnknown Feature = iota
	// FeatureOwnVoicemail is the caller's own mailbox (*97).
	FeatureOwnVoicemail
	// FeatureAnyVoicemail asks for a mailbox number (*98).
	FeatureAnyVoicemail
	// FeatureDirectory is the dial-by-name directory (411).
	FeatureDirectory
)

var featureNames = [...]string{"unknown", "own_voicemail", "any_voicemail", "directory"}

func (f Feature) String() string {
	if f < 0 || int(f) >= len(featureNames) {
		return "Feature(" + strconv.Itoa(int(f)) + ")"
	}
	return featureNames[f]
}

// DialPlan holds how dialled strings are read. The defaults are those of a
// North American PBX (the seeds' setting): 7-digit local numbers take the
// caller's area code, 10 digits are national, 1 + 10 digits too, 011 starts
// an international number, and 911 is the emergency number.
type DialPlan struct {
	// Features maps feature codes to features (default *97, *98, 411).
	Features map[string]Feature
	// Emergency lists the emergency numbers (default 911).
	Emergency []string
	// CountryCode is the local country calling code (default "1").
	CountryCode string
	// InternationalPrefix starts an international number (default "011").
	InternationalPrefix string
	// IsExtension reports whether digits are a user's extension; the
	// wiring answers it from the directory. Nil: no extensions.
	IsExtension func(digits string) bool
}

// DefaultFeatureCodes are the feature codes a fresh install answers.
var DefaultFeatureCodes = map[string]Feature{
	"*97": FeatureOwnVoicemail,
	"*98": FeatureAnyVoicemail,
	"411": FeatureDirectory,
}

func (p DialPlan) withDefaults() DialPlan {
	if p.Features == nil {
		p.Features = DefaultFeatureCodes
	}
	if p.Emergency == nil {
		p.Emergency = []string{"911"}
	}
	if p.CountryCode == "" {
		p.CountryCode = "1"
	}
	if p.InternationalPrefix == "" {
		p.InternationalPrefix = "011"
	}
	return p
}

// Dialled is the reading of a dialled string.
type Dialled struct {
	Kind DialKind
	// To is the extension, the feature code, the emergency number, or the
	// outside number in +E.164 form.
	To      string
	Feature Feature
	// Reason says why a string is invalid.
	Reason string
}

// Dial reads what a caller dialled. areaCode is the caller's area code, for
// 7-digit local numbers. Visual separators (spaces, dashes, dots,
// parentheses) are ignored, as phones and people both add them.
func (p DialPlan) Dial(dialled, areaCode string) Dialled {
	p = p.withDefaults()
	s := stripSeparators(dialled)
	if s == "" {
		return Dialled{Kind: DialInvalid, Reason: "nothing dialled"}
	}
	if f, ok := p.Features[s]; ok {
		return Dialled{Kind: DialFeature, To: s, Feature: f}
	}
	for _, e := range p.Emergency {
		if s == e {
			return Dialled{Kind: DialEmergency, To: s}
		}
	}
	plus := strings.HasPrefix(s, "+")
	digits := strings.TrimPrefix(s, "+")
	if !allDigits(digits) {
		return Dialled{Kind: DialInvalid, Reason: "not a number"}
	}
	if !plus && p.IsExtension != nil && p.IsExtension(digits) {
		return Dialled{Kind: DialExtension, To: digits}
	}
	switch {
	case plus:
		return external(digits)
	case strings.HasPrefix(digits, p.InternationalPrefix):
		return external(strings.TrimPrefix(digits, p.InternationalPrefix))
	case p.CountryCode == "1" && len(digits) == 7:
		if len(areaCode) != 3 || !allDigits(areaCode) {
			return Dialled{Kind: DialInvalid, Reason: "7-digit number and no area code for the caller"}
		}
		return external("1" + areaCode + digits)
	case p.CountryCode == "1" && len(digits) == 10:
		return external("1" + digits)
	case p.CountryCode == "1" && len(digits) == 11 && digits[0] == '1':
		return external(digits)
	}
	return Dialled{Kind: DialInvalid, Reason: "no extension or number matches"}
}

// external checks an international number without its +: a country code
// and at most 15 digits in all (ITU-T E.164).
func external(digits string) Dialled {
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return Dialled{Kind: DialInvalid, Reason: "not a valid international number"}
	}
	return Dialled{Kind: DialExternal, To: "+" + digits}
}

func stripSeparators(s string) string {
	if !strings.ContainsAny(s, " -.()") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '-', '.', '(', ')':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DenyList holds destination prefixes no call may reach through the trunk,
// dialled or forwarded: the premium-rate and satellite ranges that toll
// fraud goes for. Prefixes are in +E.164 form.
type DenyList []string

// DefaultDenyList is what a fresh install refuses: international premium
// rate (+979), the satellite and international networks (+870, +881, +882,
// +883), and North American premium and pay-per-call ranges (+1900, +1976).
var DefaultDenyList = DenyList{"+870", "+881", "+882", "+883", "+979", "+1900", "+1976"}

// Denied returns the prefix that refuses number (in +E.164 form), if any.
func (d DenyList) Denied(number string) (prefix string, denied bool) {
	for _, p := range d {
		if strings.HasPrefix(number, p) {
			return p, true
		}
	}
	return "", false
}
