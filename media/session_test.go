package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zaf/g711"
)

// Two sessions negotiated with Offer, Answer and ParseAnswer: one plays a
// 1 kHz tone for a second, the other records it to a WAV file.
func TestLoopbackToneRecording(t *testing.T) {
	pool := testPool()
	connA, err := pool.Listen(loopback)
	require.NoError(t, err)
	connB, err := pool.Listen(loopback)
	require.NoError(t, err)

	cfg := SDPConfig{Codecs: []Codec{CodecPCMA, CodecPCMU}}
	offer, err := Offer(loopback, connA.Port(), cfg)
	require.NoError(t, err)
	answer, pB, err := Answer(offer, loopback, connB.Port(), SDPConfig{})
	require.NoError(t, err)
	pA, err := ParseAnswer(answer, cfg)
	require.NoError(t, err)
	require.Equal(t, CodecPCMA, pA.Codec)

	a, err := NewSession(connA, pA, SessionConfig{})
	require.NoError(t, err)
	defer a.Close()
	b, err := NewSession(connB, pB, SessionConfig{})
	require.NoError(t, err)
	defer b.Close()

	f, err := os.Create(filepath.Join(t.TempDir(), "message.wav"))
	require.NoError(t, err)
	defer f.Close()
	w, err := NewWAVWriter(f)
	require.NoError(t, err)
	rec := NewRecorder(w, RecorderConfig{MaxDuration: 10 * time.Second})
	require.NoError(t, b.SetSink(rec))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, a.Play(ctx, Tone(1000, time.Second, 0.5)))
	require.InDelta(t, 1.0, time.Since(start).Seconds(), 0.1)

	waitFor(t, "all packets received", func() bool { return b.Stats().PacketsIn >= 50 })
	require.NoError(t, b.SetSink(nil))
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())

	_, err = f.Seek(0, 0)
	require.NoError(t, err)
	pcm, err := ReadWAV(f, 0)
	require.NoError(t, err)
	require.InDelta(t, 1.0, Duration(len(pcm)).Seconds(), 0.1)
	require.InDelta(t, 1.0, ToneDuration(pcm, 1000).Seconds(), 0.1)
	require.Greater(t, Goertzel(pcm, 1000), 0.9)
	require.Less(t, Goertzel(pcm, 440), 0.05)
	require.Equal(t, Duration(len(pcm)), rec.Duration())
	require.True(t, rec.Heard())

	sa, sb := a.Stats(), b.Stats()
	require.Equal(t, uint64(50), sa.PacketsOut)
	require.Equal(t, uint64(50*(12+160)), sa.BytesOut)
	require.Equal(t, uint64(50), sb.PacketsIn)
	require.Equal(t, sa.BytesOut, sb.BytesIn)
	require.Zero(t, sb.Lost+sb.Late+sb.Duplicates+sb.Discarded)
	require.Equal(t, connA.LocalAddr(), b.RemoteAddr())
}

// A phone's RFC 4733 digits, interleaved with audio and sharing its
// sequence numbers (across the 65535 wrap), repeated and ended three times,
// come out once each; the audio around them keeps its timing.
func TestSessionDTMFFromRTP(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	sink := &pcmSink{}
	require.NoError(t, s.SetSink(sink))
	to := s.LocalAddr()

	seq, ts := uint16(65525), uint32(1000)
	audio := func(n int) {
		for range n {
			peer.send(t, to, 0, seq, ts, ulawFrame(2000))
			seq++
			ts += 160
		}
	}
	press := func(code uint8) {
		for _, e := range pressSequence(code, ts, 4) {
			peer.send(t, to, 101, seq, e.ts, e.payload)
			seq++
		}
		ts += 5 * 160 // the event replaced 100 ms of audio
	}
	audio(3)
	press(1)
	audio(2)
	press(11)
	audio(1)
	press(1)
	// A copy of the last end packet, late.
	peer.send(t, to, 101, seq-1, ts-5*160, eventPayload(1, true, 800))
	audio(5)

	var got string
	for len(got) < 3 {
		select {
		case d := <-s.DTMF():
			require.Equal(t, DTMFSourceRTP, d.Source)
			got += d.String()
		case <-time.After(5 * time.Second):
			t.Fatalf("digits so far %q", got)
		}
	}
	require.Equal(t, "1#1", got)
	waitFor(t, "all packets", func() bool { return s.Stats().PacketsIn == 11+3*7+1 })
	select {
	case d := <-s.DTMF():
		t.Fatalf("extra digit %q", d.Digit)
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, s.SetSink(nil))

	st := s.Stats()
	require.Zero(t, st.Lost)
	require.Equal(t, uint64(1), st.Duplicates)
	require.Equal(t, uint64(3), st.DTMF)
	// 11 frames of audio and 3 × 100 ms of silence in place of the events.
	pcm := sink.samples()
	require.Len(t, pcm, 11*160+3*800)
	level := g711.DecodeUlawFrame(ulawFrame(2000)[0])
	require.Equal(t, level, pcm[0])
	require.Equal(t, int16(0), pcm[3*160])
	require.Equal(t, level, pcm[3*160+800])
}

