package routing

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTimeOfDay(t *testing.T) {
	cases := []struct {
		in   string
		want TimeOfDay
		ok   bool
	}{
		{"00:00", 0, true},
		{"09:30", 9*60 + 30, true},
		{"23:59", 23*60 + 59, true},
		{"24:00", EndOfDay, true},
		{"24:01", 0, false},
		{"25:00", 0, false},
		{"12:60", 0, false},
		{"9:00", 0, false},
		{"09:0", 0, false},
		{"09-00", 0, false},
		{"0900", 0, false},
		{" 09:00", 0, false},
		{"09:00 ", 0, false},
		{"-1:00", 0, false},
		{"+9:00", 0, false},
		{"", 0, false},
		{"٠٩:٠٠", 0, false}, // Arabic-Indic digits are not ASCII digits
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseTimeOfDay(c.in)
			if !c.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.Equal(t, c.in, got.String())
		})
	}
}

func TestTimeOfDayRoundTripsEveryMinute(t *testing.T) {
	for m := Midnight; m <= EndOfDay; m++ {
		got, err := ParseTimeOfDay(m.String())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	require.Equal(t, "TimeOfDay(1441)", TimeOfDay(1441).String())
	require.Equal(t, "TimeOfDay(-1)", TimeOfDay(-1).String())
}

func TestTimeOfDayJSON(t *testing.T) {
	type body struct {
		Start TimeOfDay `json:"start"`
	}
	b, err := json.Marshal(body{Start: tod("07:05")})
	require.NoError(t, err)
	require.JSONEq(t, `{"start":"07:05"}`, string(b))

	var got body
	require.NoError(t, json.Unmarshal([]byte(`{"start":"24:00"}`), &got))
	require.Equal(t, EndOfDay, got.Start)
	require.Error(t, json.Unmarshal([]byte(`{"start":"7:05"}`), &got))
	_, err = json.Marshal(body{Start: 2000})
	require.Error(t, err)
}

func TestParseDate(t *testing.T) {
	cases := []struct {
		in   string
		want Date
		ok   bool
	}{
		{"2026-12-25", Date{2026, time.December, 25}, true},
		{"2028-02-29", Date{2028, time.February, 29}, true}, // leap year
		{"2000-02-29", Date{2000, time.February, 29}, true}, // divisible by 400
		{"2027-02-29", Date{}, false},
		{"2100-02-29", Date{}, false}, // divisible by 100, not 400
		{"2026-04-31", Date{}, false},
		{"2026-13-01", Date{}, false},
		{"2026-00-10", Date{}, false},
		{"2026-01-00", Date{}, false},
		{"0000-01-01", Date{}, false},
		{"9999-12-31", Date{9999, time.December, 31}, true},
		{"2026-1-05", Date{}, false},
		{"2026/01/05", Date{}, false},
		{"26-01-05", Date{}, false},
		{"2026-01-05T00:00:00Z", Date{}, false},
		{"", Date{}, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseDate(c.in)
			if !c.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.Equal(t, c.in, got.String())
			b, err := got.MarshalText()
			require.NoError(t, err)
			var back Date
			require.NoError(t, back.UnmarshalText(b))
			require.Equal(t, got, back)
		})
	}
	require.Equal(t, "Date(2027-2-29)", Date{2027, time.February, 29}.String())
	_, err := Date{}.MarshalText()
	require.Error(t, err)
}

func TestDateCompare(t *testing.T) {
	require.Equal(t, -1, day("2026-12-31").Compare(day("2027-01-01")))
	require.Equal(t, 1, day("2027-01-01").Compare(day("2026-12-31")))
	require.Equal(t, -1, day("2026-01-31").Compare(day("2026-02-01")))
	require.Equal(t, 1, day("2026-02-02").Compare(day("2026-02-01")))
	require.Equal(t, 0, day("2028-02-29").Compare(day("2028-02-29")))
}

