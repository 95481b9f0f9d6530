package ivr

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"switchboard/prompts"
)

// recKind is what a recording made in the mailbox is for.
type recKind uint8

const (
	recGreeting recKind = iota + 1
	recName
)

var reviewOptions = []string{"review-keep", "review-listen", "review-rerecord", "to-main-menu"}

// greetings reads which greeting is active, then the greetings menu.
func (a *Access) greetings(ctx context.Context, first []Item) []Action {
	gs, err := a.st.Greetings(ctx, a.ext)
	if err != nil {
		return a.fail(fmt.Errorf("greetings of %s: %w", a.ext, err))
	}
	a.greets = gs
	intro := []Item{Prompt("using-default-greeting")}
	if n := activeGreeting(gs); n > 0 {
		intro = cat([]Item{Prompt("active-greeting-is")}, greetingNumber(n))
	}
	return a.greetingsMenu(cat(first, intro))
}

// activeGreeting is the number (from 1) of the active greeting; 0 for the
// default one.
func activeGreeting(gs []Greeting) int {
	for i, g := range gs {
		if g.Active {
			return i + 1
		}
	}
	return 0
}

func greetingNumber(n int) []Item {
	return cat([]Item{Prompt("greeting")}, promptItems(prompts.Number(n)...))
}

// greetingsMenu: 1 record, 2 choose (when there is a greeting to choose),
// 3 listen, * main menu.
func (a *Access) greetingsMenu(intro []Item) []Action {
	opts := []string{"greet-record"}
	if len(a.greets) > 0 {
		opts = append(opts, "greet-choose")
	}
	opts = append(opts, "greet-listen", "to-main-menu")
	return a.menu("greetings", intro, opts, a.greetingsKey)
}

func (a *Access) greetingsKey(ctx context.Context, key rune) ([]Action, bool) {
	switch key {
	case '1':
		return a.record(recGreeting, nil), true
	case '2':
		if len(a.greets) == 0 {
			return nil, false
		}
		return a.collect("greeting-number", nil, []Item{Prompt("enter-greeting-number")}, a.greetingChosen,
			func(context.Context) []Action { return a.greetingsMenu(nil) }), true
	case '3':
		items := defaultGreeting(a.ext, a.box, false)
		if n := activeGreeting(a.greets); n > 0 {
			items = []Item{Audio(a.greets[n-1].AudioKey)}
		}
		return a.greetingsMenu(items), true
	case '*':
		return a.mainMenu(nil), true
	}
	return nil, false
}