func TestSessionReorderLateDuplicate(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{ReorderDepth: 3})
	sink := &pcmSink{}
	require.NoError(t, s.SetSink(sink))
	to := s.LocalAddr()

	// Each packet's payload is one µ-law code, distinct per packet.
	frame := func(i int) []byte {
		b := make([]byte, 160)
		for k := range b {
			b[k] = byte(0x80 + i)
		}
		return b
	}
	base := uint16(65530)
	sendSeq := func(i int) { peer.send(t, to, 0, base+uint16(i), uint32(i)*160, frame(i)) }
	order := []int{0, 2, 1, 3, 5, 4, 4, 6, 7, 9, 8, 8 /* dup */, 11, 12, 13, 14 /* 10 given up */, 10 /* late */, 15}
	for _, i := range order {
		sendSeq(i)
	}
	waitFor(t, "all packets", func() bool {
		st := s.Stats()
		return st.PacketsIn == uint64(len(order))
	})
	require.NoError(t, s.SetSink(nil))

	pcm := sink.samples()
	require.Len(t, pcm, 16*160)
	for i := range 16 {
		want := g711.DecodeUlawFrame(byte(0x80 + i))
		if i == 10 {
			want = 0 // lost: filled with silence
		}
		require.Equal(t, want, pcm[i*160], "frame %d", i)
	}
	st := s.Stats()
	require.Equal(t, uint64(1), st.Lost)
	require.Equal(t, uint64(1), st.Late)
	require.Equal(t, uint64(2), st.Duplicates)
}

// Symmetric RTP: we send where the peer's packets come from, and ignore
// other sources until the peer has been quiet for a while.
func TestSessionSymmetricRTP(t *testing.T) {
	sdpAddr := netip.MustParseAddrPort("127.0.0.1:9") // the discard port: nobody there
	s := newTestSession(t, pcmuParams(sdpAddr), SessionConfig{})
	require.Equal(t, sdpAddr, s.RemoteAddr())

	peer, intruder := newTestPeer(t), newTestPeer(t)
	peer.send(t, s.LocalAddr(), 0, 1, 160, ulawFrame(0))
	waitFor(t, "latched", func() bool { return s.RemoteAddr() == peer.addr() })

	ctx := context.Background()
	require.NoError(t, s.Play(ctx, Silence(60*time.Millisecond)))
	for range 3 {
		_, _, ok := peer.recv(t, time.Second)
		require.True(t, ok)
	}

	// Not even a valid packet from elsewhere diverts the audio...
	intruder.send(t, s.LocalAddr(), 0, 2, 320, ulawFrame(0))
	peer.send(t, s.LocalAddr(), 0, 2, 320, ulawFrame(0))
	waitFor(t, "both seen", func() bool { st := s.Stats(); return st.PacketsIn == 2 && st.Discarded == 1 })
	require.Equal(t, peer.addr(), s.RemoteAddr())

	// ...until the latched source has been silent (a NAT rebinding).
	time.Sleep(relatchQuiet + 100*time.Millisecond)
	intruder.send(t, s.LocalAddr(), 0, 3, 480, ulawFrame(0))
	waitFor(t, "relatched", func() bool { return s.RemoteAddr() == intruder.addr() })

	// A re-INVITE with a new address forgets the latch.
	p := s.Params()
	p.Remote = netip.MustParseAddrPort("127.0.0.1:7")
	require.NoError(t, s.Update(p))
	require.Equal(t, p.Remote, s.RemoteAddr())
}

