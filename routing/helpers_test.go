package routing

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests name, even where the system has none
)

// Zones the tests read frames in. Loaded once; *time.Location is immutable.
var (
	newYork = mustLoc("America/New_York")
	berlin  = mustLoc("Europe/Berlin")
	tokyo   = mustLoc("Asia/Tokyo")
)

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // test fixture: the embedded tzdata has every zone named here
	}
	return loc
}

// at parses an RFC 3339 instant; tests write instants with their offset so
// the wall clock they mean is visible.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tod(s string) TimeOfDay {
	t, err := ParseTimeOfDay(s)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// weekly builds a range from "mon,tue" and two "HH:MM" times.
func weekly(days, start, end string) WeeklyRange {
	r := WeeklyRange{Start: tod(start), End: tod(end)}
	for _, s := range strings.Split(days, ",") {
		d, err := ParseWeekday(s)
		if err != nil {
			panic(err)
		}
		r.Days = append(r.Days, d)
	}
	return r
}

func dates(from, to string) DateRange { return DateRange{From: day(from), To: day(to)} }

const weekdays = "mon,tue,wed,thu,fri"

// Frames shared by the time-frame and decision tests.
var (
	businessHours = TimeFrame{Name: "business-hours", Weekly: []WeeklyRange{weekly(weekdays, "09:00", "17:00")}}
	holidays      = TimeFrame{Name: "holidays", Dates: []DateRange{
		dates("2026-07-03", "2026-07-03"),
		dates("2026-12-24", "2026-12-26"),
		dates("2026-12-31", "2027-01-01"),
	}}
	nights = TimeFrame{Name: "nights", Weekly: []WeeklyRange{weekly("sun,mon,tue,wed,thu,fri,sat", "22:00", "06:00")}}
)

func requireValid(t *testing.T, f TimeFrame) {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatalf("fixture %s: %v", f.Name, err)
	}
}