func TestParseWeekday(t *testing.T) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		for _, s := range []string{WeekdayName(d), d.String()} {
			got, err := ParseWeekday(s)
			require.NoError(t, err, s)
			require.Equal(t, d, got)
		}
	}
	got, err := ParseWeekday("MON")
	require.NoError(t, err)
	require.Equal(t, time.Monday, got)
	for _, s := range []string{"", "mo", "monday ", "lundi", "7"} {
		_, err := ParseWeekday(s)
		require.Error(t, err, s)
	}
	require.Equal(t, "", WeekdayName(7))
	require.Equal(t, "", WeekdayName(-1))
}

// frameCases is shared by TestTimeFrameMatches and by TestDecideFollowsFrames,
// which checks that Decide activates a rule on exactly the instants the frame
// matches.
var frameCases = []struct {
	name  string
	frame TimeFrame
	loc   *time.Location
	at    string
	want  bool
}{
	// Always and empty frames.
	{"always matches any instant", TimeFrame{Name: "always", Always: true}, newYork, "2026-03-08T02:30:00-05:00", true},
	{"always matches with no zone", TimeFrame{Name: "always", Always: true}, nil, "0001-01-01T00:00:00Z", true},
	{"empty frame never matches", TimeFrame{Name: "tbd"}, newYork, "2026-06-15T10:00:00-04:00", false},

	// Weekly ranges, read on the user's wall clock.
	{"business hours monday 10:00", businessHours, newYork, "2026-06-15T10:00:00-04:00", true},
	{"business hours start is inclusive", businessHours, newYork, "2026-06-15T09:00:00-04:00", true},
	{"business hours end is exclusive", businessHours, newYork, "2026-06-15T17:00:00-04:00", false},
	{"business hours last minute", businessHours, newYork, "2026-06-15T16:59:59-04:00", true},
	{"business hours before opening", businessHours, newYork, "2026-06-15T08:59:59-04:00", false},
	{"business hours saturday", businessHours, newYork, "2026-06-13T10:00:00-04:00", false},
	{"business hours sunday", businessHours, newYork, "2026-06-14T10:00:00-04:00", false},
	{"business hours read in the user's zone, not UTC", businessHours, newYork, "2026-06-15T14:00:00Z", true},
	{"UTC evening is New York afternoon", businessHours, newYork, "2026-06-15T20:30:00Z", true},
	{"monday morning UTC is still sunday in New York", businessHours, newYork, "2026-06-15T02:00:00Z", false},
	{"monday 09:30 in Tokyo is sunday in UTC", businessHours, tokyo, "2026-06-15T00:30:00Z", true},
	{"nil location reads UTC", businessHours, nil, "2026-06-15T09:30:00Z", true},
	{"whole day 00:00-24:00 at 23:59", TimeFrame{Name: "sat", Weekly: []WeeklyRange{weekly("sat", "00:00", "24:00")}}, berlin, "2026-06-13T23:59:59+02:00", true},
	{"whole day 00:00-24:00 not next day", TimeFrame{Name: "sat", Weekly: []WeeklyRange{weekly("sat", "00:00", "24:00")}}, berlin, "2026-06-14T00:00:00+02:00", false},
	{"second of two weekly ranges", TimeFrame{Name: "split", Weekly: []WeeklyRange{weekly(weekdays, "08:00", "12:00"), weekly(weekdays, "13:00", "17:00")}}, berlin, "2026-06-15T13:30:00+02:00", true},
	{"lunch gap between two ranges", TimeFrame{Name: "split", Weekly: []WeeklyRange{weekly(weekdays, "08:00", "12:00"), weekly(weekdays, "13:00", "17:00")}}, berlin, "2026-06-15T12:30:00+02:00", false},

	// Ranges past midnight belong to the day they start.
	{"friday night 22:00", TimeFrame{Name: "fri-night", Weekly: []WeeklyRange{weekly("fri", "22:00", "06:00")}}, berlin, "2026-06-19T22:00:00+02:00", true},
	{"friday night just before", TimeFrame{Name: "fri-night", Weekly: []WeeklyRange{weekly("fri", "22:00", "06:00")}}, berlin, "2026-06-19T21:59:59+02:00", false},
	{"friday night runs into saturday", TimeFrame{Name: "fri-night", Weekly: []WeeklyRange{weekly("fri", "22:00", "06:00")}}, berlin, "2026-06-20T05:59:59+02:00", true},
	{"friday night ends saturday 06:00", TimeFrame{Name: "fri-night", Weekly: []WeeklyRange{weekly("fri", "22:00", "06:00")}}, berlin, "2026-06-20T06:00:00+02:00", false},
	{"friday night not saturday night", TimeFrame{Name: "fri-night", Weekly: []WeeklyRange{weekly("fri", "22:00", "06:00")}}, berlin, "2026-06-20T23:00:00+02:00", false},
	{"friday night not early friday", TimeFrame{Name: "fri-night", Weekly: []WeeklyRange{weekly("fri", "22:00", "06:00")}}, berlin, "2026-06-19T03:00:00+02:00", false},
	{"saturday night wraps into sunday", TimeFrame{Name: "sat-night", Weekly: []WeeklyRange{weekly("sat", "23:00", "01:00")}}, berlin, "2026-06-14T00:30:00+02:00", true},
	{"sunday night wraps into monday", TimeFrame{Name: "sun-night", Weekly: []WeeklyRange{weekly("sun", "22:00", "06:00")}}, berlin, "2026-06-15T03:00:00+02:00", true},
	{"22:00-00:00 is the evening only", TimeFrame{Name: "late", Weekly: []WeeklyRange{weekly("mon", "22:00", "00:00")}}, berlin, "2026-06-15T23:59:00+02:00", true},
	{"22:00-00:00 does not spill into tuesday", TimeFrame{Name: "late", Weekly: []WeeklyRange{weekly("mon", "22:00", "00:00")}}, berlin, "2026-06-16T00:00:00+02:00", false},
	{"start equal to end is 24 hours", TimeFrame{Name: "day", Weekly: []WeeklyRange{weekly("mon", "09:00", "09:00")}}, berlin, "2026-06-16T08:59:00+02:00", true},
	{"start equal to end ends at the same time next day", TimeFrame{Name: "day", Weekly: []WeeklyRange{weekly("mon", "09:00", "09:00")}}, berlin, "2026-06-16T09:00:00+02:00", false},
	{"every night at 03:00", nights, newYork, "2026-06-17T03:00:00-04:00", true},
	{"every night not at noon", nights, newYork, "2026-06-17T12:00:00-04:00", false},

	// Daylight saving: New York springs forward on 2026-03-08 (02:00 EST
	// becomes 03:00 EDT) and falls back on 2026-11-01 (02:00 EDT becomes
	// 01:00 EST); Berlin on 2026-03-29 and 2026-10-25.
	{"spring forward: last instant before the gap", TimeFrame{Name: "gap", Weekly: []WeeklyRange{weekly("sun", "01:00", "02:00")}}, newYork, "2026-03-08T01:59:59-05:00", true},
	{"spring forward: 02:00-03:00 matches no instant (before)", TimeFrame{Name: "gap", Weekly: []WeeklyRange{weekly("sun", "02:00", "03:00")}}, newYork, "2026-03-08T06:59:59Z", false},
	{"spring forward: 02:00-03:00 matches no instant (after)", TimeFrame{Name: "gap", Weekly: []WeeklyRange{weekly("sun", "02:00", "03:00")}}, newYork, "2026-03-08T07:00:00Z", false},
	{"spring forward: 02:30-04:00 matches from 03:00 EDT", TimeFrame{Name: "gap", Weekly: []WeeklyRange{weekly("sun", "02:30", "04:00")}}, newYork, "2026-03-08T03:00:00-04:00", true},
	{"spring forward: business hours next day use EDT", businessHours, newYork, "2026-03-09T13:00:00Z", true},
	{"spring forward: 13:00Z was 08:00 EST the week before", businessHours, newYork, "2026-03-02T13:00:00Z", false},
	{"spring forward: overnight range across the change", TimeFrame{Name: "sat-night", Weekly: []WeeklyRange{weekly("sat", "22:00", "06:00")}}, newYork, "2026-03-08T05:59:00-04:00", true},
	{"spring forward: overnight range ends on the new clock", TimeFrame{Name: "sat-night", Weekly: []WeeklyRange{weekly("sat", "22:00", "06:00")}}, newYork, "2026-03-08T06:00:00-04:00", false},
	{"fall back: first 01:30 (EDT)", TimeFrame{Name: "twice", Weekly: []WeeklyRange{weekly("sun", "01:00", "02:00")}}, newYork, "2026-11-01T01:30:00-04:00", true},
	{"fall back: second 01:30 (EST)", TimeFrame{Name: "twice", Weekly: []WeeklyRange{weekly("sun", "01:00", "02:00")}}, newYork, "2026-11-01T01:30:00-05:00", true},
	{"fall back: 02:00 EST is past the range", TimeFrame{Name: "twice", Weekly: []WeeklyRange{weekly("sun", "01:00", "02:00")}}, newYork, "2026-11-01T02:00:00-05:00", false},
	{"fall back: 14:00Z is 09:00 EST the next day", businessHours, newYork, "2026-11-02T14:00:00Z", true},
	{"fall back: 13:30Z is 08:30 EST the next day", businessHours, newYork, "2026-11-02T13:30:00Z", false},
	{"Berlin spring forward: monday 07:30Z is 09:30 CEST", businessHours, berlin, "2026-03-30T07:30:00Z", true},
	{"Berlin before the change: monday 07:30Z was 08:30 CET", businessHours, berlin, "2026-03-23T07:30:00Z", false},
	{"Berlin 02:30 does not exist on 2026-03-29", TimeFrame{Name: "gap", Weekly: []WeeklyRange{weekly("sun", "02:00", "03:00")}}, berlin, "2026-03-29T01:00:00Z", false},
	{"Berlin fall back: first 02:30 (CEST)", TimeFrame{Name: "twice", Weekly: []WeeklyRange{weekly("sun", "02:00", "03:00")}}, berlin, "2026-10-25T02:30:00+02:00", true},
	{"Berlin fall back: second 02:30 (CET)", TimeFrame{Name: "twice", Weekly: []WeeklyRange{weekly("sun", "02:00", "03:00")}}, berlin, "2026-10-25T02:30:00+01:00", true},

	// Date ranges are whole days in the user's zone.
	{"holiday single day", holidays, newYork, "2026-07-03T12:00:00-04:00", true},
	{"holiday day after", holidays, newYork, "2026-07-04T00:00:00-04:00", false},
	{"christmas range first instant", holidays, newYork, "2026-12-24T00:00:00-05:00", true},
	{"christmas range last instant", holidays, newYork, "2026-12-26T23:59:59-05:00", true},
	{"christmas range over", holidays, newYork, "2026-12-27T00:00:00-05:00", false},
	{"new year's range on december 31", holidays, newYork, "2026-12-31T00:00:00-05:00", true},
	{"new year's range on january 1", holidays, newYork, "2027-01-01T23:59:59-05:00", true},
	{"new year's range over on january 2", holidays, newYork, "2027-01-02T00:00:00-05:00", false},
	{"december 30 is not in new year's range", holidays, newYork, "2026-12-30T23:59:59-05:00", false},
	{"january 2 in Berlin while still january 1 in UTC", holidays, berlin, "2027-01-01T23:30:00Z", false},
	{"january 1 in New York while already january 2 in UTC", holidays, newYork, "2027-01-02T03:00:00Z", true},
	{"leap day range", TimeFrame{Name: "leap", Dates: []DateRange{dates("2028-02-29", "2028-02-29")}}, berlin, "2028-02-29T12:00:00+01:00", true},
	{"leap day range not march 1", TimeFrame{Name: "leap", Dates: []DateRange{dates("2028-02-29", "2028-02-29")}}, berlin, "2028-03-01T00:00:00+01:00", false},
	{"range over the leap day", TimeFrame{Name: "leap", Dates: []DateRange{dates("2028-02-28", "2028-03-01")}}, berlin, "2028-02-29T23:00:00+01:00", true},
	{"date range in another year", holidays, newYork, "2025-12-25T12:00:00-05:00", false},
	{"weekly or dates: date matches on a weekend", TimeFrame{Name: "mixed", Weekly: []WeeklyRange{weekly(weekdays, "09:00", "17:00")}, Dates: []DateRange{dates("2026-07-04", "2026-07-04")}}, newYork, "2026-07-04T20:00:00-04:00", true},
	{"weekly or dates: weekly matches outside the dates", TimeFrame{Name: "mixed", Weekly: []WeeklyRange{weekly(weekdays, "09:00", "17:00")}, Dates: []DateRange{dates("2026-07-04", "2026-07-04")}}, newYork, "2026-06-15T10:00:00-04:00", true},
}

