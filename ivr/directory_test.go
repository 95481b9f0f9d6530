package ivr

import (
	"context"
	"slices"
	"strings"
	"testing"

	"switchboard/prompts"
)

// fakeDirectory is a list of users; like the store, it hands out only
// those announced in the directory.
type fakeDirectory struct {
	users []fakeDirUser
	err   error
	calls int
}

type fakeDirUser struct {
	DirectoryEntry
	announce bool
}

func (f *fakeDirectory) DirectoryEntries(context.Context) ([]DirectoryEntry, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var out []DirectoryEntry
	for _, u := range f.users {
		if u.announce {
			out = append(out, u.DirectoryEntry)
		}
	}
	return out, nil
}

// testDirectory: Alonzo Church is not announced; Ada has a recorded name.
func testDirectory() *fakeDirectory {
	u := func(ext, first, last, key string, announce bool) fakeDirUser {
		return fakeDirUser{DirectoryEntry{Extension: ext, FirstName: first, LastName: last, NameKey: key}, announce}
	}
	return &fakeDirectory{users: []fakeDirUser{
		u("1001", "Ada", "Lovelace", "name-1001", true),
		u("1002", "Grace", "Hopper", "", true),
		u("1003", "Alan", "Turing", "", true),
		u("1004", "Alonzo", "Church", "", false),
		u("1005", "Ursula", "Le Guin", "", true),
		u("1006", "Conan", "O'Brien", "", true),
		u("1007", "Brian", "O'Brien", "", true),
		u("1009", "José", "Núñez", "", true),
		u("1010", "Pat", "O'Brady", "", true),
	}}
}

const (
	dirStart      = "ask: dir-welcome dir-spell-last dir-by-first-name | wait 5s"
	dirSpell      = "ask: dir-spell-last dir-by-first-name | wait 5s"
	dirSpellFirst = "ask: dir-spell-first dir-by-last-name | wait 5s"
	dirOpts       = "dir-connect dir-more dir-again"
	dirNoMatch    = "ask: dir-no-match dir-spell-last dir-by-first-name | wait 5s"
)

// spelled is a name read letter by letter.
func spelled(name string) string { return strings.Join(prompts.Spell(name), " ") }

// entry is how a match is read, without its options.
func entry(name, ext string) string {
	return words(name, "extension", strings.Join(prompts.Digits(ext), " "))
}

func found(n, name, ext string) string {
	return "ask: " + words("dir-found", n, entry(name, ext), dirOpts) + " | wait 5s"
}

func next(name, ext string) string {
	return "ask: " + words(entry(name, ext), dirOpts) + " | wait 5s"
}

var (
	ada    = entry("@name-1001", "1001")
	grace  = entry(spelled("grace hopper"), "1002")
	leGuin = entry(spelled("ursula leguin"), "1005")
)

type dirCase struct {
	name    string
	setup   func(f *fakeDirectory)
	cfg     func(c *DirectoryConfig)
	steps   []step
	wantErr bool
}

func runDirectory(t *testing.T, tests []dirCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testDirectory()
			if tt.setup != nil {
				tt.setup(f)
			}
			var cfg DirectoryConfig
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			d := NewDirectory(f, cfg)
			talk(t, d, tt.steps)
			if (d.Err() != nil) != tt.wantErr {
				t.Errorf("err %v, want an error: %v", d.Err(), tt.wantErr)
			}
			if f.calls > 1 {
				t.Errorf("directory read %d times", f.calls)
			}
		})
	}
}

