package media

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// legParams are the parameters of one leg: codec on its payload type and
// telephone-event on dtmf (0: none), towards remote.
func legParams(c Codec, pt, dtmf uint8, remote netip.AddrPort) Params {
	return Params{Codec: c, PayloadType: pt, DTMFPayloadType: dtmf, LocalDTMFPayloadType: dtmf,
		Ptime: 20 * time.Millisecond, Remote: remote, Direction: DirectionSendRecv}
}

// sessionPair is a phone and the leg that answered it: two sessions on
// loopback, each sending to the other, closed when the test ends.
func sessionPair(t *testing.T, p Params, legCfg SessionConfig) (phone, leg *Session) {
	t.Helper()
	phoneConn, err := testPool().Listen(loopback)
	require.NoError(t, err)
	legConn, err := testPool().Listen(loopback)
	require.NoError(t, err)
	pp, lp := p, p
	pp.Remote, lp.Remote = legConn.LocalAddr(), phoneConn.LocalAddr()
	phone, err = NewSession(phoneConn, pp, SessionConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { phone.Close() })
	leg, err = NewSession(legConn, lp, legCfg)
	require.NoError(t, err)
	t.Cleanup(func() { leg.Close() })
	return phone, leg
}

func newTestBridge(t *testing.T, a, b *Session, cfg BridgeConfig) *Bridge {
	t.Helper()
	br, err := NewBridge(a, b, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { br.Close() })
	return br
}

// peerCall is a bridged call whose phones are bare sockets, to see and
// forge every packet: peerA talks to legA, legB to peerB.
type peerCall struct {
	peerA, peerB *testPeer
	legA, legB   *Session
	br           *Bridge
	seqA, seqB   uint16 // the peers' next sequence numbers
	tsA, tsB     uint32 // and timestamps
}

func newPeerCall(t *testing.T, pa, pb Params, ca, cb SessionConfig) *peerCall {
	t.Helper()
	c := &peerCall{peerA: newTestPeer(t), peerB: newTestPeer(t), seqA: 100, tsA: 16000, seqB: 5000, tsB: 900000}
	pa.Remote, pb.Remote = c.peerA.addr(), c.peerB.addr()
	c.legA = newTestSession(t, pa, ca)
	c.legB = newTestSession(t, pb, cb)
	c.br = newTestBridge(t, c.legA, c.legB, BridgeConfig{})
	return c
}

// audioA sends n frames of µ-law or A-law from peer A, as leg A negotiated.
func (c *peerCall) audioA(t *testing.T, n int) {
	t.Helper()
	p := c.legA.Params()
	for range n {
		c.peerA.send(t, c.legA.LocalAddr(), p.PayloadType, c.seqA, c.tsA, frameOf(p.Codec, 1000))
		c.seqA++
		c.tsA += 160
	}
}

func (c *peerCall) audioB(t *testing.T, n int) {
	t.Helper()
	p := c.legB.Params()
	for range n {
		c.peerB.send(t, c.legB.LocalAddr(), p.PayloadType, c.seqB, c.tsB, frameOf(p.Codec, 1000))
		c.seqB++
		c.tsB += 160
	}
}

// pressA sends one key press from peer A: 4 updates, 3 end packets, in
// place of 100 ms of audio.
func (c *peerCall) pressA(t *testing.T, code uint8) {
	t.Helper()
	for _, e := range pressSequence(code, c.tsA, 4) {
		c.peerA.send(t, c.legA.LocalAddr(), c.legA.Params().LocalDTMFPayloadType, c.seqA, e.ts, e.payload)
		c.seqA++
	}
	c.tsA += 5 * 160
}

func (c *peerCall) pressB(t *testing.T, code uint8) {
	t.Helper()
	for _, e := range pressSequence(code, c.tsB, 4) {
		c.peerB.send(t, c.legB.LocalAddr(), c.legB.Params().LocalDTMFPayloadType, c.seqB, e.ts, e.payload)
		c.seqB++
	}
	c.tsB += 5 * 160
}