func TestSessionIgnoresJunk(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	sink := &pcmSink{}
	require.NoError(t, s.SetSink(sink))
	for _, b := range [][]byte{
		nil, {0x80}, []byte("not RTP at all, just text"),
		{0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, // STUN
		{0x80, 0xc8, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},                // RTCP sender report
		{0x8f, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1},                                        // 15 CSRCs missing
		{0xa0, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1},                                        // padding without a byte
	} {
		_, err := peer.conn.WriteToUDPAddrPort(b, s.LocalAddr())
		require.NoError(t, err)
	}
	peer.send(t, s.LocalAddr(), 9, 1, 0, ulawFrame(0)) // G.722: not negotiated
	peer.send(t, s.LocalAddr(), 0, 2, 160, ulawFrame(0))
	waitFor(t, "the good packet", func() bool { return s.Stats().PacketsIn == 1 })
	require.GreaterOrEqual(t, s.Stats().Discarded, uint64(6))
	require.Len(t, sink.samples(), 160)
	require.NoError(t, s.Err())
}

func TestSessionInactivityTimeout(t *testing.T) {
	t.Run("silent peer", func(t *testing.T) {
		s := newTestSession(t, pcmuParams(netip.MustParseAddrPort("127.0.0.1:9")), SessionConfig{InactivityTimeout: 300 * time.Millisecond})
		start := time.Now()
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("no timeout")
		}
		require.ErrorIs(t, s.Err(), ErrRTPTimeout)
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		_, err := s.PlayUntilDigit(context.Background(), Silence(time.Second))
		require.ErrorIs(t, err, ErrRTPTimeout)
	})
	t.Run("packets keep it alive", func(t *testing.T) {
		peer := newTestPeer(t)
		s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{InactivityTimeout: 300 * time.Millisecond})
		for i := range 15 {
			peer.send(t, s.LocalAddr(), 0, uint16(i), uint32(i)*160, ulawFrame(0))
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, s.Err())
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("no timeout after the packets stopped")
		}
		require.ErrorIs(t, s.Err(), ErrRTPTimeout)
	})
	t.Run("not while the peer is on hold", func(t *testing.T) {
		p := pcmuParams(netip.MustParseAddrPort("127.0.0.1:9"))
		p.Direction = DirectionSendOnly // the peer only listens
		s := newTestSession(t, p, SessionConfig{InactivityTimeout: 200 * time.Millisecond})
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, s.Err())
		// Taken off hold: now silence counts.
		p.Direction = DirectionSendRecv
		require.NoError(t, s.Update(p))
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("no timeout after resuming")
		}
		require.ErrorIs(t, s.Err(), ErrRTPTimeout)
	})
	t.Run("disabled", func(t *testing.T) {
		s := newTestSession(t, pcmuParams(netip.MustParseAddrPort("127.0.0.1:9")), SessionConfig{InactivityTimeout: -1})
		time.Sleep(100 * time.Millisecond)
		require.NoError(t, s.Err())
	})
}

func TestSessionSSRCChange(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	sink := &pcmSink{}
	require.NoError(t, s.SetSink(sink))
	to := s.LocalAddr()
	for i := range 3 {
		peer.send(t, to, 0, 100+uint16(i), 5000+uint32(i)*160, ulawFrame(1000))
	}
	// The phone restarts its stream: new SSRC, sequence and timestamps.
	for i := range 3 {
		b, _ := rtpPacketBytes(0, 40000+uint16(i), 9_000_000+uint32(i)*160, 0xBEEF, ulawFrame(1000))
		_, err := peer.conn.WriteToUDPAddrPort(b, to)
		require.NoError(t, err)
	}
	waitFor(t, "all packets", func() bool { return s.Stats().PacketsIn == 6 })
	require.NoError(t, s.SetSink(nil))
	require.Len(t, sink.samples(), 6*160)
	require.Zero(t, s.Stats().Lost)
}

