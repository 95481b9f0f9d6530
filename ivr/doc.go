// Package ivr owns the voicemail applications a caller talks to: leaving a
// message in a user's mailbox (Deposit) and managing one's own mailbox by
// phone (Access: *97 from one's own phone, *98 from any phone), and the
// dial-by-name directory (Directory). Each is a state machine that decides what the call hears and does next; a runner
// outside this package connects it to a live call and does the work.
//
// The package does no I/O of its own: no network, no audio, no files, no
// clock reads (the time of the call is a parameter) and no goroutines. It
// imports only the standard library and prompts; storage goes through the
// Store and DirectoryStore interfaces, which the wiring implements over the store and blob
// packages, and tests over a fake. It must not import store, media, sip or
// blob.
//
// # Running an application
//
// An application (App) answers Start and every Event with a batch of
// Actions. The runner executes a batch in order and reports exactly one
// Event for it, then hands that event to Handle, until Done:
//
//	acts := app.Start(ctx)
//	for {
//		ev := execute(acts) // the outcome of the batch; see below
//		if app.Done() {
//			break
//		}
//		acts = app.Handle(ctx, ev)
//	}
//	if err := app.Err(); err != nil { log it }
//
// Executing a batch:
//
//   - Play plays its items. A key pressed while it plays that is in
//     StopKeys (or one already waiting when it starts) stops it: the runner
//     reports Digit and drops the rest of the batch. Other keys pressed
//     during a Play with StopKeys are dropped; during a Play without
//     StopKeys they wait for the next action (type-ahead).
//   - WaitDigit reports the next key (one already waiting counts) as Digit,
//     or Timeout when none comes within Timeout.
//   - Record records the caller (it makes no tone of its own: a Play of a
//     Beep item comes before it) until a key in StopKeys, MaxDuration, a
//     silence of SilenceTimeout or a hang-up, then reports RecordDone with a
//     handle to the audio (a temporary file, for instance). Other keys are
//     dropped.
//   - Discard deletes a recording the runner made and goes on.
//   - Transfer sends the call to another destination (an extension or an
//     outside number); HangUp ends the call. Either is the batch's last
//     action, and the application is then Done.
//
// WaitDigit and Record are always last in a batch; every batch that does
// not end the call ends with one of them. A batch never ends with Play
// unless Transfer or HangUp follows it.
//
// When the caller hangs up the runner stops what it was doing and reports
// CallEnded, or, during Record, RecordDone with Reason StopHangUp (what was
// recorded is then still filed when it is long enough). From then on the
// application is Done and its last batch holds only Discard actions. The
// ctx the runner passes to Handle for that last event must outlive the
// call, because a message recorded up to the hang-up is filed then.
//
// Recordings: each handle a RecordDone carries is given back exactly once,
// either to a Store method that takes a Recording (AddMessage, AddGreeting,
// SetName), which then owns it whatever it returns, or in a Discard action.
//
// # Errors
//
// A Store error the flow does not expect ends the call with
// "service-unavailable" and "goodbye"; Err returns it for the runner to log.
// So does an event that makes no sense in the current state, which is a
// runner bug.
package ivr