func TestTimeFrameMatches(t *testing.T) {
	for _, c := range frameCases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, c.frame.Validate())
			require.Equal(t, c.want, c.frame.Matches(at(c.at), c.loc))
		})
	}
}

// TestDSTFixtures pins the daylight-saving facts the cases above rely on, so
// a tzdata change shows up here rather than as a puzzling frame failure.
func TestDSTFixtures(t *testing.T) {
	// 02:30 on the spring-forward day does not exist: asking for it gets
	// some other wall-clock hour.
	got := time.Date(2026, time.March, 8, 2, 30, 0, 0, newYork)
	require.NotEqual(t, 2, got.Hour())
	_, off := at("2026-03-08T06:59:59Z").In(newYork).Zone()
	require.Equal(t, -5*3600, off)
	_, off = at("2026-03-08T07:00:00Z").In(newYork).Zone()
	require.Equal(t, -4*3600, off)
	// 01:30 on the fall-back day happens twice, an hour apart.
	first, second := at("2026-11-01T01:30:00-04:00"), at("2026-11-01T01:30:00-05:00")
	require.Equal(t, time.Hour, second.Sub(first))
	require.Equal(t, first.In(newYork).Hour(), second.In(newYork).Hour())
	_, off = at("2026-03-29T01:00:00Z").In(berlin).Zone()
	require.Equal(t, 2*3600, off)
	_, off = at("2026-10-25T01:00:00Z").In(berlin).Zone()
	require.Equal(t, 3600, off)
}

