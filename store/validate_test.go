package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// requireRule checks that err is a *ValidationError for field and rule; an
// empty rule means err must be nil.
func requireRule(t *testing.T, err error, field, rule string) {
	t.Helper()
	if rule == "" {
		require.NoError(t, err)
		return
	}
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want a *ValidationError, got %v", err)
	require.Equal(t, field, ve.Field, ve.Error())
	require.Equal(t, rule, ve.Rule, ve.Error())
}

func validUser() User {
	return User{
		Extension: "1001", LoginName: "alice.smith@example", FirstName: "Alice", LastName: "O'Neil-Smith",
		Department: "Sales & Support", Site: "Zürich", Timezone: "Europe/Zurich", Scope: ScopeAdmin,
		Emails: []string{"alice@example.com", "a.smith@example.org"}, AreaCode: "415",
		CallerIDName: "Alice Smith", CallerIDNumber: "+14155550100", EmergencyCallerID: "4155550100",
		EmergencyAddress: "1 Main St, Springfield", PhoneNumber: "+14155550100",
		MobileNumber: "4155550199", PagerNumber: "555", CallPaths: 4,
	}
}

func TestValidateUser(t *testing.T) {
	tests := []struct {
		name   string
		change func(*User)
		field  string
		rule   string
	}{
		{"valid", func(*User) {}, "", ""},
		{"optional fields empty", func(u *User) { *u = User{Extension: "10", LoginName: "10", Scope: ScopeBasicUser} }, "", ""},
		{"extension empty", func(u *User) { u.Extension = "" }, "extension", RuleDigits},
		{"extension one digit", func(u *User) { u.Extension = "1" }, "extension", RuleDigits},
		{"extension eleven digits", func(u *User) { u.Extension = "12345678901" }, "extension", RuleDigits},
		{"extension ten digits", func(u *User) { u.Extension = "1234567890" }, "", ""},
		{"extension letters", func(u *User) { u.Extension = "10a" }, "extension", RuleDigits},
		{"extension plus", func(u *User) { u.Extension = "+100" }, "extension", RuleDigits},
		{"login name empty", func(u *User) { u.LoginName = "" }, "login_name", RuleToken},
		{"login name space", func(u *User) { u.LoginName = "alice smith" }, "login_name", RuleToken},
		{"login name too long", func(u *User) { u.LoginName = strings.Repeat("a", 65) }, "login_name", RuleToken},
		{"login name 64", func(u *User) { u.LoginName = strings.Repeat("a", 64) }, "", ""},
		{"first name CR LF", func(u *User) { u.FirstName = "Alice\r\nVia: x" }, "first_name", RuleHeaderSafe},
		{"last name angle bracket", func(u *User) { u.LastName = "Smith <sip:evil@x>" }, "last_name", RuleHeaderSafe},
		{"caller ID name quote", func(u *User) { u.CallerIDName = `Alice "the boss"` }, "caller_id_name", RuleHeaderSafe},
		{"caller ID name backslash", func(u *User) { u.CallerIDName = `Alice\` }, "caller_id_name", RuleHeaderSafe},
		{"caller ID name tab", func(u *User) { u.CallerIDName = "Alice\tSmith" }, "caller_id_name", RuleHeaderSafe},
		{"caller ID name NUL", func(u *User) { u.CallerIDName = "Alice\x00" }, "caller_id_name", RuleHeaderSafe},
		{"caller ID name line separator", func(u *User) { u.CallerIDName = "Alice\u2028Smith" }, "caller_id_name", RuleHeaderSafe},
		{"caller ID name invalid UTF-8", func(u *User) { u.CallerIDName = "Alice\xff" }, "caller_id_name", RuleHeaderSafe},
		{"department 128 runes", func(u *User) { u.Department = strings.Repeat("é", 128) }, "", ""},
		{"department 129 runes", func(u *User) { u.Department = strings.Repeat("é", 129) }, "department", RuleLength},
		{"site LF", func(u *User) { u.Site = "HQ\n" }, "site", RuleHeaderSafe},
		{"emergency address greater-than", func(u *User) { u.EmergencyAddress = "1 Main St >" }, "emergency_address", RuleHeaderSafe},
		{"timezone UTC", func(u *User) { u.Timezone = "UTC" }, "", ""},
		{"timezone unknown", func(u *User) { u.Timezone = "Mars/Olympus_Mons" }, "timezone", RuleTimezone},
		{"timezone Local", func(u *User) { u.Timezone = "Local" }, "timezone", RuleTimezone},
		{"timezone path", func(u *User) { u.Timezone = "../../etc/passwd" }, "timezone", RuleTimezone},
		{"scope empty", func(u *User) { u.Scope = "" }, "scope", RuleEnum},
		{"scope unknown", func(u *User) { u.Scope = "root" }, "scope", RuleEnum},
		{"scope site manager", func(u *User) { u.Scope = ScopeSiteManager }, "", ""},
		{"area code two digits", func(u *User) { u.AreaCode = "41" }, "area_code", RuleDigits},
		{"area code letters", func(u *User) { u.AreaCode = "4a5" }, "area_code", RuleDigits},
		{"caller ID number too short", func(u *User) { u.CallerIDNumber = "12" }, "caller_id_number", RuleE164},
		{"caller ID number 16 digits", func(u *User) { u.CallerIDNumber = "+1234567890123456" }, "caller_id_number", RuleE164},
		{"caller ID number 15 digits", func(u *User) { u.CallerIDNumber = "+123456789012345" }, "", ""},
		{"caller ID number dashes", func(u *User) { u.CallerIDNumber = "415-555-0100" }, "caller_id_number", RuleE164},
		{"emergency caller ID plus only", func(u *User) { u.EmergencyCallerID = "+" }, "emergency_caller_id", RuleE164},
		{"phone number letters", func(u *User) { u.PhoneNumber = "+1415CALLME" }, "phone_number", RuleE164},
		{"mobile number double plus", func(u *User) { u.MobileNumber = "++14155550100" }, "mobile_number", RuleE164},
		{"pager number space", func(u *User) { u.PagerNumber = "555 0100" }, "pager_number", RuleE164},
		{"emails none", func(u *User) { u.Emails = nil }, "", ""},
		{"email invalid", func(u *User) { u.Emails = []string{"not-an-address"} }, "emails", RuleEmail},
		{"email with display name", func(u *User) { u.Emails = []string{"Alice <alice@example.com>"} }, "emails", RuleEmail},
		{"email in angle brackets", func(u *User) { u.Emails = []string{"<alice@example.com>"} }, "emails", RuleEmail},
		{"email with spaces", func(u *User) { u.Emails = []string{" alice@example.com"} }, "emails", RuleEmail},
		{"email duplicate any case", func(u *User) { u.Emails = []string{"alice@example.com", "Alice@Example.com"} }, "emails", RuleUnique},
		{"emails ten", func(u *User) { u.Emails = nEmails(10) }, "", ""},
		{"emails eleven", func(u *User) { u.Emails = nEmails(11) }, "emails", RuleMaxItems},
		{"call paths unlimited", func(u *User) { u.CallPaths = 0 }, "", ""},
		{"call paths 50", func(u *User) { u.CallPaths = 50 }, "", ""},
		{"call paths 51", func(u *User) { u.CallPaths = 51 }, "call_paths", RuleRange},
		{"call paths negative", func(u *User) { u.CallPaths = -1 }, "call_paths", RuleRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := validUser()
			tt.change(&u)
			requireRule(t, validateUser(&u), tt.field, tt.rule)
		})
	}
}

func nEmails(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d@example.com", i)
	}
	return out
}

func TestCheckPassword(t *testing.T) {
	requireRule(t, checkPassword("1234567"), "password", RuleLength)
	requireRule(t, checkPassword("12345678"), "", "")
	requireRule(t, checkPassword(strings.Repeat("p", 72)), "", "")
	requireRule(t, checkPassword(strings.Repeat("p", 73)), "password", RuleLength)
}

func TestPINPolicy(t *testing.T) {
	const field = "voicemail_pin"
	tests := []struct {
		name, pin, ext, phone string
		rule                  string
	}{
		{"good four digits", "2580", "1001", "", ""},
		{"good ten digits", "9081726354", "1001", "", ""},
		{"empty", "", "1001", "", RuleDigits},
		{"letters", "12a4", "1001", "", RuleDigits},
		{"space", "1 35", "1001", "", RuleDigits},
		{"plus", "+3579", "1001", "", RuleDigits},
		{"too short", "258", "1001", "", RuleLength},
		{"too long", "25802580258", "1001", "", RuleLength},
		{"0000", "0000", "1001", "", RuleRepeated},
		{"all nines, ten", "9999999999", "1001", "", RuleRepeated},
		{"1234", "1234", "1001", "", RuleSequential},
		{"4321", "4321", "1001", "", RuleSequential},
		{"6789", "6789", "1001", "", RuleSequential},
		{"12345", "12345", "1001", "", RuleSequential},
		{"run of five inside", "9034567", "1001", "", RuleSequential},
		{"descending run of five inside", "1987652", "1001", "", RuleSequential},
		{"run of four inside is allowed", "9123480", "1001", "", ""},
		{"7890 does not wrap", "7890", "1001", "", ""},
		{"same digit five times allowed", "2777772", "1001", "", ""},
		{"same digit six times", "2777777", "1001", "", RuleRepeated},
		{"extension", "1001", "1001", "", RulePersonal},
		{"extension reversed", "4321", "1234", "", RuleSequential}, // sequential is checked first
		{"extension reversed, not a run", "7351", "1537", "", RulePersonal},
		{"phone number", "4155550100", "1001", "+1 (415) 555-0100", ""}, // 11 digits with the 1
		{"phone number digits", "4155550100", "1001", "4155550100", RulePersonal},
		{"phone number reversed", "0010555514", "1001", "+4155550100", RulePersonal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DefaultPINPolicy.Check(tt.pin, tt.ext, tt.phone)
			if tt.rule == "" {
				require.NoError(t, err)
				return
			}
			requireRule(t, err, field, tt.rule)
		})
	}
}

func TestPINPolicyLimits(t *testing.T) {
	loose := PINPolicy{MinLen: 6, MaxLen: 0, MaxRun: 0, MaxRepeat: 0}
	require.NoError(t, loose.Check("9123456780", "", ""))    // no run limit, not all one run
	require.NoError(t, loose.Check("1222222222227", "", "")) // no length or repeat limit
	requireRule(t, loose.Check("12345", "", ""), "voicemail_pin", RuleLength)
	requireRule(t, loose.Check("123456", "", ""), "voicemail_pin", RuleSequential) // one run, always refused
	requireRule(t, loose.Check("333333", "", ""), "voicemail_pin", RuleRepeated)   // one digit, always refused

	strict := PINPolicy{MinLen: 4, MaxLen: 8, MaxRun: 2, MaxRepeat: 2}
	requireRule(t, strict.Check("9123", "", ""), "voicemail_pin", RuleSequential)
	requireRule(t, strict.Check("9111", "", ""), "voicemail_pin", RuleRepeated)
	require.NoError(t, strict.Check("9128", "", ""))
}

func TestNormalizeMAC(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"00:15:65:AB:cd:EF", "001565abcdef"},
		{"00-15-65-ab-cd-ef", "001565abcdef"},
		{"0015.65ab.cdef", "001565abcdef"},
		{"001565ABCDEF", "001565abcdef"},
		{"00:15:65:ab:cd", "!"},
		{"00:15-65:ab:cd:ef", "!"},
		{"00.15.65.ab.cd.ef", "!"},
		{"0015:65ab:cdef", "!"},
		{"00156sabcdef", "!"},
		{"001565abcdef0", "!"},
		{"00:15:65:ab:cd:eg", "!"},
		{" 001565abcdef", "!"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeMAC(tt.in)
			if tt.want == "!" {
				requireRule(t, err, "mac", RuleMAC)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestValidatePhone(t *testing.T) {
	valid := func() Phone {
		return Phone{Name: "1001a", SIPPassword: "s3cret!Pass", Model: "Yealink T46S", MAC: "00:15:65:ab:cd:ef",
			PreferredServer: "sip.example.com:5060", Overrides: map[string]string{"account.1.codec": "pcmu", "lang:gui": "English"}}
	}
	manyOverrides := map[string]string{}
	for i := range 201 {
		manyOverrides[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name   string
		change func(*Phone)
		field  string
		rule   string
	}{
		{"valid", func(*Phone) {}, "", ""},
		{"name empty", func(p *Phone) { p.Name = "" }, "name", RuleToken},
		{"name 32", func(p *Phone) { p.Name = strings.Repeat("a", 32) }, "", ""},
		{"name 33", func(p *Phone) { p.Name = strings.Repeat("a", 33) }, "name", RuleToken},
		{"name at sign", func(p *Phone) { p.Name = "1001@a" }, "name", RuleToken},
		{"name colon", func(p *Phone) { p.Name = "1001:a" }, "name", RuleToken},
		{"sip password short", func(p *Phone) { p.SIPPassword = "1234567" }, "sip_password", RuleSIPPassword},
		{"sip password 64", func(p *Phone) { p.SIPPassword = strings.Repeat("x", 64) }, "", ""},
		{"sip password 65", func(p *Phone) { p.SIPPassword = strings.Repeat("x", 65) }, "sip_password", RuleSIPPassword},
		{"sip password quote", func(p *Phone) { p.SIPPassword = `abc"defgh` }, "sip_password", RuleSIPPassword},
		{"sip password backslash", func(p *Phone) { p.SIPPassword = `abc\defgh` }, "sip_password", RuleSIPPassword},
		{"sip password space", func(p *Phone) { p.SIPPassword = "abc defgh" }, "sip_password", RuleSIPPassword},
		{"sip password non-ASCII", func(p *Phone) { p.SIPPassword = "abcdéfghi" }, "sip_password", RuleSIPPassword},
		{"model CR", func(p *Phone) { p.Model = "T46S\r" }, "model", RuleHeaderSafe},
		{"mac bad", func(p *Phone) { p.MAC = "zz:15:65:ab:cd:ef" }, "mac", RuleMAC},
		{"mac empty", func(p *Phone) { p.MAC = "" }, "", ""},
		{"preferred server IPv6", func(p *Phone) { p.PreferredServer = "[2001:db8::1]:5061" }, "", ""},
		{"preferred server IPv6 bare", func(p *Phone) { p.PreferredServer = "2001:db8::1" }, "", ""},
		{"preferred server IPv4 port", func(p *Phone) { p.PreferredServer = "192.0.2.10:5080" }, "", ""},
		{"preferred server URI", func(p *Phone) { p.PreferredServer = "sip:pbx.example.com" }, "preferred_server", RuleHost},
		{"preferred server port zero", func(p *Phone) { p.PreferredServer = "pbx.example.com:0" }, "preferred_server", RuleHost},
		{"preferred server empty port", func(p *Phone) { p.PreferredServer = "pbx.example.com:" }, "preferred_server", RuleHost},
		{"preferred server slash", func(p *Phone) { p.PreferredServer = "pbx/x" }, "preferred_server", RuleHost},
		{"override key empty", func(p *Phone) { p.Overrides = map[string]string{"": "x"} }, "overrides", RuleToken},
		{"override key space", func(p *Phone) { p.Overrides = map[string]string{"a b": "x"} }, "overrides", RuleToken},
		{"override key 129", func(p *Phone) { p.Overrides = map[string]string{strings.Repeat("k", 129): "x"} }, "overrides", RuleToken},
		{"override value NUL", func(p *Phone) { p.Overrides = map[string]string{"k": "a\x00b"} }, "overrides", RuleHeaderSafe},
		{"override value newline", func(p *Phone) { p.Overrides = map[string]string{"k": "a\nb"} }, "", ""},
		{"overrides 201", func(p *Phone) { p.Overrides = manyOverrides }, "overrides", RuleMaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(&p)
			requireRule(t, validatePhone(&p), tt.field, tt.rule)
		})
	}
}

func TestNewSIPPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := NewSIPPassword()
		require.Len(t, p, 20)
		require.Regexp(t, `^[A-Za-z0-9]{20}$`, p)
		require.NoError(t, checkSIPPassword(p))
		require.False(t, seen[p])
		seen[p] = true
	}
}

