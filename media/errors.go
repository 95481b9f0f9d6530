package media

import (
	"errors"
	"fmt"
)

// statusError is a sentinel that knows the SIP status a UAS answers it with.
type statusError struct {
	status int
	text   string
}

func (e *statusError) Error() string { return "media: " + e.text }

// SIPStatus is the response code for an INVITE (or re-INVITE) failing with e.
func (e *statusError) SIPStatus() int { return e.status }

var (
	// ErrNoCommonCodec reports an offer or answer without an audio stream in
	// PCMU or PCMA over RTP/AVP: 488 Not Acceptable Here (RFC 3261 §21.4.26).
	ErrNoCommonCodec error = &statusError{status: 488, text: "no common codec"}

	// ErrMalformedSDP reports a session description that does not parse, or
	// lacks what RFC 4566 requires (a connection address, a media port):
	// 400 Bad Request.
	ErrMalformedSDP error = &statusError{status: 400, text: "malformed SDP"}

	// ErrPortsExhausted reports that no RTP port of the pool could be bound:
	// 503 Service Unavailable, so the caller may retry elsewhere.
	ErrPortsExhausted error = &statusError{status: 503, text: "no free RTP port"}
)

var (
	// ErrSessionClosed is returned by a Session's Play methods once Close was
	// called, and by Err after a Close that came before any other ending.
	ErrSessionClosed = errors.New("media: session closed")

	// ErrRTPTimeout ends a Session that expected audio and received no RTP
	// for its inactivity timeout: the far end is gone, hang the call up.
	ErrRTPTimeout = errors.New("media: no RTP received")

	// ErrInvalidWAV reports a WAV file that is truncated, inconsistent or
	// claims more data than allowed.
	ErrInvalidWAV = errors.New("media: invalid WAV")

	// ErrUnsupportedWAV reports a well-formed WAV file in a format other than
	// 8 kHz mono 16-bit PCM, µ-law or A-law.
	ErrUnsupportedWAV = errors.New("media: unsupported WAV format")

	// ErrInvalidDTMF reports a SIP INFO body that carries no DTMF digit.
	ErrInvalidDTMF = errors.New("media: invalid DTMF")

	// ErrSessionBusy is returned by NewBridge for a session that is
	// playing or already bridged: stop the Play (cancel its context) or
	// close the other bridge first.
	ErrSessionBusy = errors.New("media: session busy")

	// ErrBridgeClosed is a Bridge's Err after Close, when neither of its
	// sessions ended first.
	ErrBridgeClosed = errors.New("media: bridge closed")
)

// SIPStatus returns the SIP response code that answers an INVITE failing
// with err: 488 for ErrNoCommonCodec, 400 for ErrMalformedSDP, 503 for
// ErrPortsExhausted, 500 for any other error, and 0 for nil.
func SIPStatus(err error) int {
	if err == nil {
		return 0
	}
	var s interface{ SIPStatus() int }
	if errors.As(err, &s) {
		return s.SIPStatus()
	}
	return 500
}

// malformed wraps ErrMalformedSDP with a description of what is wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedSDP, fmt.Sprintf(format, args...))
}
