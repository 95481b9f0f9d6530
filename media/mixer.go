package media

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// tapRing is how much mixed audio a tap holds, in samples (2.048 s):
	// what its writer may fall behind before frames are left out.
	tapRing = 1 << 14
	// tapLatency is how long a stretch of the timeline stays open for
	// frames that arrive late, in samples (200 ms); tapInterval is how often
	// what is older goes to the writer.
	tapLatency  = 1600
	tapInterval = 100 * time.Millisecond
	// tapSlack is how far, in samples (60 ms), one direction's audio may
	// drift from the wall clock (jitter, a sender's clock) before it is
	// realigned.
	tapSlack = 480
	// tapChunk is the most written to the tap at once.
	tapChunk = 1600
)

// mixer records both directions of a bridged call onto one timeline: the
// wall clock since the bridge started, in samples. A frame from one
// direction is placed right after that direction's previous frame (plus
// any gap its RTP timestamps show, for lost packets), so network jitter
// does not tear the audio apart; only when the direction has fallen more
// than tapSlack behind the wall clock (it paused, or its sender's clock is
// slow) is it placed where it arrived, ending at the instant it came, and
// a frame more than tapSlack ahead (a fast clock) is left out. The
// directions are summed with saturation where they overlap, and whatever
// neither covers is silence, so the recording lasts exactly as long as the
// bridge and cannot drift.
//
// Frames are added by the two sessions' receive goroutines; the bridge's
// goroutine hands the timeline to the writer tapLatency behind real time,
// outside the lock, so a slow disk does not hold the receivers up.
type mixer struct {
	w       PCMWriter
	dropped atomic.Uint64

	// mu guards the timeline: ring holds positions emitted to
	// emitted+tapRing, zero where nothing was added.
	mu      sync.Mutex
	ring    [tapRing]int16
	emitted int64
	in      [2]mixInput

	// Used only by the goroutine that calls emit.
	out []int16
	err error // the writer's; once set, the timeline is discarded
}

// mixInput is where one direction stands on the timeline.
type mixInput struct {
	placed bool   // pos is set
	pos    int64  // where the direction's next sample goes
	haveTS bool   // nextTS is set
	nextTS uint32 // the RTP timestamp that would follow the last frame
}

func newMixer(w PCMWriter) *mixer {
	return &mixer{w: w, out: make([]int16, tapChunk)}
}

// add places a frame of direction i (0 or 1) with RTP timestamp ts, which
// arrived when the timeline was at now.
func (m *mixer) add(i int, ts uint32, pcm []int16, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := &m.in[i]
	n := int64(len(pcm))
	if in.haveTS {
		if gap := int32(ts - in.nextTS); gap > 0 && gap <= maxGapFill {
			in.pos += int64(gap)
		}
	}
	in.haveTS, in.nextTS = true, ts+uint32(n)
	if !in.placed || in.pos < now-n-tapSlack {
		// The frame's audio was captured in the ptime before it came.
		in.placed, in.pos = true, now-n
	}
	if in.pos > now+tapSlack {
		m.dropped.Add(1)
		return
	}
	at := in.pos
	in.pos += n
	if skip := m.emitted - at; skip > 0 {
		// Only at the very start: the frame began before the bridge did.
		if skip >= n {
			return
		}
		pcm, at = pcm[skip:], m.emitted
	}
	if at+int64(len(pcm)) > m.emitted+tapRing {
		// The writer is more than the ring behind.
		m.dropped.Add(1)
		return
	}
	for k, v := range pcm {
		j := (at + int64(k)) & (tapRing - 1)
		m.ring[j] = addSaturated(m.ring[j], v)
	}
}

// restart forgets direction i's timestamps: its sender started a new
// stream, whose timestamps say nothing about the gap since the old one.
func (m *mixer) restart(i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.in[i].haveTS = false
}

func addSaturated(a, b int16) int16 {
	s := int32(a) + int32(b)
	return int16(max(math.MinInt16, min(math.MaxInt16, s)))
}

// emit hands the timeline up to upTo (exclusive) to the writer. Only one
// goroutine calls it. After a write error the rest is discarded.
func (m *mixer) emit(upTo int64) {
	for {
		m.mu.Lock()
		n := int(min(upTo-m.emitted, int64(len(m.out))))
		if n <= 0 {
			m.mu.Unlock()
			return
		}
		start := int(m.emitted & (tapRing - 1))
		end := min(start+n, tapRing)
		k := copy(m.out[:n], m.ring[start:end])
		clear(m.ring[start:end])
		copy(m.out[k:n], m.ring[:n-k])
		clear(m.ring[:n-k])
		m.emitted += int64(n)
		m.mu.Unlock()
		if m.err == nil {
			m.err = m.w.WritePCM(m.out[:n])
		}
	}
}
