// Package voicemail runs the voicemail applications of package ivr on live
// calls: it plays prompts and stored audio over a call's media session,
// collects the caller's keys, records the caller, and hands what happened
// back to the application, following the protocol described in package ivr.
//
// A Runner is shared by all calls; each call is one Run:
//
//	r, err := voicemail.NewRunner(voicemail.Config{Recordings: dir, Audio: blobs, Registerer: reg})
//	app := ivr.NewDeposit(st, ivr.DepositConfig{Extension: "100", ReceivedAt: now})
//	err = r.WithLogger(callLog).Run(ctx, app, sess, call)
//
// The voice prompts are decoded once, on first use, and shared by every
// call. Stored audio (greetings, names, messages) and recordings under
// review are read when they are played.
//
// Where package ivr leaves a choice to the runner:
//
//   - A key waiting when a Play with StopKeys or a WaitDigit starts counts
//     as pressed then; keys waiting when a Record starts were typed during
//     the prompts and the beep before it and are dropped, so a second #
//     meant to skip a greeting does not end the message before it begins.
//   - A, B, C and D, which no keypad menu offers, are ignored.
//   - A Discard is never dropped with the rest of a batch.
//   - A recording stopped by silence keeps Config.SilenceTail of it. When
//     the caller's audio stops coming altogether (silence suppression,
//     hold), the wall clock stands in for the recorder's limits.
//   - A recording with no audio at all is removed and reported without a
//     handle.
//   - A refused Transfer hangs the call up; Run returns why it was refused.
//
// Run owns the session's DTMF queue and sink while it runs, and leaves no
// sink set; it closes neither the session nor the call: the caller of Run
// does, once Run has returned. It ends the call's signalling only through
// Call.HangUp and Call.Transfer.
//
// The package imports ivr, media and prompts. It must not import sip,
// store or blob: the wiring gives it recordings, stored audio and the
// call's signalling through the Recordings, Audio and Call interfaces.
package voicemail
