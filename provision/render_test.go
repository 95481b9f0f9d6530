package provision

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/<path>, or rewrites it with
// -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	path = filepath.Join("testdata", "golden", path)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./provision -run TestGolden -update to create it")
	require.Equal(t, string(want), string(got), "golden file %s (regenerate with -update)", path)
}

// variantOverrides replace one key each model writes and add one it does
// not.
var variantOverrides = map[string]map[string]string{
	"yealink-t4x":     {"account.1.sip_server.1.expires": "600", "features.dnd.allow": "0"},
	"yealink-t5x":     {"account.1.sip_server.1.expires": "600", "features.dnd.allow": "0"},
	"polycom-vvx":     {"reg.1.server.1.expires": "600", "up.backlight.idleIntensity": "1"},
	"cisco-spa":       {"Register_Expires_1_": "600", "Dial_Plan_1_": "(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxxS0|xxxxxxxxxxxx.)"},
	"cisco-mpp":       {"Register_Expires_1_": "600", "Dial_Plan_1_": "(*xx|[3469]11|0|00|[2-9]xxxxxx|1xxx[2-9]xxxxxxS0|xxxxxxxxxxxx.)"},
	"grandstream-gxp": {"P32": "10", "P1362": "en"},
	"grandstream-grp": {"P32": "10", "P1362": "en"},
	"snom":            {"user_realname.1": "Front Desk", "user_expiry.1": "600"},
}

// variant is a second fixture: a domain reached through the advertised
// host, TCP on another port, Berlin time, NTP, a caller ID name with an
// ampersand, overrides.
func variant(model string) (Device, Site) {
	dev := testDevice(model)
	dev.CallerIDName = "Research & Development"
	dev.Timezone = "Europe/Berlin"
	dev.Overrides = variantOverrides[model]
	return dev, Site{
		SIPHost:       "203.0.113.5",
		SIPPort:       5080,
		Transport:     TransportTCP,
		Domain:        "pbx.example.com",
		ProvisionURL:  "https://pbx.example.com/provision",
		VoicemailCode: "*86",
		NTPServer:     "pool.ntp.org",
		Year:          2026,
	}
}

// TestGolden renders every file of every model and compares it with its
// golden file.
func TestGolden(t *testing.T) {
	for _, m := range Models() {
		t.Run(m.ID, func(t *testing.T) {
			dev, site := testDevice(m.ID), testSite()
			name, content, ctype, err := Render(m, dev, site)
			require.NoError(t, err)
			require.Equal(t, m.ContentType, ctype)
			golden(t, filepath.Join(m.ID, "basic", name), content)
			for _, f := range m.spec.other {
				other := f.nameFor(dev.MAC)
				content, _, err := RenderFile(m, other, dev, site)
				require.NoError(t, err)
				golden(t, filepath.Join(m.ID, "basic", other), content)
			}
			common, _, err := RenderCommon(m, "", site)
			require.NoError(t, err)
			golden(t, filepath.Join(m.ID, "basic", m.CommonFileName()), common)

			dev, site = variant(m.ID)
			name, content, _, err = Render(m, dev, site)
			require.NoError(t, err)
			golden(t, filepath.Join(m.ID, "variant", name), content)
			common, _, err = RenderCommon(m, "", site)
			require.NoError(t, err)
			golden(t, filepath.Join(m.ID, "variant", m.CommonFileName()), common)
		})
	}
}

// phoneSettings are the settings Render writes into the phone's file.
func phoneSettings(t *testing.T, m Model, dev Device, site Site) []setting {
	t.Helper()
	v, err := deviceView(m, dev, site)
	require.NoError(t, err)
	items, err := fileSettings(m, m.spec.phone, v, dev.Overrides)
	require.NoError(t, err)
	return items
}

// TestFilesParseBack reads every rendered file with an independent parser:
// XML files must be well-formed (every token walked) and key=value files
// must give back exactly the settings written, no more, no fewer.
func TestFilesParseBack(t *testing.T) {
	for _, m := range Models() {
		for _, fixture := range []string{"basic", "variant"} {
			t.Run(m.ID+"/"+fixture, func(t *testing.T) {
				dev, site := testDevice(m.ID), testSite()
				if fixture == "variant" {
					dev, site = variant(m.ID)
				}
				_, content, _, err := Render(m, dev, site)
				require.NoError(t, err)
				want := map[string]string{}
				for _, s := range phoneSettings(t, m, dev, site) {
					want[s.Key] = s.Value
				}
				require.Equal(t, want, parseFile(t, m.Format, content))

				for _, f := range m.spec.other {
					content, _, err := RenderFile(m, f.nameFor(dev.MAC), dev, site)
					require.NoError(t, err)
					parseFile(t, f.format, content)
				}
				for _, f := range m.spec.common {
					name := f.name
					if name == "" {
						name = f.example
					}
					content, _, err := RenderCommon(m, name, site)
					require.NoError(t, err)
					got := parseFile(t, f.format, content)
					for k, v := range got {
						require.NotContains(t, v, dev.SIPPassword, "common file %s key %s", name, k)
					}
				}
			})
		}
	}
}

// TestCredentialsReadBack: the credentials a phone would read out of its
// file are its own SIP credentials, and the account is its user's
// extension.
func TestCredentialsReadBack(t *testing.T) {
	for _, m := range Models() {
		t.Run(m.ID, func(t *testing.T) {
			dev := testDevice(m.ID)
			dev.SIPPassword = `p&ss<w>rd'x!` // printable, as the store allows, with XML specials
			_, content, _, err := Render(m, dev, testSite())
			require.NoError(t, err)
			got := parseFile(t, m.Format, content)
			keys := credentialKeys[m.ID]
			require.Equal(t, dev.PhoneName, got[keys[0]], "auth name")
			require.Equal(t, dev.SIPPassword, got[keys[1]], "password")
			require.Equal(t, dev.Extension, got[keys[2]], "user")
		})
	}
}

