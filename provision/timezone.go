package provision

import (
	"fmt"
	"strings"
	"time"
)

// zone is a time zone as a desk phone can hold it: a standard offset and at
// most one daylight-saving period a year, whose start and end are each "the
// n-th (or last) weekday of a month at a local time". The vendors' own zone
// tables differ and are not documented as data we could map IANA names
// onto, so every file spells the rules out (Yealink summer_time 1 with
// explicit dates rather than a zone name, Polycom's sntp rules, Cisco's
// Daylight_Saving_Time_Rule, Grandstream's self-defined POSIX string,
// Snom's utc_offset and dst with an empty timezone).
//
// The rules are read from Go's tz database for one reference year (the
// handler's current year), so they are exact for that year and for every
// later year that follows the same rule. Approximations:
//   - A change on the 4th weekday of a month that is also the last such
//     weekday that year is written as "last" (a "4th Sunday" rule would be
//     a week early in years with five Sundays; no zone in use has one).
//   - Periods that follow a lunar calendar (Morocco leaving +01 during
//     Ramadan) are written as that year's weekday rule, right for the
//     reference year only; a phone that resyncs each year stays right.
//   - A year with a lasting change of offset or more than one period (a
//     country dropping DST) keeps only the offset in force at the end of
//     the year, without DST; Approximate reports it.
//   - Yealink and Polycom take whole hours for the change time (a change
//     at 02:30 is written as 2); Polycom always shifts by one hour, so a
//     30-minute shift (Lord Howe Island) is an hour there.
//   - Grandstream's POSIX string needs letters for zone abbreviations; a
//     numeric one such as "-03" is written as STD or DST.
type zone struct {
	name        string
	std         int // standard offset, seconds east of UTC
	stdAbbr     string
	dst         *dstPeriod
	approximate bool
}

// dstPeriod is the yearly daylight-saving period of a zone.
type dstPeriod struct {
	save       int // seconds added to the standard offset
	abbr       string
	start, end changeRule
}

// changeRule is one yearly change of offset. The time is on the clock in
// force before the change (standard time for the start, daylight time for
// the end), which is how POSIX TZ strings and every vendor below count it.
type changeRule struct {
	month   int // 1..12
	week    int // 1..4, or 5 for the last such weekday of the month
	weekday time.Weekday
	minute  int // minutes after local midnight
}

// loadZone reads the IANA zone name for the given year.
func loadZone(name string, year int) (zone, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return zone{}, fmt.Errorf("time zone %q: %w", name, err)
	}
	return analyzeZone(name, loc, year), nil
}

type offsetChange struct {
	at               time.Time
	from, to         int
	fromAbbr, toAbbr string
}

// analyzeZone finds the offset changes of loc during year by sampling each
// day and bisecting to the second where the offset differs.
func analyzeZone(name string, loc *time.Location, year int) zone {
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	offsetAt := func(t time.Time) (string, int) { return t.In(loc).Zone() }

	var changes []offsetChange
	prev := start
	_, prevOff := offsetAt(prev)
	for t := start.Add(24 * time.Hour); !t.After(end); t = t.Add(24 * time.Hour) {
		_, off := offsetAt(t)
		if off != prevOff {
			lo, hi := prev, t
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2)
				if _, o := offsetAt(mid); o == prevOff {
					lo = mid
				} else {
					hi = mid
				}
			}
			fromAbbr, _ := offsetAt(lo)
			toAbbr, to := offsetAt(hi)
			changes = append(changes, offsetChange{at: hi, from: prevOff, to: to, fromAbbr: fromAbbr, toAbbr: toAbbr})
		}
		prev, prevOff = t, off
	}

	z := zone{name: name}
	switch {
	case len(changes) == 0:
		z.stdAbbr, z.std = offsetAt(start)
	case len(changes) == 2 && changes[0].from == changes[1].to && changes[0].to == changes[1].from:
		a, b := changes[0], changes[1]
		if a.to > a.from { // northern hemisphere: DST inside the year
			z.std, z.stdAbbr = a.from, a.fromAbbr
			z.dst = &dstPeriod{save: a.to - a.from, abbr: a.toAbbr, start: ruleOf(a), end: ruleOf(b)}
		} else { // southern hemisphere: DST across the new year
			z.std, z.stdAbbr = a.to, a.toAbbr
			z.dst = &dstPeriod{save: a.from - a.to, abbr: a.fromAbbr, start: ruleOf(b), end: ruleOf(a)}
		}
	default:
		z.stdAbbr, z.std = offsetAt(end.Add(-time.Second))
		z.approximate = true
	}
	return z
}

