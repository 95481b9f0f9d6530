package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/prompts"
)

// Access defaults.
const (
	DefaultMaxPINFailures   = 3
	DefaultLockFor          = 30 * time.Minute
	DefaultPINMinLen        = 4
	DefaultPINMaxLen        = 10
	DefaultMenuTimeout      = 5 * time.Second
	DefaultDigitTimeout     = 4 * time.Second
	DefaultMaxGreeting      = 3 * time.Minute
	DefaultMaxName          = 10 * time.Second
	DefaultMinRecording     = time.Second
	DefaultRecordingSilence = 5 * time.Second
)

// AccessConfig describes one caller calling into voicemail.
type AccessConfig struct {
	// Extension is the caller's own mailbox when they dialled from one of
	// their phones (*97); "" asks for the mailbox number (*98).
	Extension string
	// Now is when the call started: message dates are read relative to it.
	Now time.Time
	// Location is the time zone for a mailbox that has none (nil: UTC).
	Location *time.Location

	// MaxPINFailures wrong PINs in a row lock the mailbox for LockFor; as
	// many on one call end it (0: DefaultMaxPINFailures, DefaultLockFor).
	MaxPINFailures int
	LockFor        time.Duration
	// PINMinLen and PINMaxLen are the PIN policy's lengths, checked before
	// the PIN is asked again and read out when one is refused (0:
	// DefaultPINMinLen, DefaultPINMaxLen).
	PINMinLen, PINMaxLen int

	// MenuTimeout is how long a prompt waits for a first key; DigitTimeout
	// how long an entry waits for the next one (0: the defaults).
	MenuTimeout, DigitTimeout time.Duration

	// MaxGreeting and MaxName are the longest greeting and name
	// recordings, MinRecording the shortest kept, SilenceTimeout the
	// silence that ends one (0: the defaults; a negative SilenceTimeout:
	// never).
	MaxGreeting, MaxName, MinRecording, SilenceTimeout time.Duration
}

func (c *AccessConfig) defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.MaxPINFailures <= 0 {
		c.MaxPINFailures = DefaultMaxPINFailures
	}
	if c.PINMinLen <= 0 {
		c.PINMinLen = DefaultPINMinLen
	}
	if c.PINMaxLen <= 0 {
		c.PINMaxLen = DefaultPINMaxLen
	}
	def(&c.LockFor, DefaultLockFor)
	def(&c.MenuTimeout, DefaultMenuTimeout)
	def(&c.DigitTimeout, DefaultDigitTimeout)
	def(&c.MaxGreeting, DefaultMaxGreeting)
	def(&c.MaxName, DefaultMaxName)
	def(&c.MinRecording, DefaultMinRecording)
	switch {
	case c.SilenceTimeout == 0:
		c.SilenceTimeout = DefaultRecordingSilence
	case c.SilenceTimeout < 0:
		c.SilenceTimeout = 0
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
}

var mainOptions = []string{"main-listen", "main-greetings", "main-name", "main-pin", "main-repeat", "main-directory"}

// Access is a user calling into their mailbox: log in with the PIN, then
// the main menu (1 listen, 3 greetings, 4 name, 5 PIN, * repeat, # the
// directory)
// as prompts/doc.go lays it out.
type Access struct {
	machine
	st  Store
	cfg AccessConfig

	ext    string  // the mailbox being logged into, then logged into
	box    Mailbox // as read at login, refreshed where it matters
	bogus  bool    // *98 named no usable mailbox; the PIN is asked anyway
	authed bool
	// failures counts wrong logins on this call.
	failures int

	// Changing the PIN: the first entry, and attempts so far.
	newPIN   string
	pinTries int

	// Listening: the messages as listed at 1, their folders then, and the
	// one playing.
	msgs    []Message
	folders []string
	cur     int

	greets []Greeting
}

var _ App = (*Access)(nil)

// NewAccess returns the application for a caller calling into voicemail.
func NewAccess(st Store, cfg AccessConfig) *Access {
	cfg.defaults()
	a := &Access{st: st, cfg: cfg}
	a.menuTimeout, a.digitTimeout = cfg.MenuTimeout, cfg.DigitTimeout
	return a
}

// Extension is the mailbox the caller logged into; "" until they have.
func (a *Access) Extension() string {
	if !a.authed {
		return ""
	}
	return a.ext
}

