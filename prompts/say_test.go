package prompts

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// words splits a space-separated expectation, to keep the tables readable.
func words(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}

func TestNumber(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "zero"},
		{7, "seven"},
		{13, "thirteen"},
		{19, "nineteen"},
		{20, "twenty"},
		{21, "twenty one"},
		{99, "ninety nine"},
		{100, "one hundred"},
		{101, "one hundred one"},
		{110, "one hundred ten"},
		{342, "three hundred forty two"},
		{999, "nine hundred ninety nine"},
		{1000, "one thousand"},
		{1005, "one thousand five"},
		{1010, "one thousand ten"},
		{1100, "one thousand one hundred"},
		{2025, "two thousand twenty five"},
		{12345, "twelve thousand three hundred forty five"},
		{100000, "one hundred thousand"},
		{250000, "two hundred fifty thousand"},
		{999999, "nine hundred ninety nine thousand nine hundred ninety nine"},
		{1000000, "one million"},
		{1000001, "one million one"},
		{2500300, "two million five hundred thousand three hundred"},
		{999999999, "nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine"},
		{1000000000, "one zero zero zero zero zero zero zero zero zero"},
		{-5, "minus five"},
		{-1200, "minus one thousand two hundred"},
		{-1000000000, "minus one zero zero zero zero zero zero zero zero zero"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(words(tt.want), "_"), func(t *testing.T) {
			require.Equal(t, words(tt.want), Number(tt.n))
		})
	}
}

// -math.MinInt overflows; the digits are read instead.
func TestNumberMinInt(t *testing.T) {
	got := Number(math.MinInt)
	require.Equal(t, "minus", got[0])
	require.Equal(t, Digits(strconv.Itoa(math.MinInt)), got[1:])
}

func TestDigits(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"extension", "1002", "one zero zero two"},
		{"pin", "0000", "zero zero zero zero"},
		{"feature code", "*97", "star nine seven"},
		{"pound", "12#", "one two pound"},
		{"caller id", "+1 (415) 555-0100", "one four one five five five five zero one zero zero"},
		{"letters skipped", "anonymous", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, words(tt.want), Digits(tt.in))
		})
	}
}

func TestSpell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"capitalised", "Ada", "letter-a letter-d letter-a"},
		{"space and hyphen skipped", "O'Neil-Wu X", "letter-o letter-n letter-e letter-i letter-l letter-w letter-u letter-x"},
		{"digits", "R2D2", "letter-r two letter-d two"},
		{"accent skipped", "Zoë", "letter-z letter-o"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, words(tt.want), Spell(tt.in))
		})
	}
}

func TestOrdinal(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{1, "first"},
		{2, "second"},
		{3, "third"},
		{12, "twelfth"},
		{20, "twentieth"},
		{22, "twenty-second"},
		{31, "thirty-first"},
		{0, "zero"},
		{32, "thirty two"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(words(tt.want), "_"), func(t *testing.T) {
			require.Equal(t, words(tt.want), Ordinal(tt.n))
		})
	}
}

func TestTime(t *testing.T) {
	tests := []struct {
		name      string
		hour, min int
		want      string
	}{
		{"midnight", 0, 0, "twelve oclock am"},
		{"after midnight", 0, 30, "twelve thirty am"},
		{"morning oh", 9, 5, "nine oh five am"},
		{"morning", 9, 45, "nine forty five am"},
		{"before noon", 11, 59, "eleven fifty nine am"},
		{"noon", 12, 0, "twelve oclock pm"},
		{"after noon", 12, 10, "twelve ten pm"},
		{"afternoon", 13, 1, "one oh one pm"},
		{"evening", 23, 20, "eleven twenty pm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := time.Date(2026, time.March, 4, tt.hour, tt.min, 59, 0, time.UTC)
			require.Equal(t, words(tt.want), Time(at))
		})
	}
}

func TestTimeUsesLocation(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := time.Date(2026, time.July, 1, 14, 5, 0, 0, time.UTC).In(ny)
	require.Equal(t, words("ten oh five am"), Time(at))
}

func TestDate(t *testing.T) {
	// Wednesday 4 March 2026, mid-afternoon.
	now := time.Date(2026, time.March, 4, 15, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 0, 0, 0, time.UTC)
	}
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"this morning", day(2026, time.March, 4, 0), "today"},
		{"later today", day(2026, time.March, 4, 23), "today"},
		{"yesterday night", day(2026, time.March, 3, 23), "yesterday"},
		{"yesterday morning", day(2026, time.March, 3, 0), "yesterday"},
		{"two days ago", day(2026, time.March, 2, 12), "monday"},
		{"six days ago", day(2026, time.February, 26, 12), "thursday"},
		{"a week ago", day(2026, time.February, 25, 12), "february twenty-fifth"},
		{"first of the month", day(2026, time.January, 1, 12), "january first"},
		{"last year", day(2025, time.December, 31, 12), "december thirty-first two thousand twenty five"},
		{"tomorrow", day(2026, time.March, 5, 9), "march fifth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, words(tt.want), Date(tt.t, now))
		})
	}
}

func TestDateUsesNowsLocation(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	// 05:00 UTC on the 4th is still the evening of the 3rd in Los Angeles.
	now := time.Date(2026, time.March, 4, 12, 0, 0, 0, la)
	msg := time.Date(2026, time.March, 4, 5, 0, 0, 0, time.UTC)
	require.Equal(t, words("yesterday"), Date(msg, now))

	// Across the spring-forward night (23 hours long) it is still one day.
	now = time.Date(2026, time.March, 9, 0, 30, 0, 0, la)
	msg = time.Date(2026, time.March, 8, 0, 30, 0, 0, la)
	require.Equal(t, words("yesterday"), Date(msg, now))
}

func TestCount(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"none", 0, "no new-messages"},
		{"one", 1, "one new-message"},
		{"some", 3, "three new-messages"},
		{"many", 121, "one hundred twenty one new-messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, words(tt.want), Count(tt.n, "new-message", "new-messages"))
		})
	}
}
