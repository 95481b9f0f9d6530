package store

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones for time.LoadLocation in a container without /usr/share/zoneinfo
	"unicode"
	"unicode/utf8"
)

// Rule names carried by ValidationError.Rule.
const (
	RuleRequired    = "required"
	RuleDigits      = "digits"
	RuleLength      = "length"
	RuleToken       = "token"
	RuleHeaderSafe  = "header_safe"
	RuleE164        = "e164"
	RuleEnum        = "enum"
	RuleTimezone    = "timezone"
	RuleEmail       = "email"
	RuleMaxItems    = "max_items"
	RuleUnique      = "unique"
	RuleMAC         = "mac"
	RuleSIPPassword = "sip_password"
	RuleHost        = "host"
	RuleSequential  = "sequential"
	RuleRepeated    = "repeated"
	RulePersonal    = "personal"
	RulePrevious    = "previous"
	RuleRange       = "range"
	RuleTime        = "time"
	RuleDate        = "date"
	RuleBuiltin     = "builtin"
	RuleDefaultRule = "default_rule"
	RuleExists      = "exists"
	RulePermutation = "permutation"
	RuleBoth        = "both"
)

const (
	maxTextLen      = 128
	maxEmails       = 10
	maxEmailLen     = 254
	minPasswordLen  = 8
	maxPasswordLen  = 72 // bcrypt ignores, and x/crypto refuses, anything longer
	maxOverrides    = 200
	maxOverrideKey  = 128
	maxOverrideVal  = 4096
	maxSettingKey   = 128
	maxHostLen      = 255
	maxPhoneNameLen = 32
	maxLoginNameLen = 64

	maxCallPaths           = 50
	maxTimeFrameNameLen    = 64
	maxTimeFrameEntries    = 50
	maxRingForS            = 600
	maxSimRingDestinations = 10
	maxSimRingDelayS       = 300
	maxListedNumbers       = 200
)

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isToken reports whether s is 1 to max bytes of letters, digits and the
// bytes in extra.
func isToken(s string, max int, extra string) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}

func checkExtension(ext string) error {
	if len(ext) < 2 || len(ext) > 10 || !isDigits(ext) {
		return invalid("extension", RuleDigits, "must be 2 to 10 digits")
	}
	return nil
}

func checkLoginName(s string) error {
	if !isToken(s, maxLoginNameLen, "._@-") {
		return invalid("login_name", RuleToken,
			"must be 1 to 64 letters, digits or . _ @ -")
	}
	return nil
}

