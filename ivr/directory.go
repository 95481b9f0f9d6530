package ivr

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"switchboard/prompts"
)

// Directory defaults.
const (
	DefaultDirectoryMinDigits  = 3
	DefaultDirectoryMaxMatches = 9
)

// DirectoryEntry is one person the directory can find.
type DirectoryEntry struct {
	Extension string
	FirstName string
	LastName  string
	// NameKey is the blob key of the user's recorded name; "" when they
	// have none, and the name is spelled instead.
	NameKey string
}

// DirectoryStore lists the people the directory can find.
type DirectoryStore interface {
	// DirectoryEntries returns the users who chose to be announced in the
	// directory (announce_in_directory), and only them.
	DirectoryEntries(ctx context.Context) ([]DirectoryEntry, error)
}

// DirectoryConfig describes the dial-by-name directory.
type DirectoryConfig struct {
	// ByFirstName searches first names to begin with; * swaps either way.
	ByFirstName bool
	// MinDigits keys start the search by themselves; # or a pause after
	// at least one key starts it earlier (0: DefaultDirectoryMinDigits).
	MinDigits int
	// MenuTimeout is how long a prompt waits for a first key; DigitTimeout
	// how long the spelling waits for the next one (0: the defaults).
	MenuTimeout, DigitTimeout time.Duration
	// MaxMatches is the most matches read out: with more, the caller is
	// asked for more letters (0: DefaultDirectoryMaxMatches).
	MaxMatches int
}

func (c *DirectoryConfig) defaults() {
	if c.MinDigits <= 0 {
		c.MinDigits = DefaultDirectoryMinDigits
	}
	if c.MaxMatches <= 0 {
		c.MaxMatches = DefaultDirectoryMaxMatches
	}
	if c.MenuTimeout <= 0 {
		c.MenuTimeout = DefaultMenuTimeout
	}
	if c.DigitTimeout <= 0 {
		c.DigitTimeout = DefaultDigitTimeout
	}
}

var matchOptions = []string{"dir-connect", "dir-more", "dir-again"}

// Directory is dial-by-name: the caller spells a last name (or a first
// name) on the keypad, hears the matches one at a time, each by its
// recorded name (or spelled) and extension, and presses 1 to be connected,
// * for the next match or # to spell again.
//
// The search starts after MinDigits keys, a #, or a pause after at least
// one key. With no match the caller hears "dir-no-match" and spells again;
// with more than MaxMatches, "dir-too-many", and every further key
// searches again with the longer spelling. * while spelling swaps between
// last and first names. 1 on a match plays "transferring" and transfers
// the call to the extension, which rings it through that user's answering
// rules.
type Directory struct {
	machine
	st  DirectoryStore
	cfg DirectoryConfig

	byFirst bool
	// entries is the directory as read at the first search.
	entries []DirectoryEntry
	loaded  bool
	// matches are those of the last search, in order; cur is the one
	// being read.
	matches []DirectoryEntry
	cur     int
}

var _ App = (*Directory)(nil)

// NewDirectory returns the dial-by-name application.
func NewDirectory(st DirectoryStore, cfg DirectoryConfig) *Directory {
	cfg.defaults()
	d := &Directory{st: st, cfg: cfg, byFirst: cfg.ByFirstName}
	d.menuTimeout, d.digitTimeout = cfg.MenuTimeout, cfg.DigitTimeout
	return d
}

// Start welcomes the caller and asks them to spell a name.
func (d *Directory) Start(ctx context.Context) []Action {
	if d.started {
		return nil
	}
	d.started = true
	return d.spell([]Item{Prompt("dir-welcome")})
}

// Handle takes the outcome of the last batch.
func (d *Directory) Handle(ctx context.Context, ev Event) []Action { return d.handle(ctx, ev) }

// spellPrompt asks for the name in the current mode and offers the other.
func (d *Directory) spellPrompt() []Item {
	if d.byFirst {
		return promptItems("dir-spell-first", "dir-by-last-name")
	}
	return promptItems("dir-spell-last", "dir-by-first-name")
}

// spell plays first and asks for a name from scratch.
func (d *Directory) spell(first []Item) []Action {
	d.matches, d.cur = nil, 0
	return d.collectName(nil, first)
}

// collectName gathers keys on top of those in buf (which matched too many
// names) until the search starts: at MinDigits keys, or at the next one
// after too many matches; at a #; or at a pause after a new key. first
// comes before the prompt: the spelling prompt, or "dir-too-many".
func (d *Directory) collectName(buf []byte, first []Item) []Action {
	given := len(buf)
	target := d.cfg.MinDigits
	if given > 0 {
		target = given + 1
	}
	prompt := func() []Item {
		if given > 0 {
			return []Item{Prompt("dir-too-many")}
		}
		return d.spellPrompt()
	}
	d.set("spell", func(ctx context.Context, ev Event) []Action {
		switch ev := ev.(type) {
		case Digit:
			switch k := ev.Key; {
			case k == '#' && len(buf) == 0:
				d.misses++
				if d.misses >= maxMisses {
					return d.goodbye()
				}
				return d.ask(prompt())
			case k == '#':
				d.heard()
				return d.search(ctx, buf)
			case k == '*':
				d.heard()
				d.byFirst = !d.byFirst
				buf, given, target = buf[:0], 0, d.cfg.MinDigits
				return d.ask(prompt())
			case k >= '0' && k <= '9':
				buf = append(buf, byte(k))
				d.idle = 0
				if len(buf) >= target || len(buf) >= maxEntry {
					d.heard()
					return d.search(ctx, buf)
				}
				return []Action{WaitDigit{Timeout: d.digitTimeout}}
			}
			if len(buf) == given {
				return []Action{WaitDigit{Timeout: d.menuTimeout}}
			}
			return []Action{WaitDigit{Timeout: d.digitTimeout}}
		case Timeout:
			if len(buf) > given {
				d.heard()
				return d.search(ctx, buf)
			}
			return d.timedOut(func() []Action { return d.ask(prompt()) })
		}
		return d.unexpected(ev)
	})
	return d.ask(cat(first, prompt()))
}

