package routing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireInvalid checks err is a *ValidationError for field and rule, or nil
// when field is "".
func requireInvalid(t *testing.T, err error, field, rule string) {
	t.Helper()
	if field == "" {
		require.NoError(t, err)
		return
	}
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want a *ValidationError, got %v", err)
	require.Equal(t, field, ve.Field, ve.Error())
	require.Equal(t, rule, ve.Rule, ve.Error())
}

func TestDestinationValidate(t *testing.T) {
	cases := []struct {
		name        string
		dest        Destination
		field, rule string
	}{
		{"user", Destination{DestUser, "102"}, "", ""},
		{"handset", Destination{DestHandset, "102a"}, "", ""},
		{"handset with dots and dashes", Destination{DestHandset, "front-desk.2_b"}, "", ""},
		{"voicemail", Destination{DestVoicemail, "200"}, "", ""},
		{"external E.164", Destination{DestExternal, "+12125550199"}, "", ""},
		{"external as typed", Destination{DestExternal, "+1 (212) 555-0199"}, "", ""},
		{"external national", Destination{DestExternal, "212.555.0199"}, "", ""},
		{"unknown kind", Destination{DestUnknown, "102"}, "kind", "enum"},
		{"kind out of range", Destination{DestKind(42), "102"}, "kind", "enum"},
		{"user without extension", Destination{DestUser, ""}, "to", "required"},
		{"user with letters", Destination{DestUser, "10a"}, "to", "digits"},
		{"user extension too long", Destination{DestUser, strings.Repeat("1", maxExtLen+1)}, "to", "digits"},
		{"voicemail with a plus", Destination{DestVoicemail, "+200"}, "to", "digits"},
		{"handset without name", Destination{DestHandset, ""}, "to", "required"},
		{"handset with a space", Destination{DestHandset, "102 a"}, "to", "token"},
		{"handset name too long", Destination{DestHandset, strings.Repeat("a", maxPhoneName+1)}, "to", "token"},
		{"external without digits", Destination{DestExternal, "()-"}, "to", "required"},
		{"external empty", Destination{DestExternal, ""}, "to", "required"},
		{"external with letters", Destination{DestExternal, "1-800-FLOWERS"}, "to", "number"},
		{"external with a plus in the middle", Destination{DestExternal, "1+2125550199"}, "to", "number"},
		{"external with two plus signs", Destination{DestExternal, "++12125550199"}, "to", "number"},
		{"external sip uri", Destination{DestExternal, "sip:+12125550199@example.com"}, "to", "number"},
		{"external too long", Destination{DestExternal, strings.Repeat("9", maxNumberLen+1)}, "to", "length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireInvalid(t, c.dest.Validate(), c.field, c.rule)
		})
	}
}

func TestRuleValidate(t *testing.T) {
	good := func(f func(*Rule)) Rule {
		r := Rule{ID: 1, TimeFrame: "business-hours", Enabled: true, RingFor: 25 * time.Second}
		if f != nil {
			f(&r)
		}
		return r
	}
	cases := []struct {
		name        string
		r           Rule
		field, rule string
	}{
		{"plain", good(nil), "", ""},
		{"default ring time", good(func(r *Rule) { r.RingFor = 0 }), "", ""},
		{"longest ring time", good(func(r *Rule) { r.RingFor = MaxRingFor }), "", ""},
		{"every forward set", good(func(r *Rule) {
			r.ForwardAlways, r.ForwardBusy = dest(DestUser, "102"), dest(DestHandset, "102a")
			r.ForwardUnanswered, r.ForwardOffline = dest(DestVoicemail, "101"), dest(DestExternal, "+12125550199")
		}), "", ""},
		{"simring", good(func(r *Rule) {
			r.SimRing = &SimRing{IncludeUser: true, Destinations: []SimRingDestination{simDest(DestExternal, "+12125550199", 10*time.Second, true)}}
		}), "", ""},
		{"no time frame", good(func(r *Rule) { r.TimeFrame = "" }), "time_frame", "required"},
		{"time frame with a slash", good(func(r *Rule) { r.TimeFrame = "a/b" }), "time_frame", "token"},
		{"negative ring time", good(func(r *Rule) { r.RingFor = -time.Second }), "ring_for_s", "range"},
		{"ring time too long", good(func(r *Rule) { r.RingFor = MaxRingFor + time.Second }), "ring_for_s", "range"},
		{"forward always unknown kind", good(func(r *Rule) { r.ForwardAlways = dest(DestUnknown, "1") }), "forward_always.kind", "enum"},
		{"forward busy without extension", good(func(r *Rule) { r.ForwardBusy = dest(DestUser, "") }), "forward_busy.to", "required"},
		{"forward unanswered bad number", good(func(r *Rule) { r.ForwardUnanswered = dest(DestExternal, "call me") }), "forward_unanswered.to", "number"},
		{"forward offline bad handset", good(func(r *Rule) { r.ForwardOffline = dest(DestHandset, "a b") }), "forward_offline.to", "token"},
		{"simring destination bad", good(func(r *Rule) {
			r.SimRing = &SimRing{Destinations: []SimRingDestination{simDest(DestUser, "102", 0, false), simDest(DestUser, "x", 0, false)}}
		}), "simring.destinations[1].to", "digits"},
		{"simring negative delay", good(func(r *Rule) {
			r.SimRing = &SimRing{Destinations: []SimRingDestination{simDest(DestUser, "102", -time.Second, false)}}
		}), "simring.destinations[0].delay_s", "range"},
		{"simring delay too long", good(func(r *Rule) {
			r.SimRing = &SimRing{Destinations: []SimRingDestination{simDest(DestUser, "102", MaxRingFor+time.Second, false)}}
		}), "simring.destinations[0].delay_s", "range"},
		{"simring too many destinations", good(func(r *Rule) {
			r.SimRing = &SimRing{Destinations: make([]SimRingDestination, MaxSimRingDestinations+1)}
		}), "simring.destinations", "max_items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireInvalid(t, c.r.Validate(), c.field, c.rule)
		})
	}
}