func frameOf(c Codec, v int16) []byte {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = v
	}
	return c.Encode(nil, pcm)
}

// collectUntilQuiet reads packets until none came for quiet.
func collectUntilQuiet(t *testing.T, peer *testPeer, quiet time.Duration) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	for {
		pkt, _, ok := peer.recv(t, quiet)
		if !ok {
			return out
		}
		out = append(out, pkt)
	}
}

// collectExactly reads n packets, then makes sure no more come.
func collectExactly(t *testing.T, peer *testPeer, n int) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	for _, r := range collectPackets(t, peer, n) {
		out = append(out, r.pkt)
	}
	requireNoPacket(t, peer)
	return out
}

// requireContinuous checks that pkts are one stream: one SSRC, consecutive
// sequence numbers from first, timestamps never going back.
func requireContinuous(t *testing.T, first uint16, ssrc uint32, pkts []rtp.Packet) {
	t.Helper()
	for i, p := range pkts {
		require.Equal(t, ssrc, p.SSRC, "packet %d", i)
		require.Equal(t, first+uint16(i), p.SequenceNumber, "packet %d", i)
		if i > 0 {
			require.GreaterOrEqual(t, int32(p.Timestamp-pkts[i-1].Timestamp), int32(0), "packet %d", i)
		}
	}
}

// A tone played by each phone reaches the other, whatever law and payload
// type each leg negotiated.
func TestBridgeRelaysAudio(t *testing.T) {
	tests := []struct {
		name   string
		a, b   Params
		recode bool
	}{
		{"same law", legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 101, netip.AddrPort{}), false},
		{"µ-law to A-law", legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMA, 8, 96, netip.AddrPort{}), true},
		{"A-law on a dynamic payload type to µ-law", legParams(CodecPCMA, 97, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 0, netip.AddrPort{}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phoneA, legA := sessionPair(t, tc.a, SessionConfig{})
			phoneB, legB := sessionPair(t, tc.b, SessionConfig{})
			heardA, heardB := &pcmSink{}, &pcmSink{}
			require.NoError(t, phoneA.SetSink(heardA))
			require.NoError(t, phoneB.SetSink(heardB))
			br := newTestBridge(t, legA, legB, BridgeConfig{})

			ctx := context.Background()
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _ = phoneA.Play(ctx, Tone(1000, 500*time.Millisecond, 0.5)) }()
			go func() { defer wg.Done(); _ = phoneB.Play(ctx, Tone(440, 500*time.Millisecond, 0.5)) }()
			wg.Wait()
			waitFor(t, "both tones across", func() bool {
				return phoneA.Stats().PacketsIn == 25 && phoneB.Stats().PacketsIn == 25
			})

			toB, toA := heardB.samples(), heardA.samples()
			require.Len(t, toB, 25*160)
			require.Greater(t, Goertzel(toB, 1000), 0.9)
			require.Less(t, Goertzel(toB, 440), 0.05)
			require.Greater(t, Goertzel(toA, 440), 0.9)
			require.Less(t, Goertzel(toA, 1000), 0.05)

			st := br.Stats()
			require.Equal(t, uint64(25), st.AToB.Packets)
			require.Equal(t, uint64(25), st.BToA.Packets)
			want := uint64(0)
			if tc.recode {
				want = 25
			}
			require.Equal(t, want, st.AToB.Transcoded)
			require.Equal(t, want, st.BToA.Transcoded)
			for _, s := range []*Session{phoneA, phoneB, legA, legB} {
				st := s.Stats()
				require.Zero(t, st.Discarded+st.Lost, "%+v", st)
			}
			require.NoError(t, br.Err())
		})
	}
}

