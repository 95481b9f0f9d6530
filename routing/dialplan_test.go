package routing

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDial(t *testing.T) {
	exts := map[string]bool{"1001": true, "1002": true, "20000": true}
	plan := DialPlan{IsExtension: func(d string) bool { return exts[d] }}
	cases := []struct {
		name, dialled, area string
		want                Dialled
	}{
		{"extension", "1001", "415", Dialled{Kind: DialExtension, To: "1001"}},
		{"unknown short number", "1003", "415", Dialled{Kind: DialInvalid, Reason: "no extension or number matches"}},
		{"own voicemail", "*97", "", Dialled{Kind: DialFeature, To: "*97", Feature: FeatureOwnVoicemail}},
		{"any voicemail", "*98", "", Dialled{Kind: DialFeature, To: "*98", Feature: FeatureAnyVoicemail}},
		{"directory", "411", "", Dialled{Kind: DialFeature, To: "411", Feature: FeatureDirectory}},
		{"emergency", "911", "", Dialled{Kind: DialEmergency, To: "911"}},
		{"seven digits take the area code", "555-0100", "415", Dialled{Kind: DialExternal, To: "+14155550100"}},
		{"seven digits without an area code", "5550100", "", Dialled{Kind: DialInvalid, Reason: "7-digit number and no area code for the caller"}},
		{"ten digits", "(212) 555-0100", "415", Dialled{Kind: DialExternal, To: "+12125550100"}},
		{"eleven digits", "1 212 555 0100", "415", Dialled{Kind: DialExternal, To: "+12125550100"}},
		{"plus form", "+44 20 7946 0958", "415", Dialled{Kind: DialExternal, To: "+442079460958"}},
		{"international prefix", "011442079460958", "415", Dialled{Kind: DialExternal, To: "+442079460958"}},
		{"too long", "+1234567890123456", "", Dialled{Kind: DialInvalid, Reason: "not a valid international number"}},
		{"letters", "1-800-FLOWERS", "", Dialled{Kind: DialInvalid, Reason: "not a number"}},
		{"empty", " ", "", Dialled{Kind: DialInvalid, Reason: "nothing dialled"}},
		{"plus never an extension", "+1001", "", Dialled{Kind: DialInvalid, Reason: "not a valid international number"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, plan.Dial(tc.dialled, tc.area))
		})
	}
}

func TestDialCustomFeatureCodes(t *testing.T) {
	plan := DialPlan{Features: map[string]Feature{"*86": FeatureOwnVoicemail}}
	require.Equal(t, DialFeature, plan.Dial("*86", "").Kind)
	require.Equal(t, DialInvalid, plan.Dial("*97", "").Kind)
}

func TestDenyList(t *testing.T) {
	cases := []struct {
		number, prefix string
		denied         bool
	}{
		{"+8816123456789", "+881", true},
		{"+97912345678", "+979", true},
		{"+19005550100", "+1900", true},
		{"+12125550100", "", false},
		{"+442079460958", "", false},
	}
	for _, tc := range cases {
		p, denied := DefaultDenyList.Denied(tc.number)
		require.Equal(t, tc.denied, denied, tc.number)
		require.Equal(t, tc.prefix, p, tc.number)
	}
}

func FuzzDial(f *testing.F) {
	for _, s := range []string{"1001", "*97", "911", "5550100", "+442079460958", "011 44", "((--))", "+", "0"} {
		f.Add(s, "415")
	}
	plan := DialPlan{IsExtension: func(d string) bool { return len(d) == 4 }}
	f.Fuzz(func(t *testing.T, dialled, area string) {
		d := plan.Dial(dialled, area)
		if d.Kind == DialUnknown {
			t.Fatalf("unclassified %q", dialled)
		}
		if d.Kind == DialExternal && (len(d.To) < 8 || len(d.To) > 16 || d.To[0] != '+' || !allDigits(d.To[1:])) {
			t.Fatalf("external %q from %q is not +E.164", d.To, dialled)
		}
	})
}
