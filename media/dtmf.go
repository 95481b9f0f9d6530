package media

import (
	"bytes"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
)

// DTMFSource says how a digit arrived.
type DTMFSource uint8

const (
	DTMFSourceUnknown DTMFSource = iota
	DTMFSourceRTP                // RFC 4733 telephone-event
	DTMFSourceSIPInfo            // SIP INFO, application/dtmf-relay or application/dtmf
)

func (s DTMFSource) String() string {
	switch s {
	case DTMFSourceRTP:
		return "rtp"
	case DTMFSourceSIPInfo:
		return "sip_info"
	default:
		return "unknown"
	}
}

// DTMF is one key press: Digit is one of 0-9, *, #, A-D.
type DTMF struct {
	Digit rune
	// Duration is how long the key was held, when the signalling said so (a
	// SIP INFO Duration); 0 for RFC 4733 digits, reported as the event
	// starts.
	Duration time.Duration
	Source   DTMFSource
}

func (d DTMF) String() string { return string(d.Digit) }

// eventDigits maps RFC 4733 §3.2 event codes 0-15 to their keys.
const eventDigits = "0123456789*#ABCD"

// DigitFromEvent is the key of an RFC 4733 DTMF event code.
func DigitFromEvent(code uint8) (rune, bool) {
	if int(code) < len(eventDigits) {
		return rune(eventDigits[code]), true
	}
	return 0, false
}

// EventFromDigit is the RFC 4733 event code of a key (a-d as A-D).
func EventFromDigit(r rune) (uint8, bool) {
	if r >= 'a' && r <= 'd' {
		r -= 'a' - 'A'
	}
	if i := strings.IndexRune(eventDigits, r); i >= 0 && r < 0x80 {
		return uint8(i), true
	}
	return 0, false
}

// eventDecoder turns RFC 4733 packets into one report per event. All
// packets of an event share its RTP timestamp (§2.3.1): the first packet
// seen with a new timestamp is the event, and the repeats, the three end
// packets (§2.5.1.4) and late copies with the same or an older timestamp are
// not. An event longer than the 16-bit duration field continues with a new
// timestamp (§2.5.2.3) and is not reported again.
type eventDecoder struct {
	active   bool
	ts       uint32
	code     uint8
	ended    bool
	duration uint16
}

// longEventDuration is a duration close enough to the 16-bit limit that an
// event with the same code and a new timestamp is its next segment.
const longEventDuration = 0xF000

// packet reads one telephone-event payload and returns the event code when
// it starts a new event.
func (d *eventDecoder) packet(ts uint32, payload []byte) (uint8, bool) {
	if len(payload) < 4 {
		return 0, false
	}
	code := payload[0]
	end := payload[1]&0x80 != 0
	dur := uint16(payload[2])<<8 | uint16(payload[3])
	if d.active {
		if ts == d.ts {
			d.ended = d.ended || end
			if dur > d.duration {
				d.duration = dur
			}
			return 0, false
		}
		if int32(ts-d.ts) < 0 {
			return 0, false
		}
		if code == d.code && !d.ended && d.duration >= longEventDuration {
			*d = eventDecoder{active: true, ts: ts, code: code, ended: end, duration: dur}
			return 0, false
		}
	}
	*d = eventDecoder{active: true, ts: ts, code: code, ended: end, duration: dur}
	return code, true
}

const maxInfoBody = 1024

// ParseDTMFInfo reads the digit of a SIP INFO request from its Content-Type
// and body: application/dtmf-relay ("Signal=5\r\nDuration=160", Duration in
// milliseconds) or application/dtmf ("5"). A signal may be the key itself or
// its RFC 4733 event code ("10" for *, "11" for #). Anything else is
// ErrInvalidDTMF.
func ParseDTMFInfo(contentType string, body []byte) (DTMF, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return DTMF{}, fmt.Errorf("%w: content type %q", ErrInvalidDTMF, contentType)
	}
	if len(body) > maxInfoBody {
		return DTMF{}, fmt.Errorf("%w: body of %d bytes", ErrInvalidDTMF, len(body))
	}
	d := DTMF{Source: DTMFSourceSIPInfo}
	switch mt {
	case "application/dtmf-relay":
		signal := ""
		for line := range bytes.Lines(body) {
			k, v, ok := strings.Cut(string(line), "=")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case strings.EqualFold(k, "Signal"):
				signal = v
			case strings.EqualFold(k, "Duration"):
				if ms, err := strconv.Atoi(v); err == nil && ms > 0 && ms < 60000 {
					d.Duration = time.Duration(ms) * time.Millisecond
				}
			}
		}
		if signal == "" {
			return DTMF{}, fmt.Errorf("%w: no Signal in dtmf-relay body", ErrInvalidDTMF)
		}
		r, ok := parseSignal(signal)
		if !ok {
			return DTMF{}, fmt.Errorf("%w: signal %q", ErrInvalidDTMF, signal)
		}
		d.Digit = r
	case "application/dtmf":
		s := strings.TrimSpace(string(body))
		r, ok := parseSignal(s)
		if !ok {
			return DTMF{}, fmt.Errorf("%w: signal %q", ErrInvalidDTMF, s)
		}
		d.Digit = r
	default:
		return DTMF{}, fmt.Errorf("%w: content type %s", ErrInvalidDTMF, mt)
	}
	return d, nil
}

func parseSignal(s string) (rune, bool) {
	if len(s) == 1 {
		r, ok := EventFromDigit(rune(s[0]))
		if ok {
			return rune(eventDigits[r]), true
		}
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 15 {
		return 0, false
	}
	return DigitFromEvent(uint8(n))
}
