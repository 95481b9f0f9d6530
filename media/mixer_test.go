package media

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func constFrame(v int16, n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = v
	}
	return pcm
}

// requireBlocks checks out block by block of 160 samples: want(k) is the
// value block k holds throughout.
func requireBlocks(t *testing.T, out []int16, want func(k int) int16) {
	t.Helper()
	for k := 0; k*160 < len(out); k++ {
		block := out[k*160 : min(len(out), (k+1)*160)]
		w := want(k)
		for i, v := range block {
			if v != w {
				t.Fatalf("block %d sample %d: %d, want %d", k, i, v, w)
			}
		}
	}
}

func TestMixerPlacement(t *testing.T) {
	tests := []struct {
		name string
		// arrive is when frame k (timestamp k*160, value k+1) arrives, in
		// samples since the start; a negative time means it never does.
		arrive  func(k int) int64
		frames  int
		want    func(k int) int16
		dropped uint64
	}{
		{
			name:   "steady",
			arrive: func(k int) int64 { return int64(k+1) * 160 },
			frames: 50,
			want:   func(k int) int16 { return int16(k + 1) },
		},
		{
			name: "jitter keeps frames together",
			arrive: func(k int) int64 {
				if k == 0 {
					return 160
				}
				return int64(k+1)*160 + int64(k*97%400)
			},
			frames: 50,
			want: func(k int) int16 {
				if k >= 50 {
					return 0 // after the last frame, up to its late arrival
				}
				return int16(k + 1)
			},
		},
		{
			name: "a lost frame is silence",
			arrive: func(k int) int64 {
				if k == 10 {
					return -1
				}
				return int64(k+1) * 160
			},
			frames: 20,
			want: func(k int) int16 {
				if k == 10 {
					return 0
				}
				return int16(k + 1)
			},
		},
		{
			name: "a late talkspurt is placed where it came",
			// Frames 0-4, then 5-9 arrive 2 s later than their timestamps say:
			// the sender paused without telling.
			arrive: func(k int) int64 {
				if k < 5 {
					return int64(k+1) * 160
				}
				return int64(k+1)*160 + 16000
			},
			frames: 10,
			want: func(k int) int16 {
				switch {
				case k < 5:
					return int16(k + 1)
				case k >= 105:
					return int16(k - 100 + 1)
				}
				return 0
			},
		},
		{
			name: "the first frame began before the bridge",
			arrive: func(k int) int64 {
				return int64(k)*160 + 60
			},
			frames: 3,
			// Frame 0 is cut to its last 60 samples; the rest follow on.
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &pcmSink{}
			m := newMixer(sink)
			end := int64(0)
			for k := range tc.frames {
				at := tc.arrive(k)
				if at < 0 {
					continue
				}
				// The bridge's goroutine emits what is old enough.
				m.emit(at - tapLatency)
				m.add(0, uint32(k*160), constFrame(int16(k+1), 160), at)
				end = max(end, at)
			}
			m.emit(end)
			out := sink.samples()
			require.Len(t, out, int(end))
			if tc.want == nil {
				require.Equal(t, constFrame(1, 60), out[:60])
				require.Equal(t, constFrame(2, 160), out[60:220])
				require.Equal(t, constFrame(3, 160), out[220:380])
			} else {
				requireBlocks(t, out, tc.want)
			}
			require.Equal(t, tc.dropped, m.dropped.Load())
		})
	}
}

// Both directions are summed, with saturation, where they overlap.
func TestMixerSums(t *testing.T) {
	sink := &pcmSink{}
	m := newMixer(sink)
	pairs := [][2]int16{{1000, 2000}, {30000, 10000}, {-30000, -10000}, {math.MaxInt16, math.MinInt16}, {0, -7}}
	for k, p := range pairs {
		now := int64(k+1) * 160
		m.add(0, uint32(k*160), constFrame(p[0], 160), now)
		m.add(1, uint32(90000+k*160), constFrame(p[1], 160), now)
	}
	m.emit(int64(len(pairs)) * 160)
	want := []int16{3000, math.MaxInt16, math.MinInt16, -1, -7}
	requireBlocks(t, sink.samples(), func(k int) int16 { return want[k] })

	// Frames that come a little apart overlap by what they share.
	sink = &pcmSink{}
	m = newMixer(sink)
	m.add(0, 0, constFrame(100, 160), 160)
	m.add(1, 0, constFrame(10, 160), 190)
	m.emit(190)
	out := sink.samples()
	require.Equal(t, constFrame(100, 30), out[:30])
	require.Equal(t, constFrame(110, 130), out[30:160])
	require.Equal(t, constFrame(10, 30), out[160:190])
}

// Over a long call, a sender whose clock runs slow or fast never makes the
// recording longer or shorter than the wall clock, nor doubles audio.
func TestMixerClockDrift(t *testing.T) {
	for _, rate := range []float64{0.99, 1.01} {
		sink := &pcmSink{}
		m := newMixer(sink)
		frames := 3000 // a minute
		now := int64(0)
		for k := range frames {
			// One frame of the sender's clock lasts 160/rate of ours.
			now = int64(float64(k+1) * 160 / rate)
			m.add(0, uint32(k*160), constFrame(1, 160), now)
			if k%5 == 0 {
				m.emit(now - tapLatency)
			}
		}
		m.emit(now)
		out := sink.samples()
		require.Len(t, out, int(now))
		silent, most := 0, int16(0)
		for _, v := range out {
			most = max(most, v)
			if v == 0 {
				silent++
			}
		}
		require.Equal(t, int16(1), most, "audio written twice")
		t.Logf("clock rate %v: %d frames dropped, %d samples of silence", rate, m.dropped.Load(), silent)
		if rate < 1 {
			// The slow sender leaves gaps of silence, and loses nothing.
			require.Zero(t, m.dropped.Load())
			require.InDelta(t, len(out)-frames*160, silent, 640)
		} else {
			// The fast one loses frames to stay in place: one whenever it
			// gains a frame on the clock, once it is tapSlack ahead (after
			// 400 frames).
			require.InDelta(t, (frames-400)/100, int(m.dropped.Load()), 3)
			require.Less(t, silent, 640)
		}
	}
}

// A writer that falls far behind costs frames, never misplaced ones.
func TestMixerStalledWriter(t *testing.T) {
	sink := &pcmSink{}
	m := newMixer(sink)
	frames := 300 // 6 s, with no emit in between
	for k := range frames {
		m.add(0, uint32(k*160), constFrame(int16(k+1), 160), int64(k+1)*160)
	}
	require.NotZero(t, m.dropped.Load())
	m.emit(int64(frames) * 160)
	out := sink.samples()
	require.Len(t, out, frames*160)
	kept := 0
	requireBlocks(t, out, func(k int) int16 {
		if out[k*160] != 0 {
			kept++
			return int16(k + 1)
		}
		return 0
	})
	require.Equal(t, frames-int(m.dropped.Load()), kept)
	require.GreaterOrEqual(t, kept, tapRing/160-1)
}

func TestMixerWriterError(t *testing.T) {
	sink := &pcmSink{fail: errTest}
	m := newMixer(sink)
	m.add(0, 0, constFrame(5, 160), 160)
	m.emit(160)
	require.ErrorIs(t, m.err, errTest)
	m.add(0, 160, constFrame(5, 160), 320)
	m.emit(320) // discarded, no panic, no retry
	require.Equal(t, int64(320), m.emitted)
}

var errTest = errors.New("disk full")
