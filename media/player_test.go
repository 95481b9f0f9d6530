package media

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

type received struct {
	pkt rtp.Packet
	at  time.Time
}

// collectPackets reads n packets from the peer, failing after a bounded wait.
func collectPackets(t *testing.T, peer *testPeer, n int) []received {
	t.Helper()
	var out []received
	for len(out) < n {
		pkt, at, ok := peer.recv(t, 3*time.Second)
		require.True(t, ok, "got %d of %d packets", len(out), n)
		out = append(out, received{pkt, at})
	}
	return out
}

func requireNoPacket(t *testing.T, peer *testPeer) {
	t.Helper()
	_, _, ok := peer.recv(t, 100*time.Millisecond)
	require.False(t, ok, "unexpected packet")
}

// 100 frames of 20 ms take 2 s, sent as 100 packets with consecutive
// sequence numbers, timestamps 160 apart, and the marker on the first.
func TestPlayTiming(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	pcm, err := ReadAll(Tone(440, 2*time.Second, 0.3), 0)
	require.NoError(t, err)
	require.Len(t, pcm, 100*160)

	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Play(context.Background(), PCM(pcm)) }()
	pkts := collectPackets(t, peer, 100)
	require.NoError(t, <-done)
	elapsed := time.Since(start)
	require.InDelta(t, 2.0, elapsed.Seconds(), 0.1, "Play took %v", elapsed)
	// The last frame goes out 99 frames after the first.
	spread := pkts[99].at.Sub(pkts[0].at)
	require.InDelta(t, 1.98, spread.Seconds(), 0.1, "packets spread over %v", spread)
	// Halfway through, the schedule is on time: no drift builds up.
	mid := pkts[50].at.Sub(start)
	require.InDelta(t, 1.0, mid.Seconds(), 0.1, "packet 50 at %v", mid)

	first := pkts[0].pkt
	require.True(t, first.Marker)
	require.Equal(t, uint8(0), first.PayloadType)
	var got []int16
	for i, r := range pkts {
		require.Equal(t, first.SequenceNumber+uint16(i), r.pkt.SequenceNumber)
		require.Equal(t, first.Timestamp+uint32(160*i), r.pkt.Timestamp)
		require.Equal(t, first.SSRC, r.pkt.SSRC)
		require.Equal(t, i == 0, r.pkt.Marker)
		require.Len(t, r.pkt.Payload, 160)
		got = CodecPCMU.Decode(got, r.pkt.Payload)
	}
	require.Greater(t, Goertzel(got, 440), 0.9)
	require.Equal(t, uint64(100), s.Stats().PacketsOut)
	requireNoPacket(t, peer)
}

// slowSource takes a while to produce every frame, as a file read or a
// decoder might: the schedule must absorb it rather than add it up.
type slowSource struct {
	Source
	delay time.Duration
}

func (s slowSource) ReadPCM(p []int16) (int, error) {
	time.Sleep(s.delay)
	return s.Source.ReadPCM(p)
}

func TestPlayDoesNotDrift(t *testing.T) {
	peer := newTestPeer(t)
	p := pcmuParams(peer.addr())
	p.Ptime = 30 * time.Millisecond
	s := newTestSession(t, p, SessionConfig{})
	start := time.Now()
	// 1.5 s in 50 frames of 30 ms, each taking 12 ms to produce: sleeping
	// a frame's time after each send would take 2.1 s.
	require.NoError(t, s.Play(context.Background(), slowSource{Silence(1500 * time.Millisecond), 12 * time.Millisecond}))
	require.InDelta(t, 1.5, time.Since(start).Seconds(), 0.1)
	pkts := collectPackets(t, peer, 50)
	require.Len(t, pkts[0].pkt.Payload, 240)
	require.Equal(t, pkts[0].pkt.Timestamp+49*240, pkts[49].pkt.Timestamp)
}