func TestAllowBlockValidate(t *testing.T) {
	cases := []struct {
		name        string
		ab          AllowBlock
		field, rule string
	}{
		{"empty", AllowBlock{}, "", ""},
		{"numbers as typed", AllowBlock{Allowed: []string{"+1 (212) 555-0100", "102"}, Blocked: []string{"900.555.0000"}, BlockAnonymous: true}, "", ""},
		{"allowed not a number", AllowBlock{Allowed: []string{"102", "bob"}}, "allowed[1]", "number"},
		{"blocked empty entry", AllowBlock{Blocked: []string{""}}, "blocked[0]", "required"},
		{"both allowed and blocked", AllowBlock{Allowed: []string{"+12125550100"}, Blocked: []string{"+1 212 555 0100"}}, "blocked[0]", "overlap"},
		{"too many allowed", AllowBlock{Allowed: make([]string, maxListNumbers+1)}, "allowed", "max_items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireInvalid(t, c.ab.Validate(), c.field, c.rule)
		})
	}
}

func TestNormalizeNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"+12125550100", "+12125550100"},
		{"+1 (212) 555-0100", "+12125550100"},
		{"212.555.0100", "2125550100"},
		{"102", "102"},
		{"", ""},
		{"+", ""},
		{"anonymous", ""},
		{"++1", "+1"},
		{"1+2", "12"},
		{" +1", "+1"},
		{"tel:+1-212", "+1212"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got := NormalizeNumber(c.in)
			require.Equal(t, c.want, got)
			require.Equal(t, got, NormalizeNumber(got), "normalising is idempotent")
			if got != "" {
				require.True(t, sameNumber(c.in, got))
			}
		})
	}
	require.False(t, sameNumber("", ""), "no number never matches")
	require.False(t, sameNumber("+1", "1"), "the plus is significant")
	require.False(t, sameNumber("12125550100", "2125550100"))
	require.False(t, sameNumber("212555010", "2125550100"))
	require.False(t, sameNumber("21255501000", "2125550100"))
}

func TestNormalizeNumberDoesNotAllocateWhenClean(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { _ = NormalizeNumber("+12125550100") })
	require.Zero(t, n)
}

func TestValidationErrorText(t *testing.T) {
	require.Equal(t, "weekly[0].start: bad", (&ValidationError{Field: "weekly[0].start", Rule: "time", Message: "bad"}).Error())
	require.Equal(t, "bad", (&ValidationError{Message: "bad"}).Error())
	require.Equal(t, "a[1]", invalid("", "x", "m").under("a[1]").Field)
	require.Equal(t, "a[1]", invalid("[1]", "x", "m").under("a").Field)
	require.Equal(t, "a.b", invalid("b", "x", "m").under("a").Field)
}
