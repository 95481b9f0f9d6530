package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// PCMWriter takes 16-bit PCM at 8 kHz. A Session calls it from its receive
// goroutine with the caller's audio, so it must not block for long (a
// buffered file write is fine); pcm is reused after the call returns.
type PCMWriter interface {
	WritePCM(pcm []int16) error
}

// SessionConfig tunes a Session; the zero value is ready to use.
type SessionConfig struct {
	// InactivityTimeout ends the session with ErrRTPTimeout when no RTP
	// arrives for this long while the negotiated direction has the peer
	// sending. 0 means 30 s; negative disables it.
	InactivityTimeout time.Duration
	// ReorderDepth is how many later packets may arrive before a missing
	// one is declared lost: with 20 ms packets, 3 waits up to 60 ms for a
	// reordered packet. 0 means 3; negative means no waiting.
	ReorderDepth int
	// Logger receives debug lines (the address RTP is latched to). Nil
	// discards them.
	Logger *slog.Logger
}

const (
	defaultInactivity   = 30 * time.Second
	defaultReorderDepth = 3
	// relatchQuiet is how long the latched source must have been silent
	// before packets from another address take over (a NAT rebinding). While
	// the peer's packets flow, nobody else can divert our audio.
	relatchQuiet = time.Second
	// maxGapFill bounds the silence written for a gap in the peer's
	// timestamps (lost packets, RFC 4733 events replacing audio, silence
	// suppression); a larger jump is a discontinuity, not a pause.
	maxGapFill  = 2 * SampleRate
	dtmfQueue   = 32
	maxDatagram = 2048
)

// Stats are a Session's counters since it started.
type Stats struct {
	PacketsIn  uint64 // RTP packets accepted from the peer
	BytesIn    uint64 // their size, RTP header included
	PacketsOut uint64 // RTP packets sent
	BytesOut   uint64
	Lost       uint64 // sequence numbers never received in time
	Late       uint64 // packets that came after their turn was skipped; dropped
	Duplicates uint64 // packets received twice; dropped
	Discarded  uint64 // not RTP, from another address, unknown payload type, out of sequence
	DTMF       uint64 // digits received, RFC 4733 and injected
}

// payload type classes, by RTP payload type
const (
	ptUnknown uint8 = iota
	ptAudio
	ptDTMF
	ptComfortNoise
)

// Session is the RTP of one call leg: it receives on its Conn, sends to the
// peer (at the address its packets come from, once they come: symmetric
// RTP, RFC 4961), reorders, decodes and hands the caller's audio to a sink,
// reports DTMF, and plays audio paced in real time. One goroutine receives;
// Play runs in the caller's goroutine. Close stops both.
type Session struct {
	conn    *Conn
	log     *slog.Logger
	start   time.Time // monotonic origin of activity times and our timestamps
	timeout time.Duration

	done      chan struct{}
	endOnce   sync.Once
	err       error // why the session ended; written once before done closes
	closeOnce sync.Once
	wg        sync.WaitGroup

	lastRx   atomic.Int64 // time since start of the last accepted packet
	expectRx atomic.Bool  // whether the peer is meant to send
	sendTo   atomic.Pointer[netip.AddrPort]
	// sendParams mirrors params for senders that must not take rxMu: a
	// Bridge relaying into this session from the other leg's receiver.
	sendParams atomic.Pointer[Params]
	// relay is the Bridge direction this session's audio and digits feed,
	// nil when it is not bridged. It is set and cleared with rxMu held, so
	// deliver sees a stable value; emitDTMF reads it without rxMu.
	relay atomic.Pointer[relayDir]
	dtmf  chan DTMF
	stats struct {
		packetsIn, bytesIn, packetsOut, bytesOut  atomic.Uint64
		lost, late, dup, discarded, dtmf, dropped atomic.Uint64
	}

	// rxMu guards the receive state below: the receive goroutine holds it
	// for each packet; SetSink, Update, Params and Close take it too.
	rxMu          sync.Mutex
	params        Params
	ptClass       [128]uint8
	pkt           rtp.Packet // reused for every packet
	haveSSRC      bool
	ssrc          uint32
	reorder       *reorderBuffer
	events        eventDecoder
	sink          PCMWriter
	sinkErr       error
	pcm           []int16 // decoded audio, reused
	silence       []int16
	haveTS        bool
	nextTS        uint32 // timestamp the peer's next audio should carry
	latched       bool
	latchedAddr   netip.AddrPort
	lastFromLatch time.Duration

	// txMu is held by Play for its whole run: one player at a time owns
	// the send state below.
	txMu     sync.Mutex
	ssrcOut  uint32
	seq      uint16
	ts0      uint32
	haveNext bool
	nextDue  time.Time // when the frame after the last one played is due
	nextOut  uint32    // and its timestamp
	txPCM    []int16
	txBuf    []byte
	timer    *time.Timer
}