// checkHeaderSafe guards free text that ends up in SIP headers (display
// names, caller ID, PIDF-LO addresses) or provisioning files: a CR or LF
// would inject a header, a '<', '>' or '"' would break a name-addr, and a
// '\' would escape the closing quote of a quoted-string (RFC 3261 25.1).
func checkHeaderSafe(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(field, RuleHeaderSafe, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, RuleLength, fmt.Sprintf("must be at most %d characters", max))
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
			return invalid(field, RuleHeaderSafe, "must not contain control characters or line breaks")
		case r == '<' || r == '>' || r == '"' || r == '\\':
			return invalid(field, RuleHeaderSafe, `must not contain < > " or \`)
		}
	}
	return nil
}

// checkE164 accepts an optional '+' then 3 to 15 digits (E.164 allows 15);
// the empty string means "none".
func checkE164(field, s string) error {
	if s == "" {
		return nil
	}
	d := strings.TrimPrefix(s, "+")
	if len(d) < 3 || len(d) > 15 || !isDigits(d) {
		return invalid(field, RuleE164, "must be an optional + and 3 to 15 digits")
	}
	return nil
}

func checkTimezone(tz string) error {
	if tz == "" {
		return nil
	}
	// "Local" names the server's zone, not a place: it is not portable.
	if tz == "Local" {
		return invalid("timezone", RuleTimezone, "must be an IANA time zone name such as America/New_York")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return invalid("timezone", RuleTimezone, "must be an IANA time zone name such as America/New_York")
	}
	return nil
}

func checkEmails(emails []string) error {
	if len(emails) > maxEmails {
		return invalid("emails", RuleMaxItems, fmt.Sprintf("at most %d addresses", maxEmails))
	}
	seen := make(map[string]bool, len(emails))
	for i, e := range emails {
		a, err := mail.ParseAddress(e)
		if err != nil || a.Name != "" || a.Address != e || len(e) > maxEmailLen {
			return invalid("emails", RuleEmail, fmt.Sprintf("address %d is not a plain email address", i+1))
		}
		k := strings.ToLower(e)
		if seen[k] {
			return invalid("emails", RuleUnique, fmt.Sprintf("address %d is listed twice", i+1))
		}
		seen[k] = true
	}
	return nil
}

func checkPassword(p string) error {
	if len(p) < minPasswordLen || len(p) > maxPasswordLen {
		return invalid("password", RuleLength,
			fmt.Sprintf("must be %d to %d bytes", minPasswordLen, maxPasswordLen))
	}
	return nil
}

// validateUser checks every profile field of u; it does not look at the
// password or PIN, which User does not carry.
func validateUser(u *User) error {
	if err := checkExtension(u.Extension); err != nil {
		return err
	}
	if err := checkLoginName(u.LoginName); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"first_name", u.FirstName},
		{"last_name", u.LastName},
		{"department", u.Department},
		{"site", u.Site},
		{"caller_id_name", u.CallerIDName},
		{"emergency_address", u.EmergencyAddress},
	} {
		if err := checkHeaderSafe(f.name, f.v, maxTextLen); err != nil {
			return err
		}
	}
	if err := checkTimezone(u.Timezone); err != nil {
		return err
	}
	if !u.Scope.Valid() {
		return invalid("scope", RuleEnum, "must be one of "+strings.Join(scopeNames(), ", "))
	}
	if u.AreaCode != "" && (len(u.AreaCode) != 3 || !isDigits(u.AreaCode)) {
		return invalid("area_code", RuleDigits, "must be 3 digits")
	}
	for _, f := range []struct{ name, v string }{
		{"caller_id_number", u.CallerIDNumber},
		{"emergency_caller_id", u.EmergencyCallerID},
		{"phone_number", u.PhoneNumber},
		{"mobile_number", u.MobileNumber},
		{"pager_number", u.PagerNumber},
	} {
		if err := checkE164(f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkEmails(u.Emails); err != nil {
		return err
	}
	if u.CallPaths < 0 || u.CallPaths > maxCallPaths {
		return invalid("call_paths", RuleRange, fmt.Sprintf("must be 0 (unlimited) to %d", maxCallPaths))
	}
	return nil
}

// PINPolicy is the rule set for voicemail PINs. A zero MaxLen, MaxRun or
// MaxRepeat disables that limit.
type PINPolicy struct {
	MinLen, MaxLen int
	// MaxRun is the longest run of ascending or descending consecutive
	// digits (such as 1234) allowed inside a PIN. A PIN that is nothing but
	// such a run, four digits or more, is always refused.
	MaxRun int
	// MaxRepeat is how many times one digit may appear in a row. A PIN of
	// a single repeated digit (0000) is always refused.
	MaxRepeat int
}

// DefaultPINPolicy: 4 to 10 digits, no run of more than 4 consecutive
// digits, no digit more than 5 times in a row.
var DefaultPINPolicy = PINPolicy{MinLen: 4, MaxLen: 10, MaxRun: 4, MaxRepeat: 5}

// Check applies the policy to pin for a user with the given extension and
// phone number; the error is a *ValidationError for field "voicemail_pin"
// whose Rule is "digits", "length", "repeated", "sequential" or "personal".
// The "previous" rule needs the stored hash and is applied by Users.Update.
func (p PINPolicy) Check(pin, extension, phoneNumber string) error {
	const field = "voicemail_pin"
	if !isDigits(pin) {
		return invalid(field, RuleDigits, "must contain only digits")
	}
	n := len(pin)
	if n < p.MinLen || (p.MaxLen > 0 && n > p.MaxLen) {
		if p.MaxLen > 0 {
			return invalid(field, RuleLength, fmt.Sprintf("must be %d to %d digits", p.MinLen, p.MaxLen))
		}
		return invalid(field, RuleLength, fmt.Sprintf("must be at least %d digits", p.MinLen))
	}
	if n > 1 && strings.Count(pin, pin[:1]) == n {
		return invalid(field, RuleRepeated, "must not be one digit repeated")
	}
	run, repeat := runs(pin)
	if (run == n && n >= 4) || (p.MaxRun > 0 && run > p.MaxRun) {
		return invalid(field, RuleSequential, "must not contain a run of consecutive digits such as 1234")
	}
	if p.MaxRepeat > 0 && repeat > p.MaxRepeat {
		return invalid(field, RuleRepeated,
			fmt.Sprintf("must not repeat a digit more than %d times in a row", p.MaxRepeat))
	}
	for _, s := range []string{extension, digitsOf(phoneNumber)} {
		if s != "" && (pin == s || pin == reverse(s)) {
			return invalid(field, RulePersonal, "must not be the extension or phone number, forwards or backwards")
		}
	}
	return nil
}

// runs returns the longest run of consecutive ascending or descending
// digits in pin and the longest run of one repeated digit.
func runs(pin string) (run, repeat int) {
	if pin == "" {
		return 0, 0
	}
	asc, desc, same := 1, 1, 1
	run, repeat = 1, 1
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		asc, desc, same = next(asc, d == 1), next(desc, d == -1), next(same, d == 0)
		run = max(run, asc, desc)
		repeat = max(repeat, same)
	}
	return run, repeat
}

func next(n int, cont bool) int {
	if cont {
		return n + 1
	}
	return 1
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func checkPhoneName(name string) error {
	if !isToken(name, maxPhoneNameLen, "._-") {
		return invalid("name", RuleToken, "must be 1 to 32 letters, digits or . _ -")
	}
	return nil
}

// NormalizeMAC accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff
// or aabbccddeeff in either case and returns 12 lowercase hex digits; the
// empty string stays empty.
func NormalizeMAC(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	bad := invalid("mac", RuleMAC, "must be a MAC address such as 00:15:65:ab:cd:ef")
	var h string
	switch len(s) {
	case 12:
		h = s
	case 14: // aabb.ccdd.eeff
		if s[4] != '.' || s[9] != '.' {
			return "", bad
		}
		h = s[0:4] + s[5:9] + s[10:14]
	case 17: // aa:bb:cc:dd:ee:ff or with '-'
		sep := s[2]
		if sep != ':' && sep != '-' {
			return "", bad
		}
		var b strings.Builder
		for i := 0; i < 6; i++ {
			if i > 0 && s[i*3-1] != sep {
				return "", bad
			}
			b.WriteString(s[i*3 : i*3+2])
		}
		h = b.String()
	default:
		return "", bad
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", bad
	}
	return strings.ToLower(h), nil
}

// checkSIPPassword: printable ASCII without space, '"' or '\', which would
// need quoting in provisioning files and digest computations.
func checkSIPPassword(p string) error {
	bad := invalid("sip_password", RuleSIPPassword,
		`must be 8 to 64 printable ASCII characters without spaces, " or \`)
	if len(p) < 8 || len(p) > 64 {
		return bad
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return bad
		}
	}
	return nil
}