// TestPerPhoneFilesWithoutCredentials: only the phone file holds the
// password (Polycom's per-phone master does not).
func TestPerPhoneFilesWithoutCredentials(t *testing.T) {
	for _, m := range Models() {
		dev := testDevice(m.ID)
		for _, f := range m.spec.other {
			content, _, err := RenderFile(m, f.nameFor(dev.MAC), dev, testSite())
			require.NoError(t, err)
			require.NotContains(t, string(content), dev.SIPPassword, "%s %s", m.ID, f.pattern)
		}
	}
}

func TestRenderFileNames(t *testing.T) {
	dev := testDevice("snom")
	m, _ := Lookup("snom")
	name, _, _, err := Render(m, dev, testSite())
	require.NoError(t, err)
	require.Equal(t, "000413ABCDEF.xml", name)
	// Either case of the MAC is answered.
	_, _, err = RenderFile(m, "000413abcdef.xml", dev, testSite())
	require.NoError(t, err)
	// Another phone's name, or another model's form, is not.
	_, _, err = RenderFile(m, "000413abcdee.xml", dev, testSite())
	require.ErrorIs(t, err, ErrNotServed)
	_, _, err = RenderFile(m, "cfg000413abcdef.xml", dev, testSite())
	require.ErrorIs(t, err, ErrNotServed)
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  Device
		want string
	}{
		{"caller ID name first", Device{CallerIDName: "Front Desk", FirstName: "Ada", LastName: "Lovelace", Extension: "1001"}, "Front Desk"},
		{"first and last", Device{FirstName: " Ada ", LastName: "Lovelace", Extension: "1001"}, "Ada Lovelace"},
		{"last only", Device{LastName: "Lovelace", Extension: "1001"}, "Lovelace"},
		{"extension", Device{Extension: "1001"}, "1001"},
		{"control characters become spaces", Device{FirstName: "Ada\r\nX-Evil: 1", Extension: "1001"}, "Ada X-Evil: 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.dev.DisplayName())
		})
	}
}

func TestRenderSiteVariants(t *testing.T) {
	m, _ := Lookup("yealink-t5x")
	dev := testDevice(m.ID)
	get := func(site Site) map[string]string {
		_, content, _, err := Render(m, dev, site)
		require.NoError(t, err)
		return parseFile(t, m.Format, content)
	}
	site := testSite()
	got := get(site)
	require.Equal(t, "5060", got["account.1.sip_server.1.port"])
	require.Equal(t, "0", got["account.1.sip_server.1.transport_type"])
	require.Equal(t, "*97", got["voice_mail.number.1"], "the default voicemail code")
	require.NotContains(t, got, "account.1.outbound_proxy_enable", "no outbound proxy when the domain is the host")

	site.Transport = TransportTLS
	got = get(site)
	require.Equal(t, "5061", got["account.1.sip_server.1.port"])
	require.Equal(t, "2", got["account.1.sip_server.1.transport_type"])

	site = testSite()
	site.Domain = "192.0.2.10"
	require.NotContains(t, get(site), "account.1.outbound_proxy_enable")

	dev.Timezone = ""
	site.DefaultTimezone = "Asia/Kolkata"
	got = get(site)
	require.Equal(t, "+5:30", got["local_time.time_zone"])
	require.Equal(t, "0", got["local_time.summer_time"])
}

func TestRenderRejectsBadInput(t *testing.T) {
	m, _ := Lookup("yealink-t4x")
	for _, tc := range []struct {
		name string
		dev  func(*Device)
		site func(*Site)
	}{
		{"no SIP host", nil, func(s *Site) { s.SIPHost = "" }},
		{"SIP host with a line break", nil, func(s *Site) { s.SIPHost = "a\nb" }},
		{"port out of range", nil, func(s *Site) { s.SIPPort = 70000 }},
		{"no provisioning URL", nil, func(s *Site) { s.ProvisionURL = "" }},
		{"provisioning URL with credentials", nil, func(s *Site) { s.ProvisionURL = "http://u:p@pbx/provision/" }},
		{"provisioning URL over ftp", nil, func(s *Site) { s.ProvisionURL = "ftp://pbx/provision/" }},
		{"bad MAC", func(d *Device) { d.MAC = "00156" }, nil},
		{"no password", func(d *Device) { d.SIPPassword = "" }, nil},
		{"unknown time zone", func(d *Device) { d.Timezone = "Mars/Olympus_Mons" }, nil},
		{"voicemail code with a line break", nil, func(s *Site) { s.VoicemailCode = "*97\nx = 1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, site := testDevice(m.ID), testSite()
			if tc.dev != nil {
				tc.dev(&dev)
			}
			if tc.site != nil {
				tc.site(&site)
			}
			_, _, _, err := Render(m, dev, site)
			require.Error(t, err)
		})
	}
	_, _, _, err := Render(Model{}, testDevice(m.ID), testSite())
	require.ErrorIs(t, err, ErrUnknownModel)
}

// TestSharedCommonFilesAlike: models that share a common file name render
// it identically, so Resolve may name either.
func TestSharedCommonFilesAlike(t *testing.T) {
	byName := map[string][]byte{}
	for _, m := range Models() {
		for _, f := range m.spec.common {
			name := f.name
			if name == "" {
				name = f.example
			}
			content, _, err := RenderCommon(m, name, testSite())
			require.NoError(t, err)
			if prev, ok := byName[strings.ToLower(name)]; ok {
				require.Equal(t, string(prev), string(content), "%s of %s", name, m.ID)
			}
			byName[strings.ToLower(name)] = content
		}
	}
}
