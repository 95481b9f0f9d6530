package ivr

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	mainOpts  = "main-listen main-greetings main-name main-pin main-repeat main-directory"
	askPIN    = "ask: welcome enter-pin | wait 5s"
	mainMenu  = "ask: you-have two new-messages and one saved-message " + mainOpts + " | wait 5s"
	mainAgain = "ask: " + mainOpts + " | wait 5s"
	newOpts   = "msg-replay msg-envelope msg-next msg-delete msg-save to-main-menu"
	savedOpts = "msg-replay msg-envelope msg-next msg-delete to-main-menu"
	bye       = "say: goodbye | hangup"
	failed    = "say: service-unavailable goodbye | hangup"
	locked    = "say: too-many-attempts mailbox-locked goodbye | hangup"

	// The messages of mailbox1001, oldest first: two new, one saved.
	msg102    = "first-new-message ... @msg-102"
	msg101    = "next-message ... @msg-101"
	msg103    = "first-saved-message ... @msg-103"
	when102   = "received yesterday at five thirty pm"
	from102   = "from unknown-caller"
	when101   = "received today at nine oclock am"
	from101   = "from one four one five five five five zero one two three"
	when103   = "received february twentieth at eight oh five am"
	from103   = "from one zero zero two"
	greetOpts = "greet-record greet-choose greet-listen to-main-menu"
	review    = "review-keep review-listen review-rerecord to-main-menu"
	recGreet  = "say: record-greeting | say: BEEP | record 3m0s/5s/#"
	newPIN    = "ask: enter-new-pin | wait 5s"
	pinAgain  = "ask: enter-pin-again | wait 5s"
)

// mailbox1001 is Ada's mailbox, PIN 1357, in testZone, with two new
// messages (102 yesterday at 17:30 from nobody known, 101 today at 9:00
// from +14155550123) and one saved (103, 20 February at 8:05 from 1002).
func mailbox1001(f *fakeStore) *fakeBox {
	b := f.add("1001", "1357")
	b.box.Location = testZone
	f.message("1001", FolderNew, "+14155550123", testNow.Add(-time.Hour))
	f.message("1001", FolderNew, "", time.Date(2026, time.March, 4, 17, 30, 0, 0, testZone))
	f.message("1001", FolderSaved, "1002", time.Date(2026, time.February, 20, 8, 5, 0, 0, testZone))
	return b
}

// login is *97 with the right PIN, to the main menu.
var login = []step{{start, askPIN}, {keys("1357#"), mainMenu}}

func steps(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type accessCase struct {
	name  string
	setup func(f *fakeStore)
	cfg   func(c *AccessConfig)
	steps []step
	check func(t *testing.T, f *fakeStore, a *Access)
	// wantErr: the call ended on an error.
	wantErr bool
}

func runAccess(t *testing.T, tests []accessCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			mailbox1001(f)
			if tt.setup != nil {
				tt.setup(f)
			}
			cfg := AccessConfig{Extension: "1001", Now: testNow}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a := NewAccess(f, cfg)
			talk(t, a, tt.steps)
			if (a.Err() != nil) != tt.wantErr {
				t.Errorf("err %v, want an error: %v", a.Err(), tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, f, a)
			}
		})
	}
}