// RFC 4733 events go on in sequence with the audio, on the other leg's
// telephone-event payload type, with the timestamps mapped like the audio.
func TestBridgeDTMFPassThrough(t *testing.T) {
	c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMA, 8, 96, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
	c.audioA(t, 3)
	c.pressA(t, 5)
	c.audioA(t, 2)
	got := collectExactly(t, c.peerB, 3+7+2)
	requireContinuous(t, got[0].SequenceNumber, got[0].SSRC, got)
	audio0 := got[0].Timestamp
	for i, p := range got {
		switch {
		case i < 3 || i >= 10:
			require.Equal(t, uint8(8), p.PayloadType, "packet %d", i)
			require.Len(t, p.Payload, 160)
		default:
			require.Equal(t, uint8(96), p.PayloadType, "packet %d", i)
			require.Equal(t, i == 3, p.Marker, "packet %d", i)
			require.Equal(t, audio0+3*160, p.Timestamp, "packet %d", i)
			require.Equal(t, eventPayload(5, i >= 7, uint16(160*min(i-2, 5))), p.Payload, "packet %d", i)
		}
	}
	require.Equal(t, audio0+8*160, got[10].Timestamp)

	// And the other way, from payload type 96 to 101.
	c.audioB(t, 1)
	c.pressB(t, 11)
	got = collectExactly(t, c.peerA, 1+7)
	for _, p := range got[1:] {
		require.Equal(t, uint8(101), p.PayloadType)
		require.Equal(t, uint8(11), p.Payload[0])
	}

	// Reported on the bridge, not left for the sessions.
	require.Equal(t, LegDTMF{Leg: LegA, DTMF: DTMF{Digit: '5', Source: DTMFSourceRTP}}, <-c.br.DTMF())
	require.Equal(t, LegDTMF{Leg: LegB, DTMF: DTMF{Digit: '#', Source: DTMFSourceRTP}}, <-c.br.DTMF())
	require.Empty(t, c.legA.DTMF())
	require.Empty(t, c.legB.DTMF())
	st := c.br.Stats()
	require.Equal(t, uint64(7), st.AToB.DTMF)
	require.Equal(t, uint64(7), st.BToA.DTMF)
	require.Equal(t, uint64(5), st.AToB.Packets)
}

// A SIP INFO digit on one leg is played to the other as RFC 4733 events:
// start with the marker, updates every 20 ms, three end packets, one
// timestamp; the audio that follows starts a new talkspurt after it.
func TestBridgeDTMFFromSIPInfo(t *testing.T) {
	c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMA, 8, 96, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
	c.audioA(t, 2)
	before := collectPackets(t, c.peerB, 2)
	require.True(t, c.legA.InjectDTMF(DTMF{Digit: '7', Duration: 100 * time.Millisecond}))
	events := collectPackets(t, c.peerB, 7)
	c.audioA(t, 1)
	after := collectPackets(t, c.peerB, 1)[0].pkt

	last := before[1].pkt
	for i, r := range events {
		p := r.pkt
		require.Equal(t, uint8(96), p.PayloadType, "packet %d", i)
		require.Equal(t, last.SequenceNumber+1+uint16(i), p.SequenceNumber)
		require.Equal(t, last.SSRC, p.SSRC)
		require.Equal(t, i == 0, p.Marker, "packet %d", i)
		require.Equal(t, events[0].pkt.Timestamp, p.Timestamp)
		require.Equal(t, eventPayload(7, i >= 4, uint16(160*min(i+1, 5))), p.Payload, "packet %d", i)
	}
	require.GreaterOrEqual(t, int32(events[0].pkt.Timestamp-last.Timestamp), int32(160))
	// Updates every 20 ms, not in a burst: the end comes 80 ms after the
	// start.
	require.GreaterOrEqual(t, events[4].at.Sub(events[0].at), 70*time.Millisecond)

	require.Equal(t, uint8(8), after.PayloadType)
	require.True(t, after.Marker)
	require.Equal(t, last.SequenceNumber+8, after.SequenceNumber)
	require.GreaterOrEqual(t, int32(after.Timestamp-events[0].pkt.Timestamp), int32(800))

	require.Equal(t, LegDTMF{Leg: LegA, DTMF: DTMF{Digit: '7', Duration: 100 * time.Millisecond, Source: DTMFSourceSIPInfo}}, <-c.br.DTMF())
	require.Equal(t, uint64(7), c.br.Stats().AToB.DTMF)
	require.Empty(t, c.legA.DTMF())
}