// NewSession starts RTP for one call leg on conn, which it owns from now on
// (Close closes it, giving its port back). p comes from Answer or
// ParseAnswer.
func NewSession(conn *Conn, p Params, cfg SessionConfig) (*Session, error) {
	if err := checkParams(&p); err != nil {
		return nil, err
	}
	s := &Session{
		conn:    conn,
		log:     cfg.Logger,
		start:   time.Now(),
		timeout: cfg.InactivityTimeout,
		done:    make(chan struct{}),
		dtmf:    make(chan DTMF, dtmfQueue),
		ssrcOut: rand.Uint32(),
		seq:     uint16(rand.Uint32()),
		ts0:     rand.Uint32(),
		silence: make([]int16, 1024),
		timer:   time.NewTimer(time.Hour),
	}
	s.timer.Stop()
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout == 0 {
		s.timeout = defaultInactivity
	}
	depth := cfg.ReorderDepth
	if depth == 0 {
		depth = defaultReorderDepth
	}
	s.reorder = newReorderBuffer(depth, s.deliver)
	s.setParams(p)
	s.wg.Add(1)
	go s.receive()
	return s, nil
}

func checkParams(p *Params) error {
	if p.Codec != CodecPCMU && p.Codec != CodecPCMA {
		return fmt.Errorf("media: session codec %v", p.Codec)
	}
	if p.PayloadType > 127 || p.DTMFPayloadType > 127 || p.LocalDTMFPayloadType > 127 {
		return fmt.Errorf("media: payload type out of range")
	}
	if p.Ptime == 0 {
		p.Ptime = defaultPtime
	}
	if p.Ptime < minPtime || p.Ptime > maxPtime {
		return fmt.Errorf("media: ptime %v out of range", p.Ptime)
	}
	if p.Direction == DirectionUnknown {
		p.Direction = DirectionSendRecv
	}
	return nil
}

// setParams installs p; the caller holds rxMu or owns s exclusively.
func (s *Session) setParams(p Params) {
	old := s.params
	s.params = p
	s.ptClass = [128]uint8{}
	s.ptClass[13] = ptComfortNoise // RFC 3389
	if p.DTMFPayloadType != 0 {
		s.ptClass[p.DTMFPayloadType] = ptDTMF
	}
	if p.LocalDTMFPayloadType != 0 {
		s.ptClass[p.LocalDTMFPayloadType] = ptDTMF
	}
	s.ptClass[p.PayloadType] = ptAudio
	sp := p
	s.sendParams.Store(&sp)
	if p.Remote != old.Remote || !s.latched {
		s.latched = false
		if p.Remote.IsValid() {
			r := p.Remote
			s.sendTo.Store(&r)
		} else {
			s.sendTo.Store(nil)
		}
	}
	expect := p.Direction.Receives()
	if expect && !s.expectRx.Load() {
		s.lastRx.Store(int64(time.Since(s.start)))
	}
	s.expectRx.Store(expect)
}

// Update applies parameters renegotiated by a re-INVITE: direction (hold),
// remote address, payload types, ptime. A new remote address forgets the
// latched one. A Play in progress keeps the codec and ptime it started with.
func (s *Session) Update(p Params) error {
	if err := checkParams(&p); err != nil {
		return err
	}
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	s.setParams(p)
	// Wake the receiver so the inactivity deadline follows the new
	// direction.
	return s.conn.udp.SetReadDeadline(time.Now())
}

