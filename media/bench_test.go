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

// bridgedLegs are two sessions bridged as for a call. Leg A's peer is the
// benchmark; leg B's peer never reads, so the kernel drops what overflows
// its socket.
func bridgedLegs(b *testing.B, codecB Codec, cfg BridgeConfig) (legA *Session, br *Bridge, peerA *testPeer) {
	peerA, peerB := newTestPeer(b), newTestPeer(b)
	legA = newTestSession(b, legParams(CodecPCMU, 0, 101, peerA.addr()), SessionConfig{})
	legB := newTestSession(b, legParams(codecB, codecB.PayloadType(), 101, peerB.addr()), SessionConfig{})
	br, err := NewBridge(legA, legB, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return legA, br, peerA
}

func speechPacket() []byte {
	speech, _ := ReadAll(Tone(300, 20*time.Millisecond, 0.3), 0)
	pkt, _ := rtpPacketBytes(0, 0, 0, 0xCAFE, CodecPCMU.Encode(nil, speech))
	return pkt
}

// Relaying one 20 ms packet from one leg to the other, in the receiving
// session's goroutine: parse, symmetric-RTP check, reorder, new RTP header,
// payload copied or converted to A-law, sendto. One op is one packet.
func BenchmarkBridgeRelay(b *testing.B) {
	for _, bc := range []struct {
		name string
		to   Codec
	}{{"same_law", CodecPCMU}, {"transcoded", CodecPCMA}} {
		b.Run(bc.name, func(b *testing.B) {
			legA, br, peerA := bridgedLegs(b, bc.to, BridgeConfig{})
			pkt := speechPacket()
			from := peerA.addr()
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			b.ResetTimer()
			for i := range b.N {
				binary.BigEndian.PutUint16(pkt[2:], uint16(i))
				binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
				legA.handle(pkt, from)
			}
			b.StopTimer()
			if got := br.Stats().AToB.Packets; got != uint64(b.N) {
				b.Fatalf("relayed %d of %d packets", got, b.N)
			}
		})
	}
}

// The same through the sockets: a phone sends to leg A, whose goroutine
// relays to leg B's phone. Allocations are the whole process's.
func BenchmarkBridgeRelayUDP(b *testing.B) {
	legA, br, peerA := bridgedLegs(b, CodecPCMA, BridgeConfig{})
	pkt := speechPacket()
	to := legA.LocalAddr()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		if _, err := peerA.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if i%32 == 31 { // stay within the socket buffer
			for legA.Stats().PacketsIn < uint64(i+1) {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	for br.Stats().AToB.Packets < uint64(b.N) {
		time.Sleep(10 * time.Microsecond)
	}
}

// What the tap adds to each relayed packet: decoding it and mixing it into
// the timeline, and the timeline's share of the WAV writes (to a real
// file). One op is one packet, the two directions taking turns, 20 ms of
// call every two.
func BenchmarkBridgeTap(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "call.wav"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	w, err := NewWAVWriter(f)
	if err != nil {
		b.Fatal(err)
	}
	m := newMixer(w)
	speech, _ := ReadAll(Tone(300, 20*time.Millisecond, 0.3), 0)
	payload := CodecPCMU.Encode(nil, speech)
	pcm := make([]int16, 0, 160)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		frame := int64(i / 2)
		pcm = CodecPCMU.Decode(pcm[:0], payload)
		m.add(i%2, uint32(frame*160), pcm, (frame+1)*160)
		if i%10 == 9 { // the bridge's goroutine, every 100 ms
			m.emit((frame+1)*160 - tapLatency)
		}
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if m.dropped.Load() != 0 {
		b.Fatalf("%d frames dropped", m.dropped.Load())
	}
}

// Encoding one 20 ms frame into a WAV file's buffer, and writing the
// buffer out when it is full (to a real file, as a recording does).
func BenchmarkWAVWritePCM(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "bench.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := NewWAVWriter(f)
	if err != nil {
		b.Fatal(err)
	}
	pcm, _ := ReadAll(Tone(400, 20*time.Millisecond, 0.3), 0)
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(pcm)))
	for b.Loop() {
		if err := w.WritePCM(pcm); err != nil {
			b.Fatal(err)
		}
	}
}

// Judging one 20 ms frame for silence, as a recording does for every
// packet.
func BenchmarkSilenceDetector(b *testing.B) {
	d := NewSilenceDetector(0, 0)
	pcm, _ := ReadAll(Tone(400, 20*time.Millisecond, 0.3), 0)
	b.ReportAllocs()
	for b.Loop() {
		d.Write(pcm)
	}
}