// search looks the spelling up and reads the first match, or says why
// there is none to read.
func (d *Directory) search(ctx context.Context, buf []byte) []Action {
	if !d.loaded {
		entries, err := d.st.DirectoryEntries(ctx)
		if err != nil {
			return d.fail(fmt.Errorf("directory entries: %w", err))
		}
		d.entries, d.loaded = entries, true
	}
	matches := MatchDirectory(d.entries, string(buf), d.byFirst)
	switch {
	case len(matches) == 0:
		return d.spell([]Item{Prompt("dir-no-match")})
	case len(matches) > d.cfg.MaxMatches && len(buf) < maxEntry:
		// Keep the keys so far: the next one searches again.
		return d.collectName(slices.Clone(buf), nil)
	}
	if len(matches) > d.cfg.MaxMatches {
		matches = matches[:d.cfg.MaxMatches]
	}
	d.matches, d.cur = matches, 0
	intro := cat([]Item{Prompt("dir-found")}, promptItems(prompts.Count(len(matches), "match", "matches")...))
	return d.readMatch(intro)
}

// readMatch reads the current match after first and offers 1, * and #.
func (d *Directory) readMatch(first []Item) []Action {
	e := d.matches[d.cur]
	// whole is the match without first: what a repeat reads.
	whole := cat(d.nameItems(e), []Item{Prompt("extension")}, promptItems(prompts.Digits(e.Extension)...),
		promptItems(matchOptions...))
	d.set("match", func(ctx context.Context, ev Event) []Action {
		switch ev := ev.(type) {
		case Digit:
			switch ev.Key {
			case '1':
				d.heard()
				d.done = true
				return []Action{Play{Items: []Item{Prompt("transferring")}}, Transfer{To: e.Extension}}
			case '*':
				d.heard()
				d.cur++
				if d.cur >= len(d.matches) {
					return d.spell([]Item{Prompt("dir-no-more")})
				}
				return d.readMatch(nil)
			case '#':
				d.heard()
				return d.spell(nil)
			}
			d.misses++
			if d.misses >= maxMisses {
				return d.goodbye()
			}
			return d.ask(cat([]Item{Prompt("invalid-option")}, whole))
		case Timeout:
			return d.timedOut(func() []Action { return d.ask(whole) })
		}
		return d.unexpected(ev)
	})
	return d.ask(cat(first, whole))
}

// nameItems says who e is: the recorded name, or the name spelled.
func (d *Directory) nameItems(e DirectoryEntry) []Item {
	if e.NameKey != "" {
		return []Item{Audio(e.NameKey)}
	}
	return promptItems(prompts.Spell(foldLetters(e.FirstName) + " " + foldLetters(e.LastName))...)
}

// MatchDirectory returns the entries whose last name (first name with
// byFirst) starts with the letters the keys spell, sorted by last name,
// first name and extension. Only letters count, accents folded ("Le Guin"
// is 534846, "O'Brien" 627436); keys without letters (0, 1) match nothing.
func MatchDirectory(entries []DirectoryEntry, digits string, byFirst bool) []DirectoryEntry {
	if digits == "" {
		return nil
	}
	var out []DirectoryEntry
	for _, e := range entries {
		name := e.LastName
		if byFirst {
			name = e.FirstName
		}
		if strings.HasPrefix(KeypadDigits(name), digits) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b DirectoryEntry) int {
		return cmp.Or(
			strings.Compare(foldLetters(a.LastName), foldLetters(b.LastName)),
			strings.Compare(foldLetters(a.FirstName), foldLetters(b.FirstName)),
			strings.Compare(a.Extension, b.Extension))
	})
	return out
}

// keypad maps a to z to their keys.
const keypad = "22233344455566677778889999"

// KeypadDigits is what a name is spelled with on a phone's keypad: "Ada"
// is 232. Anything but a letter is skipped.
func KeypadDigits(name string) string {
	letters := foldLetters(name)
	out := make([]byte, len(letters))
	for i := 0; i < len(letters); i++ {
		out[i] = keypad[letters[i]-'a']
	}
	return string(out)
}

// foldLetters keeps a name's letters, lowercase and without accents: "José
// O'Brien-Núñez" is "joseobriennunez". Letters with no plain equivalent
// are skipped.
func foldLetters(name string) string {
	var b strings.Builder
	for _, r := range name {
		r = unicode.ToLower(r)
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r >= 0x80:
			b.WriteString(latinFold[r])
		}
	}
	return b.String()
}

// latinFold spells the accented Latin letters of Western European names
// in plain ones.
var latinFold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ą': "a",
	'æ': "ae", 'ç': "c", 'ć': "c", 'č': "c", 'ď': "d", 'đ': "d", 'ð': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ę': "e", 'ě': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'ı': "i",
	'ł': "l", 'ñ': "n", 'ń': "n", 'ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ő': "o",
	'œ': "oe", 'ř': "r", 'ś': "s", 'š': "s", 'ş': "s", 'ß': "ss", 'ť': "t", 'þ': "th",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u", 'ű': "u",
	'ý': "y", 'ÿ': "y", 'ź': "z", 'ż': "z", 'ž': "z",
}