// Params are the parameters in force.
func (s *Session) Params() Params {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	return s.params
}

// LocalAddr is the address RTP is received on.
func (s *Session) LocalAddr() netip.AddrPort { return s.conn.LocalAddr() }

// RemoteAddr is where RTP is sent: the address the peer's packets come
// from, else the one in its SDP; the zero AddrPort when there is neither.
func (s *Session) RemoteAddr() netip.AddrPort {
	if a := s.sendTo.Load(); a != nil {
		return *a
	}
	return netip.AddrPort{}
}

// DTMF delivers the digits the peer sends, RFC 4733 and injected ones, in
// arrival order. Up to 32 wait; more are dropped until someone reads.
// While a Bridge holds the session its digits go to the bridge instead
// (Bridge.DTMF), so none are left over from the conversation when the leg
// returns to a prompt.
func (s *Session) DTMF() <-chan DTMF { return s.dtmf }

// InjectDTMF queues a digit that came another way (a SIP INFO request, see
// ParseDTMFInfo) as if it had come in RTP. It reports false when the queue
// is full and the digit was dropped. On a bridged leg the bridge takes it
// and plays it to the other leg as RFC 4733 events.
func (s *Session) InjectDTMF(d DTMF) bool {
	if d.Source == DTMFSourceUnknown {
		d.Source = DTMFSourceSIPInfo
	}
	return s.emitDTMF(d)
}

func (s *Session) emitDTMF(d DTMF) bool {
	if r := s.relay.Load(); r != nil {
		// A bridged leg's digits go to the bridge, not to a queue nobody
		// reads until the bridge ends.
		if taken, ok := r.digit(d); taken {
			if ok {
				s.stats.dtmf.Add(1)
			} else {
				s.stats.dropped.Add(1)
			}
			return ok
		}
	}
	select {
	case s.dtmf <- d:
		s.stats.dtmf.Add(1)
		return true
	default:
		s.stats.dropped.Add(1)
		return false
	}
}

// SetSink sends the caller's audio, decoded and in sequence order, to w
// from now on (nil: nowhere). Audio still waiting in the reorder buffer goes
// to the previous sink first, and once SetSink returns the previous sink is
// never called again, so it can be closed. A sink whose WritePCM fails is
// detached; SetSink returns that error, if the previous sink failed.
//
// Gaps in the peer's timestamps up to 2 s (lost packets, DTMF events in
// place of audio) are written as silence, so a recording keeps the call's
// timing.
func (s *Session) SetSink(w PCMWriter) error {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	if s.sink != nil {
		s.reorder.flush()
		s.syncLost()
	}
	err := s.sinkErr
	s.sink, s.sinkErr = w, nil
	return err
}

// Stats reads the counters; safe to call at any time.
func (s *Session) Stats() Stats {
	return Stats{
		PacketsIn:  s.stats.packetsIn.Load(),
		BytesIn:    s.stats.bytesIn.Load(),
		PacketsOut: s.stats.packetsOut.Load(),
		BytesOut:   s.stats.bytesOut.Load(),
		Lost:       s.stats.lost.Load(),
		Late:       s.stats.late.Load(),
		Duplicates: s.stats.dup.Load(),
		Discarded:  s.stats.discarded.Load(),
		DTMF:       s.stats.dtmf.Load(),
	}
}

// Done is closed when the session ends: Close, ErrRTPTimeout, or a socket
// failure. Err says which.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is nil while the session runs, then why it ended: ErrSessionClosed,
// ErrRTPTimeout (hang the call up), or a socket error.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

func (s *Session) end(err error) {
	s.endOnce.Do(func() {
		s.err = err
		close(s.done)
	})
}