// Start greets the caller and asks for the PIN, or the mailbox number
// first.
func (a *Access) Start(ctx context.Context) []Action {
	if a.started {
		return nil
	}
	a.started = true
	welcome := []Item{Prompt("welcome")}
	if a.cfg.Extension == "" {
		return a.askMailbox(welcome)
	}
	a.ext = a.cfg.Extension
	box, err := a.st.Mailbox(ctx, a.ext)
	switch {
	case errors.Is(err, ErrNoMailbox) || (err == nil && !box.Enabled):
		return a.end(Prompt("mailbox-unavailable"), Prompt("goodbye"))
	case err != nil:
		return a.fail(fmt.Errorf("mailbox %s: %w", a.ext, err))
	case a.locked(box):
		return a.end(Prompt("mailbox-locked"), Prompt("goodbye"))
	}
	a.box = box
	if !box.HasPIN {
		// Only from the user's own phone: a mailbox without a PIN cannot
		// be reached with *98.
		a.authed = true
		return a.changePIN(cat(welcome, []Item{Prompt("choose-pin")}), true)
	}
	return a.askPIN(welcome)
}

// Handle takes the outcome of the last batch.
func (a *Access) Handle(ctx context.Context, ev Event) []Action { return a.handle(ctx, ev) }

func (a *Access) locked(box Mailbox) bool {
	return !box.LockedUntil.IsZero() && box.LockedUntil.After(a.cfg.Now)
}

func (a *Access) askMailbox(first []Item) []Action {
	a.ext, a.box, a.bogus = "", Mailbox{}, false
	return a.collect("mailbox", first, []Item{Prompt("enter-mailbox")}, a.mailboxEntered, nil)
}

// mailboxEntered takes a *98 mailbox number. A number with no usable
// mailbox is not revealed: the PIN is asked all the same and refused.
func (a *Access) mailboxEntered(ctx context.Context, ext string) []Action {
	if ext == "" {
		return a.askMailbox(nil)
	}
	box, err := a.st.Mailbox(ctx, ext)
	switch {
	case errors.Is(err, ErrNoMailbox):
		a.bogus = true
	case err != nil:
		return a.fail(fmt.Errorf("mailbox %s: %w", ext, err))
	case !box.Enabled || !box.HasPIN:
		a.bogus = true
	case a.locked(box):
		return a.end(Prompt("mailbox-locked"), Prompt("goodbye"))
	}
	a.ext, a.box = ext, box
	return a.askPIN(nil)
}

func (a *Access) askPIN(first []Item) []Action {
	return a.collect("pin", first, []Item{Prompt("enter-pin")}, a.pinEntered, nil)
}

// pinEntered checks a PIN. Wrong ones are counted in the store, which
// locks the mailbox at MaxPINFailures in a row, and on this call.
func (a *Access) pinEntered(ctx context.Context, pin string) []Action {
	// Verified even for a bogus mailbox, so that it takes as long.
	ok, err := a.st.VerifyPIN(ctx, a.ext, pin)
	if a.bogus {
		ok, err = false, nil
	}
	if err != nil {
		return a.fail(fmt.Errorf("verify pin of %s: %w", a.ext, err))
	}
	if ok {
		if err := a.st.PINSucceeded(ctx, a.ext); err != nil {
			return a.fail(fmt.Errorf("pin of %s: %w", a.ext, err))
		}
		a.authed = true
		return a.welcome(ctx, nil)
	}
	a.failures++
	locked := false
	if !a.bogus {
		locked, err = a.st.PINFailed(ctx, a.ext, a.cfg.MaxPINFailures, a.cfg.LockFor)
		if err != nil {
			return a.fail(fmt.Errorf("count pin failure of %s: %w", a.ext, err))
		}
	}
	if locked || a.failures >= a.cfg.MaxPINFailures {
		return a.end(Prompt("too-many-attempts"), Prompt("mailbox-locked"), Prompt("goodbye"))
	}
	incorrect := []Item{Prompt("login-incorrect")}
	if a.cfg.Extension != "" {
		return a.askPIN(incorrect)
	}
	return a.askMailbox(incorrect)
}

