package provision

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// overrideKeys gives each model a key its template writes (to replace) and
// one it does not (to add).
var overrideKeys = map[string][2]string{
	"yealink-t4x":     {"account.1.sip_server.1.expires", "features.dnd.allow"},
	"yealink-t5x":     {"account.1.sip_server.1.expires", "features.dnd.allow"},
	"polycom-vvx":     {"reg.1.server.1.expires", "up.backlight.idleIntensity"},
	"cisco-spa":       {"Register_Expires_1_", "Dial_Plan_1_"},
	"cisco-mpp":       {"Register_Expires_1_", "Dial_Plan_1_"},
	"grandstream-gxp": {"P32", "P1362"},
	"grandstream-grp": {"P32", "P1362"},
	"snom":            {"user_host.1", "user_expiry.1"},
}

// TestOverridesReplaceAndAdd: a key the template writes keeps its place
// with the override's value; a new key is appended; nothing else moves.
func TestOverridesReplaceAndAdd(t *testing.T) {
	for _, m := range Models() {
		t.Run(m.ID, func(t *testing.T) {
			keys := overrideKeys[m.ID]
			dev := testDevice(m.ID)
			before := phoneSettings(t, m, dev, testSite())
			dev.Overrides = map[string]string{keys[0]: "replaced", keys[1]: "added"}
			after := phoneSettings(t, m, dev, testSite())

			require.Len(t, after, len(before)+1)
			for i, s := range before {
				want := s.Value
				if s.Key == keys[0] {
					want = "replaced"
				}
				require.Equal(t, setting{s.Key, want}, after[i])
			}
			require.Equal(t, setting{keys[1], "added"}, after[len(after)-1])

			_, content, _, err := Render(m, dev, testSite())
			require.NoError(t, err)
			// The parsers refuse a key written twice.
			got := parseFile(t, m.Format, content)
			require.Equal(t, "replaced", got[keys[0]])
			require.Equal(t, "added", got[keys[1]])
		})
	}
}

// hostile values are data in an XML file: read back, they are what was
// written, and the file has exactly the settings it should.
var hostile = []string{
	`<`, `&`, `"`, `'`, `>`,
	`</P34><P34>evil`,
	`"/><evil a="`,
	`]]><!-- x -->`,
	"line one\nline two",
	"carriage\rreturn\r\n",
	"tab\there",
	`&amp; &lt; &#x41;`,
	"ünïcødé ☎",
}

func TestOverridesHostileValuesXML(t *testing.T) {
	for _, m := range Models() {
		if m.Format != FormatXML {
			continue
		}
		t.Run(m.ID, func(t *testing.T) {
			keys := overrideKeys[m.ID]
			for _, v := range hostile {
				dev := testDevice(m.ID)
				dev.CallerIDName = "" // the display name goes through DisplayName, which trims
				dev.Overrides = map[string]string{keys[0]: v, keys[1]: v}
				want := map[string]string{}
				for _, s := range phoneSettings(t, m, dev, testSite()) {
					want[s.Key] = s.Value
				}
				_, content, _, err := Render(m, dev, testSite())
				require.NoError(t, err, "%q", v)
				require.Equal(t, want, parseFile(t, m.Format, content), "value %q", v)
				require.Equal(t, v, want[keys[0]])
			}
		})
	}
}

// TestOverridesKeyValueRefuseLineBreaks: a key=value file has no escaping,
// so a value that could start a new line is refused, at validation and at
// rendering; the other hostile characters are plain data there.
func TestOverridesKeyValueRefuseLineBreaks(t *testing.T) {
	for _, id := range []string{"yealink-t4x", "yealink-t5x"} {
		m, _ := Lookup(id)
		for _, v := range []string{"a\nstatic.auto_provision.server.url = http://evil/", "a\rb", "a\x00b", "a\x1bb", "a\x7fb", " padded", "padded "} {
			dev := testDevice(id)
			dev.Overrides = map[string]string{"features.dnd.allow": v}
			_, _, _, err := Render(m, dev, testSite())
			var se *SettingError
			require.True(t, errors.As(err, &se), "%q: %v", v, err)
			require.Equal(t, "features.dnd.allow", se.Key)
			require.Error(t, ValidateOverrides(id, dev.Overrides), "%q", v)
		}
		for _, v := range []string{`<`, `&`, `"`, `'`, "a = b", "#not a comment", "ünïcødé ☎", "%NULL%"} {
			dev := testDevice(id)
			dev.Overrides = map[string]string{"features.dnd.allow": v}
			_, content, _, err := Render(m, dev, testSite())
			require.NoError(t, err, "%q", v)
			require.Equal(t, v, parseFile(t, m.Format, content)["features.dnd.allow"], "%q", v)
			require.NoError(t, ValidateOverrides(id, dev.Overrides))
		}
	}
}

