package ivr

import "errors"

// ErrNoMailbox is what Store.Mailbox returns for an extension that has no
// user.
var ErrNoMailbox = errors.New("no such mailbox")

// ErrNoMessage is what Store.MoveMessage and Store.DeleteMessage return
// for a message that is gone (deleted meanwhile through the admin API):
// the caller hears it as deleted.
var ErrNoMessage = errors.New("no such message")

// ErrMailboxFull is what the Store returns when audio would take a mailbox
// past its storage limit.
var ErrMailboxFull = errors.New("mailbox full")

// PIN policy rules a PINRejectedError names, as the store's policy spells
// them.
const (
	RuleDigits     = "digits"
	RuleLength     = "length"
	RuleRepeated   = "repeated"
	RuleSequential = "sequential"
	RulePersonal   = "personal"
	RulePrevious   = "previous"
)

// PINRejectedError is a new PIN the policy refuses; Rule is one of the Rule
// constants.
type PINRejectedError struct {
	Rule string
}

func (e *PINRejectedError) Error() string { return "pin refused by rule " + e.Rule }
