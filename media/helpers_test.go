package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// testPool is one pool for the whole test binary, in a range of its own.
var testPool = sync.OnceValue(func() *PortPool {
	base := testPortBase() + 1000
	p, err := NewPortPool(base, base+198)
	if err != nil {
		panic(err)
	}
	return p
})

// newTestSession starts a session on loopback, closed when the test ends.
func newTestSession(t testing.TB, p Params, cfg SessionConfig) *Session {
	t.Helper()
	conn, err := testPool().Listen(loopback)
	require.NoError(t, err)
	s, err := NewSession(conn, p, cfg)
	if err != nil {
		conn.Close()
		require.NoError(t, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pcmuParams are PCMU parameters with telephone-event on 101 towards remote.
func pcmuParams(remote netip.AddrPort) Params {
	return Params{Codec: CodecPCMU, PayloadType: 0, DTMFPayloadType: 101, LocalDTMFPayloadType: 101,
		Ptime: 20 * time.Millisecond, Remote: remote, Direction: DirectionSendRecv}
}

// testPeer is a bare UDP socket playing the far end of a session.
type testPeer struct {
	conn *net.UDPConn
	buf  []byte
}

func newTestPeer(t testing.TB) *testPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &testPeer{conn: c, buf: make([]byte, 2048)}
}

func (p *testPeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func rtpPacketBytes(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) ([]byte, error) {
	return (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}).Marshal()
}

func (p *testPeer) send(t testing.TB, to netip.AddrPort, pt uint8, seq uint16, ts uint32, payload []byte) {
	t.Helper()
	b, err := rtpPacketBytes(pt, seq, ts, 0xCAFE, payload)
	require.NoError(t, err)
	_, err = p.conn.WriteToUDPAddrPort(b, to)
	require.NoError(t, err)
}

// recv reads one RTP packet, or reports false after timeout.
func (p *testPeer) recv(t testing.TB, timeout time.Duration) (rtp.Packet, time.Time, bool) {
	t.Helper()
	require.NoError(t, p.conn.SetReadDeadline(time.Now().Add(timeout)))
	n, _, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return rtp.Packet{}, time.Time{}, false
		}
		require.NoError(t, err)
	}
	at := time.Now()
	var pkt rtp.Packet
	require.NoError(t, pkt.Unmarshal(append([]byte(nil), p.buf[:n]...)))
	return pkt, at, true
}

// pcmSink collects what a session delivers.
type pcmSink struct {
	mu   sync.Mutex
	pcm  []int16
	fail error
}

func (s *pcmSink) WritePCM(p []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.pcm = append(s.pcm, p...)
	return nil
}

func (s *pcmSink) samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.pcm...)
}

// ulawFrame is 160 µ-law bytes all carrying the sample value v.
func ulawFrame(v int16) []byte {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = v
	}
	return CodecPCMU.Encode(nil, pcm)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, what)
}
