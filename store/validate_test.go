package store

import (
	"errors"
	"fmt"
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
		MobileNumber: "4155550199", PagerNumber: "555",
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
