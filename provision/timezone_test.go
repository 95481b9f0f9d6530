package provision

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestZoneFormats pins each vendor's form of a few zones that exercise
// the rules: US and EU daylight saving, the southern hemisphere, half-hour
// offsets with and without DST, a 30-minute shift, none at all, a
// lunar-calendar period (exact for its year only) and a year that cannot
// be written as one period.
func TestZoneFormats(t *testing.T) {
	for _, tc := range []struct {
		zone                     string
		year                     int // 0: 2026
		dst, approximate         bool
		yealink, yealinkStart    string
		yealinkEnd               string
		cisco, ciscoRule         string
		posix, snomDST           string
		polycomStart, polycomEnd [4]int // month, first day, weekday (Sun = 1), hour
		polycomLast              [2]bool
	}{
		{
			zone: "America/New_York", dst: true,
			yealink: "-5", yealinkStart: "3/2/7/2", yealinkEnd: "11/1/7/2",
			cisco: "GMT-05:00", ciscoRule: "start=3/8/7/2;end=11/1/7/2;save=1",
			posix:        "EST+5EDT+4,M3.2.0/02:00:00,M11.1.0/02:00:00",
			snomDST:      "3600 03.02.07 02:00:00 11.01.07 02:00:00",
			polycomStart: [4]int{3, 8, 1, 2}, polycomEnd: [4]int{11, 1, 1, 2},
		},
		{
			zone: "Europe/Berlin", dst: true,
			yealink: "+1", yealinkStart: "3/5/7/2", yealinkEnd: "10/5/7/3",
			cisco: "GMT+01:00", ciscoRule: "start=3/-1/7/2;end=10/-1/7/3;save=1",
			posix:        "CET-1CEST-2,M3.5.0/02:00:00,M10.5.0/03:00:00",
			snomDST:      "3600 03.05.07 02:00:00 10.05.07 03:00:00",
			polycomStart: [4]int{3, 22, 1, 2}, polycomEnd: [4]int{10, 22, 1, 3},
			polycomLast: [2]bool{true, true},
		},
		{
			zone: "Australia/Sydney", dst: true,
			yealink: "+10", yealinkStart: "10/1/7/2", yealinkEnd: "4/1/7/3",
			cisco: "GMT+10:00", ciscoRule: "start=10/1/7/2;end=4/1/7/3;save=1",
			posix:        "AEST-10AEDT-11,M10.1.0/02:00:00,M4.1.0/03:00:00",
			snomDST:      "3600 10.01.07 02:00:00 04.01.07 03:00:00",
			polycomStart: [4]int{10, 1, 1, 2}, polycomEnd: [4]int{4, 1, 1, 3},
		},
		{
			zone:    "Asia/Kolkata",
			yealink: "+5:30", cisco: "GMT+05:30", posix: "IST-5:30",
		},
		{
			zone: "America/St_Johns", dst: true,
			yealink: "-3:30", yealinkStart: "3/2/7/2", yealinkEnd: "11/1/7/2",
			cisco: "GMT-03:30", ciscoRule: "start=3/8/7/2;end=11/1/7/2;save=1",
			posix:        "NST+3:30NDT+2:30,M3.2.0/02:00:00,M11.1.0/02:00:00",
			snomDST:      "3600 03.02.07 02:00:00 11.01.07 02:00:00",
			polycomStart: [4]int{3, 8, 1, 2}, polycomEnd: [4]int{11, 1, 1, 2},
		},
		{
			zone: "Australia/Lord_Howe", dst: true,
			yealink: "+10:30", yealinkStart: "10/1/7/2", yealinkEnd: "4/1/7/2",
			cisco: "GMT+10:30", ciscoRule: "start=10/1/7/2;end=4/1/7/2;save=0:30",
			posix:        "STD-10:30DST-11,M10.1.0/02:00:00,M4.1.0/02:00:00",
			snomDST:      "1800 10.01.07 02:00:00 04.01.07 02:00:00",
			polycomStart: [4]int{10, 1, 1, 2}, polycomEnd: [4]int{4, 1, 1, 2},
		},
		{
			zone:    "UTC",
			yealink: "+0", cisco: "GMT", posix: "UTC+0",
		},
		{
			// Morocco leaves +01 for +00 during Ramadan, which moves each
			// year: written as +00 with "DST" outside Ramadan, right for
			// 2026 only. Files are rendered per request with the current
			// year, so a phone that resyncs yearly stays right.
			zone: "Africa/Casablanca", dst: true,
			yealink: "+0", yealinkStart: "3/4/7/2", yealinkEnd: "2/3/7/3",
			cisco: "GMT", ciscoRule: "start=3/22/7/2;end=2/15/7/3;save=1",
			posix:        "STD+0DST-1,M3.4.0/02:00:00,M2.3.0/03:00:00",
			snomDST:      "3600 03.04.07 02:00:00 02.03.07 03:00:00",
			polycomStart: [4]int{3, 22, 1, 2}, polycomEnd: [4]int{2, 15, 1, 3},
		},
		{
			// Moscow moved from +04 to +03 for good in October 2014: one
			// change, written as the offset at the end of the year.
			zone: "Europe/Moscow", year: 2014, approximate: true,
			yealink: "+3", cisco: "GMT+03:00", posix: "MSK-3",
		},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			year := tc.year
			if year == 0 {
				year = 2026
			}
			z, err := loadZone(tc.zone, year)
			require.NoError(t, err)
			require.Equal(t, tc.dst, z.DST())
			require.Equal(t, tc.approximate, z.Approximate())
			require.Equal(t, tc.yealink, z.YealinkOffset())
			require.Equal(t, tc.cisco, z.CiscoZone())
			require.Equal(t, tc.posix, z.POSIX())
			require.Equal(t, tc.ciscoRule, z.CiscoRule())
			require.Equal(t, tc.snomDST, z.SnomDST())
			if !tc.dst {
				require.Zero(t, z.SaveSeconds())
				return
			}
			require.Equal(t, tc.yealinkStart, z.Start().Yealink())
			require.Equal(t, tc.yealinkEnd, z.End().Yealink())
			for i, r := range []changeRule{z.Start(), z.End()} {
				want := tc.polycomStart
				if i == 1 {
					want = tc.polycomEnd
				}
				require.Equal(t, want, [4]int{r.Month(), r.FirstDay(), r.WeekdaySunday1(), r.Hour()}, "change %d", i)
				require.Equal(t, tc.polycomLast[i], r.Last(), "change %d", i)
			}
		})
	}
}

// TestZoneRulesHoldNextYear: the rules read from one year give the same
// dates the next year for zones with fixed rules (the point of writing
// rules rather than dates).
func TestZoneRulesHoldNextYear(t *testing.T) {
	for _, name := range []string{"America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney", "Pacific/Auckland", "America/Santiago"} {
		a, err := loadZone(name, 2026)
		require.NoError(t, err)
		b, err := loadZone(name, 2027)
		require.NoError(t, err)
		require.Equal(t, a.POSIX(), b.POSIX(), name)
	}
}

func TestLoadZoneUnknown(t *testing.T) {
	_, err := loadZone("Nowhere/Special", 2026)
	require.Error(t, err)
}
