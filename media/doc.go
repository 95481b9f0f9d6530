// Package media owns Switchboard's audio path for calls it answers or places
// itself: SDP offer/answer for G.711 audio with RFC 4733 telephone-events,
// RTP sessions on UDP ports from a pool, a small reorder buffer, DTMF from
// RTP and from SIP INFO bodies, a paced player, a recorder with silence
// detection, WAV files, tone generation and tone detection, and the bridge
// that relays RTP between two legs of a call (transcoding between µ-law and
// A-law, passing DTMF on, recording both directions mixed).
//
// A call leg goes through these steps:
//
//	conn, err := pool.Listen(bindIP)                       // an even port
//	answer, params, err := media.Answer(offer, advertisedIP, conn.Port(), media.SDPConfig{})
//	sess, err := media.NewSession(conn, params, media.SessionConfig{})
//	defer sess.Close()                                     // returns the port
//	digit, err := sess.PlayUntilDigit(ctx, media.Concat(greeting, media.Beep()))
//	sess.SetSink(recorder)                                 // the caller's audio, in order
//
// Two answered legs of one call are joined with a Bridge, which borrows the
// sessions until it ends and hands them back running:
//
//	br, err := media.NewBridge(caller, callee, media.BridgeConfig{Tap: wav})
//	<-br.Done()                                            // or br.Close()
//
// Only PCMU and PCMA are negotiated; there is no SRTP, no RTCP and no
// transcoding beyond G.711 to and from 16-bit linear PCM at 8 kHz, which is
// the sample format of every Source, PCMWriter and WAV file here, and
// between the two laws.
//
// The package imports no other Switchboard package: the SIP layer maps its
// errors to responses with SIPStatus, and the voicemail flows build on its
// sessions. It does no logging of its own beyond an optional debug logger per
// session or bridge, and starts exactly one goroutine per Session (the
// receiver) and one per Bridge, which their Close waits for.
package media
