// Package audiofile reads the audio files admins upload (greetings, name
// recordings) and turns them into the one format the PBX stores and
// plays: 16-bit PCM, 8 kHz, mono WAV.
package audiofile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/hajimehoshi/go-mp3"
)

// Rate is the sample rate of stored audio.
const Rate = 8000

// ErrFormat is wrapped by every error about a file that is not audio the
// PBX can read.
var ErrFormat = errors.New("unreadable audio")

// Decode reads a WAV (integer PCM, 8 to 32 bits, any rate, mono or
// stereo) or an MP3 and returns its audio as 8 kHz mono samples. Audio
// longer than maxLen is refused.
func Decode(data []byte, maxLen time.Duration) (samples []int16, err error) {
	// A malformed file must never take the server down: the decoders are
	// third-party code fed with anything an admin uploads.
	defer func() {
		if r := recover(); r != nil {
			samples, err = nil, fmt.Errorf("%w: malformed file", ErrFormat)
		}
	}()
	var mono []float64
	var rate int
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		mono, rate, err = decodeWAV(data, maxLen)
	case len(data) >= 3 && (string(data[0:3]) == "ID3" || data[0] == 0xFF && data[1]&0xE0 == 0xE0):
		mono, rate, err = decodeMP3(data, maxLen)
	default:
		return nil, fmt.Errorf("%w: not a WAV or MP3 file", ErrFormat)
	}
	if err != nil {
		return nil, err
	}
	if len(mono) == 0 {
		return nil, fmt.Errorf("%w: no audio in the file", ErrFormat)
	}
	out := Resample(mono, rate, Rate)
	pcm := make([]int16, len(out))
	for i, v := range out {
		pcm[i] = int16(math.Round(max(-1, min(1, v)) * 32767))
	}
	return pcm, nil
}

func checkRate(rate int) error {
	if rate < 4000 || rate > 192000 {
		return fmt.Errorf("%w: sample rate %d Hz", ErrFormat, rate)
	}
	return nil
}

func tooLong(samples, rate int, maxLen time.Duration) error {
	if maxLen > 0 && time.Duration(samples)*time.Second/time.Duration(rate) > maxLen {
		return fmt.Errorf("%w: longer than %s", ErrFormat, maxLen)
	}
	return nil
}

// wavFormat is what a WAV file's fmt chunk says.
type wavFormat struct {
	encoding, channels uint16
	rate               uint32
	bits               uint16
}

// parseWAV walks the RIFF chunks of a WAV file, every size checked
// against what is there, and returns its format and sample bytes. A data
// size larger than the file (streamed files leave it unset) is cut to the
// bytes present.
func parseWAV(data []byte) (wavFormat, []byte, error) {
	var f wavFormat
	var samples []byte
	haveFmt := false
	le := binary.LittleEndian
	for p := 12; p+8 <= len(data); {
		id := string(data[p : p+4])
		size := int64(le.Uint32(data[p+4:]))
		body := data[p+8:]
		if size > int64(len(body)) {
			if id != "data" {
				return f, nil, fmt.Errorf("%w: chunk %q larger than the file", ErrFormat, id)
			}
			size = int64(len(body))
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return f, nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrFormat, size)
			}
			f = wavFormat{encoding: le.Uint16(body), channels: le.Uint16(body[2:]), rate: le.Uint32(body[4:]), bits: le.Uint16(body[14:])}
			if f.encoding == 0xFFFE && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
				f.encoding = le.Uint16(body[24:])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return f, nil, fmt.Errorf("%w: data before fmt", ErrFormat)
			}
			samples = body[:size]
			return f, samples, nil
		}
		p += 8 + int(size) + int(size&1) // chunks are padded to even sizes
	}
	if !haveFmt {
		return f, nil, fmt.Errorf("%w: no fmt chunk", ErrFormat)
	}
	return f, nil, fmt.Errorf("%w: no data chunk", ErrFormat)
}