// checkHost accepts a host name, an IPv4 address or an IPv6 address
// (bracketed when a port follows), with an optional :port; empty means
// "none".
func checkHost(field, s string) error {
	if s == "" {
		return nil
	}
	bad := invalid(field, RuleHost, "must be a host name or address, optionally with :port")
	if len(s) > maxHostLen {
		return bad
	}
	if ip := net.ParseIP(s); ip != nil {
		return nil
	}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !isDigits(port) {
			return bad
		}
		if strings.Contains(h, ":") {
			if net.ParseIP(h) == nil {
				return bad
			}
			return nil
		}
		host = h
	}
	if !isToken(host, maxHostLen, ".-") || host[0] == '.' || host[0] == '-' {
		return bad
	}
	return nil
}

func checkOverrides(m map[string]string) error {
	if len(m) > maxOverrides {
		return invalid("overrides", RuleMaxItems, fmt.Sprintf("at most %d entries", maxOverrides))
	}
	for k, v := range m {
		if !isToken(k, maxOverrideKey, "._-:") {
			return invalid("overrides", RuleToken,
				fmt.Sprintf("key %q must be 1 to 128 letters, digits or . _ - :", k))
		}
		if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
			return invalid("overrides", RuleHeaderSafe, fmt.Sprintf("value of %q must be UTF-8 text without NUL", k))
		}
		if len(v) > maxOverrideVal {
			return invalid("overrides", RuleLength, fmt.Sprintf("value of %q must be at most %d bytes", k, maxOverrideVal))
		}
	}
	return nil
}