func validTimeFrame() TimeFrame {
	return TimeFrame{
		Name:   "Office hours",
		Weekly: []WeeklyRange{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}},
		Dates:  []DateRange{{From: "2026-12-24", To: "2026-12-26"}},
	}
}

func TestValidateTimeFrame(t *testing.T) {
	weekly := func(w WeeklyRange) func(*TimeFrame) {
		return func(tf *TimeFrame) { tf.Weekly = []WeeklyRange{w} }
	}
	dates := func(from, to string) func(*TimeFrame) {
		return func(tf *TimeFrame) { tf.Dates = []DateRange{{From: from, To: to}} }
	}
	days := []string{"sat"}
	tests := []struct {
		name   string
		change func(*TimeFrame)
		field  string
		rule   string
	}{
		{"valid", func(*TimeFrame) {}, "", ""},
		{"name empty", func(tf *TimeFrame) { tf.Name = "" }, "name", RuleToken},
		{"name 64", func(tf *TimeFrame) { tf.Name = strings.Repeat("a", 64) }, "", ""},
		{"name 65", func(tf *TimeFrame) { tf.Name = strings.Repeat("a", 65) }, "name", RuleToken},
		{"name punctuation", func(tf *TimeFrame) { tf.Name = "Mon-Fri_9.5 late" }, "", ""},
		{"name slash", func(tf *TimeFrame) { tf.Name = "a/b" }, "name", RuleToken},
		{"name umlaut", func(tf *TimeFrame) { tf.Name = "Büro" }, "name", RuleToken},
		{"name leading space", func(tf *TimeFrame) { tf.Name = " Office" }, "name", RuleToken},
		{"name trailing space", func(tf *TimeFrame) { tf.Name = "Office " }, "name", RuleToken},
		{"nothing", func(tf *TimeFrame) { tf.Weekly, tf.Dates = nil, nil }, "weekly", RuleRequired},
		{"always alone", func(tf *TimeFrame) { tf.Weekly, tf.Dates, tf.Always = nil, nil, true }, "", ""},
		{"weekly only", func(tf *TimeFrame) { tf.Dates = nil }, "", ""},
		{"dates only", func(tf *TimeFrame) { tf.Weekly = nil }, "", ""},
		{"no days", weekly(WeeklyRange{Start: "09:00", End: "17:00"}), "weekly", RuleRequired},
		{"day capitalised", weekly(WeeklyRange{Days: []string{"Mon"}, Start: "09:00", End: "17:00"}), "weekly", RuleEnum},
		{"day unknown", weekly(WeeklyRange{Days: []string{"monday"}, Start: "09:00", End: "17:00"}), "weekly", RuleEnum},
		{"day twice", weekly(WeeklyRange{Days: []string{"sat", "sun", "sat"}, Start: "09:00", End: "17:00"}), "weekly", RuleUnique},
		{"every day", weekly(WeeklyRange{Days: slices.Clone(weekdays), Start: "00:00", End: "24:00"}), "", ""},
		{"past midnight", weekly(WeeklyRange{Days: days, Start: "22:00", End: "06:00"}), "", ""},
		{"until midnight", weekly(WeeklyRange{Days: days, Start: "22:00", End: "00:00"}), "", ""},
		{"start equals end", weekly(WeeklyRange{Days: days, Start: "09:00", End: "09:00"}), "weekly", RuleRange},
		{"midnight to midnight", weekly(WeeklyRange{Days: days, Start: "00:00", End: "00:00"}), "weekly", RuleRange},
		{"start 24:00", weekly(WeeklyRange{Days: days, Start: "24:00", End: "06:00"}), "weekly", RuleTime},
		{"end 24:01", weekly(WeeklyRange{Days: days, Start: "09:00", End: "24:01"}), "weekly", RuleTime},
		{"end 25:00", weekly(WeeklyRange{Days: days, Start: "09:00", End: "25:00"}), "weekly", RuleTime},
		{"minute 60", weekly(WeeklyRange{Days: days, Start: "09:60", End: "17:00"}), "weekly", RuleTime},
		{"one-digit hour", weekly(WeeklyRange{Days: days, Start: "9:00", End: "17:00"}), "weekly", RuleTime},
		{"seconds", weekly(WeeklyRange{Days: days, Start: "09:00:00", End: "17:00"}), "weekly", RuleTime},
		{"start empty", weekly(WeeklyRange{Days: days, End: "17:00"}), "weekly", RuleTime},
		{"sign", weekly(WeeklyRange{Days: days, Start: "+9:00", End: "17:00"}), "weekly", RuleTime},
		{"weekly 50", func(tf *TimeFrame) { tf.Weekly = slices.Repeat(tf.Weekly, 50) }, "", ""},
		{"weekly 51", func(tf *TimeFrame) { tf.Weekly = slices.Repeat(tf.Weekly, 51) }, "weekly", RuleMaxItems},
		{"one day", dates("2026-07-04", "2026-07-04"), "", ""},
		{"leap day", dates("2028-02-29", "2028-03-01"), "", ""},
		{"no leap day", dates("2027-02-29", "2027-03-01"), "dates", RuleDate},
		{"month 13", dates("2026-13-01", "2026-13-02"), "dates", RuleDate},
		{"short month", dates("2026-7-04", "2026-07-05"), "dates", RuleDate},
		{"to empty", dates("2026-07-04", ""), "dates", RuleDate},
		{"with time", dates("2026-07-04T00:00:00Z", "2026-07-05"), "dates", RuleDate},
		{"from after to", dates("2026-12-26", "2026-12-24"), "dates", RuleRange},
		{"across the year", dates("2026-12-31", "2027-01-01"), "", ""},
		{"dates 50", func(tf *TimeFrame) { tf.Dates = slices.Repeat(tf.Dates, 50) }, "", ""},
		{"dates 51", func(tf *TimeFrame) { tf.Dates = slices.Repeat(tf.Dates, 51) }, "dates", RuleMaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf := validTimeFrame()
			tt.change(&tf)
			requireRule(t, validateTimeFrame(&tf), tt.field, tt.rule)
		})
	}
}