func TestSessionSinkError(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	failing := &pcmSink{fail: errors.New("disk full")}
	require.NoError(t, s.SetSink(failing))
	peer.send(t, s.LocalAddr(), 0, 1, 0, ulawFrame(0))
	waitFor(t, "packet", func() bool { return s.Stats().PacketsIn == 1 })
	require.EqualError(t, s.SetSink(nil), "disk full")
	require.NoError(t, s.SetSink(nil))
}

func TestSessionCloseFlushesAndIsIdempotent(t *testing.T) {
	peer := newTestPeer(t)
	s := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{ReorderDepth: 10})
	sink := &pcmSink{}
	require.NoError(t, s.SetSink(sink))
	peer.send(t, s.LocalAddr(), 0, 1, 0, ulawFrame(0))
	peer.send(t, s.LocalAddr(), 0, 3, 320, ulawFrame(0)) // waits for 2
	waitFor(t, "packets", func() bool { return s.Stats().PacketsIn == 2 })
	require.Len(t, sink.samples(), 160)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.Len(t, sink.samples(), 3*160) // 2 became silence
	require.ErrorIs(t, s.Err(), ErrSessionClosed)
	require.Equal(t, uint64(1), s.Stats().Lost)
}

func TestNewSessionRejectsBadParams(t *testing.T) {
	conn, err := testPool().Listen(loopback)
	require.NoError(t, err)
	defer conn.Close()
	for _, p := range []Params{
		{Codec: CodecUnknown},
		{Codec: CodecPCMU, Ptime: time.Second},
		{Codec: CodecPCMU, PayloadType: 200},
	} {
		_, err := NewSession(conn, p, SessionConfig{})
		require.Error(t, err, "%+v", p)
	}
}

func TestSessionDTMFQueueBounded(t *testing.T) {
	s := newTestSession(t, pcmuParams(netip.MustParseAddrPort("127.0.0.1:9")), SessionConfig{})
	accepted := 0
	for range 40 {
		if s.InjectDTMF(DTMF{Digit: '1'}) {
			accepted++
		}
	}
	require.Equal(t, 32, accepted)
	require.Equal(t, uint64(32), s.Stats().DTMF)
	d := <-s.DTMF()
	require.Equal(t, DTMFSourceSIPInfo, d.Source)
	require.True(t, s.InjectDTMF(DTMF{Digit: '2'}))
}

// Once the peer is quiet, only its own host (another port: a NAT
// rebinding) or its own stream (another host: the phone changed networks)
// takes the audio over; a stranger's stream and comfort noise never do.
func TestSessionRelatchOnlyToThePeer(t *testing.T) {
	s := newTestSession(t, pcmuParams(netip.MustParseAddrPort("127.0.0.1:9")), SessionConfig{})
	peer := newTestPeer(t)
	peer.send(t, s.LocalAddr(), 0, 1, 160, ulawFrame(0))
	waitFor(t, "latched", func() bool { return s.RemoteAddr() == peer.addr() })
	time.Sleep(relatchQuiet + 100*time.Millisecond)

	elsewhere, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	require.NoError(t, err)
	t.Cleanup(func() { elsewhere.Close() })
	send := func(c *net.UDPConn, pt uint8, seq uint16, ssrc uint32) {
		b, err := rtpPacketBytes(pt, seq, uint32(seq)*160, ssrc, ulawFrame(0))
		require.NoError(t, err)
		_, err = c.WriteToUDPAddrPort(b, s.LocalAddr())
		require.NoError(t, err)
	}
	sameHost := newTestPeer(t)
	send(elsewhere, 0, 2, 0xBAD)      // a stranger's stream from another host
	send(sameHost.conn, 13, 3, 0xBAD) // comfort noise from the peer's host
	waitFor(t, "both refused", func() bool { return s.Stats().Discarded == 2 })
	require.Equal(t, peer.addr(), s.RemoteAddr())

	send(elsewhere, 0, 4, 0xCAFE) // the peer's own stream, moved
	waitFor(t, "relatched", func() bool { return s.RemoteAddr().Addr() == netip.MustParseAddr("127.0.0.2") })
}