// A leg that negotiated no telephone-event gets no events, either way.
func TestBridgeDTMFWithoutTelephoneEvent(t *testing.T) {
	c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 0, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
	c.audioA(t, 1)
	c.pressA(t, 3)
	require.Equal(t, '3', (<-c.br.DTMF()).Digit) // still reported
	require.True(t, c.legA.InjectDTMF(DTMF{Digit: '4'}))
	require.Equal(t, '4', (<-c.br.DTMF()).Digit)
	c.audioA(t, 1)
	got := collectExactly(t, c.peerB, 2)
	for _, p := range got {
		require.Equal(t, uint8(0), p.PayloadType)
	}
	waitFor(t, "digits dropped", func() bool { return c.br.Stats().AToB.DTMFDropped == 7+1 })
	require.Zero(t, c.br.Stats().AToB.DTMF)
}

// Nothing is sent to a leg on hold, nothing piles up for it, and the
// stream resumes where it was when the hold ends.
func TestBridgeHold(t *testing.T) {
	tests := []struct {
		name string
		hold func(p Params) Params
	}{
		{"peer sendonly", func(p Params) Params { p.Direction = DirectionRecvOnly; return p }},
		{"inactive", func(p Params) Params { p.Direction = DirectionInactive; return p }},
		{"hold address", func(p Params) Params { p.Remote = netip.AddrPort{}; return p }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 101, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
			c.audioA(t, 3)
			before := collectPackets(t, c.peerB, 3)

			resume := c.legB.Params()
			require.NoError(t, c.legB.Update(tc.hold(resume)))
			c.audioA(t, 5)
			c.pressA(t, 1)
			require.True(t, c.legA.InjectDTMF(DTMF{Digit: '2'}))
			waitFor(t, "held packets", func() bool {
				st := c.br.Stats().AToB
				return st.Held == 5+7 && st.DTMFDropped == 1
			})
			requireNoPacket(t, c.peerB)
			// The other direction still flows.
			if tc.name == "peer sendonly" {
				c.audioB(t, 2)
				collectPackets(t, c.peerA, 2)
			}

			require.NoError(t, c.legB.Update(resume))
			time.Sleep(60 * time.Millisecond)
			c.audioA(t, 3)
			after := collectExactly(t, c.peerB, 3) // only what came after the hold
			last := before[2].pkt
			requireContinuous(t, last.SequenceNumber+1, last.SSRC, after)
			require.True(t, after[0].Marker)
			// The timestamps jumped over the hold.
			require.Greater(t, int32(after[0].Timestamp-last.Timestamp), int32(160*5))
			require.Equal(t, uint64(6), c.br.Stats().AToB.Packets)
		})
	}
}