func TestValidateAnsweringRule(t *testing.T) {
	fw := func(kind, to string) *Forward { return &Forward{Kind: kind, To: to} }
	dest := func(d SimRingDestination) func(*AnsweringRule) {
		return func(r *AnsweringRule) { r.SimRing = &SimRing{Destinations: []SimRingDestination{d}} }
	}
	tests := []struct {
		name   string
		change func(*AnsweringRule)
		field  string
		rule   string
	}{
		{"minimal", func(*AnsweringRule) {}, "", ""},
		{"time frame missing", func(r *AnsweringRule) { r.TimeFrame = "" }, "time_frame", RuleRequired},
		{"ring for 600", func(r *AnsweringRule) { r.RingForS = 600 }, "", ""},
		{"ring for 601", func(r *AnsweringRule) { r.RingForS = 601 }, "ring_for_s", RuleRange},
		{"ring for negative", func(r *AnsweringRule) { r.RingForS = -1 }, "ring_for_s", RuleRange},
		{"forward to user", func(r *AnsweringRule) { r.ForwardAlways = fw("user", "1002") }, "", ""},
		{"forward to handset", func(r *AnsweringRule) { r.ForwardBusy = fw("handset", "1002-desk.2") }, "", ""},
		{"forward to voicemail", func(r *AnsweringRule) { r.ForwardUnanswered = fw("voicemail", "10") }, "", ""},
		{"forward to external", func(r *AnsweringRule) { r.ForwardOffline = fw("external", "+14155550100") }, "", ""},
		{"forward kind empty", func(r *AnsweringRule) { r.ForwardAlways = fw("", "1002") }, "forward_always", RuleEnum},
		{"forward kind queue", func(r *AnsweringRule) { r.ForwardBusy = fw("queue", "1002") }, "forward_busy", RuleEnum},
		{"forward kind capitalised", func(r *AnsweringRule) { r.ForwardBusy = fw("User", "1002") }, "forward_busy", RuleEnum},
		{"forward user one digit", func(r *AnsweringRule) { r.ForwardAlways = fw("user", "1") }, "forward_always", RuleDigits},
		{"forward user eleven digits", func(r *AnsweringRule) { r.ForwardAlways = fw("user", "12345678901") }, "forward_always", RuleDigits},
		{"forward user plus", func(r *AnsweringRule) { r.ForwardAlways = fw("user", "+1002") }, "forward_always", RuleDigits},
		{"forward voicemail empty", func(r *AnsweringRule) { r.ForwardUnanswered = fw("voicemail", "") }, "forward_unanswered", RuleDigits},
		{"forward handset empty", func(r *AnsweringRule) { r.ForwardOffline = fw("handset", "") }, "forward_offline", RuleToken},
		{"forward handset space", func(r *AnsweringRule) { r.ForwardOffline = fw("handset", "desk phone") }, "forward_offline", RuleToken},
		{"forward handset 33", func(r *AnsweringRule) { r.ForwardOffline = fw("handset", strings.Repeat("a", 33)) }, "forward_offline", RuleToken},
		{"forward external empty", func(r *AnsweringRule) { r.ForwardUnanswered = fw("external", "") }, "forward_unanswered", RuleE164},
		{"forward external two digits", func(r *AnsweringRule) { r.ForwardUnanswered = fw("external", "12") }, "forward_unanswered", RuleE164},
		{"forward external 16 digits", func(r *AnsweringRule) { r.ForwardUnanswered = fw("external", "1234567890123456") }, "forward_unanswered", RuleE164},
		{"forward external SIP URI", func(r *AnsweringRule) { r.ForwardUnanswered = fw("external", "sip:evil@example.com") }, "forward_unanswered", RuleE164},
		{"simring empty", func(r *AnsweringRule) { r.SimRing = &SimRing{IncludeUser: true} }, "", ""},
		{"simring user", dest(SimRingDestination{Kind: "user", To: "1002", DelayS: 300}), "", ""},
		{"simring handset", dest(SimRingDestination{Kind: "handset", To: "lobby"}), "", ""},
		{"simring external confirm", dest(SimRingDestination{Kind: "external", To: "4155550199", DelayS: 5, Confirm: true}), "", ""},
		{"simring voicemail", dest(SimRingDestination{Kind: "voicemail", To: "1002"}), "simring", RuleEnum},
		{"simring bad extension", dest(SimRingDestination{Kind: "user", To: "1x"}), "simring", RuleDigits},
		{"simring bad number", dest(SimRingDestination{Kind: "external", To: "+"}), "simring", RuleE164},
		{"simring delay 301", dest(SimRingDestination{Kind: "user", To: "1002", DelayS: 301}), "simring", RuleRange},
		{"simring delay negative", dest(SimRingDestination{Kind: "user", To: "1002", DelayS: -1}), "simring", RuleRange},
		{"simring 10", func(r *AnsweringRule) {
			r.SimRing = &SimRing{Destinations: slices.Repeat([]SimRingDestination{{Kind: "user", To: "1002"}}, 10)}
		}, "", ""},
		{"simring 11", func(r *AnsweringRule) {
			r.SimRing = &SimRing{Destinations: slices.Repeat([]SimRingDestination{{Kind: "user", To: "1002"}}, 11)}
		}, "simring", RuleMaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := AnsweringRule{TimeFrame: "Office hours", Enabled: true}
			tt.change(&r)
			requireRule(t, validateAnsweringRule(&r), tt.field, tt.rule)
		})
	}
}