func TestDirectory(t *testing.T) {
	runDirectory(t, []dirCase{
		{
			name: "a unique match by its recorded name connects",
			steps: []step{
				{start, dirStart},
				{keys("5"), "wait 4s"},
				{keys("68"), "ask: dir-found one match " + ada + " " + dirOpts + " | wait 5s"},
				{keys("1"), "say: transferring | transfer 1001"},
			},
		},
		{
			name: "a name without a recording is spelled",
			steps: []step{
				{start, dirStart},
				{keys("467"), "ask: dir-found one match " + grace + " " + dirOpts + " | wait 5s"},
				{keys("1"), "say: transferring | transfer 1002"},
			},
		},
		{
			name: "accents are folded for matching and spelling",
			steps: []step{
				{start, dirStart},
				{keys("686"), found("one match", spelled("jose nunez"), "1009")},
			},
		},
		{
			name: "several matches in order, * moves on, then no more",
			steps: []step{
				{start, dirStart},
				{keys("627"), found("three matches", spelled("pat obrady"), "1010")},
				{keys("*"), next(spelled("brian obrien"), "1007")},
				{keys("*"), next(spelled("conan obrien"), "1006")},
				{keys("*"), "ask: dir-no-more dir-spell-last dir-by-first-name | wait 5s"},
				{keys("568"), "ask: dir-found one match " + ada + " " + dirOpts + " | wait 5s"},
			},
		},
		{
			name: "* then 1 connects the second match",
			steps: []step{
				{start, dirStart},
				{keys("627"), found("three matches", spelled("pat obrady"), "1010")},
				{keys("*1"), "say: transferring | transfer 1007"},
			},
		},
		{
			name: "# on a match starts over",
			steps: []step{
				{start, dirStart},
				{keys("467"), "ask: dir-found one match " + grace + " " + dirOpts + " | wait 5s"},
				{keys("#"), dirSpell},
				{keys("887"), found("one match", spelled("alan turing"), "1003")},
			},
		},
		{
			name: "# or a pause searches before three keys",
			steps: []step{
				{start, dirStart},
				{keys("5#"), "ask: dir-found two matches " + leGuin + " " + dirOpts + " | wait 5s"},
				{keys("*"), "ask: " + ada + " " + dirOpts + " | wait 5s"},
				{keys("#"), dirSpell},
				{keys("53"), "wait 4s"},
				{timeout, "ask: dir-found one match " + leGuin + " " + dirOpts + " | wait 5s"},
			},
		},
		{
			name: "no match says so and asks again",
			steps: []step{
				{start, dirStart},
				{keys("999"), dirNoMatch},
				{keys("111"), dirNoMatch},
				{keys("568"), "ask: dir-found one match " + ada + " " + dirOpts + " | wait 5s"},
			},
		},
		{
			name: "a user not announced in the directory is never found",
			steps: []step{
				{start, dirStart},
				{keys("248"), dirNoMatch},
				{keys("*"), dirSpellFirst},
				{keys("256"), "ask: dir-no-match dir-spell-first dir-by-last-name | wait 5s"},
			},
		},
		{
			name: "first-name mode",
			cfg:  func(c *DirectoryConfig) { c.ByFirstName = true },
			steps: []step{
				{start, "ask: dir-welcome dir-spell-first dir-by-last-name | wait 5s"},
				{keys("472"), found("one match", spelled("grace hopper"), "1002")},
				{keys("#"), dirSpellFirst},
				{keys("252"), found("one match", spelled("alan turing"), "1003")},
			},
		},
		{
			name: "* while spelling swaps last and first names and drops the keys",
			steps: []step{
				{start, dirStart},
				{keys("5*"), dirSpellFirst},
				{keys("232"), "ask: dir-found one match " + ada + " " + dirOpts + " | wait 5s"},
				{keys("#"), dirSpellFirst},
				{keys("*"), dirSpell},
				{keys("887"), found("one match", spelled("alan turing"), "1003")},
			},
		},
		{
			name: "too many matches asks for more letters",
			cfg:  func(c *DirectoryConfig) { c.MaxMatches = 2 },
			steps: []step{
				{start, dirStart},
				{keys("627"), "ask: dir-too-many | wait 5s"},
				{keys("4"), "ask: dir-found two matches " + entry(spelled("brian obrien"), "1007") + " " + dirOpts + " | wait 5s"},
				{keys("#"), dirSpell},
				{keys("627"), "ask: dir-too-many | wait 5s"},
				{keys("2"), found("one match", spelled("pat obrady"), "1010")},
			},
		},
		{
			name: "too many: no more letters repeats once, then goodbye",
			cfg:  func(c *DirectoryConfig) { c.MaxMatches = 2 },
			steps: []step{
				{start, dirStart},
				{keys("627"), "ask: dir-too-many | wait 5s"},
				{timeout, "ask: dir-too-many | wait 5s"},
				{timeout, bye},
			},
		},
		{
			name: "no spelling repeats once, then goodbye",
			steps: []step{
				{start, dirStart},
				{timeout, dirSpell},
				{timeout, bye},
			},
		},
		{
			name: "an unanswered match repeats once, then goodbye",
			steps: []step{
				{start, dirStart},
				{keys("467"), "ask: dir-found one match " + grace + " " + dirOpts + " | wait 5s"},
				{timeout, "ask: " + grace + " " + dirOpts + " | wait 5s"},
				{timeout, bye},
			},
		},
		{
			name: "an invalid key on a match",
			steps: []step{
				{start, dirStart},
				{keys("467"), "ask: dir-found one match " + grace + " " + dirOpts + " | wait 5s"},
				{keys("7"), "ask: invalid-option " + grace + " " + dirOpts + " | wait 5s"},
				{keys("1"), "say: transferring | transfer 1002"},
			},
		},
		{
			name: "a lone # asks again; three misses end the call",
			steps: []step{
				{start, dirStart},
				{keys("#"), dirSpell},
				{keys("#"), dirSpell},
				{keys("#"), bye},
			},
		},
		{
			name:  "hang-up while spelling",
			steps: []step{{start, dirStart}, {keys("56"), "wait 4s"}, {hangup, ""}},
		},
		{
			name: "hang-up on a match",
			steps: []step{
				{start, dirStart},
				{keys("467"), "ask: dir-found one match " + grace + " " + dirOpts + " | wait 5s"},
				{hangup, ""},
			},
		},
		{
			name:    "the directory cannot be read",
			setup:   func(f *fakeDirectory) { f.err = errStore },
			steps:   []step{{start, dirStart}, {keys("568"), failed}},
			wantErr: true,
		},
	})
}