func TestAccessLogin(t *testing.T) {
	runAccess(t, []accessCase{
		{
			name:  "own phone, right PIN, then the directory",
			setup: func(f *fakeStore) { f.boxes["1001"].failures = 2 },
			steps: steps(login, []step{{keys("#"), "transfer directory"}}),
			check: func(t *testing.T, f *fakeStore, a *Access) {
				if a.Extension() != "1001" || f.boxes["1001"].failures != 0 || !a.Done() {
					t.Errorf("extension %q, failures %d", a.Extension(), f.boxes["1001"].failures)
				}
			},
		},
		{
			name: "a PIN ends after a pause too",
			steps: []step{
				{start, askPIN},
				{keys("1"), "wait 4s"},
				{keys("357"), "wait 4s"},
				{timeout, mainMenu},
			},
		},
		{
			name: "keys A to D are ignored in an entry",
			steps: []step{
				{start, askPIN},
				{keys("A"), "wait 5s"},
				{keys("13B"), "wait 4s"},
				{keys("57#"), mainMenu},
			},
		},
		{
			name: "* starts the PIN over",
			steps: []step{
				{start, askPIN},
				{keys("12*"), "ask: enter-pin | wait 5s"},
				{keys("1357#"), mainMenu},
			},
		},
		{
			name: "no PIN entered: asked once more, then goodbye",
			steps: []step{
				{start, askPIN},
				{timeout, "ask: enter-pin | wait 5s"},
				{timeout, bye},
			},
		},
		{
			name: "three wrong PINs lock the mailbox",
			steps: []step{
				{start, askPIN},
				{keys("1111#"), "ask: login-incorrect enter-pin | wait 5s"},
				{keys("#"), "ask: login-incorrect enter-pin | wait 5s"},
				{keys("7531#"), locked},
			},
			check: func(t *testing.T, f *fakeStore, a *Access) {
				b := f.boxes["1001"]
				if b.failures != 3 || !b.box.LockedUntil.Equal(testNow.Add(DefaultLockFor)) || a.Extension() != "" {
					t.Errorf("failures %d, locked until %v", b.failures, b.box.LockedUntil)
				}
			},
		},
		{
			name:  "failures from earlier calls count",
			setup: func(f *fakeStore) { f.boxes["1001"].failures = 2 },
			cfg:   func(c *AccessConfig) { c.LockFor = time.Hour },
			steps: []step{
				{start, askPIN},
				{keys("2222#"), locked},
			},
			check: func(t *testing.T, f *fakeStore, a *Access) {
				if !f.boxes["1001"].box.LockedUntil.Equal(testNow.Add(time.Hour)) {
					t.Errorf("locked until %v", f.boxes["1001"].box.LockedUntil)
				}
			},
		},
		{
			name:  "a locked mailbox does not ask for the PIN",
			setup: func(f *fakeStore) { f.boxes["1001"].box.LockedUntil = testNow.Add(time.Minute) },
			steps: []step{{start, "say: mailbox-locked goodbye | hangup"}},
		},
		{
			name:  "a lock that ran out is no lock",
			setup: func(f *fakeStore) { f.boxes["1001"].box.LockedUntil = testNow.Add(-time.Minute) },
			steps: login,
		},
		{
			name:  "no such user",
			cfg:   func(c *AccessConfig) { c.Extension = "1009" },
			steps: []step{{start, "say: mailbox-unavailable goodbye | hangup"}},
		},
		{
			name:  "voicemail disabled",
			setup: func(f *fakeStore) { f.boxes["1001"].box.Enabled = false },
			steps: []step{{start, "say: mailbox-unavailable goodbye | hangup"}},
		},
		{
			name: "any phone: mailbox number, then PIN",
			cfg:  func(c *AccessConfig) { c.Extension = "" },
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("1001#"), "ask: enter-pin | wait 5s"},
				{keys("1357#"), mainMenu},
			},
			check: func(t *testing.T, f *fakeStore, a *Access) {
				if a.Extension() != "1001" {
					t.Errorf("extension %q", a.Extension())
				}
			},
		},
		{
			name: "any phone: a wrong PIN asks for the mailbox again",
			cfg:  func(c *AccessConfig) { c.Extension = "" },
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("1001#"), "ask: enter-pin | wait 5s"},
				{keys("1000#"), "ask: login-incorrect enter-mailbox | wait 5s"},
				{keys("1001#"), "ask: enter-pin | wait 5s"},
				{keys("1357#"), mainMenu},
			},
		},
		{
			name: "any phone: an unknown mailbox is refused like a wrong PIN, and counted",
			cfg:  func(c *AccessConfig) { c.Extension = "" },
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("9999#"), "ask: enter-pin | wait 5s"},
				{keys("1357#"), "ask: login-incorrect enter-mailbox | wait 5s"},
				{keys("1001#"), "ask: enter-pin | wait 5s"},
				{keys("0000#"), "ask: login-incorrect enter-mailbox | wait 5s"},
				{keys("8888#"), "ask: enter-pin | wait 5s"},
				{keys("1#"), locked},
			},
			check: func(t *testing.T, f *fakeStore, a *Access) {
				// The unknown mailboxes' PINs were checked all the same,
				// and only the real one counted a failure in the store.
				if !slices.Equal(f.verified, []string{"9999", "1001", "8888"}) || f.boxes["1001"].failures != 1 {
					t.Errorf("verified %v, failures %d", f.verified, f.boxes["1001"].failures)
				}
			},
		},
		{
			name: "any phone: a mailbox without a PIN cannot be reached",
			cfg:  func(c *AccessConfig) { c.Extension = "" },
			setup: func(f *fakeStore) {
				f.add("1002", "")
				f.add("1003", "2468").box.Enabled = false
			},
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("1002#"), "ask: enter-pin | wait 5s"},
				{keys("#"), "ask: login-incorrect enter-mailbox | wait 5s"},
				{keys("1003#"), "ask: enter-pin | wait 5s"},
				{keys("2468#"), "ask: login-incorrect enter-mailbox | wait 5s"},
			},
		},
		{
			name:  "any phone: a locked mailbox says so after its number",
			cfg:   func(c *AccessConfig) { c.Extension = "" },
			setup: func(f *fakeStore) { f.boxes["1001"].box.LockedUntil = testNow.Add(time.Minute) },
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("1001#"), "say: mailbox-locked goodbye | hangup"},
			},
		},
		{
			name: "any phone: empty mailbox numbers",
			cfg:  func(c *AccessConfig) { c.Extension = "" },
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("#"), "ask: enter-mailbox | wait 5s"},
				{keys("#"), "ask: enter-mailbox | wait 5s"},
				{keys("#"), bye},
			},
		},
		{
			name: "a long entry ends by itself",
			cfg:  func(c *AccessConfig) { c.Extension = "" },
			steps: []step{
				{start, "ask: welcome enter-mailbox | wait 5s"},
				{keys("1234567890123456789"), "wait 4s"},
				{keys("0"), "ask: enter-pin | wait 5s"},
			},
		},
		{
			name:  "own phone without a PIN chooses one first",
			setup: func(f *fakeStore) { f.boxes["1001"].pin = "" },
			steps: []step{
				{start, "ask: welcome choose-pin enter-new-pin | wait 5s"},
				{keys("*"), newPIN},
				{keys("2468#"), pinAgain},
				{keys("*"), pinAgain},
				{keys("2468#"), "ask: pin-changed you-have two new-messages and one saved-message " + mainOpts + " | wait 5s"},
			},
			check: func(t *testing.T, f *fakeStore, a *Access) {
				if f.boxes["1001"].pin != "2468" || a.Extension() != "1001" {
					t.Errorf("pin %q", f.boxes["1001"].pin)
				}
			},
		},
		{
			name:  "choosing a first PIN cannot be given up: three failures end the call",
			setup: func(f *fakeStore) { f.boxes["1001"].pin = "" },
			steps: []step{
				{start, "ask: welcome choose-pin enter-new-pin | wait 5s"},
				{keys("12#"), "ask: pin-not-allowed pin-length-is four to ten digits enter-new-pin | wait 5s"},
				{keys("1111#"), pinAgain},
				{keys("1111#"), "ask: pin-not-allowed pin-hint enter-new-pin | wait 5s"},
				{keys("2468#"), pinAgain},
				{keys("2469#"), "say: pins-do-not-match goodbye | hangup"},
			},
			check: func(t *testing.T, f *fakeStore, a *Access) {
				if f.boxes["1001"].pin != "" {
					t.Errorf("pin %q", f.boxes["1001"].pin)
				}
			},
		},
		{
			name:    "store error: the mailbox",
			setup:   func(f *fakeStore) { f.fail["Mailbox"] = errStore },
			steps:   []step{{start, failed}},
			wantErr: true,
		},
		{
			name:    "store error: the mailbox of a *98 number",
			cfg:     func(c *AccessConfig) { c.Extension = "" },
			setup:   func(f *fakeStore) { f.fail["Mailbox"] = errStore },
			steps:   []step{{start, "ask: welcome enter-mailbox | wait 5s"}, {keys("1001#"), failed}},
			wantErr: true,
		},
		{
			name:    "store error: the counts after login",
			setup:   func(f *fakeStore) { f.failFrom["Mailbox"] = 2 },
			steps:   []step{{start, askPIN}, {keys("1357#"), failed}},
			wantErr: true,
		},
		{
			name:    "store error: verifying",
			setup:   func(f *fakeStore) { f.fail["VerifyPIN"] = errStore },
			steps:   []step{{start, askPIN}, {keys("1357#"), failed}},
			wantErr: true,
		},
		{
			name:    "store error: clearing failures",
			setup:   func(f *fakeStore) { f.fail["PINSucceeded"] = errStore },
			steps:   []step{{start, askPIN}, {keys("1357#"), failed}},
			wantErr: true,
		},
		{
			name:    "store error: counting a failure",
			setup:   func(f *fakeStore) { f.fail["PINFailed"] = errStore },
			steps:   []step{{start, askPIN}, {keys("1358#"), failed}},
			wantErr: true,
		},
	})
}