// greetingChosen makes greeting number digits active; 0 is the default
// greeting, and nothing entered goes back to the menu.
func (a *Access) greetingChosen(ctx context.Context, digits string) []Action {
	if digits == "" {
		return a.greetingsMenu(nil)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > len(a.greets) {
		return a.greetingsMenu([]Item{Prompt("no-such-greeting")})
	}
	var id int64
	said := []Item{Prompt("default-greeting"), Prompt("is-now-active")}
	if n > 0 {
		id = a.greets[n-1].ID
		said = cat(greetingNumber(n), []Item{Prompt("is-now-active")})
	}
	if err := a.st.SetActiveGreeting(ctx, a.ext, id); err != nil {
		return a.fail(fmt.Errorf("activate greeting %d of %s: %w", id, a.ext, err))
	}
	for i := range a.greets {
		a.greets[i].Active = a.greets[i].ID == id
	}
	return a.greetingsMenu(said)
}

// name reads the recorded name, if any, and records a new one.
func (a *Access) name(ctx context.Context) []Action {
	box, err := a.st.Mailbox(ctx, a.ext)
	if err != nil {
		return a.fail(fmt.Errorf("mailbox %s: %w", a.ext, err))
	}
	a.box = box
	first := []Item{Prompt("no-name-recorded")}
	if box.NameKey != "" {
		first = []Item{Prompt("your-name-is"), Audio(box.NameKey)}
	}
	return a.record(recName, first)
}

// record asks for a greeting or a name, beeps and records it.
func (a *Access) record(kind recKind, first []Item) []Action {
	prompt, maxLen := "record-greeting", a.cfg.MaxGreeting
	if kind == recName {
		prompt, maxLen = "record-name", a.cfg.MaxName
	}
	a.set("record", func(ctx context.Context, ev Event) []Action {
		rd, ok := ev.(RecordDone)
		if !ok {
			return a.unexpected(ev)
		}
		var acts []Action
		keep := rd.Recording != "" && rd.Reason != StopError && !rd.Silent && rd.Duration >= a.cfg.MinRecording
		if rd.Recording != "" && (!keep || rd.Reason == StopHangUp) {
			acts = append(acts, Discard{Recording: rd.Recording})
		}
		switch {
		case rd.Reason == StopHangUp:
			return a.gone(acts)
		case rd.Reason == StopError:
			return append(acts, a.fail(fmt.Errorf("record for %s: recording failed", a.ext))...)
		case !keep:
			short := []Item{Prompt("recording-too-short")}
			if kind == recName {
				return append(acts, a.mainMenu(short)...)
			}
			return append(acts, a.greetingsMenu(short)...)
		}
		a.pending, a.pendingDur = rd.Recording, rd.Duration
		return a.review(kind, nil)
	})
	return []Action{
		Play{Items: cat(first, []Item{Prompt(prompt)})},
		Play{Items: []Item{Beep()}},
		Record{MaxDuration: maxLen, SilenceTimeout: a.cfg.SilenceTimeout, StopKeys: "#"},
	}
}

// review offers the recording under review: 1 keep, 2 listen, 3 record
// again, * drop it and go to the main menu.
func (a *Access) review(kind recKind, intro []Item) []Action {
	return a.menu("review", intro, reviewOptions, func(ctx context.Context, key rune) ([]Action, bool) {
		switch key {
		case '1':
			return a.keep(ctx, kind), true
		case '2':
			return a.review(kind, []Item{Recorded(a.pending)}), true
		case '3':
			return append(a.dropPending(nil), a.record(kind, nil)...), true
		case '*':
			return append(a.dropPending(nil), a.mainMenu(nil)...), true
		}
		return nil, false
	})
}

// keep stores the recording under review: a greeting becomes the active
// one, a name replaces the previous one.
func (a *Access) keep(ctx context.Context, kind recKind) []Action {
	rec := a.takePending()
	if kind == recName {
		err := a.st.SetName(ctx, a.ext, rec)
		switch {
		case errors.Is(err, ErrMailboxFull):
			return a.mainMenu([]Item{Prompt("mailbox-full")})
		case err != nil:
			return a.fail(fmt.Errorf("set name of %s: %w", a.ext, err))
		}
		return a.mainMenu([]Item{Prompt("name-recorded")})
	}
	id, err := a.st.AddGreeting(ctx, a.ext, rec)
	switch {
	case errors.Is(err, ErrMailboxFull):
		return a.greetingsMenu([]Item{Prompt("mailbox-full")})
	case err != nil:
		return a.fail(fmt.Errorf("add greeting of %s: %w", a.ext, err))
	}
	if err := a.st.SetActiveGreeting(ctx, a.ext, id); err != nil {
		return a.fail(fmt.Errorf("activate greeting %d of %s: %w", id, a.ext, err))
	}
	gs, err := a.st.Greetings(ctx, a.ext)
	if err != nil {
		return a.fail(fmt.Errorf("greetings of %s: %w", a.ext, err))
	}
	a.greets = gs
	said := []Item{Prompt("greeting-saved")}
	for i, g := range gs {
		if g.ID == id {
			said = cat(said, greetingNumber(i+1), []Item{Prompt("is-now-active")})
		}
	}
	return a.greetingsMenu(said)
}