func TestKeypadDigits(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Ada", "232"},
		{"LOVELACE", "56835223"},
		{"O'Brien", "627436"},
		{"Le Guin", "534846"},
		{"Smith-Jones", "7648456637"},
		{"Núñez", "68639"},
		{"Zoë Ångström", "96326478766"},
		{"Straße", "7872773"},
		{"R2-D2", "73"},
		{"", ""},
		{"'- .", ""},
	}
	for _, tt := range tests {
		if got := KeypadDigits(tt.name); got != tt.want {
			t.Errorf("KeypadDigits(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMatchDirectory(t *testing.T) {
	entries := []DirectoryEntry{
		{Extension: "3", FirstName: "Conan", LastName: "O'Brien"},
		{Extension: "2", FirstName: "Brian", LastName: "OBrien"},
		{Extension: "1", FirstName: "Brian", LastName: "O'Brien"},
		{Extension: "4", FirstName: "Pat", LastName: "O Brady"},
		{Extension: "5", FirstName: "Ursula", LastName: "Le Guin"},
		{Extension: "6", FirstName: "Ursula", LastName: "Leguin"},
	}
	exts := func(es []DirectoryEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Extension)
		}
		return out
	}
	tests := []struct {
		digits  string
		byFirst bool
		want    []string
	}{
		{"627", false, []string{"4", "1", "2", "3"}},
		{"6274", false, []string{"1", "2", "3"}},
		{"627436", false, []string{"1", "2", "3"}},
		{"6274367", false, nil},
		{"534", false, []string{"5", "6"}},
		{"534846", false, []string{"5", "6"}},
		{"274", true, []string{"1", "2"}},
		{"8", true, []string{"5", "6"}},
		{"", false, nil},
		{"1", false, nil},
		{"0", true, nil},
	}
	for _, tt := range tests {
		if got := exts(MatchDirectory(entries, tt.digits, tt.byFirst)); !slices.Equal(got, tt.want) {
			t.Errorf("MatchDirectory(%q, byFirst %v) = %v, want %v", tt.digits, tt.byFirst, got, tt.want)
		}
	}
}
