package media

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCodecRoundTrip(t *testing.T) {
	for _, c := range []Codec{CodecPCMU, CodecPCMA} {
		t.Run(c.String(), func(t *testing.T) {
			// Every code decodes to a value that encodes back to a code
			// decoding to the same value (µ-law has two zeros).
			for b := range 256 {
				pcm := c.Decode(nil, []byte{byte(b)})
				again := c.Decode(nil, c.Encode(nil, pcm))
				require.Equal(t, pcm, again, "code %#x", b)
			}
			// Linear PCM survives within G.711's quantisation: a few
			// percent of the value, a few steps near zero.
			var pcm []int16
			for v := -32768; v <= 32767; v += 7 {
				pcm = append(pcm, int16(v))
			}
			enc := c.Encode(nil, pcm)
			require.Len(t, enc, len(pcm))
			dec := c.Decode(nil, enc)
			require.Len(t, dec, len(pcm))
			for i, v := range pcm {
				diff := math.Abs(float64(dec[i]) - float64(v))
				require.LessOrEqual(t, diff, math.Max(32, math.Abs(float64(v))*0.07), "sample %d", v)
			}
		})
	}
}

func TestCodecSignalToNoise(t *testing.T) {
	tone, err := ReadAll(Tone(1000, time.Second, 0.5), 0)
	require.NoError(t, err)
	for _, c := range []Codec{CodecPCMU, CodecPCMA} {
		dec := c.Decode(nil, c.Encode(nil, tone))
		var sig, noise float64
		for i := range tone {
			d := float64(dec[i]) - float64(tone[i])
			sig += float64(tone[i]) * float64(tone[i])
			noise += d * d
		}
		snr := 10 * math.Log10(sig/noise)
		require.Greater(t, snr, 30.0, c.String()) // G.711 gives about 38 dB
	}
}

func TestCodecAppendsWithoutAllocating(t *testing.T) {
	pcm := make([]int16, 160)
	enc := make([]byte, 0, 160)
	dec := make([]int16, 0, 160)
	allocs := testing.AllocsPerRun(100, func() {
		enc = CodecPCMA.Encode(enc[:0], pcm)
		dec = CodecPCMA.Decode(dec[:0], enc)
	})
	require.Zero(t, allocs)
	require.Equal(t, uint8(0), CodecPCMU.PayloadType())
	require.Equal(t, uint8(8), CodecPCMA.PayloadType())
	require.Equal(t, "unknown", CodecUnknown.String())
	require.Equal(t, 160, Samples(20*time.Millisecond))
	require.Equal(t, 20*time.Millisecond, Duration(160))
}