// TestDSTGapMatchesNoInstant walks the New York spring-forward day minute by
// minute: a range inside the skipped hour never matches, a range around it
// matches one hour less than it names.
func TestDSTGapMatchesNoInstant(t *testing.T) {
	gap := TimeFrame{Name: "gap", Weekly: []WeeklyRange{weekly("sun", "02:00", "03:00")}}
	around := TimeFrame{Name: "around", Weekly: []WeeklyRange{weekly("sun", "01:00", "04:00")}}
	start := at("2026-03-08T00:00:00-05:00")
	gapMinutes, aroundMinutes := 0, 0
	for m := 0; m < 23*60; m++ { // the day has 23 hours
		now := start.Add(time.Duration(m) * time.Minute)
		if gap.Matches(now, newYork) {
			gapMinutes++
		}
		if around.Matches(now, newYork) {
			aroundMinutes++
		}
	}
	require.Zero(t, gapMinutes)
	require.Equal(t, 2*60, aroundMinutes)

	// On the fall-back day (25 hours) 01:00-02:00 happens twice.
	twice := TimeFrame{Name: "twice", Weekly: []WeeklyRange{weekly("sun", "01:00", "02:00")}}
	start = at("2026-11-01T00:00:00-04:00")
	n := 0
	for m := 0; m < 25*60; m++ {
		if twice.Matches(start.Add(time.Duration(m)*time.Minute), newYork) {
			n++
		}
	}
	require.Equal(t, 2*60, n)
}