// Pieces played one after another continue the same schedule: no gap, no
// new marker, consecutive timestamps. After a pause, the timestamps jump by
// the pause and the marker starts the new talkspurt.
func TestPlayBackToBack(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	ctx := context.Background()
	start := time.Now()
	require.NoError(t, s.Play(ctx, Tone(1000, 200*time.Millisecond, 0.5)))
	require.NoError(t, s.Play(ctx, Concat(Silence(90*time.Millisecond), Tone(500, 110*time.Millisecond, 0.5))))
	require.InDelta(t, 0.4, time.Since(start).Seconds(), 0.1)
	pkts := collectPackets(t, peer, 20)
	for i, r := range pkts {
		require.Equal(t, pkts[0].pkt.SequenceNumber+uint16(i), r.pkt.SequenceNumber)
		require.Equal(t, pkts[0].pkt.Timestamp+uint32(160*i), r.pkt.Timestamp)
		require.Equal(t, i == 0, r.pkt.Marker, "packet %d", i)
	}
	require.Less(t, pkts[10].at.Sub(pkts[9].at), 60*time.Millisecond)

	time.Sleep(200 * time.Millisecond)
	require.NoError(t, s.Play(ctx, Silence(20*time.Millisecond)))
	next := collectPackets(t, peer, 1)[0].pkt
	require.True(t, next.Marker)
	require.Equal(t, pkts[19].pkt.SequenceNumber+1, next.SequenceNumber)
	jump := int(next.Timestamp - pkts[19].pkt.Timestamp)
	require.InDelta(t, 160+Samples(200*time.Millisecond), jump, float64(Samples(60*time.Millisecond)))
}

func TestPlayUntilDigit(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	ctx := context.Background()

	// Barge-in: a key pressed during the prompt stops it at once.
	go func() {
		time.Sleep(200 * time.Millisecond)
		d, err := ParseDTMFInfo("application/dtmf-relay", []byte("Signal=5\r\nDuration=100\r\n"))
		if err == nil {
			s.InjectDTMF(d)
		}
	}()
	start := time.Now()
	d, err := s.PlayUntilDigit(ctx, Silence(10*time.Second))
	require.NoError(t, err)
	require.Equal(t, '5', d.Digit)
	require.Equal(t, DTMFSourceSIPInfo, d.Source)
	require.Less(t, time.Since(start), time.Second)

	// Typed ahead: the prompt does not start.
	require.True(t, s.InjectDTMF(DTMF{Digit: '7'}))
	drain(peer)
	d, err = s.PlayUntilDigit(ctx, Silence(10*time.Second))
	require.NoError(t, err)
	require.Equal(t, '7', d.Digit)
	requireNoPacket(t, peer)

	// Play without barge-in leaves digits queued for later.
	require.True(t, s.InjectDTMF(DTMF{Digit: '9'}))
	require.NoError(t, s.Play(ctx, Silence(40*time.Millisecond)))
	require.Equal(t, '9', (<-s.DTMF()).Digit)

	// Played to the end: no digit.
	d, err = s.PlayUntilDigit(ctx, Silence(40*time.Millisecond))
	require.NoError(t, err)
	require.Zero(t, d.Digit)
}

func drain(peer *testPeer) {
	for {
		_ = peer.conn.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		if _, _, err := peer.conn.ReadFromUDPAddrPort(peer.buf); err != nil {
			return
		}
	}
}

func TestPlayStops(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.Play(ctx, Silence(10*time.Second)), context.DeadlineExceeded)
	require.ErrorIs(t, s.Play(ctx, Silence(time.Second)), context.DeadlineExceeded)

	boom := errors.New("boom")
	require.ErrorIs(t, s.Play(context.Background(), Concat(Silence(20*time.Millisecond), errSource{boom})), boom)

	go func() {
		time.Sleep(100 * time.Millisecond)
		s.Close()
	}()
	start := time.Now()
	require.ErrorIs(t, s.Play(context.Background(), Silence(10*time.Second)), ErrSessionClosed)
	require.Less(t, time.Since(start), time.Second)
	require.ErrorIs(t, s.Play(context.Background(), Silence(time.Second)), ErrSessionClosed)
}

