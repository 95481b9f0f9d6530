package media

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// eventPayload is an RFC 4733 payload: event, end bit, volume 10, duration.
func eventPayload(code uint8, end bool, duration uint16) []byte {
	b := []byte{code, 10, byte(duration >> 8), byte(duration)}
	if end {
		b[1] |= 0x80
	}
	return b
}

type eventPkt struct {
	ts      uint32
	payload []byte
}

// pressSequence is what a phone sends for one key press at ts: the start,
// updates every 20 ms, and the end three times (RFC 4733 §2.5.1.4).
func pressSequence(code uint8, ts uint32, updates int) []eventPkt {
	var out []eventPkt
	for i := range updates {
		out = append(out, eventPkt{ts, eventPayload(code, false, uint16(160*(i+1)))})
	}
	end := uint16(160 * (updates + 1))
	for range 3 {
		out = append(out, eventPkt{ts, eventPayload(code, true, end)})
	}
	return out
}

func TestEventDecoder(t *testing.T) {
	cat := func(seqs ...[]eventPkt) []eventPkt {
		var out []eventPkt
		for _, s := range seqs {
			out = append(out, s...)
		}
		return out
	}
	tests := []struct {
		name    string
		packets []eventPkt
		want    string
	}{
		{"one press", pressSequence(5, 1000, 5), "5"},
		{"two presses of the same key", cat(pressSequence(1, 1000, 4), pressSequence(1, 3000, 4)), "11"},
		{"sequence", cat(pressSequence(1, 1000, 3), pressSequence(2, 3000, 3), pressSequence(11, 5000, 3), pressSequence(10, 7000, 3)), "12#*"},
		{"only end packets arrive", cat([]eventPkt{{1000, eventPayload(9, true, 800)}, {1000, eventPayload(9, true, 800)}}), "9"},
		{"late redundant end of a previous event", cat(pressSequence(3, 1000, 3), pressSequence(4, 3000, 1),
			[]eventPkt{{1000, eventPayload(3, true, 640)}}), "34"},
		{"all letters", cat(pressSequence(12, 100, 1), pressSequence(13, 200, 1), pressSequence(14, 300, 1), pressSequence(15, 400, 1)), "ABCD"},
		{"flash and tones are not digits", cat(pressSequence(16, 100, 2), pressSequence(40, 200, 2), pressSequence(0, 300, 2)), "0"},
		{"short payload ignored", []eventPkt{{100, []byte{5, 0}}}, ""},
		{"timestamp wrap", cat(pressSequence(7, 0xFFFFFF00, 2), pressSequence(8, 0x00000100, 2)), "78"},
		{"long event continues in a new segment", cat(
			[]eventPkt{{1000, eventPayload(2, false, 0xFFFF)}, {1000 + 0xFFFF, eventPayload(2, false, 800)}},
			[]eventPkt{{1000 + 0xFFFF, eventPayload(2, true, 1600)}}), "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d eventDecoder
			got := ""
			for _, p := range tt.packets {
				if code, ok := d.packet(p.ts, p.payload); ok {
					if r, ok := DigitFromEvent(code); ok {
						got += string(r)
					}
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDigitEvents(t *testing.T) {
	for i, r := range "0123456789*#ABCD" {
		code, ok := EventFromDigit(r)
		require.True(t, ok)
		require.Equal(t, uint8(i), code)
		back, ok := DigitFromEvent(code)
		require.True(t, ok)
		require.Equal(t, r, back)
	}
	code, ok := EventFromDigit('b')
	require.True(t, ok)
	require.Equal(t, uint8(13), code)
	_, ok = EventFromDigit('E')
	require.False(t, ok)
	_, ok = EventFromDigit('é')
	require.False(t, ok)
	_, ok = DigitFromEvent(16)
	require.False(t, ok)
}

func TestParseDTMFInfo(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		want              DTMF
		bad               bool
	}{
		{"dtmf-relay", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", DTMF{Digit: '5', Duration: 160 * time.Millisecond, Source: DTMFSourceSIPInfo}, false},
		{"dtmf-relay spaces and case", "Application/DTMF-Relay; charset=utf-8", "signal = #\nduration= 250", DTMF{Digit: '#', Duration: 250 * time.Millisecond, Source: DTMFSourceSIPInfo}, false},
		{"dtmf-relay star", "application/dtmf-relay", "Signal=*\r\n", DTMF{Digit: '*', Source: DTMFSourceSIPInfo}, false},
		{"dtmf-relay numeric 11", "application/dtmf-relay", "Signal=11\r\nDuration=100", DTMF{Digit: '#', Duration: 100 * time.Millisecond, Source: DTMFSourceSIPInfo}, false},
		{"dtmf-relay letter", "application/dtmf-relay", "Signal=a", DTMF{Digit: 'A', Source: DTMFSourceSIPInfo}, false},
		{"dtmf", "application/dtmf", "7", DTMF{Digit: '7', Source: DTMFSourceSIPInfo}, false},
		{"dtmf numeric 10", "application/dtmf", " 10\r\n", DTMF{Digit: '*', Source: DTMFSourceSIPInfo}, false},
		{"no signal", "application/dtmf-relay", "Duration=160", DTMF{}, true},
		{"bad signal", "application/dtmf-relay", "Signal=X", DTMF{}, true},
		{"flash", "application/dtmf-relay", "Signal=16", DTMF{}, true},
		{"empty dtmf", "application/dtmf", "", DTMF{}, true},
		{"other type", "text/plain", "5", DTMF{}, true},
		{"bad type", ";;", "5", DTMF{}, true},
		{"huge body", "application/dtmf-relay", "Signal=5\r\n" + string(make([]byte, 4096)), DTMF{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDTMFInfo(tt.ctype, []byte(tt.body))
			if tt.bad {
				require.ErrorIs(t, err, ErrInvalidDTMF)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, d)
		})
	}
}
