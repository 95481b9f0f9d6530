package media

import (
	"math"
	"time"
)

// Goertzel is the share of pcm's energy at freq Hz, from 0 to 1: near 1 for
// a pure tone at freq, near 0 when there is none. It evaluates one point of
// the signal's spectrum with the Goertzel recurrence, so freq need not fall
// on an FFT bin; the frequency resolution is about SampleRate/len(pcm) Hz
// (50 Hz for 20 ms of audio).
func Goertzel(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2, energy float64
	for _, x := range pcm {
		v := float64(x)
		energy += v * v
		s1, s2 = v+coeff*s1-s2, s1
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	// A sine of amplitude A over N samples has power (AN/2)² at its
	// frequency and energy A²N/2.
	return math.Min(1, 2*power/(float64(len(pcm))*energy))
}

// ToneDuration is how long a tone at freq Hz sounds in pcm: the total of
// the 20 ms blocks where it carries at least half of the energy, at a level
// above -50 dBFS.
func ToneDuration(pcm []int16, freq float64) time.Duration {
	block := Samples(20 * time.Millisecond)
	n := 0
	for i := 0; i+block <= len(pcm); i += block {
		b := pcm[i : i+block]
		if Level(b) > -50 && Goertzel(b, freq) >= 0.5 {
			n += block
		}
	}
	return Duration(n)
}