func TestAccessMainMenu(t *testing.T) {
	runAccess(t, []accessCase{
		{
			name: "invalid keys: three in a row end the call",
			steps: steps(login, []step{
				{keys("2"), "ask: invalid-option " + mainOpts + " | wait 5s"},
				{keys("8"), "ask: invalid-option " + mainOpts + " | wait 5s"},
				{keys("0"), bye},
			}),
		},
		{
			name: "a valid key resets the count",
			steps: steps(login, []step{
				{keys("2"), "ask: invalid-option " + mainOpts + " | wait 5s"},
				{timeout, mainAgain},
				{keys("*"), mainAgain},
				{keys("2"), "ask: invalid-option " + mainOpts + " | wait 5s"},
				{keys("8"), "ask: invalid-option " + mainOpts + " | wait 5s"},
				{keys("#"), "transfer directory"},
			}),
		},
		{
			name: "no key: the menu once more, then goodbye",
			steps: steps(login, []step{
				{timeout, mainAgain},
				{timeout, bye},
			}),
		},
		{
			name:  "an empty mailbox",
			setup: func(f *fakeStore) { f.boxes["1001"].msgs = nil },
			steps: []step{
				{start, askPIN},
				{keys("1357#"), "ask: you-have no new-messages and no saved-messages " + mainOpts + " | wait 5s"},
				{keys("1"), "ask: you-have no messages " + mainOpts + " | wait 5s"},
			},
		},
		{
			name: "one of each",
			setup: func(f *fakeStore) {
				b := f.boxes["1001"]
				b.msgs = b.msgs[1:]
			},
			steps: []step{
				{start, askPIN},
				{keys("1357#"), "ask: you-have one new-message and one saved-message " + mainOpts + " | wait 5s"},
			},
		},
		{
			name:  "an almost full mailbox says so",
			setup: func(f *fakeStore) { f.boxes["1001"].box.UsedBytes = 95 << 20 },
			steps: []step{
				{start, askPIN},
				{keys("1357#"), "ask: you-have two new-messages and one saved-message mailbox-almost-full " + mainOpts + " | wait 5s"},
			},
		},
		{
			name:  "custom timeouts",
			cfg:   func(c *AccessConfig) { c.MenuTimeout, c.DigitTimeout = 7*time.Second, 2*time.Second },
			steps: []step{{start, "ask: welcome enter-pin | wait 7s"}, {keys("1"), "wait 2s"}},
		},
	})
}

