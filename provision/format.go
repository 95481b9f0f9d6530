package provision

import (
	"encoding/xml"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Format is how a model's files are written.
type Format uint8

const (
	FormatUnknown  Format = iota
	FormatKeyValue        // "key = value" lines (Yealink)
	FormatXML             // XML elements or attributes named by the keys
)

func (f Format) String() string {
	switch f {
	case FormatKeyValue:
		return "key=value"
	case FormatXML:
		return "xml"
	default:
		return "unknown"
	}
}

// MarshalText makes a Format read well in JSON (the models API).
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// keyRule says which keys a file format accepts. Keys are checked whether
// they come from a template or from a phone's overrides, so no key can add
// structure: an XML key is an element or attribute name, never markup, and
// a key=value key has no "=", space or line break.
type keyRule struct {
	re   *regexp.Regexp
	desc string // shown in errors and in the models API
	// xmlName refuses names starting with "xml" in any case, reserved by
	// XML (an "xmlns" attribute would change how the file is read).
	xmlName bool
}

func (k keyRule) check(key string) string {
	if !k.re.MatchString(key) {
		return "key must be " + k.desc
	}
	if k.xmlName && len(key) >= 3 && strings.EqualFold(key[:3], "xml") {
		return `key must not start with "xml", which XML reserves`
	}
	return ""
}

var (
	// Yealink parameter names: account.1.codec.1.enable. No ":" either, which
	// Yealink boot files use for include:config lines.
	yealinkKeys = keyRule{
		re:   regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`),
		desc: "a Yealink parameter name of letters, digits, '.', '_' or '-' such as account.1.codec.1.enable",
	}
	// Polycom parameters are XML attributes: reg.1.server.1.expires.
	polycomKeys = keyRule{
		re:      regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`),
		desc:    "a Polycom parameter name of letters, digits, '.', '_' or '-' such as reg.1.server.1.expires",
		xmlName: true,
	}
	// Cisco flat-profile parameters are element names: Register_Expires_1_.
	ciscoKeys = keyRule{
		re:      regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`),
		desc:    "a Cisco parameter element name of letters, digits and '_' such as Register_Expires_1_",
		xmlName: true,
	}
	// Grandstream P-values: P32.
	grandstreamKeys = keyRule{
		re:   regexp.MustCompile(`^P[0-9]{1,6}$`),
		desc: "a Grandstream P-value such as P32",
	}
	// Snom settings, with ".n" for the identity index: user_expiry.1 is
	// written <user_expiry idx="1" perm="R">.
	snomKeys = keyRule{
		re:      regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[0-9]{1,3})?$`),
		desc:    "a Snom setting name of letters, digits and '_', with '.n' for identity n, such as user_expiry.1",
		xmlName: true,
	}
)

// checkValue returns why v cannot be a value in a file of format f, or "".
//
// A key=value file has no escaping, so a value may hold no line break or
// other control character (it would start a new setting) and no white
// space at either end (the phone trims it). XML escapes everything else; it
// only cannot carry the control characters XML 1.0 excludes.
func checkValue(f Format, v string) string {
	if !utf8.ValidString(v) {
		return "value is not UTF-8 text"
	}
	switch f {
	case FormatKeyValue:
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return "value must not contain a line break or control character in a key=value file"
			}
		}
		if strings.TrimSpace(v) != v {
			return "value must not start or end with white space in a key=value file"
		}
	case FormatXML:
		for _, r := range v {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xfffe || r == 0xffff {
				return "value contains a control character XML cannot carry"
			}
		}
	}
	return ""
}

// setting is one key and value of a file, in file order.
type setting struct {
	Key, Value string
}

// settingList keeps settings in order with an index by key, so overrides
// replace a value where the template put it and append new keys at the end.
type settingList struct {
	items []setting
	index map[string]int
}

func (l *settingList) has(key string) bool {
	_, ok := l.index[key]
	return ok
}

// set replaces key's value in place, or appends key.
func (l *settingList) set(key, value string) {
	if l.index == nil {
		l.index = make(map[string]int)
	}
	if i, ok := l.index[key]; ok {
		l.items[i].Value = value
		return
	}
	l.index[key] = len(l.items)
	l.items = append(l.items, setting{Key: key, Value: value})
}

// frameSetting is a setting as frame templates see it; Snom keys are
// split into the setting's name and its identity index.
type frameSetting struct {
	Key, Value  string
	Name, Index string
}

func frameSettings(items []setting) []frameSetting {
	out := make([]frameSetting, len(items))
	for i, s := range items {
		name, index, _ := strings.Cut(s.Key, ".")
		out[i] = frameSetting{Key: s.Key, Value: s.Value, Name: name, Index: index}
	}
	return out
}

// xmlEscape escapes s for XML text and attribute values alike: & < > " '
// and tab, line feed and carriage return become references, so a value
// read back is the value written, line breaks included.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}
