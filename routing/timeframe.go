package routing

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AlwaysFrame is the name of the time frame that matches every instant. The
// default answering rule, which every user has and cannot delete, uses it.
const AlwaysFrame = "always"

// Limits on a time frame, so a stored frame stays cheap to evaluate on every
// call.
const (
	maxFrameNameLen = 64
	maxWeeklyRanges = 64
	maxDateRanges   = 1000
)

// TimeOfDay is a wall-clock time in minutes since midnight, from 0 (00:00) to
// 1440 (24:00). Wall clock, not elapsed time: "09:00" means nine on the clock
// of the user's time zone, whatever the UTC offset is that day.
type TimeOfDay int

// The bounds of a day. EndOfDay (24:00) exists so that a range can end at
// midnight without being read as running into the next day.
const (
	Midnight TimeOfDay = 0
	EndOfDay TimeOfDay = 24 * 60
)

// ParseTimeOfDay parses "HH:MM" (two digits each, 00:00 to 24:00). The form is
// strict so that every accepted value formats back to the same text.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	if len(s) != 5 || s[2] != ':' || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[3]) || !isDigit(s[4]) {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time of day %q: want 00:00 to 24:00", s)
	}
	return TimeOfDay(h*60 + m), nil
}

// Valid reports whether t is between 00:00 and 24:00.
func (t TimeOfDay) Valid() bool { return t >= Midnight && t <= EndOfDay }

// String formats t as "HH:MM".
func (t TimeOfDay) String() string {
	if !t.Valid() {
		return "TimeOfDay(" + strconv.Itoa(int(t)) + ")"
	}
	h, m := int(t)/60, int(t)%60
	return string([]byte{byte('0' + h/10), byte('0' + h%10), ':', byte('0' + m/10), byte('0' + m%10)})
}

// MarshalText formats t as "HH:MM".
func (t TimeOfDay) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("time of day %d minutes: out of range", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText parses "HH:MM".
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	v, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Date is a calendar day, without a time zone: the zone is the user's, applied
// when a frame is matched.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses "YYYY-MM-DD" strictly, rejecting days that do not exist
// (2027-02-29).
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	for i := 0; i < len(s); i++ {
		if i != 4 && i != 7 && !isDigit(s[i]) {
			return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
		}
	}
	d := Date{
		Year:  int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0'),
		Month: time.Month(int(s[5]-'0')*10 + int(s[6]-'0')),
		Day:   int(s[8]-'0')*10 + int(s[9]-'0'),
	}
	if !d.Valid() {
		return Date{}, fmt.Errorf("date %q: no such day", s)
	}
	return d, nil
}