func validatePhone(ph *Phone) error {
	if err := checkPhoneName(ph.Name); err != nil {
		return err
	}
	if err := checkSIPPassword(ph.SIPPassword); err != nil {
		return err
	}
	if err := checkHeaderSafe("model", ph.Model, 64); err != nil {
		return err
	}
	mac, err := NormalizeMAC(ph.MAC)
	if err != nil {
		return err
	}
	ph.MAC = mac
	if err := checkHost("preferred_server", ph.PreferredServer); err != nil {
		return err
	}
	return checkOverrides(ph.Overrides)
}

func checkSettingKey(k string) error {
	if !isToken(k, maxSettingKey, "._-:") {
		return invalid("key", RuleToken, "must be 1 to 128 letters, digits or . _ - :")
	}
	return nil
}

func checkTimeFrameName(name string) error {
	if !isToken(name, maxTimeFrameNameLen, " ._-") || name[0] == ' ' || name[len(name)-1] == ' ' {
		return invalid("name", RuleToken,
			"must be 1 to 64 letters, digits, spaces or . _ -, without a space at either end")
	}
	return nil
}

// weekdays are the day names of WeeklyRange.Days, Monday first.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// parseClock returns the minutes since midnight of "HH:MM", from 00:00 to
// 24:00.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, false
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

func checkWeekly(ws []WeeklyRange) error {
	const field = "weekly"
	if len(ws) > maxTimeFrameEntries {
		return invalid(field, RuleMaxItems, fmt.Sprintf("at most %d entries", maxTimeFrameEntries))
	}
	for i, w := range ws {
		n := i + 1
		if len(w.Days) == 0 {
			return invalid(field, RuleRequired, fmt.Sprintf("entry %d: at least one day", n))
		}
		seen := make(map[string]bool, len(w.Days))
		for _, d := range w.Days {
			if !slices.Contains(weekdays, d) {
				return invalid(field, RuleEnum, fmt.Sprintf("entry %d: days must be among %s", n, strings.Join(weekdays, ", ")))
			}
			if seen[d] {
				return invalid(field, RuleUnique, fmt.Sprintf("entry %d: %s is listed twice", n, d))
			}
			seen[d] = true
		}
		// 24:00 ends a day; it starts nothing.
		start, ok := parseClock(w.Start)
		if !ok || start == 24*60 {
			return invalid(field, RuleTime, fmt.Sprintf("entry %d: start must be HH:MM from 00:00 to 23:59", n))
		}
		end, ok := parseClock(w.End)
		if !ok {
			return invalid(field, RuleTime, fmt.Sprintf("entry %d: end must be HH:MM from 00:00 to 24:00", n))
		}
		// An end before the start runs past midnight; an equal one
		// would be either empty or a whole day, so it is refused.
		if start == end {
			return invalid(field, RuleRange, fmt.Sprintf("entry %d: end must differ from start", n))
		}
	}
	return nil
}

func isDate(s string) bool {
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Format(time.DateOnly) == s
}

func checkDates(ds []DateRange) error {
	const field = "dates"
	if len(ds) > maxTimeFrameEntries {
		return invalid(field, RuleMaxItems, fmt.Sprintf("at most %d entries", maxTimeFrameEntries))
	}
	for i, d := range ds {
		n := i + 1
		if !isDate(d.From) || !isDate(d.To) {
			return invalid(field, RuleDate, fmt.Sprintf("entry %d: from and to must be dates such as 2026-12-24", n))
		}
		// YYYY-MM-DD sorts as text.
		if d.From > d.To {
			return invalid(field, RuleRange, fmt.Sprintf("entry %d: from must not be after to", n))
		}
	}
	return nil
}

func validateTimeFrame(tf *TimeFrame) error {
	if err := checkTimeFrameName(tf.Name); err != nil {
		return err
	}
	if err := checkWeekly(tf.Weekly); err != nil {
		return err
	}
	if err := checkDates(tf.Dates); err != nil {
		return err
	}
	if !tf.Always && len(tf.Weekly) == 0 && len(tf.Dates) == 0 {
		return invalid("weekly", RuleRequired, "a time frame needs at least one weekly or date entry unless it is always")
	}
	return nil
}