func TestBridgeEnds(t *testing.T) {
	t.Run("a session closing ends it", func(t *testing.T) {
		c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 101, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
		c.audioA(t, 2)
		relayed := collectPackets(t, c.peerB, 2)
		require.NoError(t, c.legA.Close())
		select {
		case <-c.br.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("bridge still running")
		}
		var ended *LegEndedError
		require.ErrorAs(t, c.br.Err(), &ended)
		require.Equal(t, LegA, ended.Leg)
		require.ErrorIs(t, c.br.Err(), ErrSessionClosed)

		// The other leg runs on, back in the hands of its owner, its
		// stream continuing.
		require.NoError(t, c.legB.Err())
		require.NoError(t, c.legB.Play(context.Background(), Silence(40*time.Millisecond)))
		played := collectPackets(t, c.peerB, 2)
		last := relayed[1].pkt
		for i, r := range played {
			require.Equal(t, last.SSRC, r.pkt.SSRC)
			require.Equal(t, last.SequenceNumber+1+uint16(i), r.pkt.SequenceNumber)
			require.Greater(t, int32(r.pkt.Timestamp-last.Timestamp), int32(0))
		}
		require.NoError(t, c.br.Close())
	})
	t.Run("RTP timeout", func(t *testing.T) {
		c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 101, netip.AddrPort{}),
			SessionConfig{}, SessionConfig{InactivityTimeout: 300 * time.Millisecond})
		talking := make(chan struct{})
		go func() {
			// Leg A's peer keeps talking; leg B's is gone.
			defer close(talking)
			for range 100 {
				select {
				case <-c.br.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				c.audioA(t, 1)
			}
		}()
		select {
		case <-c.br.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("no timeout")
		}
		<-talking
		var ended *LegEndedError
		require.ErrorAs(t, c.br.Err(), &ended)
		require.Equal(t, LegB, ended.Leg)
		require.ErrorIs(t, c.br.Err(), ErrRTPTimeout)
		require.NoError(t, c.legA.Err())
	})
	t.Run("Close hands both sessions back", func(t *testing.T) {
		peerA, peerB := newTestPeer(t), newTestPeer(t)
		legA := newTestSession(t, legParams(CodecPCMU, 0, 101, peerA.addr()), SessionConfig{})
		legB := newTestSession(t, legParams(CodecPCMA, 8, 101, peerB.addr()), SessionConfig{})
		ctx := context.Background()
		// A prompt first, as before connecting a call.
		require.NoError(t, legB.Play(ctx, Silence(60*time.Millisecond)))
		prompt := collectPackets(t, peerB, 3)

		br := newTestBridge(t, legA, legB, BridgeConfig{})
		for i := range 2 {
			peerA.send(t, legA.LocalAddr(), 0, uint16(i), uint32(i)*160, frameOf(CodecPCMU, 500))
		}
		relayed := collectPackets(t, peerB, 2)
		last := prompt[2].pkt
		require.True(t, relayed[0].pkt.Marker)
		for i, r := range relayed {
			require.Equal(t, last.SSRC, r.pkt.SSRC)
			require.Equal(t, last.SequenceNumber+1+uint16(i), r.pkt.SequenceNumber)
			require.GreaterOrEqual(t, int32(r.pkt.Timestamp-last.Timestamp), int32(160*(i+1)))
		}

		// A Play during the bridge waits for it to end.
		played := make(chan error, 1)
		go func() { played <- legB.Play(ctx, Silence(40*time.Millisecond)) }()
		requireNoPacket(t, peerB)
		require.NoError(t, br.Close())
		require.ErrorIs(t, br.Err(), ErrBridgeClosed)
		require.NoError(t, <-played)
		after := collectPackets(t, peerB, 2)
		last = relayed[1].pkt
		for i, r := range after {
			require.Equal(t, last.SSRC, r.pkt.SSRC)
			require.Equal(t, last.SequenceNumber+1+uint16(i), r.pkt.SequenceNumber)
			require.Greater(t, int32(r.pkt.Timestamp-last.Timestamp), int32(0))
		}
		require.NoError(t, legA.Err())
		require.NoError(t, legB.Err())
		require.NoError(t, br.Close())

		// Digits go back to the sessions' own queues, and nothing is
		// relayed any more.
		require.True(t, legA.InjectDTMF(DTMF{Digit: '9'}))
		require.Equal(t, '9', (<-legA.DTMF()).Digit)
		peerA.send(t, legA.LocalAddr(), 0, 2, 320, frameOf(CodecPCMU, 500))
		requireNoPacket(t, peerB)
	})
}