func TestTimeFrameValidate(t *testing.T) {
	bad := func(r WeeklyRange) TimeFrame { return TimeFrame{Name: "f", Weekly: []WeeklyRange{r}} }
	badDates := func(r DateRange) TimeFrame { return TimeFrame{Name: "f", Dates: []DateRange{r}} }
	cases := []struct {
		name  string
		frame TimeFrame
		field string // "" when valid
		rule  string
	}{
		{"business hours", businessHours, "", ""},
		{"holidays", holidays, "", ""},
		{"nights", nights, "", ""},
		{"always", TimeFrame{Name: AlwaysFrame, Always: true}, "", ""},
		{"empty frame is allowed", TimeFrame{Name: "later"}, "", ""},
		{"name with dot and underscore", TimeFrame{Name: "x.y_z-1"}, "", ""},
		{"24:00 as end", bad(weekly("mon", "18:00", "24:00")), "", ""},
		{"overnight", bad(weekly("mon", "22:00", "06:00")), "", ""},
		{"name missing", TimeFrame{}, "name", "required"},
		{"name too long", TimeFrame{Name: string(make([]byte, 65))}, "name", "length"},
		{"name with slash", TimeFrame{Name: "a/b"}, "name", "token"},
		{"name with space", TimeFrame{Name: "after hours"}, "name", "token"},
		{"name starting with dash", TimeFrame{Name: "-x"}, "name", "token"},
		{"always name reserved", TimeFrame{Name: AlwaysFrame, Weekly: []WeeklyRange{weekly("mon", "09:00", "17:00")}}, "always", "reserved"},
		{"always with ranges", TimeFrame{Name: "all", Always: true, Weekly: []WeeklyRange{weekly("mon", "09:00", "17:00")}}, "always", "exclusive"},
		{"always with dates", TimeFrame{Name: "all", Always: true, Dates: []DateRange{dates("2026-01-01", "2026-01-01")}}, "always", "exclusive"},
		{"no days", bad(WeeklyRange{Start: tod("09:00"), End: tod("17:00")}), "weekly[0].days", "required"},
		{"day out of range", bad(WeeklyRange{Days: []time.Weekday{7}, Start: 0, End: 60}), "weekly[0].days", "enum"},
		{"negative day", bad(WeeklyRange{Days: []time.Weekday{-1}, Start: 0, End: 60}), "weekly[0].days", "enum"},
		{"day twice", bad(weekly("mon,mon", "09:00", "17:00")), "weekly[0].days", "unique"},
		{"start 24:00", bad(WeeklyRange{Days: []time.Weekday{1}, Start: EndOfDay, End: 60}), "weekly[0].start", "time"},
		{"start negative", bad(WeeklyRange{Days: []time.Weekday{1}, Start: -1, End: 60}), "weekly[0].start", "time"},
		{"end past 24:00", bad(WeeklyRange{Days: []time.Weekday{1}, Start: 0, End: EndOfDay + 1}), "weekly[0].end", "time"},
		{"second range bad", TimeFrame{Name: "f", Weekly: []WeeklyRange{weekly("mon", "09:00", "17:00"), {Start: 0, End: 60}}}, "weekly[1].days", "required"},
		{"from after to", badDates(dates("2026-12-26", "2026-12-24")), "dates[0].to", "order"},
		{"from invalid", badDates(DateRange{From: Date{2027, 2, 29}, To: day("2027-03-01")}), "dates[0].from", "date"},
		{"to invalid", badDates(DateRange{From: day("2027-03-01"), To: Date{2027, 4, 31}}), "dates[0].to", "date"},
		{"zero dates", badDates(DateRange{}), "dates[0].from", "date"},
		{"too many weekly ranges", TimeFrame{Name: "f", Weekly: make([]WeeklyRange, maxWeeklyRanges+1)}, "weekly", "max_items"},
		{"too many dates", TimeFrame{Name: "f", Dates: make([]DateRange, maxDateRanges+1)}, "dates", "max_items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.frame.Validate()
			if c.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			require.Equal(t, c.field, ve.FieldName(), ve.Error())
			require.Equal(t, c.rule, ve.RuleName(), ve.Error())
			require.Contains(t, ve.Error(), c.field+": ")
		})
	}
}
