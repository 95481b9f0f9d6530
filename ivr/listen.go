package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/prompts"
)

// beforeMessage is the pause between a message's announcement and its
// audio.
const beforeMessage = 300 * time.Millisecond

// listen plays the messages: new ones, then saved ones, in the order the
// inbox options say.
func (a *Access) listen(ctx context.Context) []Action {
	msgs, err := a.st.Messages(ctx, a.ext, a.box.SortLatestFirst)
	if err != nil {
		return a.fail(fmt.Errorf("messages of %s: %w", a.ext, err))
	}
	if len(msgs) == 0 {
		return a.mainMenu(cat([]Item{Prompt("you-have")}, promptItems(prompts.Count(0, "message", "messages")...)))
	}
	a.msgs, a.cur = msgs, 0
	a.folders = make([]string, len(msgs))
	for i, m := range msgs {
		a.folders[i] = m.Folder
	}
	return a.playMessage(nil)
}

// playMessage announces the current message ("first new message", "first
// saved message" or "next message", then when and from whom as the inbox
// options say), plays it and offers its options.
func (a *Access) playMessage(first []Item) []Action {
	msg := a.msgs[a.cur]
	header := "next-message"
	if a.cur == 0 || a.folders[a.cur-1] != a.folders[a.cur] {
		header = "first-new-message"
		if a.folders[a.cur] == FolderSaved {
			header = "first-saved-message"
		}
	}
	intro := cat(first, []Item{Prompt(header)}, a.envelope(msg, a.box.AnnounceTime, a.box.AnnounceCallerID),
		[]Item{Silence(beforeMessage), Audio(msg.AudioKey)})
	return a.messageMenu(intro)
}

// messageMenu offers the current message's options after intro; a key
// pressed while the message plays counts as well.
func (a *Access) messageMenu(intro []Item) []Action {
	opts := []string{"msg-replay", "msg-envelope", "msg-next", "msg-delete"}
	if a.msgs[a.cur].Folder == FolderNew {
		opts = append(opts, "msg-save")
	}
	return a.menu("message", intro, append(opts, "to-main-menu"), a.messageKey)
}

func (a *Access) messageKey(ctx context.Context, key rune) ([]Action, bool) {
	msg := &a.msgs[a.cur]
	switch key {
	case '4':
		return a.messageMenu([]Item{Audio(msg.AudioKey)}), true
	case '5':
		return a.messageMenu(a.envelope(*msg, true, true)), true
	case '6':
		return a.nextMessage(nil), true
	case '7':
		err := a.st.DeleteMessage(ctx, a.ext, msg.ID)
		if err != nil && !errors.Is(err, ErrNoMessage) {
			return a.fail(fmt.Errorf("delete message %d of %s: %w", msg.ID, a.ext, err)), true
		}
		return a.nextMessage([]Item{Prompt("message-deleted")}), true
	case '9':
		if msg.Folder == FolderNew {
			err := a.st.MoveMessage(ctx, a.ext, msg.ID, FolderSaved)
			if errors.Is(err, ErrNoMessage) {
				return a.nextMessage([]Item{Prompt("message-deleted")}), true
			}
			if err != nil {
				return a.fail(fmt.Errorf("save message %d of %s: %w", msg.ID, a.ext, err)), true
			}
			msg.Folder = FolderSaved
		}
		return a.nextMessage([]Item{Prompt("message-saved")}), true
	case '*':
		return a.mainMenu(nil), true
	case '#':
		// While the message plays: skip to its options.
		return a.messageMenu(nil), true
	}
	return nil, false
}

// nextMessage moves on; after the last one, the main menu.
func (a *Access) nextMessage(first []Item) []Action {
	a.cur++
	if a.cur >= len(a.msgs) {
		return a.mainMenu(cat(first, []Item{Prompt("end-of-messages")}))
	}
	return a.playMessage(first)
}

// envelope says when a message came ("received" + date + "at" + time, in
// the mailbox's time zone) and from whom ("from" + the caller's digits, or
// "an unknown caller").
func (a *Access) envelope(msg Message, when, who bool) []Item {
	var out []Item
	if when {
		loc := a.location()
		now := a.cfg.Now.In(loc)
		out = append(out, Prompt("received"))
		out = append(out, promptItems(prompts.Date(msg.ReceivedAt, now)...)...)
		out = append(out, Prompt("at"))
		out = append(out, promptItems(prompts.Time(msg.ReceivedAt.In(loc))...)...)
	}
	if who {
		out = append(out, Prompt("from"))
		if digits := prompts.Digits(msg.CallerNumber); len(digits) > 0 {
			out = append(out, promptItems(digits...)...)
		} else {
			out = append(out, Prompt("unknown-caller"))
		}
	}
	return out
}

func (a *Access) location() *time.Location {
	if a.box.Location != nil {
		return a.box.Location
	}
	return a.cfg.Location
}
