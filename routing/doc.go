// Package routing owns Switchboard's call-routing decisions: time frames,
// answering rules, allow/block lists and the plan a call follows.
//
// Decide is a pure function of a Request (a snapshot of the called user's
// rules, time frames and state, the caller's identity, the instant of the
// call and the number of user-to-user forwards already followed). It returns
// a Plan: either a rejection with its SIP status, or ordered stages of targets
// with ring delays, stage timeouts and the stage to go to on no answer or
// busy. The SIP proxy executes the plan and the admin API's explain endpoint
// returns the very same plan, so a call is never decided twice, nor decided
// differently from how it is explained.
//
// The package imports no other Switchboard package and does no I/O: no
// network, no files, no clock reads (the time of the call is an input), no
// goroutines and no mutable globals. The wiring maps store rows into its
// types; the admin API may use its parsers and validators so that what is
// saved is exactly what Decide understands.
package routing
