package provision

import (
	"bytes"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// Device is a phone with the fields of its user that go into its file.
type Device struct {
	// Phone.
	PhoneName   string // SIP authentication user name
	SIPPassword string
	Model       string // model ID or alias
	MAC         string // 12 hex digits
	Overrides   map[string]string
	// User.
	Extension    string
	CallerIDName string
	FirstName    string
	LastName     string
	Timezone     string // IANA name; empty means Site.DefaultTimezone
	Site         string // the user's site, for per-site provisioning credentials
}

// DisplayName is what the phone shows as its own name and sends as the
// caller's name: the caller ID name, else the first and last names, else
// the extension. Control characters become spaces.
func (d Device) DisplayName() string {
	name := strings.TrimSpace(d.CallerIDName)
	if name == "" {
		name = strings.TrimSpace(strings.TrimSpace(d.FirstName) + " " + strings.TrimSpace(d.LastName))
	}
	if name == "" {
		return d.Extension
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)
	return strings.Join(strings.Fields(name), " ")
}

// Transport is the SIP transport phones register over.
type Transport uint8

const (
	TransportUnknown Transport = iota // rendered as UDP
	TransportUDP
	TransportTCP
	TransportTLS
)

func (t Transport) String() string {
	switch t {
	case TransportUDP:
		return "udp"
	case TransportTCP:
		return "tcp"
	case TransportTLS:
		return "tls"
	default:
		return "unknown"
	}
}

// ParseTransport reads "udp", "tcp" or "tls" in any case.
func ParseTransport(s string) Transport {
	switch strings.ToLower(s) {
	case "udp":
		return TransportUDP
	case "tcp":
		return TransportTCP
	case "tls":
		return TransportTLS
	}
	return TransportUnknown
}

// Site is what every phone's file shares: where to register, where to
// fetch files again, and the feature codes.
type Site struct {
	// SIPHost and SIPPort are the advertised SIP address (--advertise),
	// not the listening socket. Port 0 means 5060 (5061 over TLS).
	SIPHost   string
	SIPPort   int
	Transport Transport
	// Domain is the SIP domain. When it differs from SIPHost the phones
	// register at Domain through SIPHost as their outbound proxy.
	Domain string
	// ProvisionURL is the base URL phones fetch their files from, such as
	// "http://pbx.example.com:8080/provision/".
	ProvisionURL string
	// VoicemailCode is the number the voicemail key dials; "" means "*97".
	VoicemailCode string
	// DefaultTimezone is used for users without a time zone; "" is UTC.
	DefaultTimezone string
	// NTPServer, when set, is written into the files.
	NTPServer string
	// Year is the year whose daylight-saving dates are written; 0 means
	// the current year.
	Year int
}

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"pick":     pick,
	"bit":      bit,
	"hostport": hostPort,
	"xml":      xmlEscape,
}).ParseFS(templateFS, "templates/*.tmpl"))

// pick maps v through pairs of (from, to) values; no match is an error,
// so a template never writes a value it did not expect.
func pick(v string, pairs ...string) (string, error) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == v {
			return pairs[i+1], nil
		}
	}
	return "", fmt.Errorf("no value for %q", v)
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// view is what settings templates see: the values they may write and Set.
type view struct {
	Model string

	MAC, MACUpper string
	Extension     string
	AuthName      string
	Password      string
	DisplayName   string
	Label         string

	Registrar     string // where the account registers: the domain
	Server        string // the advertised SIP host
	Port          int
	OutboundProxy bool // register at Registrar through Server
	Transport     string

	VoicemailCode     string
	ProvisionURL      string
	ProvisionScheme   string // "http" or "https"
	ProvisionHostPath string // ProvisionURL without its scheme
	NTPServer         string
	TZ                zone

	list settingList
}

// Set adds a setting; templates call it once per key, in file order.
func (v *view) Set(key string, value any) (string, error) {
	var s string
	switch x := value.(type) {
	case string:
		s = x
	case int:
		s = strconv.Itoa(x)
	default:
		return "", fmt.Errorf("setting %q: value of type %T", key, value)
	}
	if v.list.has(key) {
		return "", fmt.Errorf("setting %q set twice", key)
	}
	v.list.set(key, s)
	return "", nil
}