// Valid reports whether d is a day of the Gregorian calendar between years 1
// and 9999.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysIn(d.Month, d.Year)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmp.Compare(d.Year, o.Year)
	case d.Month != o.Month:
		return cmp.Compare(d.Month, o.Month)
	default:
		return cmp.Compare(d.Day, o.Day)
	}
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string {
	if !d.Valid() {
		return fmt.Sprintf("Date(%d-%d-%d)", d.Year, int(d.Month), d.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText formats d as "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("date %d-%d-%d: no such day", d.Year, int(d.Month), d.Day)
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses "YYYY-MM-DD".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// WeekdayName returns the three-letter lower-case name the admin API uses for
// d ("mon"), or "" for a value outside Sunday..Saturday.
func WeekdayName(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return ""
	}
	return weekdayNames[d]
}

// ParseWeekday accepts a three-letter ("mon") or full ("Monday") English day
// name in any case.
func ParseWeekday(s string) (time.Weekday, error) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(s, weekdayNames[d]) || strings.EqualFold(s, d.String()) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("weekday %q: want sun, mon, tue, wed, thu, fri or sat", s)
}

// WeeklyRange is a span of wall-clock time on some days of the week. When End
// is not after Start the span runs past midnight and ends at End on the next
// day (22:00-06:00); it belongs to the day it starts on, so "Friday
// 22:00-06:00" covers early Saturday and not early Friday. Start == End is a
// full 24 hours from Start; 00:00-24:00 is the whole day.
type WeeklyRange struct {
	Days  []time.Weekday
	Start TimeOfDay
	End   TimeOfDay
}

func (r WeeklyRange) hasDay(d time.Weekday) bool {
	for _, x := range r.Days {
		if x == d {
			return true
		}
	}
	return false
}

// contains reports whether the wall-clock minute m of weekday d falls in r.
func (r WeeklyRange) contains(d time.Weekday, m TimeOfDay) bool {
	if r.End > r.Start {
		return m >= r.Start && m < r.End && r.hasDay(d)
	}
	// Past midnight: the evening part on a listed day, or the early-morning
	// tail of a range that started on the previous day.
	if m >= r.Start && r.hasDay(d) {
		return true
	}
	return m < r.End && r.hasDay((d+6)%7)
}

// DateRange is a span of whole calendar days, both ends included (a holiday,
// a closure from 2026-12-24 to 2026-12-26).
type DateRange struct {
	From Date
	To   Date
}

func (r DateRange) contains(d Date) bool {
	return r.From.Compare(d) <= 0 && d.Compare(r.To) <= 0
}

// TimeFrame is a named set of conditions on the time of a call. It matches
// when it is Always, or when any of its weekly ranges or date ranges contains
// the instant, read on the wall clock of the user's time zone. A frame with no
// ranges and not Always never matches: a "holidays" frame whose dates are not
// entered yet.
type TimeFrame struct {
	Name   string
	Always bool
	Weekly []WeeklyRange
	Dates  []DateRange
}

// Matches reports whether t falls in the frame, read in loc (UTC when nil).
// Conditions are on the wall clock: across a daylight-saving change a range
// covers the clock times it names, so on the spring-forward day a range that
// lies wholly in the skipped hour matches no instant, and on the fall-back day
// a time that happens twice matches both times.
func (f TimeFrame) Matches(t time.Time, loc *time.Location) bool {
	if f.Always {
		return true
	}
	if len(f.Weekly) == 0 && len(f.Dates) == 0 {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	if len(f.Dates) > 0 {
		day := DateOf(lt)
		for _, r := range f.Dates {
			if r.contains(day) {
				return true
			}
		}
	}
	if len(f.Weekly) > 0 {
		h, m, _ := lt.Clock()
		minute := TimeOfDay(h*60 + m)
		wd := lt.Weekday()
		for _, r := range f.Weekly {
			if r.contains(wd, minute) {
				return true
			}
		}
	}
	return false
}

// Validate checks that the frame is one Matches reads as written: a usable
// name, "always" reserved for the frame that always matches, every weekly
// range with days and valid times, every date range with real days in order.
func (f TimeFrame) Validate() error {
	if err := checkFrameName(f.Name); err != nil {
		return err.under("name")
	}
	if f.Name == AlwaysFrame && !f.Always {
		return invalid("always", "reserved", `the time frame named "always" must be always`)
	}
	if f.Always && (len(f.Weekly) > 0 || len(f.Dates) > 0) {
		return invalid("always", "exclusive", "an always time frame has no weekly or date ranges")
	}
	if len(f.Weekly) > maxWeeklyRanges {
		return invalid("weekly", "max_items", "at most "+strconv.Itoa(maxWeeklyRanges)+" weekly ranges")
	}
	if len(f.Dates) > maxDateRanges {
		return invalid("dates", "max_items", "at most "+strconv.Itoa(maxDateRanges)+" date ranges")
	}
	for i, r := range f.Weekly {
		if err := r.validate(); err != nil {
			return err.under("weekly[" + strconv.Itoa(i) + "]")
		}
	}
	for i, r := range f.Dates {
		if err := r.validate(); err != nil {
			return err.under("dates[" + strconv.Itoa(i) + "]")
		}
	}
	return nil
}

func (r WeeklyRange) validate() *ValidationError {
	if len(r.Days) == 0 {
		return invalid("days", "required", "at least one day")
	}
	var seen [7]bool
	for _, d := range r.Days {
		if d < time.Sunday || d > time.Saturday {
			return invalid("days", "enum", "days are sun, mon, tue, wed, thu, fri or sat")
		}
		if seen[d] {
			return invalid("days", "unique", WeekdayName(d)+" is listed twice")
		}
		seen[d] = true
	}
	// 24:00 is an end, never a start: a range starting at the end of a day
	// is one starting at 00:00 of the next.
	if r.Start < Midnight || r.Start >= EndOfDay {
		return invalid("start", "time", "start must be 00:00 to 23:59")
	}
	if !r.End.Valid() {
		return invalid("end", "time", "end must be 00:00 to 24:00")
	}
	return nil
}

func (r DateRange) validate() *ValidationError {
	if !r.From.Valid() {
		return invalid("from", "date", "no such day")
	}
	if !r.To.Valid() {
		return invalid("to", "date", "no such day")
	}
	if r.From.Compare(r.To) > 0 {
		return invalid("to", "order", "to must not be before from")
	}
	return nil
}

// checkFrameName allows what can sit unescaped in a URL path segment
// (/api/v1/time-frames/{name}): letters, digits, '-', '_' and '.', starting
// with a letter or digit.
func checkFrameName(name string) *ValidationError {
	if name == "" {
		return invalid("", "required", "a time frame needs a name")
	}
	if len(name) > maxFrameNameLen {
		return invalid("", "length", "at most "+strconv.Itoa(maxFrameNameLen)+" characters")
	}
	if !isAlnum(name[0]) {
		return invalid("", "token", "must start with a letter or digit")
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return invalid("", "token", "letters, digits, '-', '_' and '.' only")
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