// checkTarget checks where a forward or a simultaneous ring destination
// points: an extension for a user or a voicemail box, a phone name for a
// handset, a number for an external destination. prefix starts the
// message ("destination 2: ").
func checkTarget(field, prefix, kind, to string, kinds []string) error {
	if !slices.Contains(kinds, kind) {
		return invalid(field, RuleEnum, prefix+"kind must be one of "+strings.Join(kinds, ", "))
	}
	switch kind {
	case ForwardUser, ForwardVoicemail:
		if len(to) < 2 || len(to) > 10 || !isDigits(to) {
			return invalid(field, RuleDigits, prefix+"to must be an extension of 2 to 10 digits")
		}
	case ForwardHandset:
		if !isToken(to, maxPhoneNameLen, "._-") {
			return invalid(field, RuleToken, prefix+"to must be a phone name of 1 to 32 letters, digits or . _ -")
		}
	case ForwardExternal:
		if to == "" || checkE164(field, to) != nil {
			return invalid(field, RuleE164, prefix+"to must be an optional + and 3 to 15 digits")
		}
	}
	return nil
}

var (
	forwardKinds = []string{ForwardUser, ForwardHandset, ForwardVoicemail, ForwardExternal}
	simRingKinds = []string{ForwardUser, ForwardHandset, ForwardExternal}
)

func checkSimRing(s *SimRing) error {
	const field = "simring"
	if s == nil {
		return nil
	}
	if len(s.Destinations) > maxSimRingDestinations {
		return invalid(field, RuleMaxItems, fmt.Sprintf("at most %d destinations", maxSimRingDestinations))
	}
	for i, d := range s.Destinations {
		if err := checkTarget(field, fmt.Sprintf("destination %d: ", i+1), d.Kind, d.To, simRingKinds); err != nil {
			return err
		}
		if d.DelayS < 0 || d.DelayS > maxSimRingDelayS {
			return invalid(field, RuleRange, fmt.Sprintf("destination %d: delay_s must be 0 to %d", i+1, maxSimRingDelayS))
		}
	}
	return nil
}

func validateAnsweringRule(r *AnsweringRule) error {
	if r.TimeFrame == "" {
		return invalid("time_frame", RuleRequired, "a time frame is required")
	}
	if r.RingForS < 0 || r.RingForS > maxRingForS {
		return invalid("ring_for_s", RuleRange, fmt.Sprintf("must be 0 (the system default) to %d", maxRingForS))
	}
	for _, f := range []struct {
		name string
		fw   *Forward
	}{
		{"forward_always", r.ForwardAlways},
		{"forward_busy", r.ForwardBusy},
		{"forward_unanswered", r.ForwardUnanswered},
		{"forward_offline", r.ForwardOffline},
	} {
		if f.fw == nil {
			continue
		}
		if err := checkTarget(f.name, "", f.fw.Kind, f.fw.To, forwardKinds); err != nil {
			return err
		}
	}
	return checkSimRing(r.SimRing)
}

// checkNumberList checks one list of an AllowBlock: optional '+' then 2 to
// 15 digits (short codes included), each number once.
func checkNumberList(field string, nums []string) error {
	if len(nums) > maxListedNumbers {
		return invalid(field, RuleMaxItems, fmt.Sprintf("at most %d numbers", maxListedNumbers))
	}
	seen := make(map[string]bool, len(nums))
	for i, n := range nums {
		d := strings.TrimPrefix(n, "+")
		if len(d) < 2 || len(d) > 15 || !isDigits(d) {
			return invalid(field, RuleE164, fmt.Sprintf("number %d must be an optional + and 2 to 15 digits", i+1))
		}
		if seen[n] {
			return invalid(field, RuleUnique, fmt.Sprintf("number %d is listed twice", i+1))
		}
		seen[n] = true
	}
	return nil
}

func validateAllowBlock(ab *AllowBlock) error {
	if err := checkNumberList("allowed", ab.Allowed); err != nil {
		return err
	}
	if err := checkNumberList("blocked", ab.Blocked); err != nil {
		return err
	}
	for i, n := range ab.Blocked {
		if slices.Contains(ab.Allowed, n) {
			return invalid("blocked", RuleBoth, fmt.Sprintf("number %d is also allowed", i+1))
		}
	}
	return nil
}
