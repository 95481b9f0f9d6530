package media

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// recordingSession is a session recording to a WAV file, as a voicemail
// deposit does, and one 20 ms PCMU packet to feed it.
func recordingSession(b *testing.B) (*Session, *WAVWriter, []byte) {
	peer := newTestPeer(b)
	s := newTestSession(b, pcmuParams(peer.addr()), SessionConfig{})
	f, err := os.Create(filepath.Join(b.TempDir(), "bench.wav"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	w, err := NewWAVWriter(f)
	if err != nil {
		b.Fatal(err)
	}
	rec := NewRecorder(w, RecorderConfig{SilenceTimeout: time.Hour})
	if err := s.SetSink(rec); err != nil {
		b.Fatal(err)
	}
	speech, _ := ReadAll(Tone(300, 20*time.Millisecond, 0.3), 0)
	pkt, _ := rtpPacketBytes(0, 0, 0, 0xCAFE, CodecPCMU.Encode(nil, speech))
	return s, w, pkt
}

// The receive path of one packet: parse, symmetric-RTP check, reorder,
// decode, silence detection, WAV write (buffered, to a real file).
func BenchmarkReceivePacket(b *testing.B) {
	s, w, pkt := recordingSession(b)
	from := peerOf(s)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		s.handle(pkt, from)
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func peerOf(s *Session) netip.AddrPort { return s.Params().Remote }

// The same through the socket: a peer sends, the session's goroutine
// receives and records. Allocations are the whole process's, receive
// goroutine included.
func BenchmarkReceivePacketUDP(b *testing.B) {
	s, w, pkt := recordingSession(b)
	peer := newTestPeer(b)
	// The session latched nothing yet: make the peer its remote.
	p := s.Params()
	p.Remote = peer.addr()
	if err := s.Update(p); err != nil {
		b.Fatal(err)
	}
	to := s.LocalAddr()
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := peer.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if i%32 == 31 { // stay within the socket buffer
			for s.Stats().PacketsIn < uint64(i+1) {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	for s.Stats().PacketsIn < uint64(b.N) {
		time.Sleep(10 * time.Microsecond)
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// Sending one frame: encode, RTP header, sendto.
func BenchmarkSendFrame(b *testing.B) {
	peer := newTestPeer(b) // never reads: the kernel drops what overflows
	s := newTestSession(b, pcmuParams(peer.addr()), SessionConfig{})
	pcm, _ := ReadAll(Tone(440, 20*time.Millisecond, 0.3), 0)
	p := s.Params()
	b.ReportAllocs()
	b.ResetTimer()
	s.txMu.Lock()
	for i := range b.N {
		s.sendFrame(&p, pcm, uint32(i*160), false)
	}
	s.txMu.Unlock()
}

func BenchmarkG711(b *testing.B) {
	pcm, _ := ReadAll(Tone(440, 20*time.Millisecond, 0.3), 0)
	enc := make([]byte, 0, 160)
	dec := make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		enc = CodecPCMA.Encode(enc[:0], pcm)
		dec = CodecPCMA.Decode(dec[:0], enc)
	}
}