func TestNewBridgeRefuses(t *testing.T) {
	peer := newTestPeer(t)
	a := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	b := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	c := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	closed := newTestSession(t, pcmuParams(peer.addr()), SessionConfig{})
	require.NoError(t, closed.Close())

	_, err := NewBridge(a, a, BridgeConfig{})
	require.Error(t, err)
	_, err = NewBridge(a, nil, BridgeConfig{})
	require.Error(t, err)
	_, err = NewBridge(a, closed, BridgeConfig{})
	require.ErrorIs(t, err, ErrSessionClosed)

	// A session that is playing is busy.
	ctx, cancel := context.WithCancel(context.Background())
	playing := make(chan error, 1)
	go func() { playing <- c.Play(ctx, Silence(10*time.Second)) }()
	collectPackets(t, peer, 1)
	_, err = NewBridge(a, c, BridgeConfig{})
	require.ErrorIs(t, err, ErrSessionBusy)
	cancel()
	require.ErrorIs(t, <-playing, context.Canceled)

	// So is one already bridged.
	br := newTestBridge(t, a, b, BridgeConfig{})
	_, err = NewBridge(c, b, BridgeConfig{})
	require.ErrorIs(t, err, ErrSessionBusy)
	require.NoError(t, br.Close())

	// A refusal leaves the sessions as they were.
	drain(peer)
	require.NoError(t, c.Play(context.Background(), Silence(20*time.Millisecond)))
	collectPackets(t, peer, 1)
	br = newTestBridge(t, c, b, BridgeConfig{})
	require.NoError(t, br.Close())
}

// The tap records both directions mixed, aligned in time, for as long as
// the bridge lasted.
func TestBridgeTap(t *testing.T) {
	phoneA, legA := sessionPair(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), SessionConfig{})
	phoneB, legB := sessionPair(t, legParams(CodecPCMA, 8, 101, netip.AddrPort{}), SessionConfig{})
	f, err := os.Create(filepath.Join(t.TempDir(), "call.wav"))
	require.NoError(t, err)
	defer f.Close()
	w, err := NewWAVWriter(f)
	require.NoError(t, err)

	start := time.Now()
	br := newTestBridge(t, legA, legB, BridgeConfig{Tap: w})
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(2)
	// A speaks from 0 to 600 ms, B from 400 to 1000 ms.
	go func() { defer wg.Done(); _ = phoneA.Play(ctx, Tone(1000, 600*time.Millisecond, 0.4)) }()
	go func() {
		defer wg.Done()
		_ = phoneB.Play(ctx, Concat(Silence(400*time.Millisecond), Tone(440, 600*time.Millisecond, 0.4)))
	}()
	wg.Wait()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, br.Close())
	elapsed := time.Since(start)
	require.NoError(t, w.Close())

	_, err = f.Seek(0, 0)
	require.NoError(t, err)
	pcm, err := ReadWAV(f, 0)
	require.NoError(t, err)
	require.InDelta(t, elapsed.Seconds(), Duration(len(pcm)).Seconds(), 0.1)
	window := func(from, to time.Duration) []int16 { return pcm[Samples(from):Samples(to)] }

	onlyA := window(100*time.Millisecond, 350*time.Millisecond)
	require.Greater(t, Goertzel(onlyA, 1000), 0.9)
	require.Less(t, Goertzel(onlyA, 440), 0.05)
	both := window(450*time.Millisecond, 550*time.Millisecond)
	require.Greater(t, Goertzel(both, 1000), 0.3)
	require.Greater(t, Goertzel(both, 440), 0.3)
	onlyB := window(700*time.Millisecond, 950*time.Millisecond)
	require.Greater(t, Goertzel(onlyB, 440), 0.9)
	require.Less(t, Goertzel(onlyB, 1000), 0.05)
	for _, f := range []float64{1000, 440} {
		d := ToneDuration(pcm, f)
		require.True(t, d >= 350*time.Millisecond && d <= 650*time.Millisecond, "%v Hz for %v", f, d)
	}
	require.Zero(t, br.Stats().TapDropped)
}

