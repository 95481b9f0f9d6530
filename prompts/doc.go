// Package prompts owns the voice prompts the PBX speaks: the recorded WAV
// files, embedded in the binary so a fresh install speaks without any
// download, and the pure functions that turn numbers, digit strings, times
// and dates into sequences of prompt names ("three hundred forty two" is
// []string{"three", "hundred", "forty", "two"}).
//
// It imports only the standard library and does no I/O, no audio decoding
// and no clock reading: media decodes and plays the WAVs, voicemail decides
// what to say. Every function here is a pure function of its arguments.
//
// # The prompts
//
// prompts.txt lists every prompt as "name|text"; scripts/gen-prompts.sh
// speaks each text with espeak-ng and writes en/<name>.wav with sox:
// 16-bit signed PCM, 8 kHz, mono, silence trimmed, a -3 dBFS peak and a
// 150 ms tail, so prompts played back to back sound like one sentence.
// To change a prompt, edit prompts.txt and run the script;
// the tests fail while a listed prompt has no file or a file is not listed.
//
// Names are lowercase words joined by hyphens. Atoms ("extension",
// "new-messages", "at", numbers, ordinals, weekdays, months, letter-a to
// letter-z) are joined by the caller; menu options are whole sentences that
// carry their key ("msg-delete": "to delete it, press 7."), so a menu is the
// list of its options and an option that does not apply is simply left out.
//
// # Voicemail menus
//
// The keys below are the layout the option prompts announce; the voicemail
// package follows it.
//
// Leaving a message: the active greeting, or "person-at-extension" +
// Digits(ext) + "is-not-available" ("is-on-another-call" when busy; the
// recorded name replaces the first two when there is one), then
// "leave-message", "finish-recording" and a tone.
//
//	0        during the greeting: the operator-forward destination ("operator-option")
//	#        ends the recording ("message-recorded", "goodbye")
//	hang up  ends and keeps the recording
//
// Logging in: *97 from one's own phone asks "enter-pin"; *98 asks
// "enter-mailbox" first. A wrong mailbox or PIN says "login-incorrect"; too
// many say "too-many-attempts", "mailbox-locked", "goodbye". A mailbox
// without a PIN asks "choose-pin" and goes to the PIN change below.
//
// Main menu, after "you-have" + Count(n, "new-message", "new-messages") +
// "and" + Count(m, "saved-message", "saved-messages"):
//
//	1  listen to messages: new ones first, then saved ones   (main-listen)
//	3  greetings menu                                        (main-greetings)
//	4  record your name                                      (main-name)
//	5  change your PIN                                       (main-pin)
//	*  hear these options again                              (main-repeat)
//	#  the dial-by-name directory                             (main-directory)
//
// Each message: "first-new-message", "first-saved-message" or
// "next-message"; then, as the inbox options say, "received" + Date + "at" +
// Time, and "from" + Digits(caller) or "unknown-caller"; then the recording
// and its options. The keys work during the recording too (# skips to the
// options); after the last one, "end-of-messages" and the main menu.
//
//	4  replay the message                                    (msg-replay)
//	5  hear when it was received and who it is from          (msg-envelope)
//	6  next message; the message stays where it was          (msg-next)
//	7  delete it: "message-deleted", then the next one       (msg-delete)
//	9  save it: "message-saved", then the next one           (msg-save)
//	*  back to the main menu                                 (to-main-menu)
//
// Greetings menu, after "active-greeting-is" + "greeting" + Number(n), or
// "using-default-greeting":
//
//	1  record a new greeting: "record-greeting", tone, review; it becomes
//	   "greeting" + Number(n) + "is-now-active"            (greet-record)
//	2  choose the active greeting: "enter-greeting-number"; 0 is the
//	   default greeting, an unknown number "no-such-greeting" (greet-choose)
//	3  listen to the active greeting                         (greet-listen)
//	*  back to the main menu                                 (to-main-menu)
//
// Recording a name: "your-name-is" + the recording, or "no-name-recorded";
// then "record-name", tone, review, "name-recorded".
//
// Reviewing a recording (greeting or name), after # or a long silence:
//
//	1  keep it: "greeting-saved" or "name-recorded"           (review-keep)
//	2  listen to it                                           (review-listen)
//	3  record it again                                        (review-rerecord)
//
// Changing the PIN: "enter-new-pin", "enter-pin-again", then
// "pin-changed", or "pins-do-not-match" or "pin-not-allowed" + "pin-length-is"
// + Number(min) + "to" + Number(max) + "digits" + "pin-hint", and again.
//
// Everywhere: a key with no meaning says "invalid-option"; no key for a few
// seconds repeats the menu; three times without a valid key says "goodbye"
// and hangs up.
//
// # Directory and screening
//
// Directory: "dir-welcome", "dir-spell-last" (or "dir-spell-first"; * swaps,
// announced by "dir-by-first-name" and "dir-by-last-name"). The search starts
// after three keys, # or a pause: "dir-no-match" and spell again, or
// "dir-too-many" and one more key, or "dir-found" + Count(n, "match",
// "matches") and the matches one at a time, each the recorded name (or
// Spell(name)) + "extension" + Digits(ext), then:
//
//	1  call that person: "transferring"                        (dir-connect)
//	*  the next match; "dir-no-more" after the last, and spell again (dir-more)
//	#  spell again                                             (dir-again)
//
// Screening: the caller hears "screen-say-name", a tone, records, then
// "screen-hold". The callee hears "call-from" + the recording (or
// "unknown-caller"), "screen-accept" (1 connects) and "screen-voicemail"
// (2 sends the caller to voicemail). Answer confirmation for an off-net
// destination: "confirm-call", 1 connects.
package prompts
