package media

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// collect is a reorder buffer recording what it delivers: the first payload
// byte pair of each packet is its sequence number.
type collect struct {
	buf  *reorderBuffer
	seqs []uint16
}

func newCollect(depth int) *collect {
	c := &collect{}
	c.buf = newReorderBuffer(depth, func(_ packetKind, _ uint32, p []byte) {
		c.seqs = append(c.seqs, uint16(p[0])<<8|uint16(p[1]))
	})
	return c
}

func (c *collect) push(seq uint16) pushResult {
	return c.buf.push(seq, kindAudio, uint32(seq)*160, []byte{byte(seq >> 8), byte(seq)})
}

func seqRange(from uint16, n int) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = from + uint16(i)
	}
	return out
}

func TestReorderInOrderAcrossWrap(t *testing.T) {
	c := newCollect(3)
	in := seqRange(65500, 100) // wraps at 65535
	for _, s := range in {
		require.Equal(t, pushAccepted, c.push(s))
	}
	require.Equal(t, in, c.seqs)
	require.Zero(t, c.buf.lost)
}

func TestReorderShuffled(t *testing.T) {
	for _, start := range []uint16{0, 1000, 65530, 65535} {
		c := newCollect(5)
		in := seqRange(start, 500)
		// Shuffle within windows of 4, so no packet is more than depth late.
		shuffled := append([]uint16(nil), in...)
		r := rand.New(rand.NewPCG(uint64(start), 7))
		for i := 0; i < len(shuffled); i += 4 {
			w := shuffled[i:min(i+4, len(shuffled))]
			r.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
		}
		// The first packet must come first: it sets where the stream starts.
		for i, s := range shuffled {
			if s == start {
				shuffled[0], shuffled[i] = shuffled[i], shuffled[0]
			}
		}
		for _, s := range shuffled {
			require.Equal(t, pushAccepted, c.push(s))
		}
		c.buf.flush()
		require.Equal(t, in, c.seqs, "start %d", start)
		require.Zero(t, c.buf.lost)
	}
}

func TestReorderLossLateDuplicate(t *testing.T) {
	c := newCollect(2)
	for _, s := range []uint16{65534, 65535} {
		c.push(s)
	}
	// 0 is missing; 1 and 2 arrive, which is depth, so 0 is declared lost.
	require.Equal(t, pushAccepted, c.push(1))
	require.Equal(t, []uint16{65534, 65535}, c.seqs)
	require.Equal(t, pushAccepted, c.push(2))
	require.Equal(t, []uint16{65534, 65535, 1, 2}, c.seqs)
	require.Equal(t, uint64(1), c.buf.lost)

	require.Equal(t, pushLate, c.push(0))
	require.Equal(t, pushDuplicate, c.push(2))
	require.Equal(t, pushDuplicate, c.push(65535))

	// A duplicate of a packet still waiting is dropped too.
	require.Equal(t, pushAccepted, c.push(4))
	require.Equal(t, pushDuplicate, c.push(4))
	require.Equal(t, pushAccepted, c.push(3))
	require.Equal(t, []uint16{65534, 65535, 1, 2, 3, 4}, c.seqs)
	require.Equal(t, uint64(1), c.buf.lost)
}

func TestReorderBurstLossSkipsAhead(t *testing.T) {
	c := newCollect(3)
	c.push(100)
	// 200 packets lost: the next one is far beyond the buffer.
	for _, s := range seqRange(301, 10) {
		c.push(s)
	}
	require.Equal(t, append([]uint16{100}, seqRange(301, 10)...), c.seqs)
	require.Equal(t, uint64(200), c.buf.lost)
}

func TestReorderRestart(t *testing.T) {
	c := newCollect(3)
	for _, s := range seqRange(10, 5) {
		c.push(s)
	}
	// A jump of 30000 is one stray packet, unless the next follows it.
	require.Equal(t, pushJump, c.push(30000))
	require.Equal(t, pushAccepted, c.push(15))
	require.Equal(t, pushJump, c.push(40000))
	require.Equal(t, pushAccepted, c.push(40001))
	require.Equal(t, pushAccepted, c.push(40002))
	require.Equal(t, append(seqRange(10, 6), 40001, 40002), c.seqs)
	require.Zero(t, c.buf.lost)
}

func TestReorderDepthZero(t *testing.T) {
	c := newCollect(0)
	c.push(1)
	c.push(3) // 2 is given up at once
	require.Equal(t, pushLate, c.push(2))
	require.Equal(t, []uint16{1, 3}, c.seqs)
	require.Equal(t, uint64(1), c.buf.lost)
}

func TestReorderResetAndFlush(t *testing.T) {
	c := newCollect(10)
	c.push(1)
	c.push(3)
	c.push(4)
	require.Equal(t, []uint16{1}, c.seqs)
	c.buf.reset() // new SSRC: what waits is delivered, the gap is lost
	require.Equal(t, []uint16{1, 3, 4}, c.seqs)
	require.Equal(t, uint64(1), c.buf.lost)
	c.push(50000)
	c.push(50001)
	require.Equal(t, []uint16{1, 3, 4, 50000, 50001}, c.seqs)
}

func TestReorderAllocationFree(t *testing.T) {
	b := newReorderBuffer(3, func(packetKind, uint32, []byte) {})
	payload := make([]byte, 160)
	seq := uint16(0)
	// Warm the slots up with out-of-order traffic, then measure.
	run := func() {
		b.push(seq+1, kindAudio, 0, payload)
		b.push(seq, kindAudio, 0, payload)
		seq += 2
	}
	for range 200 {
		run()
	}
	require.Zero(t, testing.AllocsPerRun(1000, run))
}
