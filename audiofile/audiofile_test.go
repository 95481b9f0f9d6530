package audiofile

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// wavFile builds a PCM WAV file with the given header fields around data.
func wavFile(format, channels uint16, rate uint32, bits uint16, data []byte) []byte {
	b := make([]byte, 44+len(data))
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+len(data)))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], format)
	le.PutUint16(b[22:], channels)
	le.PutUint32(b[24:], rate)
	le.PutUint32(b[28:], rate*uint32(channels)*uint32(bits/8))
	le.PutUint16(b[32:], channels*bits/8)
	le.PutUint16(b[34:], bits)
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(len(data)))
	copy(b[44:], data)
	return b
}

// tones16 is seconds of the sum of freqs at rate, 16-bit, on every channel.
func tones16(rate, channels int, seconds float64, freqs ...float64) []byte {
	n := int(float64(rate) * seconds)
	out := make([]byte, 0, n*channels*2)
	for i := 0; i < n; i++ {
		var v float64
		for _, f := range freqs {
			v += 0.4 * math.Sin(2*math.Pi*f*float64(i)/float64(rate))
		}
		for c := 0; c < channels; c++ {
			out = binary.LittleEndian.AppendUint16(out, uint16(int16(v*32767)))
		}
	}
	return out
}

// power is the Goertzel power of freq in samples at Rate, per sample.
func power(samples []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/Rate)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x)/32768 + k*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(samples)*len(samples))
}

func TestDecodeWAVResamplesAndMixesDown(t *testing.T) {
	in := wavFile(1, 2, 44100, 16, tones16(44100, 2, 1.0, 440))
	pcm, err := Decode(in, time.Minute)
	require.NoError(t, err)
	require.InDelta(t, 8000, len(pcm), 2, "one second at 8 kHz")
	require.Greater(t, power(pcm, 440), 100*power(pcm, 1000), "the tone survives")
	require.Greater(t, power(pcm, 440), 0.02)
}

// What 8 kHz cannot carry is filtered out, not folded back: a 6 kHz tone
// would alias to 2 kHz.
func TestResampleFiltersAliases(t *testing.T) {
	in := wavFile(1, 1, 48000, 16, tones16(48000, 1, 1.0, 1000, 6000))
	pcm, err := Decode(in, time.Minute)
	require.NoError(t, err)
	kept, alias := power(pcm, 1000), power(pcm, 2000)
	require.Greater(t, kept, 1000*alias, "1 kHz kept (%g), 2 kHz alias (%g)", kept, alias)
}

func TestDecodeEightBitAndPassThrough(t *testing.T) {
	n := 800
	u8 := make([]byte, n)
	for i := range u8 {
		u8[i] = byte(128 + 100*math.Sin(2*math.Pi*500*float64(i)/8000))
	}
	pcm, err := Decode(wavFile(1, 1, 8000, 8, u8), time.Minute)
	require.NoError(t, err)
	require.Len(t, pcm, n)
	require.Greater(t, power(pcm, 500), 100*power(pcm, 1500))

	same := wavFile(1, 1, 8000, 16, tones16(8000, 1, 0.5, 700))
	pcm, err = Decode(same, time.Minute)
	require.NoError(t, err)
	require.Equal(t, same, EncodeWAV(pcm), "8 kHz mono 16-bit goes through unchanged")
}

func TestDecodeMP3(t *testing.T) {
	data, err := os.ReadFile("testdata/tone440-44k-stereo.mp3") // 1 s, 440 Hz, 44.1 kHz stereo
	require.NoError(t, err)
	pcm, err := Decode(data, time.Minute)
	require.NoError(t, err)
	require.InDelta(t, 1.0, Duration(len(pcm)).Seconds(), 0.1)
	require.Greater(t, power(pcm, 440), 100*power(pcm, 1000))
	_, err = Decode(data, 500*time.Millisecond)
	require.ErrorIs(t, err, ErrFormat, "too long")
}

func TestDecodeRefusesWhatItCannotRead(t *testing.T) {
	good := wavFile(1, 1, 8000, 16, tones16(8000, 1, 0.1, 440))
	cases := map[string][]byte{
		"empty":          nil,
		"text":           []byte("hello, this is not audio"),
		"truncated":      good[:30],
		"float samples":  wavFile(3, 1, 8000, 32, make([]byte, 400)),
		"three channels": wavFile(1, 3, 8000, 16, make([]byte, 600)),
		"12-bit":         wavFile(1, 1, 8000, 12, make([]byte, 400)),
		"absurd rate":    wavFile(1, 1, 1000000, 16, make([]byte, 400)),
		"no samples":     wavFile(1, 1, 8000, 16, nil),
		"too long":       wavFile(1, 1, 8000, 16, make([]byte, 2*8000*3)),
		"mp3 sync only":  {0xFF, 0xFB, 0x90, 0x00, 1, 2, 3},
	}
	for name, data := range cases {
		_, err := Decode(data, 2*time.Second)
		require.Error(t, err, name)
		require.True(t, errors.Is(err, ErrFormat), "%s: %v", name, err)
	}
}

func TestEncodeWAVHeader(t *testing.T) {
	b := EncodeWAV([]int16{1, -1, 32767})
	require.Len(t, b, 50)
	require.Equal(t, "RIFF", string(b[:4]))
	require.EqualValues(t, 42, binary.LittleEndian.Uint32(b[4:]))
	require.EqualValues(t, 8000, binary.LittleEndian.Uint32(b[24:]))
	require.EqualValues(t, 6, binary.LittleEndian.Uint32(b[40:]))
	require.EqualValues(t, 32767, int16(binary.LittleEndian.Uint16(b[48:])))
}

func FuzzDecode(f *testing.F) {
	f.Add(wavFile(1, 1, 8000, 16, tones16(8000, 1, 0.01, 440)))
	f.Add(wavFile(1, 2, 22050, 8, make([]byte, 64)))
	if mp3, err := os.ReadFile("testdata/tone440-44k-stereo.mp3"); err == nil {
		f.Add(mp3[:512])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, err := Decode(data, 10*time.Second)
		if err == nil && len(pcm) == 0 {
			t.Fatal("no error and no audio")
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error not marked as a format error: %v", err)
		}
	})
}
