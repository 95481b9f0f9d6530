package provision

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRegistry: IDs and aliases are unique and lowercase, every model has
// the files and descriptions the models API shows, and its templates
// exist.
func TestRegistry(t *testing.T) {
	seen := map[string]string{}
	for _, m := range Models() {
		require.NotEmpty(t, m.Vendor, m.ID)
		require.NotEmpty(t, m.Description, m.ID)
		require.NotEmpty(t, m.PhoneFile, m.ID)
		require.NotEmpty(t, m.CommonFiles, m.ID)
		require.NotEmpty(t, m.OverrideKeys, m.ID)
		require.NotEmpty(t, m.CheckSyncEvent, m.ID)
		require.NotEqual(t, FormatUnknown, m.Format, m.ID)
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			require.Equal(t, strings.ToLower(name), name)
			prev, dup := seen[name]
			require.False(t, dup, "%s is both %s and %s", name, prev, m.ID)
			seen[name] = m.ID
			got, ok := Lookup(name)
			require.True(t, ok, name)
			require.Equal(t, m.ID, got.ID)
		}
		for _, f := range append(m.spec.phoneFiles(), m.spec.common...) {
			require.NotNil(t, templates.Lookup(f.template), "%s template %s", m.ID, f.template)
			require.NotNil(t, templates.Lookup(f.frame), "%s frame %s", m.ID, f.frame)
		}
	}
	for _, want := range []string{"yealink-t4x", "yealink-t5x", "polycom-vvx", "cisco-spa", "cisco-mpp",
		"grandstream-gxp", "grandstream-grp", "snom"} {
		_, ok := Lookup(want)
		require.True(t, ok, want)
	}
	m, ok := Lookup(" Yealink-T54W ")
	require.True(t, ok)
	require.Equal(t, "yealink-t5x", m.ID)
	_, ok = Lookup("acme-9000")
	require.False(t, ok)
}

// TestModelsJSON: the models API can answer Models() as it is, without
// the unexported spec.
func TestModelsJSON(t *testing.T) {
	b, err := json.Marshal(Models())
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got, len(Models()))
	require.Equal(t, "yealink-t4x", got[0]["id"])
	require.Equal(t, "key=value", got[0]["format"])
	require.Equal(t, "{mac}.cfg", got[0]["phone_file"])
	require.Equal(t, "xml", got[2]["format"])
	require.Equal(t, "check-sync;reboot=false", got[0]["check_sync_event"])
}

// TestResolve: every file name of every model resolves to what it names,
// in either case of the MAC, and nothing else does.
func TestResolve(t *testing.T) {
	for _, m := range Models() {
		mac := testMACs[m.ID]
		for _, f := range m.spec.phoneFiles() {
			for _, name := range []string{f.nameFor(mac), f.prefix + strings.ToUpper(mac) + f.suffix, f.prefix + mac + f.suffix} {
				got, ok := Resolve(name)
				require.True(t, ok, name)
				require.False(t, got.Common(), name)
				require.Equal(t, mac, got.MAC, name)
				require.Contains(t, got.Models, m.ID, name)
			}
		}
		for _, f := range m.spec.common {
			name := f.name
			if name == "" {
				name = f.example
			}
			got, ok := Resolve(name)
			require.True(t, ok, name)
			require.True(t, got.Common(), name)
			owner, _ := Lookup(got.Models[0])
			_, ok = owner.commonFile(name)
			require.True(t, ok, "%s resolves to %s, which answers it", name, owner.ID)
		}
	}
	for name, want := range map[string][]string{
		"001565a1b2c3.cfg":             {"yealink-t4x", "yealink-t5x", "polycom-vvx"}, // Polycom: per-phone master
		"001565A1B2C3.xml":             {"cisco-mpp", "snom"},
		"0004f2aabbcc-switchboard.cfg": {"polycom-vvx"},
		"spa0021a0445566.xml":          {"cisco-spa"},
		"cfg000b82123456.xml":          {"grandstream-gxp", "grandstream-grp"},
	} {
		got, ok := Resolve(name)
		require.True(t, ok, name)
		require.Equal(t, want, got.Models, name)
	}
	for name, owner := range map[string]string{
		"y000000000028.cfg": "yealink-t4x",
		"y000000000096.cfg": "yealink-t4x", // any hardware ID; the Yealink common files are alike
		"000000000000.cfg":  "polycom-vvx",
		"spa504G.cfg":       "cisco-spa",
		"SPA525G2.cfg":      "cisco-spa",
		"CP-8841-3PCC.xml":  "cisco-mpp",
		"cfg.xml":           "grandstream-gxp",
		"snomD785.xml":      "snom",
		"snom320.xml":       "snom",
	} {
		got, ok := Resolve(name)
		require.True(t, ok, name)
		require.True(t, got.Common(), name)
		require.Equal(t, []string{owner}, got.Models, name)
	}
	for _, name := range []string{
		"", "/", "..", "../etc/passwd", "a/001565a1b2c3.cfg", `..\001565a1b2c3.cfg`,
		"001565a1b2c.cfg", "001565a1b2c3d.cfg", "001565a1b2cg.cfg", "000000000000.xml",
		"001565a1b2c3.txt", "y000000000028.boot", "001565a1b2c3.boot", "snom320-001565A1B2C3.htm",
		"index.html", strings.Repeat("a", 200) + ".cfg",
	} {
		_, ok := Resolve(name)
		require.False(t, ok, "%q", name)
	}
}

func TestFormatAndTransportStrings(t *testing.T) {
	require.Equal(t, "unknown", FormatUnknown.String())
	require.Equal(t, "unknown", TransportUnknown.String())
	require.Equal(t, "Unknown", AlgorithmUnknown.String())
	for _, tr := range []Transport{TransportUDP, TransportTCP, TransportTLS} {
		require.Equal(t, tr, ParseTransport(strings.ToUpper(tr.String())))
	}
	require.Equal(t, TransportUnknown, ParseTransport("sctp"))
}