type errSource struct{ err error }

func (e errSource) ReadPCM([]int16) (int, error) { return 0, e.err }

// On hold (we only receive), playing takes its time but sends nothing.
func TestPlayOnHold(t *testing.T) {
	peer := newTestPeer(t)
	p := pcmuParams(peer.addr())
	p.Direction = DirectionRecvOnly
	s := newTestSession(t, p, SessionConfig{})
	start := time.Now()
	require.NoError(t, s.Play(context.Background(), Silence(200*time.Millisecond)))
	require.InDelta(t, 0.2, time.Since(start).Seconds(), 0.08)
	requireNoPacket(t, peer)
	require.Zero(t, s.Stats().PacketsOut)

	p.Direction = DirectionSendRecv
	require.NoError(t, s.Update(p))
	require.NoError(t, s.Play(context.Background(), Silence(20*time.Millisecond)))
	collectPackets(t, peer, 1)
}

func TestSources(t *testing.T) {
	pcm, err := ReadAll(PCM([]int16{1, 2, 3}), 0)
	require.NoError(t, err)
	require.Equal(t, []int16{1, 2, 3}, pcm)

	pcm, err = ReadAll(Silence(25*time.Millisecond), 0)
	require.NoError(t, err)
	require.Len(t, pcm, 200)
	require.Equal(t, make([]int16, 200), pcm)

	pcm, err = ReadAll(Concat(PCM([]int16{1}), Silence(0), PCM(nil), PCM([]int16{2, 3})), 0)
	require.NoError(t, err)
	require.Equal(t, []int16{1, 2, 3}, pcm)

	_, err = ReadAll(Silence(time.Second), 100)
	require.Error(t, err)

	// A frame straddles two pieces.
	frame := make([]int16, 4)
	n, eof, err := readFrame(Concat(PCM([]int16{1, 2}), PCM([]int16{3})), frame)
	require.NoError(t, err)
	require.True(t, eof)
	require.Equal(t, 3, n)
	require.Equal(t, []int16{1, 2, 3, 0}, frame)
	_, _, err = readFrame(stuckSource{}, frame)
	require.ErrorIs(t, err, io.ErrNoProgress)
}

type stuckSource struct{}

func (stuckSource) ReadPCM([]int16) (int, error) { return 0, nil }

func TestTone(t *testing.T) {
	for _, tc := range []struct {
		freq, amp float64
		d         time.Duration
	}{{1000, 0.5, 400 * time.Millisecond}, {440, 0.25, time.Second}, {1400, 1, 100 * time.Millisecond}} {
		pcm, err := ReadAll(Tone(tc.freq, tc.d, tc.amp), 0)
		require.NoError(t, err)
		require.Len(t, pcm, Samples(tc.d))
		// Fades in and out without a click.
		require.Zero(t, pcm[0])
		require.LessOrEqual(t, math.Abs(float64(pcm[len(pcm)-1])), 0.02*32767)
		peak := 0.0
		for _, v := range pcm {
			peak = math.Max(peak, math.Abs(float64(v)))
		}
		require.InDelta(t, tc.amp*32767, peak, 0.01*32767)
		require.Greater(t, Goertzel(pcm, tc.freq), 0.95)
		require.InDelta(t, tc.d.Seconds(), ToneDuration(pcm, tc.freq).Seconds(), 0.021)
		require.Zero(t, ToneDuration(pcm, tc.freq*1.5))
	}
	pcm, err := ReadAll(Beep(), 0)
	require.NoError(t, err)
	require.Greater(t, Goertzel(pcm, 1000), 0.95)
	pcm, err = ReadAll(Tone(1000, time.Second, 7), 0) // clamped to full scale
	require.NoError(t, err)
	require.Equal(t, int16(math.MaxInt16), slicesMax(pcm))
}

func slicesMax(pcm []int16) int16 {
	m := pcm[0]
	for _, v := range pcm {
		m = max(m, v)
	}
	return m
}
