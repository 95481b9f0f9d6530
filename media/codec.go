package media

import (
	"time"

	"github.com/zaf/g711"
)

// SampleRate is the rate of every PCM sample in this package, and the RTP
// clock rate of G.711 and of telephone-events negotiated with it.
const SampleRate = 8000

// Codec is an audio codec Switchboard can negotiate: only G.711.
type Codec uint8

const (
	CodecUnknown Codec = iota
	CodecPCMU          // G.711 µ-law, static payload type 0 (RFC 3551 §6)
	CodecPCMA          // G.711 A-law, static payload type 8
)

func (c Codec) String() string {
	switch c {
	case CodecPCMU:
		return "PCMU"
	case CodecPCMA:
		return "PCMA"
	default:
		return "unknown"
	}
}

// PayloadType is the codec's static RTP payload type (RFC 3551 §6).
func (c Codec) PayloadType() uint8 {
	if c == CodecPCMA {
		return 8
	}
	return 0
}

// Encode appends the G.711 encoding of pcm to dst and returns the extended
// slice: one byte per sample. It allocates only when dst lacks capacity.
func (c Codec) Encode(dst []byte, pcm []int16) []byte {
	if c == CodecPCMA {
		for _, s := range pcm {
			dst = append(dst, g711.EncodeAlawFrame(s))
		}
		return dst
	}
	for _, s := range pcm {
		dst = append(dst, g711.EncodeUlawFrame(s))
	}
	return dst
}

// Decode appends the 16-bit PCM decoding of the G.711 payload to dst and
// returns the extended slice: one sample per byte.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	if c == CodecPCMA {
		for _, b := range payload {
			dst = append(dst, g711.DecodeAlawFrame(b))
		}
		return dst
	}
	for _, b := range payload {
		dst = append(dst, g711.DecodeUlawFrame(b))
	}
	return dst
}

// samplePeriod is the duration of one sample: 125 µs, a whole number of
// nanoseconds, so conversions are exact and cannot overflow.
const samplePeriod = time.Second / SampleRate

// Samples is the number of whole samples in d at SampleRate.
func Samples(d time.Duration) int { return int(d / samplePeriod) }

// Duration is the time n samples last at SampleRate.
func Duration(n int) time.Duration { return time.Duration(n) * samplePeriod }