func TestAccessListen(t *testing.T) {
	announce := func(f *fakeStore) {
		f.boxes["1001"].box.AnnounceTime = true
		f.boxes["1001"].box.AnnounceCallerID = true
	}
	folders := func(want map[int64]string) func(*testing.T, *fakeStore, *Access) {
		return func(t *testing.T, f *fakeStore, _ *Access) {
			got := map[int64]string{}
			for _, m := range f.boxes["1001"].msgs {
				got[m.ID] = m.Folder
			}
			if len(got) != len(want) {
				t.Fatalf("messages %v, want %v", got, want)
			}
			for id, folder := range want {
				if got[id] != folder {
					t.Errorf("messages %v, want %v", got, want)
				}
			}
		}
	}
	runAccess(t, []accessCase{
		{
			name: "new then saved, oldest first; save, delete, next",
			steps: steps(login, []step{
				{keys("1"), "ask: " + msg102 + " " + newOpts + " | wait 5s"},
				{keys("9"), "ask: message-saved " + msg101 + " " + newOpts + " | wait 5s"},
				{keys("7"), "ask: message-deleted " + msg103 + " " + savedOpts + " | wait 5s"},
				{keys("6"), "ask: end-of-messages " + mainOpts + " | wait 5s"},
				{keys("1"), "ask: " + msg103 + " " + savedOpts + " | wait 5s"},
			}),
			check: folders(map[int64]string{102: FolderSaved, 103: FolderSaved}),
		},
		{
			name:  "newest first, with time and caller",
			setup: func(f *fakeStore) { announce(f); f.boxes["1001"].box.SortLatestFirst = true },
			steps: steps(login, []step{
				{keys("1"), "ask: first-new-message " + when101 + " " + from101 + " ... @msg-101 " + newOpts + " | wait 5s"},
				{keys("6"), "ask: next-message " + when102 + " " + from102 + " ... @msg-102 " + newOpts + " | wait 5s"},
				{keys("6"), "ask: first-saved-message " + when103 + " " + from103 + " ... @msg-103 " + savedOpts + " | wait 5s"},
				{keys("6"), "ask: end-of-messages " + mainOpts + " | wait 5s"},
			}),
			check: folders(map[int64]string{101: FolderNew, 102: FolderNew, 103: FolderSaved}),
		},
		{
			name:  "time only",
			setup: func(f *fakeStore) { f.boxes["1001"].box.AnnounceTime = true },
			steps: steps(login, []step{
				{keys("1"), "ask: first-new-message " + when102 + " ... @msg-102 " + newOpts + " | wait 5s"},
			}),
		},
		{
			name:  "caller only",
			setup: func(f *fakeStore) { f.boxes["1001"].box.AnnounceCallerID = true },
			steps: steps(login, []step{
				{keys("1"), "ask: first-new-message " + from102 + " ... @msg-102 " + newOpts + " | wait 5s"},
			}),
		},
		{
			name:  "a mailbox without a time zone uses the default one",
			setup: func(f *fakeStore) { f.boxes["1001"].box.Location = nil },
			cfg:   func(c *AccessConfig) { c.Location = time.FixedZone("PST", -8*60*60) },
			steps: steps(login, []step{
				{keys("16"), "ask: " + msg101 + " " + newOpts + " | wait 5s"},
				{keys("5"), "ask: received today at six oclock am " + from101 + " " + newOpts + " | wait 5s"},
			}),
		},
		{
			name: "replay, details, skip to the options, back to the menu",
			steps: steps(login, []step{
				{keys("1"), "ask: " + msg102 + " " + newOpts + " | wait 5s"},
				{keys("4"), "ask: @msg-102 " + newOpts + " | wait 5s"},
				{keys("5"), "ask: " + when102 + " " + from102 + " " + newOpts + " | wait 5s"},
				{keys("#"), "ask: " + newOpts + " | wait 5s"},
				{keys("*"), mainAgain},
			}),
			check: folders(map[int64]string{101: FolderNew, 102: FolderNew, 103: FolderSaved}),
		},
		{
			name: "invalid keys and silence during a message",
			steps: steps(login, []step{
				{keys("1"), "ask: " + msg102 + " " + newOpts + " | wait 5s"},
				{keys("1"), "ask: invalid-option " + newOpts + " | wait 5s"},
				{timeout, "ask: " + newOpts + " | wait 5s"},
				{keys("3"), bye},
			}),
		},
		{
			name: "silence twice during a message",
			steps: steps(login, []step{
				{keys("1"), "ask: " + msg102 + " " + newOpts + " | wait 5s"},
				{timeout, "ask: " + newOpts + " | wait 5s"},
				{timeout, bye},
			}),
		},
		{
			name: "saving a saved message keeps it where it is",
			steps: steps(login, []step{
				{keys("166"), "ask: " + msg103 + " " + savedOpts + " | wait 5s"},
				{keys("9"), "ask: message-saved end-of-messages " + mainOpts + " | wait 5s"},
			}),
			check: func(t *testing.T, f *fakeStore, _ *Access) {
				if f.calls["MoveMessage"] != 0 {
					t.Errorf("%d moves", f.calls["MoveMessage"])
				}
			},
		},
		{
			name: "a message deleted meanwhile",
			steps: steps(login, []step{
				{keys("1"), "ask: " + msg102 + " " + newOpts + " | wait 5s"},
			}),
			check: func(t *testing.T, f *fakeStore, a *Access) {
				f.boxes["1001"].msgs = nil
				ctx := context.Background()
				if got := render(a.Handle(ctx, Digit{Key: '9'})); got != "ask: message-deleted "+msg101+" "+newOpts+" | wait 5s" {
					t.Errorf("save: %s", got)
				}
				if got := render(a.Handle(ctx, Digit{Key: '7'})); got != "ask: message-deleted "+msg103+" "+savedOpts+" | wait 5s" {
					t.Errorf("delete: %s", got)
				}
			},
		},
		{
			name:    "store error: listing",
			setup:   func(f *fakeStore) { f.fail["Messages"] = errStore },
			steps:   steps(login, []step{{keys("1"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: saving",
			setup:   func(f *fakeStore) { f.fail["MoveMessage"] = errStore },
			steps:   steps(login, []step{{keys("19"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: deleting",
			setup:   func(f *fakeStore) { f.fail["DeleteMessage"] = errStore },
			steps:   steps(login, []step{{keys("17"), failed}}),
			wantErr: true,
		},
	})
}

func TestAccessGreetings(t *testing.T) {
	active := func(want string) func(*testing.T, *fakeStore, *Access) {
		return func(t *testing.T, f *fakeStore, _ *Access) {
			got := ""
			for _, g := range f.boxes["1001"].greets {
				if g.Active {
					got = g.AudioKey
				}
			}
			if got != want {
				t.Errorf("active greeting %q, want %q", got, want)
			}
		}
	}
	two := func(f *fakeStore) { f.greeting("1001", false); f.greeting("1001", true) } // 104, 105
	runAccess(t, []accessCase{
		{
			name: "record a first greeting: listen, record again, keep",
			steps: steps(login, []step{
				{keys("3"), "ask: using-default-greeting greet-record greet-listen to-main-menu | wait 5s"},
				{keys("2"), "ask: invalid-option greet-record greet-listen to-main-menu | wait 5s"},
				{keys("3"), "ask: " + defaultGreeting1001 + " greet-record greet-listen to-main-menu | wait 5s"},
				{keys("1"), recGreet},
				{recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("2"), "ask: rec:g1 " + review + " | wait 5s"},
				{keys("3"), "discard g1 | " + recGreet},
				{recorded("g2", 6*time.Second, StopSilence), "ask: " + review + " | wait 5s"},
				{keys("1"), "ask: greeting-saved greeting one is-now-active " + greetOpts + " | wait 5s"},
				{keys("3"), "ask: @g2 " + greetOpts + " | wait 5s"},
				{keys("*"), mainAgain},
			}),
			check: func(t *testing.T, f *fakeStore, a *Access) {
				active("g2")(t, f, a)
				if !slices.Equal(f.taken, []string{"g2"}) {
					t.Errorf("taken %v", f.taken)
				}
			},
		},
		{
			name:  "a new greeting replaces the active one",
			setup: two,
			steps: steps(login, []step{
				{keys("3"), "ask: active-greeting-is greeting two " + greetOpts + " | wait 5s"},
				{keys("1"), recGreet},
				{recorded("g1", 8*time.Second, StopMaxDuration), "ask: " + review + " | wait 5s"},
				{keys("1"), "ask: greeting-saved greeting three is-now-active " + greetOpts + " | wait 5s"},
			}),
			check: active("g1"),
		},
		{
			name:  "choose the active greeting",
			setup: two,
			steps: steps(login, []step{
				{keys("3"), "ask: active-greeting-is greeting two " + greetOpts + " | wait 5s"},
				{keys("3"), "ask: @greet-105 " + greetOpts + " | wait 5s"},
				{keys("2"), "ask: enter-greeting-number | wait 5s"},
				{keys("1#"), "ask: greeting one is-now-active " + greetOpts + " | wait 5s"},
				{keys("3"), "ask: @greet-104 " + greetOpts + " | wait 5s"},
				{keys("2"), "ask: enter-greeting-number | wait 5s"},
				{keys("7#"), "ask: no-such-greeting " + greetOpts + " | wait 5s"},
				{keys("2"), "ask: enter-greeting-number | wait 5s"},
				{keys("#"), "ask: " + greetOpts + " | wait 5s"},
				{keys("2"), "ask: enter-greeting-number | wait 5s"},
				{keys("1*"), "ask: " + greetOpts + " | wait 5s"},
				{keys("2"), "ask: enter-greeting-number | wait 5s"},
				{keys("99999999999999999999"), "ask: no-such-greeting " + greetOpts + " | wait 5s"},
			}),
			check: active("greet-104"),
		},
		{
			name: "invalid keys in the greetings menu",
			steps: steps(login, []step{
				{keys("3"), "ask: using-default-greeting greet-record greet-listen to-main-menu | wait 5s"},
				{keys("9"), "ask: invalid-option greet-record greet-listen to-main-menu | wait 5s"},
				{keys("#"), "ask: invalid-option greet-record greet-listen to-main-menu | wait 5s"},
				{keys("0"), bye},
			}),
		},
		{
			name:    "a key while recording is a runner error",
			steps:   steps(login, []step{{keys("31"), recGreet}, {timeout, failed}}),
			wantErr: true,
		},
		{
			name:  "back to the default greeting",
			setup: two,
			steps: steps(login, []step{
				{keys("3"), "ask: active-greeting-is greeting two " + greetOpts + " | wait 5s"},
				{keys("2"), "ask: enter-greeting-number | wait 5s"},
				{keys("0#"), "ask: default-greeting is-now-active " + greetOpts + " | wait 5s"},
				{keys("3"), "ask: " + defaultGreeting1001 + " " + greetOpts + " | wait 5s"},
			}),
			check: active(""),
		},
		{
			name: "a greeting too short",
			steps: steps(login, []step{
				{keys("31"), recGreet},
				{recorded("g1", 500*time.Millisecond, StopKey), "discard g1 | ask: recording-too-short greet-record greet-listen to-main-menu | wait 5s"},
				{keys("1"), recGreet},
				{[]Event{RecordDone{Reason: StopSilence, Recording: "g2", Duration: 5 * time.Second, Silent: true}},
					"discard g2 | ask: recording-too-short greet-record greet-listen to-main-menu | wait 5s"},
				{keys("1"), recGreet},
				{recorded("", 0, StopKey), "ask: recording-too-short greet-record greet-listen to-main-menu | wait 5s"},
			}),
			check: active(""),
		},
		{
			name: "* while reviewing drops the recording",
			steps: steps(login, []step{
				{keys("31"), recGreet},
				{recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("8"), "ask: invalid-option " + review + " | wait 5s"},
				{keys("*"), "discard g1 | " + mainAgain},
			}),
			check: active(""),
		},
		{
			name: "silence while reviewing drops the recording",
			steps: steps(login, []step{
				{keys("31"), recGreet},
				{recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{timeout, "ask: " + review + " | wait 5s"},
				{timeout, "discard g1 | " + bye},
			}),
		},
		{
			name: "custom recording limits",
			cfg: func(c *AccessConfig) {
				c.MaxGreeting, c.SilenceTimeout, c.MinRecording = time.Minute, -1, 3*time.Second
			},
			steps: steps(login, []step{
				{keys("31"), "say: record-greeting | say: BEEP | record 1m0s/0s/#"},
				{recorded("g1", 2*time.Second, StopKey), "discard g1 | ask: recording-too-short greet-record greet-listen to-main-menu | wait 5s"},
			}),
		},
		{
			name:  "a full mailbox keeps no greeting",
			setup: func(f *fakeStore) { f.fail["AddGreeting"] = ErrMailboxFull },
			steps: steps(login, []step{
				{keys("31"), recGreet},
				{recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("1"), "ask: mailbox-full greet-record greet-listen to-main-menu | wait 5s"},
			}),
			check: func(t *testing.T, f *fakeStore, _ *Access) {
				if !slices.Equal(f.taken, []string{"g1"}) {
					t.Errorf("taken %v", f.taken)
				}
			},
		},
		{
			name:    "store error: adding",
			setup:   func(f *fakeStore) { f.fail["AddGreeting"] = errStore },
			steps:   steps(login, []step{{keys("31"), recGreet}, {recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"}, {keys("1"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: activating the new greeting",
			setup:   func(f *fakeStore) { f.fail["SetActiveGreeting"] = errStore },
			steps:   steps(login, []step{{keys("31"), recGreet}, {recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"}, {keys("1"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: listing after adding",
			setup:   func(f *fakeStore) { f.failFrom["Greetings"] = 2 },
			steps:   steps(login, []step{{keys("31"), recGreet}, {recorded("g1", 8*time.Second, StopKey), "ask: " + review + " | wait 5s"}, {keys("1"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: choosing",
			setup:   func(f *fakeStore) { two(f); f.fail["SetActiveGreeting"] = errStore },
			steps:   steps(login, []step{{keys("32"), "ask: enter-greeting-number | wait 5s"}, {keys("1#"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: listing",
			setup:   func(f *fakeStore) { f.fail["Greetings"] = errStore },
			steps:   steps(login, []step{{keys("3"), failed}}),
			wantErr: true,
		},
		{
			name:    "the recording fails",
			steps:   steps(login, []step{{keys("31"), recGreet}, {recorded("g1", 8*time.Second, StopError), "discard g1 | " + failed}}),
			wantErr: true,
		},
	})
}

func TestAccessName(t *testing.T) {
	recName := "say: BEEP | record 10s/5s/#"
	runAccess(t, []accessCase{
		{
			name: "record a first name",
			steps: steps(login, []step{
				{keys("4"), "say: no-name-recorded record-name | " + recName},
				{recorded("n1", 2*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("2"), "ask: rec:n1 " + review + " | wait 5s"},
				{keys("1"), "ask: name-recorded " + mainOpts + " | wait 5s"},
				{keys("4"), "say: your-name-is @n1 record-name | " + recName},
			}),
			check: func(t *testing.T, f *fakeStore, _ *Access) {
				if f.boxes["1001"].box.NameKey != "n1" {
					t.Errorf("name %q", f.boxes["1001"].box.NameKey)
				}
			},
		},
		{
			name:  "record it again",
			setup: func(f *fakeStore) { f.boxes["1001"].box.NameKey = "old" },
			cfg:   func(c *AccessConfig) { c.MaxName = 5 * time.Second },
			steps: steps(login, []step{
				{keys("4"), "say: your-name-is @old record-name | say: BEEP | record 5s/5s/#"},
				{recorded("n1", 2*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("3"), "discard n1 | say: record-name | say: BEEP | record 5s/5s/#"},
				{recorded("n2", 2*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("1"), "ask: name-recorded " + mainOpts + " | wait 5s"},
			}),
			check: func(t *testing.T, f *fakeStore, _ *Access) {
				if f.boxes["1001"].box.NameKey != "n2" || !slices.Equal(f.taken, []string{"n2"}) {
					t.Errorf("name %q, taken %v", f.boxes["1001"].box.NameKey, f.taken)
				}
			},
		},
		{
			name: "a name too short",
			steps: steps(login, []step{
				{keys("4"), "say: no-name-recorded record-name | " + recName},
				{recorded("n1", 200*time.Millisecond, StopKey), "discard n1 | ask: recording-too-short " + mainOpts + " | wait 5s"},
			}),
		},
		{
			name:  "a full mailbox keeps no name",
			setup: func(f *fakeStore) { f.fail["SetName"] = ErrMailboxFull },
			steps: steps(login, []step{
				{keys("4"), "say: no-name-recorded record-name | " + recName},
				{recorded("n1", 2*time.Second, StopKey), "ask: " + review + " | wait 5s"},
				{keys("1"), "ask: mailbox-full " + mainOpts + " | wait 5s"},
			}),
		},
		{
			name:    "store error: setting the name",
			setup:   func(f *fakeStore) { f.fail["SetName"] = errStore },
			steps:   steps(login, []step{{keys("4"), "say: no-name-recorded record-name | " + recName}, {recorded("n1", 2*time.Second, StopKey), "ask: " + review + " | wait 5s"}, {keys("1"), failed}}),
			wantErr: true,
		},
		{
			name:    "store error: reading the name",
			setup:   func(f *fakeStore) { f.failFrom["Mailbox"] = 3 },
			steps:   steps(login, []step{{keys("4"), failed}}),
			wantErr: true,
		},
	})
}

func TestAccessChangePIN(t *testing.T) {
	pin := func(want string) func(*testing.T, *fakeStore, *Access) {
		return func(t *testing.T, f *fakeStore, _ *Access) {
			if got := f.boxes["1001"].pin; got != want {
				t.Errorf("pin %q, want %q", got, want)
			}
		}
	}
	runAccess(t, []accessCase{
		{
			name: "changed",
			steps: steps(login, []step{
				{keys("5"), newPIN},
				{keys("2468#"), pinAgain},
				{keys("2468#"), "ask: pin-changed " + mainOpts + " | wait 5s"},
			}),
			check: pin("2468"),
		},
		{
			name: "the second entry differs",
			steps: steps(login, []step{
				{keys("5"), newPIN},
				{keys("2468#"), pinAgain},
				{keys("2486#"), "ask: pins-do-not-match enter-new-pin | wait 5s"},
				{keys("2468#"), pinAgain},
				{keys("2468"), "wait 4s"},
				{timeout, "ask: pin-changed " + mainOpts + " | wait 5s"},
			}),
			check: pin("2468"),
		},
		{
			name: "too short or too long, refused before asking again",
			steps: steps(login, []step{
				{keys("5"), newPIN},
				{keys("246#"), "ask: pin-not-allowed pin-length-is four to ten digits enter-new-pin | wait 5s"},
				{keys("24680246802#"), "ask: pin-not-allowed pin-length-is four to ten digits enter-new-pin | wait 5s"},
				{keys("#"), "ask: pin-not-allowed pin-length-is four to ten digits " + mainOpts + " | wait 5s"},
			}),
			check: pin("1357"),
		},
		{
			name: "refused by the policy",
			steps: steps(login, []step{
				{keys("5"), newPIN},
				{keys("4321#4321#"), "ask: pin-not-allowed pin-hint enter-new-pin | wait 5s"},
				{keys("1001#1001#"), "ask: pin-not-allowed pin-hint enter-new-pin | wait 5s"},
				{keys("1357#1357#"), "ask: pin-not-allowed pin-length-is four to ten digits pin-hint " + mainOpts + " | wait 5s"},
				{keys("5"), newPIN},
				{keys("7777#7777#"), "ask: pin-not-allowed pin-hint enter-new-pin | wait 5s"},
				{keys("97531#97531#"), "ask: pin-changed " + mainOpts + " | wait 5s"},
			}),
			check: pin("97531"),
		},
		{
			name:  "the policy's lengths are read out",
			cfg:   func(c *AccessConfig) { c.PINMinLen, c.PINMaxLen = 6, 8 },
			setup: func(f *fakeStore) { f.fail["ChangePIN"] = &PINRejectedError{Rule: RuleDigits} },
			steps: steps(login, []step{
				{keys("5"), newPIN},
				{keys("2468#"), "ask: pin-not-allowed pin-length-is six to eight digits enter-new-pin | wait 5s"},
				{keys("246813#246813#"), "ask: pin-not-allowed pin-length-is six to eight digits enter-new-pin | wait 5s"},
			}),
		},
		{
			name: "* gives up",
			steps: steps(login, []step{
				{keys("5*"), mainAgain},
				{keys("5"), newPIN},
				{keys("2468#"), pinAgain},
				{keys("24*"), mainAgain},
			}),
			check: pin("1357"),
		},
		{
			name: "silence gives up",
			steps: steps(login, []step{
				{keys("5"), newPIN},
				{timeout, "ask: enter-new-pin | wait 5s"},
				{timeout, bye},
			}),
			check: pin("1357"),
		},
		{
			name:    "store error",
			setup:   func(f *fakeStore) { f.fail["ChangePIN"] = errStore },
			steps:   steps(login, []step{{keys("5"), newPIN}, {keys("2468#2468#"), failed}}),
			wantErr: true,
		},
	})
}

// TestAccessHangUp hangs up at every stage: the call ends with no media,
// and a recording under review is discarded.
func TestAccessHangUp(t *testing.T) {
	starNine := func(c *AccessConfig) { c.Extension = "" }
	for _, tt := range []struct {
		name   string
		cfg    func(c *AccessConfig)
		before []Event
		end    []Event
		want   string
	}{
		{"asking the mailbox", starNine, nil, hangup, ""},
		{"typing the mailbox", starNine, keys("10"), hangup, ""},
		{"asking the PIN", nil, nil, hangup, ""},
		{"typing the PIN", nil, keys("13"), hangup, ""},
		{"main menu", nil, keys("1357#"), hangup, ""},
		{"a message", nil, keys("1357#1"), hangup, ""},
		{"message details", nil, keys("1357#15"), hangup, ""},
		{"greetings menu", nil, keys("1357#3"), hangup, ""},
		{"choosing a greeting", nil, keys("1357#32"), hangup, ""},
		{"the record prompt", nil, keys("1357#31"), hangup, ""},
		{"recording a greeting", nil, keys("1357#31"), recorded("g1", 9*time.Second, StopHangUp), "discard g1"},
		{"recording a short greeting", nil, keys("1357#31"), recorded("g1", time.Millisecond, StopHangUp), "discard g1"},
		{"reviewing a greeting", nil, then(keys("1357#31"), recorded("g1", 9*time.Second, StopKey)), hangup, "discard g1"},
		{"listening to a greeting", nil, then(keys("1357#31"), recorded("g1", 9*time.Second, StopKey), keys("2")), hangup, "discard g1"},
		{"recording a name", nil, keys("1357#4"), recorded("n1", 2*time.Second, StopHangUp), "discard n1"},
		{"reviewing a name", nil, then(keys("1357#4"), recorded("n1", 2*time.Second, StopKey)), hangup, "discard n1"},
		{"entering a new PIN", nil, keys("1357#524"), hangup, ""},
		{"entering it again", nil, keys("1357#52468#"), hangup, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			mailbox1001(f)
			cfg := AccessConfig{Extension: "1001", Now: testNow}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a := NewAccess(f, cfg)
			checkBatch(t, a, a.Start(context.Background()), false)
			for _, ev := range tt.before {
				acts := a.Handle(context.Background(), ev)
				checkBatch(t, a, acts, false)
			}
			talk(t, a, []step{{tt.end, tt.want}})
			if !a.Done() || a.Err() != nil {
				t.Fatalf("done %v, err %v", a.Done(), a.Err())
			}
			if f.boxes["1001"].pin != "1357" || len(f.taken) != 0 {
				t.Errorf("pin %q, taken %v", f.boxes["1001"].pin, f.taken)
			}
		})
	}
}

func TestAccessLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	mailbox1001(f)
	a := NewAccess(f, AccessConfig{Extension: "1001", Now: testNow})
	a.Start(ctx)
	if a.Start(ctx) != nil {
		t.Fatal("second Start answered")
	}
	// A recording the state did not ask for is discarded and ends the call.
	if got := render(a.Handle(ctx, RecordDone{Reason: StopKey, Recording: "x", Duration: time.Second})); got != "discard x | "+failed {
		t.Fatalf("stray recording: %s", got)
	}
	if a.Err() == nil || !strings.Contains(a.Err().Error(), `"pin"`) {
		t.Fatalf("err %v", a.Err())
	}
	if a.Handle(ctx, Digit{Key: '1'}) != nil {
		t.Fatal("answer after the end")
	}

	// A recording in a menu, the same.
	a = NewAccess(f, AccessConfig{Extension: "1001", Now: testNow})
	a.Start(ctx)
	a.Handle(ctx, Digit{Key: '1'})
	a.Handle(ctx, Digit{Key: '3'})
	a.Handle(ctx, Digit{Key: '5'})
	a.Handle(ctx, Digit{Key: '7'})
	if got := render(a.Handle(ctx, Digit{Key: '#'})); got != mainMenu {
		t.Fatalf("login: %s", got)
	}
	if got := render(a.Handle(ctx, RecordDone{Reason: StopKey, Recording: "z", Duration: time.Second})); got != "discard z | "+failed {
		t.Fatalf("stray recording in a menu: %s", got)
	}

	// The same after a hang-up: no media.
	a = NewAccess(f, AccessConfig{Extension: "1001", Now: testNow})
	a.Start(ctx)
	if got := render(a.Handle(ctx, RecordDone{Reason: StopHangUp, Recording: "y"})); got != "discard y" || !a.Done() || a.Err() == nil {
		t.Fatalf("stray recording after hang-up: %s, %v", got, a.Err())
	}
}