func TestValidateAllowBlock(t *testing.T) {
	numbers := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("+1415555%04d", i)
		}
		return out
	}
	tests := []struct {
		name  string
		ab    AllowBlock
		field string
		rule  string
	}{
		{"empty", AllowBlock{}, "", ""},
		{"both lists", AllowBlock{Allowed: []string{"+14155550100", "42"}, Blocked: []string{"4155550199"}, BlockAnonymous: true}, "", ""},
		{"two digits", AllowBlock{Blocked: []string{"12"}}, "", ""},
		{"one digit", AllowBlock{Blocked: []string{"1"}}, "blocked", RuleE164},
		{"plus only", AllowBlock{Allowed: []string{"+"}}, "allowed", RuleE164},
		{"15 digits", AllowBlock{Allowed: []string{"+123456789012345"}}, "", ""},
		{"16 digits", AllowBlock{Allowed: []string{"+1234567890123456"}}, "allowed", RuleE164},
		{"dashes", AllowBlock{Blocked: []string{"415-555-0100"}}, "blocked", RuleE164},
		{"empty number", AllowBlock{Blocked: []string{""}}, "blocked", RuleE164},
		{"anonymous as a number", AllowBlock{Blocked: []string{"anonymous"}}, "blocked", RuleE164},
		{"duplicate allowed", AllowBlock{Allowed: []string{"100", "200", "100"}}, "allowed", RuleUnique},
		{"duplicate blocked", AllowBlock{Blocked: []string{"100", "100"}}, "blocked", RuleUnique},
		{"in both", AllowBlock{Allowed: []string{"100", "200"}, Blocked: []string{"300", "200"}}, "blocked", RuleBoth},
		{"200 each", AllowBlock{Allowed: numbers(200), Blocked: []string{"999"}}, "", ""},
		{"201 allowed", AllowBlock{Allowed: numbers(201)}, "allowed", RuleMaxItems},
		{"201 blocked", AllowBlock{Blocked: numbers(201)}, "blocked", RuleMaxItems},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireRule(t, validateAllowBlock(&tt.ab), tt.field, tt.rule)
		})
	}
}