// TestOverrideKeysChecked: keys are checked per format, so no key can
// carry structure (markup, "=", a line break, a namespace).
func TestOverrideKeysChecked(t *testing.T) {
	for _, tc := range []struct {
		model   string
		good    []string
		refused []string
	}{
		{"yealink-t4x",
			[]string{"account.1.codec.1.enable", "features.dnd.allow", "static.network.vlan.internet_port_enable", "a-b"},
			[]string{"", "a b", "a=b", "a\nb", "include:config", "#comment", ".", strings.Repeat("a", 129)}},
		{"polycom-vvx",
			[]string{"reg.1.server.1.expires", "up.backlight.idleIntensity"},
			[]string{"", "1reg", "reg 1", `a"b`, "a=b", "a/>", "xmlns", "XMLfoo", "ns:attr"}},
		{"cisco-spa",
			[]string{"Register_Expires_1_", "Resync_At__HHmm_"},
			[]string{"", "Register.Expires", "a-b", "<x>", "1abc", "xml_thing", "a:b"}},
		{"grandstream-gxp",
			[]string{"P32", "P1362", "P23000"},
			[]string{"", "p32", "P", "Pabc", "P32>", "P1234567"}},
		{"snom",
			[]string{"user_expiry.1", "language", "user_host.12"},
			[]string{"", "user_expiry.", "user_expiry.a", "user expiry", "a.1.2", "xml.1", "<a>"}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			m, _ := Lookup(tc.model)
			for _, k := range tc.good {
				require.NoError(t, m.CheckSetting(k, "1"), "%q", k)
				dev := testDevice(tc.model)
				dev.Overrides = map[string]string{k: "1"}
				_, _, _, err := Render(m, dev, testSite())
				require.NoError(t, err, "%q", k)
			}
			for _, k := range tc.refused {
				err := m.CheckSetting(k, "1")
				var se *SettingError
				require.True(t, errors.As(err, &se), "%q: %v", k, err)
				require.Error(t, ValidateOverrides(tc.model, map[string]string{k: "1"}))
				dev := testDevice(tc.model)
				dev.Overrides = map[string]string{k: "1"}
				_, _, _, err = Render(m, dev, testSite())
				require.True(t, errors.As(err, &se), "%q: %v", k, err)
			}
		})
	}
}

func TestOverridesXMLRefuseControlCharacters(t *testing.T) {
	m, _ := Lookup("cisco-mpp")
	for _, v := range []string{"a\x00b", "a\x01b", "a\x1bb", "\xff"} {
		require.Error(t, m.CheckSetting("Dial_Plan_1_", v), "%q", v)
	}
}

func TestValidateOverridesUnknownModel(t *testing.T) {
	require.ErrorIs(t, ValidateOverrides("acme-9000", nil), ErrUnknownModel)
	require.NoError(t, ValidateOverrides("yealink-t54w", map[string]string{"features.dnd.allow": "1"}), "an alias validates")
}

// TestOverridesDoNotReachOtherFiles: overrides go into the phone's file
// only, not into common files or Polycom's per-phone master.
func TestOverridesDoNotReachOtherFiles(t *testing.T) {
	m, _ := Lookup("polycom-vvx")
	dev := testDevice(m.ID)
	dev.Overrides = map[string]string{"up.backlight.idleIntensity": "1"}
	master, _, err := RenderFile(m, dev.MAC+".cfg", dev, testSite())
	require.NoError(t, err)
	require.NotContains(t, string(master), "idleIntensity")
}