// siteView fills the fields every file shares.
func siteView(m Model, site Site) (*view, error) {
	host := strings.TrimSpace(site.SIPHost)
	if host == "" || strings.ContainsAny(host, " \t\r\n/") {
		return nil, fmt.Errorf("site SIP host %q is not a host name or address", site.SIPHost)
	}
	transport := site.Transport
	if transport == TransportUnknown {
		transport = TransportUDP
	}
	port := site.SIPPort
	if port == 0 {
		port = 5060
		if transport == TransportTLS {
			port = 5061
		}
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("site SIP port %d out of range", site.SIPPort)
	}
	u, err := url.Parse(strings.TrimSpace(site.ProvisionURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("site provisioning URL %q must be an http or https URL without credentials or query", site.ProvisionURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	base := u.String()
	domain := strings.TrimSpace(site.Domain)
	if domain == "" {
		domain = host
	}
	code := site.VoicemailCode
	if code == "" {
		code = "*97"
	}
	return &view{
		Model:             m.ID,
		Registrar:         domain,
		Server:            host,
		Port:              port,
		OutboundProxy:     !strings.EqualFold(domain, host),
		Transport:         transport.String(),
		VoicemailCode:     code,
		ProvisionURL:      base,
		ProvisionScheme:   u.Scheme,
		ProvisionHostPath: strings.TrimPrefix(base, u.Scheme+"://"),
		NTPServer:         strings.TrimSpace(site.NTPServer),
	}, nil
}

// deviceView adds the phone's and its user's fields.
func deviceView(m Model, dev Device, site Site) (*view, error) {
	v, err := siteView(m, site)
	if err != nil {
		return nil, err
	}
	mac := strings.ToLower(dev.MAC)
	if _, err := hex.DecodeString(mac); err != nil || len(mac) != 12 {
		return nil, fmt.Errorf("phone %s: MAC %q is not 12 hex digits", dev.PhoneName, dev.MAC)
	}
	if dev.PhoneName == "" || dev.SIPPassword == "" || dev.Extension == "" {
		return nil, fmt.Errorf("phone %q: name, SIP password and extension are required", dev.PhoneName)
	}
	tz := dev.Timezone
	if tz == "" {
		tz = site.DefaultTimezone
	}
	if tz == "" {
		tz = "UTC"
	}
	year := site.Year
	if year == 0 {
		year = time.Now().Year()
	}
	z, err := loadZone(tz, year)
	if err != nil {
		return nil, fmt.Errorf("phone %s: %w", dev.PhoneName, err)
	}
	v.MAC, v.MACUpper = mac, strings.ToUpper(mac)
	v.Extension = dev.Extension
	v.AuthName = dev.PhoneName
	v.Password = dev.SIPPassword
	v.DisplayName = dev.DisplayName()
	v.Label = dev.Extension
	v.TZ = z
	return v, nil
}

// Render renders the phone's file that carries its credentials, with its
// overrides merged in, and returns the file's name as the phone asks for
// it.
func Render(m Model, dev Device, site Site) (name string, content []byte, contentType string, err error) {
	if m.spec == nil {
		return "", nil, "", ErrUnknownModel
	}
	v, err := deviceView(m, dev, site)
	if err != nil {
		return "", nil, "", err
	}
	f := m.spec.phone
	content, err = renderFile(m, f, v, dev.Overrides, phoneHeader(m))
	if err != nil {
		return "", nil, "", err
	}
	return f.nameFor(v.MAC), content, f.ctype, nil
}

// RenderFile renders the per-phone file called name (any of the model's
// per-phone files, for the phone's MAC, in either case); ErrNotServed if
// the model has none of that name.
func RenderFile(m Model, name string, dev Device, site Site) (content []byte, contentType string, err error) {
	if m.spec == nil {
		return nil, "", ErrUnknownModel
	}
	f, ok := m.phoneFile(name, strings.ToLower(dev.MAC))
	if !ok {
		return nil, "", fmt.Errorf("%s for %s: %w", name, m.ID, ErrNotServed)
	}
	v, err := deviceView(m, dev, site)
	if err != nil {
		return nil, "", err
	}
	var overrides map[string]string
	if f.pattern == m.spec.phone.pattern { // the file with the account takes the overrides
		overrides = dev.Overrides
	}
	content, err = renderFile(m, f, v, overrides, phoneHeader(m))
	return content, f.ctype, err
}

// RenderCommon renders the model's common file called name ("" for the
// first one the model lists). Common files hold no secret.
func RenderCommon(m Model, name string, site Site) (content []byte, contentType string, err error) {
	if m.spec == nil {
		return nil, "", ErrUnknownModel
	}
	f, ok := m.commonFile(name)
	if !ok {
		return nil, "", fmt.Errorf("%s for %s: %w", name, m.ID, ErrNotServed)
	}
	v, err := siteView(m, site)
	if err != nil {
		return nil, "", err
	}
	// No model in the header: models sharing a common file render it alike.
	content, err = renderFile(m, f, v, nil, "Switchboard provisioning file; generated, edits are overwritten")
	return content, f.ctype, err
}

func phoneHeader(m Model) string {
	return "Switchboard provisioning file for " + m.ID + "; generated, edits are overwritten"
}

// errTemplateText reports a settings template writing text of its own.
var errTemplateText = errors.New("settings template wrote text outside Set")

// renderFile writes the file from its settings.
func renderFile(m Model, f fileSpec, v *view, overrides map[string]string, header string) ([]byte, error) {
	items, err := fileSettings(m, f, v, overrides)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = templates.ExecuteTemplate(&out, f.frame, struct {
		Header   string
		Root     string
		Settings []frameSetting
	}{
		Header:   header,
		Root:     f.root,
		Settings: frameSettings(items),
	})
	if err != nil {
		return nil, fmt.Errorf("write %s for %s: %w", f.pattern, m.ID, err)
	}
	return out.Bytes(), nil
}

// fileSettings runs the settings template, merges overrides by key (a
// known key keeps its place with the new value, a new key is appended, in
// key order) and checks every key and value against the format.
func fileSettings(m Model, f fileSpec, v *view, overrides map[string]string) ([]setting, error) {
	var out bytes.Buffer
	if err := templates.ExecuteTemplate(&out, f.template, v); err != nil {
		return nil, fmt.Errorf("render %s for %s: %w", f.pattern, m.ID, err)
	}
	if len(bytes.TrimSpace(out.Bytes())) != 0 {
		return nil, fmt.Errorf("render %s for %s: %w", f.pattern, m.ID, errTemplateText)
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.list.set(k, overrides[k])
	}
	for _, s := range v.list.items {
		if r := m.spec.keys.check(s.Key); r != "" {
			return nil, &SettingError{Model: m.ID, Key: s.Key, Reason: r}
		}
		if r := checkValue(f.format, s.Value); r != "" {
			return nil, &SettingError{Model: m.ID, Key: s.Key, Reason: r}
		}
	}
	return v.list.items, nil
}
