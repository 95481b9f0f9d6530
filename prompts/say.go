package prompts

import (
	"strconv"
	"time"
)

var ones = [...]string{
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
	"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
	"seventeen", "eighteen", "nineteen",
}

var tens = [...]string{
	2: "twenty", 3: "thirty", 4: "forty", 5: "fifty",
	6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety",
}

var ordinals = [...]string{
	1: "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
	"ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
	"fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
	"twentieth", "twenty-first", "twenty-second", "twenty-third", "twenty-fourth",
	"twenty-fifth", "twenty-sixth", "twenty-seventh", "twenty-eighth",
	"twenty-ninth", "thirtieth", "thirty-first",
}

var weekdays = [...]string{
	time.Sunday: "sunday", time.Monday: "monday", time.Tuesday: "tuesday",
	time.Wednesday: "wednesday", time.Thursday: "thursday", time.Friday: "friday",
	time.Saturday: "saturday",
}

var months = [...]string{
	time.January: "january", time.February: "february", time.March: "march",
	time.April: "april", time.May: "may", time.June: "june", time.July: "july",
	time.August: "august", time.September: "september", time.October: "october",
	time.November: "november", time.December: "december",
}

// Number reads n the way Americans say it: 342 is "three hundred forty
// two", 1005 "one thousand five", 250000 "two hundred fifty thousand".
// Negative numbers start with "minus"; from a billion on (past what a PBX
// ever counts) the digits are read one by one.
func Number(n int) []string {
	switch {
	case n == 0:
		return []string{"zero"}
	case n <= -1_000_000_000:
		// strconv, not -n: -math.MinInt overflows.
		return append([]string{"minus"}, Digits(strconv.Itoa(n)[1:])...)
	case n < 0:
		return append([]string{"minus"}, Number(-n)...)
	case n >= 1_000_000_000:
		return Digits(strconv.Itoa(n))
	}
	out := make([]string, 0, 8)
	if m := n / 1_000_000; m > 0 {
		out = append(hundreds(out, m), "million")
	}
	if k := n / 1000 % 1000; k > 0 {
		out = append(hundreds(out, k), "thousand")
	}
	return hundreds(out, n%1000)
}

// hundreds appends n, 0 to 999, with nothing for 0.
func hundreds(out []string, n int) []string {
	if h := n / 100; h > 0 {
		out = append(out, ones[h], "hundred")
	}
	switch r := n % 100; {
	case r == 0:
	case r < 20:
		out = append(out, ones[r])
	case r%10 == 0:
		out = append(out, tens[r/10])
	default:
		out = append(out, tens[r/10], ones[r%10])
	}
	return out
}

// Digits reads s one key at a time, as extensions, PINs and caller IDs are
// read: "1002" is "one zero zero two", "*97" "star nine seven", "#" "pound".
// Anything else ("+", "-", spaces, letters) is skipped.
func Digits(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		if name := key(s[i]); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func key(c byte) string {
	switch {
	case c >= '0' && c <= '9':
		return ones[c-'0']
	case c == '*':
		return "star"
	case c == '#':
		return "pound"
	}
	return ""
}

// Spell reads s letter by letter, for a directory entry that has no
// recorded name: "Ada" is "letter-a letter-d letter-a". Digits, * and # are
// read as Digits reads them; anything else (spaces, accents, punctuation) is
// skipped.
func Spell(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch {
		case c >= 'a' && c <= 'z':
			out = append(out, "letter-"+string(rune(c)))
		case key(c) != "":
			out = append(out, key(c))
		}
	}
	return out
}

// Ordinal reads a day of the month, 1 to 31: "first" to "thirty-first". Any
// other n is read as Number(n).
func Ordinal(n int) []string {
	if n < 1 || n >= len(ordinals) {
		return Number(n)
	}
	return []string{ordinals[n]}
}

// Time reads t's clock time, in t's location, the American way: 9:05 is
// "nine oh five a.m.", 12:00 "twelve o'clock p.m.", 0:30 "twelve thirty
// a.m.".
func Time(t time.Time) []string {
	h, m := t.Hour(), t.Minute()
	out := Number((h+11)%12 + 1)
	switch {
	case m == 0:
		out = append(out, "oclock")
	case m < 10:
		out = append(out, "oh", ones[m])
	default:
		out = append(out, Number(m)...)
	}
	if h < 12 {
		return append(out, "am")
	}
	return append(out, "pm")
}

// Date reads the day of t as seen on now's calendar (t is moved into now's
// location): "today", "yesterday", the weekday for the five days before
// that, and otherwise the month and day ("march" "fourth"), with the year
// when it is not now's year. Dates after today are read as month and day.
func Date(t, now time.Time) []string {
	t = t.In(now.Location())
	switch days := dayNumber(now) - dayNumber(t); {
	case days == 0:
		return []string{"today"}
	case days == 1:
		return []string{"yesterday"}
	case days > 1 && days < 7:
		return []string{weekdays[t.Weekday()]}
	}
	out := append([]string{months[t.Month()]}, Ordinal(t.Day())...)
	if t.Year() != now.Year() {
		out = append(out, Number(t.Year())...)
	}
	return out
}

// dayNumber counts calendar days, so that a day with a daylight-saving
// change is still one day.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Count reads a quantity with its noun: Count(0, "new-message",
// "new-messages") is "no new-messages", 1 "one new-message", 3 "three
// new-messages". The caller says what comes before ("you-have").
func Count(n int, singular, plural string) []string {
	switch n {
	case 0:
		return []string{"no", plural}
	case 1:
		return []string{"one", singular}
	}
	return append(Number(n), plural)
}