func decodeWAV(data []byte, maxLen time.Duration) ([]float64, int, error) {
	f, raw, err := parseWAV(data)
	if err != nil {
		return nil, 0, err
	}
	if f.encoding != 1 {
		return nil, 0, fmt.Errorf("%w: WAV encoding %d (integer PCM only)", ErrFormat, f.encoding)
	}
	ch, rate, bits := int(f.channels), int(f.rate), int(f.bits)
	if ch < 1 || ch > 2 {
		return nil, 0, fmt.Errorf("%w: %d channels (mono or stereo only)", ErrFormat, ch)
	}
	if bits != 8 && bits != 16 && bits != 24 && bits != 32 {
		return nil, 0, fmt.Errorf("%w: %d-bit samples", ErrFormat, bits)
	}
	if err := checkRate(rate); err != nil {
		return nil, 0, err
	}
	width := bits / 8
	frames := len(raw) / (width * ch)
	if err := tooLong(frames, rate, maxLen); err != nil {
		return nil, 0, err
	}
	full := float64(int64(1) << (bits - 1))
	mono := make([]float64, frames)
	for i := range mono {
		var sum float64
		for c := 0; c < ch; c++ {
			sum += float64(sampleAt(raw[(i*ch+c)*width:], width))
		}
		mono[i] = sum / float64(ch) / full
	}
	return mono, rate, nil
}

// sampleAt reads one little-endian sample of width bytes (8-bit WAV
// samples are unsigned, wider ones signed).
func sampleAt(b []byte, width int) int64 {
	switch width {
	case 1:
		return int64(b[0]) - 128
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case 3:
		return int64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8)
	default:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	}
}

func decodeMP3(data []byte, maxLen time.Duration) ([]float64, int, error) {
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	rate := d.SampleRate()
	if err := checkRate(rate); err != nil {
		return nil, 0, err
	}
	// The decoder gives 16-bit little-endian stereo.
	limit := int64(-1)
	if maxLen > 0 {
		limit = int64(maxLen.Seconds()*float64(rate)+1) * 4
	}
	var raw bytes.Buffer
	r := io.Reader(d)
	if limit > 0 {
		r = io.LimitReader(d, limit+4)
	}
	if _, err := raw.ReadFrom(r); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	b := raw.Bytes()
	frames := len(b) / 4
	if err := tooLong(frames, rate, maxLen); err != nil {
		return nil, 0, err
	}
	mono := make([]float64, frames)
	for i := range mono {
		l := int16(binary.LittleEndian.Uint16(b[4*i:]))
		r := int16(binary.LittleEndian.Uint16(b[4*i+2:]))
		mono[i] = (float64(l) + float64(r)) / 2 / 32768
	}
	return mono, rate, nil
}

// resampleTaps is the half-length of the resampling filter in input
// samples at the narrower of the two rates.
const resampleTaps = 16

// Resample converts samples from rate from to rate to with a
// Blackman-windowed sinc low-pass filter, which removes what the lower
// rate cannot carry instead of folding it back as aliasing.
func Resample(in []float64, from, to int) []float64 {
	if from == to || len(in) == 0 {
		return append([]float64(nil), in...)
	}
	ratio := float64(to) / float64(from)
	cutoff := min(1, ratio) * 0.95 // fraction of the input Nyquist frequency
	half := float64(resampleTaps) / min(1, ratio)
	n := int(math.Ceil(float64(len(in)) * ratio))
	out := make([]float64, n)
	for i := range out {
		t := float64(i) / ratio // position in input samples
		lo := int(math.Ceil(t - half))
		hi := int(math.Floor(t + half))
		var sum, wsum float64
		for k := max(lo, 0); k <= min(hi, len(in)-1); k++ {
			x := t - float64(k)
			w := sinc(x*cutoff) * blackman(x, half)
			sum += in[k] * w
			wsum += w
		}
		if wsum != 0 {
			out[i] = sum / wsum
		}
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window over [-half, half].
func blackman(x, half float64) float64 {
	if x < -half || x > half {
		return 0
	}
	p := (x + half) / (2 * half)
	return 0.42 - 0.5*math.Cos(2*math.Pi*p) + 0.08*math.Cos(4*math.Pi*p)
}

// EncodeWAV writes samples as a 16-bit PCM, 8 kHz, mono WAV file.
func EncodeWAV(samples []int16) []byte {
	size := 2 * len(samples)
	b := make([]byte, 44+size)
	le := binary.LittleEndian
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], uint32(36+size))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)     // fmt chunk size
	le.PutUint16(b[20:], 1)      // PCM
	le.PutUint16(b[22:], 1)      // mono
	le.PutUint32(b[24:], Rate)   // sample rate
	le.PutUint32(b[28:], 2*Rate) // byte rate
	le.PutUint16(b[32:], 2)      // block align
	le.PutUint16(b[34:], 16)     // bits per sample
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(size))
	for i, v := range samples {
		le.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}

// Duration is how long samples at Rate last.
func Duration(samples int) time.Duration {
	return time.Duration(samples) * time.Second / Rate
}