// Close ends the session, stops its goroutine, delivers the audio still in
// the reorder buffer to the sink, and closes the socket. Calling it again
// does nothing.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.end(ErrSessionClosed)
		err = s.conn.Close()
		s.wg.Wait()
		s.rxMu.Lock()
		s.reorder.flush()
		s.syncLost()
		s.rxMu.Unlock()
	})
	return err
}

// receive reads the socket until it is closed or the peer goes quiet.
func (s *Session) receive() {
	defer s.wg.Done()
	buf := make([]byte, maxDatagram)
	s.armDeadline()
	failures := 0
	for {
		n, from, err := s.conn.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, net.ErrClosed):
				s.end(ErrSessionClosed)
				return
			case errors.As(err, &ne) && ne.Timeout():
				if s.quiet() {
					s.end(fmt.Errorf("%w for %v", ErrRTPTimeout, s.timeout))
					return
				}
				s.armDeadline()
				continue
			}
			// A read error on an unconnected UDP socket is rare and
			// passing; only a socket that keeps failing ends the session.
			if failures++; failures > 100 {
				s.end(fmt.Errorf("media: read RTP: %w", err))
				return
			}
			continue
		}
		failures = 0
		s.handle(buf[:n], from)
	}
}

// armDeadline sets the socket's read deadline to when the peer would have
// been quiet for the timeout: one deadline per timeout period, not one per
// packet.
func (s *Session) armDeadline() {
	if s.timeout < 0 {
		_ = s.conn.udp.SetReadDeadline(time.Time{})
		return
	}
	at := time.Duration(s.lastRx.Load()) + s.timeout
	if !s.expectRx.Load() {
		at = time.Since(s.start) + s.timeout
	}
	_ = s.conn.udp.SetReadDeadline(s.start.Add(at))
}

func (s *Session) quiet() bool {
	if s.timeout < 0 || !s.expectRx.Load() {
		return false
	}
	return time.Since(s.start)-time.Duration(s.lastRx.Load()) >= s.timeout
}

// handle processes one datagram. It allocates nothing in the steady state.
func (s *Session) handle(b []byte, from netip.AddrPort) {
	now := time.Since(s.start)
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	pkt := &s.pkt
	if err := pkt.Unmarshal(b); err != nil || pkt.Version != 2 {
		s.stats.discarded.Add(1)
		return
	}
	class := s.ptClass[pkt.PayloadType]
	if class == ptUnknown && (pkt.PayloadType >= 64 && pkt.PayloadType <= 95 || !s.haveSSRC || pkt.SSRC != s.ssrc) {
		// RTCP multiplexed on the RTP port (RFC 5761 §4), or a payload type
		// nobody negotiated from a source we do not know.
		s.stats.discarded.Add(1)
		return
	}
	if !s.acceptFrom(from, now, class, pkt.SSRC) {
		s.stats.discarded.Add(1)
		return
	}
	s.lastRx.Store(int64(now))
	s.stats.packetsIn.Add(1)
	s.stats.bytesIn.Add(uint64(len(b)))

	if !s.haveSSRC || pkt.SSRC != s.ssrc {
		if s.haveSSRC {
			// A new source (the peer restarted its stream): deliver what
			// the old one left and start over.
			s.reorder.reset()
			s.events = eventDecoder{}
			s.haveTS = false
			if r := s.relay.Load(); r != nil {
				r.restart()
			}
		}
		s.haveSSRC, s.ssrc = true, pkt.SSRC
	}

	kind := kindOther
	switch class {
	case ptAudio:
		kind = kindAudio
	case ptDTMF:
		kind = kindEvent
		// Digits are reported on arrival, ahead of the audio around them,
		// so a prompt stops at once; the packet still takes its place in
		// the sequence.
		if code, ok := s.events.packet(pkt.Timestamp, pkt.Payload); ok {
			if r, ok := DigitFromEvent(code); ok {
				s.emitDTMF(DTMF{Digit: r, Source: DTMFSourceRTP})
			}
		}
	}
	switch s.reorder.push(pkt.SequenceNumber, kind, pkt.Timestamp, pkt.Payload) {
	case pushDuplicate:
		s.stats.dup.Add(1)
	case pushLate:
		s.stats.late.Add(1)
	case pushJump:
		s.stats.discarded.Add(1)
	}
	s.syncLost()
}