// ruleOf describes a change by the local date and time just before it.
func ruleOf(c offsetChange) changeRule {
	local := c.at.Add(time.Duration(c.from) * time.Second).UTC()
	day := local.Day()
	week := (day-1)/7 + 1
	if day+7 > daysIn(local.Month(), local.Year()) {
		week = 5
	}
	return changeRule{
		month:   int(local.Month()),
		week:    week,
		weekday: local.Weekday(),
		minute:  local.Hour()*60 + local.Minute(),
	}
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// The exported methods below are what the settings templates call; each
// formats the zone the way one vendor reads it.

// Name is the IANA name.
func (z zone) Name() string { return z.name }

// DST reports whether the zone has a daylight-saving period.
func (z zone) DST() bool { return z.dst != nil }

// Approximate reports that the zone's reference year could not be written
// as a standard offset with one yearly period.
func (z zone) Approximate() bool { return z.approximate }

// OffsetSeconds is the standard offset, east of UTC positive.
func (z zone) OffsetSeconds() int { return z.std }

// SaveSeconds is the daylight-saving shift; 0 without DST.
func (z zone) SaveSeconds() int {
	if z.dst == nil {
		return 0
	}
	return z.dst.save
}

// SaveMinutes is the daylight-saving shift in minutes.
func (z zone) SaveMinutes() int { return z.SaveSeconds() / 60 }

// Start and End are the daylight-saving changes (zero without DST).
func (z zone) Start() changeRule {
	if z.dst == nil {
		return changeRule{}
	}
	return z.dst.start
}

func (z zone) End() changeRule {
	if z.dst == nil {
		return changeRule{}
	}
	return z.dst.end
}

// YealinkOffset is local_time.time_zone: "+1", "-5", "+5:30".
func (z zone) YealinkOffset() string { return signedHM(z.std) }

// CiscoZone is Time_Zone: "GMT-05:00", "GMT+05:30", "GMT".
func (z zone) CiscoZone() string {
	if z.std == 0 {
		return "GMT"
	}
	sign, abs := '+', z.std
	if abs < 0 {
		sign, abs = '-', -abs
	}
	return fmt.Sprintf("GMT%c%02d:%02d", sign, abs/3600, abs%3600/60)
}

// CiscoRule is Daylight_Saving_Time_Rule:
// "start=3/8/7/2;end=11/1/7/2;save=1", where the day is the first day
// the weekday may fall on (1, 8, 15, 22) or -1 for the last, and the
// weekday counts from Monday = 1.
func (z zone) CiscoRule() string {
	if z.dst == nil {
		return ""
	}
	return fmt.Sprintf("start=%s;end=%s;save=%s", z.dst.start.cisco(), z.dst.end.cisco(), clockHM(z.dst.save/60))
}

// POSIX is the zone as a POSIX TZ string with every field explicit, as
// Grandstream's self-defined time zone takes it:
// "EST+5EDT+4,M3.2.0/02:00:00,M11.1.0/02:00:00".
func (z zone) POSIX() string {
	var b strings.Builder
	b.WriteString(posixAbbr(z.stdAbbr, "STD"))
	b.WriteString(signedHM(-z.std))
	if z.dst == nil {
		return b.String()
	}
	b.WriteString(posixAbbr(z.dst.abbr, "DST"))
	b.WriteString(signedHM(-(z.std + z.dst.save)))
	b.WriteString("," + z.dst.start.posix() + "," + z.dst.end.posix())
	return b.String()
}

// SnomDST is the dst setting: "3600 03.02.07 02:00:00 11.01.07 02:00:00"
// (shift in seconds, then month.week.weekday with Monday = 1 and week 5
// for the last, and the local time of each change).
func (z zone) SnomDST() string {
	if z.dst == nil {
		return ""
	}
	return fmt.Sprintf("%d %s %s", z.dst.save, z.dst.start.snom(), z.dst.end.snom())
}

// Month is the month of the change, 1 to 12.
func (r changeRule) Month() int { return r.month }

// Week is the week of the month, 1 to 4, or 5 for the last.
func (r changeRule) Week() int { return r.week }

// Last reports a change on the last such weekday of the month.
func (r changeRule) Last() bool { return r.week == 5 }

// Hour is the hour of the change on the clock before it, rounded down.
func (r changeRule) Hour() int { return r.minute / 60 }

// WeekdayMonday1 numbers the weekday from Monday = 1 to Sunday = 7.
func (r changeRule) WeekdayMonday1() int { return isoWeekday(r.weekday) }

// WeekdaySunday1 numbers the weekday from Sunday = 1 to Saturday = 7.
func (r changeRule) WeekdaySunday1() int { return int(r.weekday) + 1 }

// FirstDay is the first day of the month the weekday may fall on for its
// week: 1, 8, 15 or 22 (Polycom's start.date with fixedDayEnable 0).
func (r changeRule) FirstDay() int {
	if r.week == 5 {
		return 22
	}
	return (r.week-1)*7 + 1
}

// Yealink is local_time.start_time/end_time with dst_time_type 1:
// "month/week/weekday/hour", weekday from Monday = 1, week 5 the last.
func (r changeRule) Yealink() string {
	return fmt.Sprintf("%d/%d/%d/%d", r.month, r.week, isoWeekday(r.weekday), r.minute/60)
}

func (r changeRule) cisco() string {
	day := (r.week-1)*7 + 1
	if r.week == 5 {
		day = -1
	}
	return fmt.Sprintf("%d/%d/%d/%s", r.month, day, isoWeekday(r.weekday), clockHM(r.minute))
}

func (r changeRule) posix() string {
	return fmt.Sprintf("M%d.%d.%d/%02d:%02d:00", r.month, r.week, int(r.weekday), r.minute/60, r.minute%60)
}

func (r changeRule) snom() string {
	return fmt.Sprintf("%02d.%02d.%02d %02d:%02d:00", r.month, r.week, isoWeekday(r.weekday), r.minute/60, r.minute%60)
}

func isoWeekday(d time.Weekday) int {
	if d == time.Sunday {
		return 7
	}
	return int(d)
}

// signedHM formats seconds as "+1", "-5", "+5:30", "+0".
func signedHM(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return sign + clockHM(sec/60)
}

// clockHM formats minutes as "2" or "2:30".
func clockHM(min int) string {
	if min%60 == 0 {
		return fmt.Sprint(min / 60)
	}
	return fmt.Sprintf("%d:%02d", min/60, min%60)
}

// posixAbbr keeps an abbreviation POSIX accepts unquoted (three or more
// letters), else uses fallback.
func posixAbbr(abbr, fallback string) string {
	if len(abbr) < 3 {
		return fallback
	}
	for i := 0; i < len(abbr); i++ {
		if c := abbr[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return fallback
		}
	}
	return abbr
}
