package media

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLevel(t *testing.T) {
	require.Equal(t, -100.0, Level(nil))
	require.Equal(t, -100.0, Level(make([]int16, 160)))
	square := make([]int16, 160)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32768
		}
	}
	require.InDelta(t, 0, Level(square), 0.01)
	sine, _ := ReadAll(Tone(1000, time.Second, 1), 0)
	require.InDelta(t, -3.01, Level(sine[400:7600]), 0.05)
	quiet, _ := ReadAll(Tone(1000, time.Second, 0.01), 0)
	require.InDelta(t, -43.0, Level(quiet[400:7600]), 0.1)
}

func TestSilenceDetector(t *testing.T) {
	d := NewSilenceDetector(0, 0)
	loud, _ := ReadAll(Tone(440, 500*time.Millisecond, 0.3), 0)
	faint, _ := ReadAll(Tone(440, time.Second, 0.002), 0) // about -57 dBFS: line noise
	require.Zero(t, d.SilentFor())
	d.Write(faint[:800])
	require.Equal(t, 100*time.Millisecond, d.SilentFor())
	require.False(t, d.Heard())
	d.Write(loud)
	require.Zero(t, d.SilentFor())
	require.True(t, d.Heard())
	// Written in odd-sized pieces, windows still add up.
	for i := 0; i < len(faint); i += 37 {
		d.Write(faint[i:min(i+37, len(faint))])
	}
	require.Equal(t, time.Second, d.SilentFor())

	strict := NewSilenceDetector(-70, 10*time.Millisecond)
	strict.Write(faint[:800])
	require.Zero(t, strict.SilentFor())
}

func TestRecorderStops(t *testing.T) {
	speech, _ := ReadAll(Tone(300, time.Second, 0.3), 0)
	t.Run("max duration cuts exactly", func(t *testing.T) {
		sink := &pcmSink{}
		r := NewRecorder(sink, RecorderConfig{MaxDuration: 250 * time.Millisecond})
		for i := 0; i < len(speech); i += 160 {
			require.NoError(t, r.WritePCM(speech[i:i+160]))
		}
		<-r.Done()
		require.Equal(t, RecordStopMaxDuration, r.Stopped())
		require.Len(t, sink.samples(), 2000)
		require.Equal(t, 250*time.Millisecond, r.Duration())
		require.Equal(t, speech[:2000], sink.samples())
	})
	t.Run("silence", func(t *testing.T) {
		sink := &pcmSink{}
		r := NewRecorder(sink, RecorderConfig{SilenceTimeout: 300 * time.Millisecond, MaxDuration: time.Minute})
		require.NoError(t, r.WritePCM(speech[:4000]))
		for range 14 { // 280 ms of silence: not yet
			require.NoError(t, r.WritePCM(make([]int16, 160)))
		}
		require.Equal(t, RecordStopUnknown, r.Stopped())
		require.NoError(t, r.WritePCM(make([]int16, 160)))
		select {
		case <-r.Done():
		default:
			t.Fatal("not stopped after 300 ms of silence")
		}
		require.Equal(t, RecordStopSilence, r.Stopped())
		require.Equal(t, 300*time.Millisecond, r.TrailingSilence())
		require.True(t, r.Heard())
		// Stopped: more audio is dropped.
		require.NoError(t, r.WritePCM(speech[:160]))
		require.Len(t, sink.samples(), 4000+15*160)
	})
	t.Run("writer error", func(t *testing.T) {
		r := NewRecorder(&pcmSink{fail: errors.New("disk full")}, RecorderConfig{})
		require.Error(t, r.WritePCM(speech[:160]))
		<-r.Done()
		require.Equal(t, RecordStopError, r.Stopped())
		require.EqualError(t, r.Err(), "disk full")
		require.Equal(t, "error", r.Stopped().String())
	})
	t.Run("no limits", func(t *testing.T) {
		r := NewRecorder(&pcmSink{}, RecorderConfig{})
		for range 100 {
			require.NoError(t, r.WritePCM(make([]int16, 160)))
		}
		require.Equal(t, RecordStopUnknown, r.Stopped())
		require.False(t, r.Heard())
		require.Equal(t, 2*time.Second, r.Duration())
	})
}

func TestGoertzel(t *testing.T) {
	require.Zero(t, Goertzel(nil, 1000))
	require.Zero(t, Goertzel(make([]int16, 160), 1000))
	for _, f := range []float64{350, 440, 697, 1000, 1209, 1633, 3000} {
		pcm, _ := ReadAll(Tone(f, 100*time.Millisecond, 0.5), 0)
		require.Greater(t, Goertzel(pcm, f), 0.9, "%v Hz", f)
		require.Less(t, Goertzel(pcm, f+100), 0.05, "%v Hz vs %v", f, f+100)
	}
	// A mix of two tones splits its energy between them.
	a, _ := ReadAll(Tone(697, 200*time.Millisecond, 0.3), 0)
	b, _ := ReadAll(Tone(1209, 200*time.Millisecond, 0.3), 0)
	for i := range a {
		a[i] += b[i]
	}
	require.InDelta(t, 0.5, Goertzel(a, 697), 0.05)
	require.InDelta(t, 0.5, Goertzel(a, 1209), 0.05)
	require.False(t, math.IsNaN(Goertzel(a, 0)))
}

func TestToneDuration(t *testing.T) {
	pcm, _ := ReadAll(Concat(Silence(300*time.Millisecond), Tone(1000, 500*time.Millisecond, 0.4),
		Tone(440, 200*time.Millisecond, 0.4), Silence(100*time.Millisecond)), 0)
	require.InDelta(t, 0.5, ToneDuration(pcm, 1000).Seconds(), 0.02)
	require.InDelta(t, 0.2, ToneDuration(pcm, 440).Seconds(), 0.02)
	require.Zero(t, ToneDuration(pcm, 2000))
}