func (s *Session) syncLost() { s.stats.lost.Store(s.reorder.lost) }

// acceptFrom applies symmetric RTP: the first packet of a negotiated
// payload type latches its source as the peer, and from then on only that
// source is heard. Once it has been quiet for relatchQuiet, audio or keys
// from the same host (a NAT rebinding gave it another port) or of the same
// stream (the phone moved to another network) take over; a stranger's
// packets never do, nor does comfort noise.
func (s *Session) acceptFrom(from netip.AddrPort, now time.Duration, class uint8, ssrc uint32) bool {
	known := class != ptUnknown
	if s.latched {
		if from == s.latchedAddr {
			s.lastFromLatch = now
			return true
		}
		if class != ptAudio && class != ptDTMF || now-s.lastFromLatch < relatchQuiet {
			return false
		}
		if from.Addr() != s.latchedAddr.Addr() && !(s.haveSSRC && ssrc == s.ssrc) {
			return false
		}
	} else if !known {
		return false
	}
	s.latched, s.latchedAddr, s.lastFromLatch = true, from, now
	to := from
	s.sendTo.Store(&to)
	s.log.Debug("RTP latched", "local", s.conn.port, "remote", from.String(), "sdp_remote", s.params.Remote.String())
	return true
}

// deliver receives packets from the reorder buffer in sequence order.
func (s *Session) deliver(kind packetKind, ts uint32, payload []byte) {
	if r := s.relay.Load(); r != nil {
		r.packet(s.params.Codec, kind, ts, payload)
	}
	if kind != kindAudio {
		return
	}
	if s.sink != nil && s.haveTS {
		if gap := int32(ts - s.nextTS); gap > 0 && gap <= maxGapFill {
			s.writeSilence(int(gap))
		}
	}
	s.haveTS, s.nextTS = true, ts+uint32(len(payload))
	if s.sink == nil {
		return
	}
	s.pcm = s.params.Codec.Decode(s.pcm[:0], payload)
	s.write(s.pcm)
}

func (s *Session) writeSilence(n int) {
	for n > 0 && s.sink != nil {
		k := min(n, len(s.silence))
		clear(s.silence[:k])
		s.write(s.silence[:k])
		n -= k
	}
}

func (s *Session) write(pcm []int16) {
	if err := s.sink.WritePCM(pcm); err != nil {
		s.sink, s.sinkErr = nil, err
	}
}

// sendFrame sends one frame of audio. The caller holds txMu.
func (s *Session) sendFrame(p *Params, pcm []int16, ts uint32, marker bool) {
	if !p.Direction.Sends() {
		return
	}
	to := s.sendTo.Load()
	if to == nil {
		return
	}
	h := rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    p.PayloadType,
		SequenceNumber: s.seq,
		Timestamp:      ts,
		SSRC:           s.ssrcOut,
	}
	if need := 12 + len(pcm); cap(s.txBuf) < need {
		s.txBuf = make([]byte, need)
	}
	n, err := h.MarshalTo(s.txBuf[:cap(s.txBuf)])
	if err != nil {
		return
	}
	pkt := p.Codec.Encode(s.txBuf[:n], pcm)
	s.seq++
	if _, err := s.conn.udp.WriteToUDPAddrPort(pkt, *to); err != nil {
		return
	}
	s.stats.packetsOut.Add(1)
	s.stats.bytesOut.Add(uint64(len(pkt)))
}

// readFrame fills frame from src, padding a short last frame with silence.
// It returns the number of samples read and whether src is exhausted.
func readFrame(src Source, frame []int16) (int, bool, error) {
	n := 0
	for n < len(frame) {
		k, err := src.ReadPCM(frame[n:])
		n += k
		if err == io.EOF {
			clear(frame[n:])
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
		if k == 0 {
			// A source that returns nothing without an error would spin.
			return n, false, io.ErrNoProgress
		}
	}
	return n, false, nil
}