// welcome reads the message counts, then the main menu.
func (a *Access) welcome(ctx context.Context, first []Item) []Action {
	box, err := a.st.Mailbox(ctx, a.ext)
	if err != nil {
		return a.fail(fmt.Errorf("mailbox %s: %w", a.ext, err))
	}
	a.box = box
	intro := cat(first, []Item{Prompt("you-have")},
		promptItems(prompts.Count(box.NewMessages, "new-message", "new-messages")...),
		[]Item{Prompt("and")},
		promptItems(prompts.Count(box.SavedMessages, "saved-message", "saved-messages")...))
	if box.LimitBytes > 0 && box.UsedBytes*10 >= box.LimitBytes*9 {
		intro = append(intro, Prompt("mailbox-almost-full"))
	}
	return a.mainMenu(intro)
}

func (a *Access) mainMenu(intro []Item) []Action {
	a.msgs, a.folders, a.greets = nil, nil, nil
	return a.menu("main", intro, mainOptions, a.mainKey)
}

func (a *Access) mainKey(ctx context.Context, key rune) ([]Action, bool) {
	switch key {
	case '1':
		return a.listen(ctx), true
	case '3':
		return a.greetings(ctx, nil), true
	case '4':
		return a.name(ctx), true
	case '5':
		return a.changePIN(nil, false), true
	case '*':
		return a.mainMenu(nil), true
	case '#':
		a.done = true
		return []Action{Transfer{To: DirectoryDestination}}, true
	}
	return nil, false
}

// changePIN asks for a new PIN twice. forced is the first PIN of a mailbox
// that has none: it cannot be skipped, and giving up ends the call.
func (a *Access) changePIN(first []Item, forced bool) []Action {
	a.pinTries = 0
	return a.askNewPIN(first, forced)
}

func (a *Access) askNewPIN(first []Item, forced bool) []Action {
	a.newPIN = ""
	var cancel func(context.Context) []Action
	if !forced {
		cancel = func(context.Context) []Action { return a.mainMenu(nil) }
	}
	return a.collect("new-pin", first, []Item{Prompt("enter-new-pin")}, func(ctx context.Context, pin string) []Action {
		if len(pin) < a.cfg.PINMinLen || len(pin) > a.cfg.PINMaxLen {
			return a.pinRetry(a.refused(RuleLength), forced)
		}
		a.newPIN = pin
		return a.collect("new-pin-again", nil, []Item{Prompt("enter-pin-again")}, func(ctx context.Context, again string) []Action {
			return a.pinConfirmed(ctx, again, forced)
		}, cancel)
	}, cancel)
}

func (a *Access) pinConfirmed(ctx context.Context, again string, forced bool) []Action {
	if again != a.newPIN {
		return a.pinRetry([]Item{Prompt("pins-do-not-match")}, forced)
	}
	err := a.st.ChangePIN(ctx, a.ext, a.newPIN)
	a.newPIN = ""
	var rej *PINRejectedError
	switch {
	case errors.As(err, &rej):
		return a.pinRetry(a.refused(rej.Rule), forced)
	case err != nil:
		return a.fail(fmt.Errorf("change pin of %s: %w", a.ext, err))
	}
	changed := []Item{Prompt("pin-changed")}
	if forced {
		return a.welcome(ctx, changed)
	}
	return a.mainMenu(changed)
}

// pinRetry asks for the new PIN again after why, up to maxMisses times.
func (a *Access) pinRetry(why []Item, forced bool) []Action {
	a.pinTries++
	if a.pinTries >= maxMisses {
		if forced {
			return a.end(cat(why, []Item{Prompt("goodbye")})...)
		}
		return a.mainMenu(why)
	}
	return a.askNewPIN(why, forced)
}

// refused says why a PIN is not allowed: its length, or what to avoid.
func (a *Access) refused(rule string) []Item {
	length := cat([]Item{Prompt("pin-length-is")}, promptItems(prompts.Number(a.cfg.PINMinLen)...),
		[]Item{Prompt("to")}, promptItems(prompts.Number(a.cfg.PINMaxLen)...), []Item{Prompt("digits")})
	hint := []Item{Prompt("pin-hint")}
	out := []Item{Prompt("pin-not-allowed")}
	switch rule {
	case RuleLength, RuleDigits:
		return cat(out, length)
	case RuleSequential, RuleRepeated, RulePersonal:
		return cat(out, hint)
	}
	return cat(out, length, hint)
}