// A flood of RFC 4733 events is cut to a bounded rate without holding up
// the audio around it; a flood of SIP INFO digits is bounded too.
func TestBridgeDTMFFlood(t *testing.T) {
	c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 96, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
	start := time.Now()
	sent := uint64(0)
	for range 20 {
		for range 20 {
			// Every packet a new event.
			c.peerA.send(t, c.legA.LocalAddr(), 101, c.seqA, c.tsA, eventPayload(uint8(c.seqA%16), false, 160))
			c.seqA++
			c.tsA += 160
		}
		c.audioA(t, 1)
		sent += 21
		// Stay within the socket's buffer: the flood is meant to reach
		// the session.
		waitFor(t, "flood received", func() bool { return c.legA.Stats().PacketsIn == sent })
	}
	got := collectUntilQuiet(t, c.peerB, 200*time.Millisecond)
	elapsed := time.Since(start)
	audio, events := 0, 0
	for _, p := range got {
		if p.PayloadType == 96 {
			events++
		} else {
			audio++
		}
	}
	require.Equal(t, 20, audio, "audio is not starved")
	require.LessOrEqual(t, events, eventBurst+int(elapsed.Seconds()*eventRate)+1)
	st := c.br.Stats()
	require.Equal(t, uint64(400), st.AToB.DTMF+st.AToB.DTMFDropped)
	require.Len(t, c.br.DTMF(), bridgeDigits, "reports wait, bounded")
	require.Empty(t, c.legA.DTMF())

	// SIP INFO: the queue is bounded, the rest dropped, and the audio gets
	// through at least half the time.
	for range 1000 {
		c.legA.InjectDTMF(DTMF{Digit: '1'})
	}
	require.Greater(t, c.br.Stats().AToB.DTMFDropped, st.AToB.DTMFDropped+900)
	for range 25 {
		c.audioA(t, 1)
		time.Sleep(20 * time.Millisecond)
	}
	got = collectUntilQuiet(t, c.peerB, 100*time.Millisecond)
	audio = 0
	for _, p := range got {
		if p.PayloadType == 0 {
			audio++
		}
	}
	require.GreaterOrEqual(t, audio, 8)
	require.NoError(t, c.br.Close())
}

// Junk and packets from a stranger are dropped and counted by the session,
// and never relayed.
func TestBridgeIgnoresJunk(t *testing.T) {
	c := newPeerCall(t, legParams(CodecPCMU, 0, 101, netip.AddrPort{}), legParams(CodecPCMU, 0, 101, netip.AddrPort{}), SessionConfig{}, SessionConfig{})
	c.audioA(t, 1)
	collectPackets(t, c.peerB, 1)
	intruder := newTestPeer(t)
	for _, b := range [][]byte{nil, {0x80}, []byte("garbage"), {0x80, 0xc8, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0}} {
		_, err := c.peerA.conn.WriteToUDPAddrPort(b, c.legA.LocalAddr())
		require.NoError(t, err)
	}
	intruder.send(t, c.legA.LocalAddr(), 0, 7, 7, frameOf(CodecPCMU, 9000))
	c.peerA.send(t, c.legA.LocalAddr(), 101, c.seqA, c.tsA, []byte{1, 2}) // a short event
	c.seqA++
	c.audioA(t, 1)
	got := collectExactly(t, c.peerB, 1)
	require.Equal(t, frameOf(CodecPCMU, 1000), got[0].Payload)
	require.GreaterOrEqual(t, c.legA.Stats().Discarded, uint64(5))
	require.Equal(t, uint64(1), c.br.Stats().AToB.DTMFDropped)
	require.Equal(t, uint64(2), c.br.Stats().AToB.Packets)
}

func TestLegEndedError(t *testing.T) {
	err := error(&LegEndedError{Leg: LegB, Err: ErrRTPTimeout})
	require.ErrorIs(t, err, ErrRTPTimeout)
	require.Contains(t, err.Error(), "leg b")
	require.False(t, errors.Is(err, ErrSessionClosed))
	require.Equal(t, "unknown", LegUnknown.String())
}
