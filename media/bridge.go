package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zaf/g711"
)

// Leg names one side of a Bridge.
type Leg uint8

const (
	LegUnknown Leg = iota
	LegA           // the first session given to NewBridge
	LegB           // the second
)

func (l Leg) String() string {
	switch l {
	case LegA:
		return "a"
	case LegB:
		return "b"
	default:
		return "unknown"
	}
}

// LegDTMF is a digit pressed on one leg of a Bridge.
type LegDTMF struct {
	Leg Leg
	DTMF
}

// LegEndedError is a Bridge's Err when one of its sessions ended: Err is
// that session's Err, ErrSessionClosed when the call was hung up (a BYE),
// ErrRTPTimeout when the peer went quiet, or a socket error.
type LegEndedError struct {
	Leg Leg
	Err error
}

func (e *LegEndedError) Error() string {
	return fmt.Sprintf("media: bridge ended by leg %s: %v", e.Leg, e.Err)
}

func (e *LegEndedError) Unwrap() error { return e.Err }

// BridgeConfig tunes a Bridge; the zero value relays without recording.
type BridgeConfig struct {
	// Tap, when set, records the call: both directions, as each peer's
	// audio reaches the bridge (a leg on hold does not silence the other
	// in the recording), mixed into one 8 kHz mono stream on the wall
	// clock, so the recording lasts as long as the bridge did. It is
	// written from the bridge's goroutine every 100 ms, 200 ms behind real
	// time, and to the end before Done is closed and Close returns. The
	// bridge never closes it.
	Tap PCMWriter
	// Logger receives debug lines (the bridge ending, digits that cannot
	// be sent). Nil discards them.
	Logger *slog.Logger
}

// BridgeStats are a Bridge's counters since it started. AToB counts what
// leg A's peer sent on its way to leg B's peer; BToA the reverse.
type BridgeStats struct {
	AToB, BToA RelayStats
	// TapDropped counts frames left out of the recording: the tap's
	// writer fell more than 2 s behind, or a sender's clock ran ahead.
	TapDropped uint64
}

// RelayStats count one direction of a Bridge. Loss and garbage are the
// receiving Session's Stats (Lost, Discarded).
type RelayStats struct {
	Packets    uint64 // audio packets relayed
	Transcoded uint64 // of those, converted between µ-law and A-law
	// DTMF counts telephone-event packets sent: passed on from the peer,
	// or played for SIP INFO digits.
	DTMF uint64
	// DTMFDropped counts event packets and SIP INFO digits not sent: the
	// receiving leg negotiated no telephone-event, a flood over the rate
	// limit, malformed events, or a full digit queue.
	DTMFDropped uint64
	// Held counts packets not sent because the receiving leg was on hold.
	Held uint64
}

const (
	// eventRate and eventBurst bound the telephone-event packets passed on
	// in each direction. A phone sends one every 20 to 50 ms while a key
	// is down and three at its release; a flood beyond that is dropped.
	eventRate  = 100 // per second
	eventBurst = 25
	// pendingDigits is how many SIP INFO digits may wait to be played to
	// a leg; bridgeDigits is the queue of digits from the sessions to the
	// bridge's goroutine and from it to Bridge.DTMF.
	pendingDigits = 8
	bridgeDigits  = 32
	// Generated digits last as the INFO said, within these bounds, and a
	// digit is followed by a pause at least as long before the next one,
	// so even a flood of INFO requests leaves the audio half the time.
	defaultDigitLength = 100 * time.Millisecond
	minDigitLength     = 40 * time.Millisecond
	maxDigitLength     = time.Second
	minDigitPause      = 50 * time.Millisecond
	// maxEventStep is the longest interval between the packets of a
	// generated event (RFC 4733 §2.5.1 suggests 50 ms).
	maxEventStep = 50 * time.Millisecond
	eventVolume  = 10 // -10 dBm0, a typical DTMF level (RFC 4733 §2.3)
	rtpHeader    = 12
)

// Bridge relays the RTP of two call legs, each a running Session with its
// own SDP offer/answer: what A's peer sends reaches B's peer and the other
// way round. The SIP side owns both sessions; the bridge only borrows
// them, and Close hands them back running, so a leg can return to a
// prompt.
//
// Audio is relayed packet by packet, in sequence order, as the session's
// reorder buffer delivers it. Each leg's outgoing RTP keeps its own SSRC,
// sequence numbers and timestamps, continuing those of a Play before the
// bridge and continued by a Play after it. Sequence numbers run on
// without gaps; a peer's timestamps are mapped onto the other leg's by an
// offset, so lost packets show as timestamp gaps. The offset is fixed at
// the start of a stream, and again (with the marker bit) when the peer
// restarts its stream, jumps by more than 2 s or goes backwards, after a
// hold and after a generated digit, so our timestamps never go back and
// follow the wall clock across every pause. The payload is
// copied as is when both legs use the same law and converted byte by byte
// (µ-law to A-law or back) when they differ; payload types are each leg's
// negotiated ones. Packets are sent at the size they came in, whatever
// ptime the other leg asked for; comfort noise is not relayed.
//
// DTMF: RFC 4733 events from one peer are passed on to the other, in
// sequence with the audio, with the other leg's telephone-event payload
// type and timestamps mapped like the audio; at most 100 event packets a
// second (bursts of 25) per direction, and none to a leg that negotiated
// no telephone-event. Digits that arrive by SIP INFO (InjectDTMF) are
// played to the other leg as RFC 4733 events: a start packet with the
// marker bit, updates every ptime (at most 50 ms), three end packets, all
// with the timestamp of the start, and the audio to that leg held back
// while the event plays. Every digit, whichever way it came, is also
// reported on DTMF, and not on the session's own DTMF channel.
//
// Hold: nothing is sent to a leg whose parameters have us not sending
// (Session.Update with Direction recvonly or inactive, after a re-INVITE
// whose offer said sendonly or inactive) or have no remote address (a hold
// address), and nothing is queued for it either: what it would have
// received is dropped and counted, and relaying resumes with the next
// packet once the leg is taken off hold.
//
// The bridge ends when either session ends (Close for a BYE, an RTP
// timeout, a socket failure) or when Close is called; Done and Err say
// when and why. It starts one goroutine, which Close waits for; the
// relaying itself runs in the sessions' receive goroutines and allocates
// nothing per packet.
type Bridge struct {
	log   *slog.Logger
	start time.Time     // origin of the tap's timeline
	legs  [2]*legOut    // legs[0] sends to A's peer, legs[1] to B's
	dirs  [2]*relayDir  // dirs[0] carries A's peer's packets to B, attached to A
	mix   *mixer        // nil without a tap
	in    chan LegDTMF  // digits from the sessions to the goroutine
	dtmf  chan LegDTMF  // digits to the owner
	ended atomic.Bool   // set when teardown starts: digits go back to the sessions
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed once both sessions are handed back

	stopOnce sync.Once
	wg       sync.WaitGroup
	err      error // why the bridge ended; written before done closes
	tapErr   error // the tap's write error; written before done closes
}

// NewBridge starts relaying between a and b, two running sessions of the
// same call. It fails with ErrSessionBusy when either is playing or already
// bridged (cancel the Play first), and with the session's Err when either
// has ended. While the bridge lasts, a Play on either session waits for it
// to end.
func NewBridge(a, b *Session, cfg BridgeConfig) (*Bridge, error) {
	if a == nil || b == nil || a == b {
		return nil, errors.New("media: a bridge needs two different sessions")
	}
	if err := a.Err(); err != nil {
		return nil, fmt.Errorf("media: bridge leg a: %w", err)
	}
	if err := b.Err(); err != nil {
		return nil, fmt.Errorf("media: bridge leg b: %w", err)
	}
	// The bridge holds each session's send side for its whole life, as a
	// Play does; TryLock so that a playing leg fails fast rather than
	// blocking the caller for the length of a prompt.
	if !a.txMu.TryLock() {
		return nil, fmt.Errorf("%w: leg a", ErrSessionBusy)
	}
	if !b.txMu.TryLock() {
		a.txMu.Unlock()
		return nil, fmt.Errorf("%w: leg b", ErrSessionBusy)
	}
	br := &Bridge{
		log:   cfg.Logger,
		start: time.Now(),
		in:    make(chan LegDTMF, bridgeDigits),
		dtmf:  make(chan LegDTMF, bridgeDigits),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if br.log == nil {
		br.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Tap != nil {
		br.mix = newMixer(cfg.Tap)
	}
	outA, outB := newLegOut(a), newLegOut(b)
	br.legs = [2]*legOut{outA, outB}
	br.dirs = [2]*relayDir{newRelayDir(br, LegA, outB), newRelayDir(br, LegB, outA)}
	outB.stats, outA.stats = &br.dirs[0].stats, &br.dirs[1].stats
	for i, s := range []*Session{a, b} {
		s.rxMu.Lock()
		s.relay.Store(br.dirs[i])
		s.rxMu.Unlock()
	}
	br.wg.Add(1)
	go br.run()
	return br, nil
}

// Close stops relaying and hands both sessions back, running, with their
// send state where the bridge left it; it returns once the tap has been
// written to the end, with the tap's write error if it had one. Calling it
// again, or after the bridge ended by itself, only returns that error.
func (b *Bridge) Close() error {
	b.stopOnce.Do(func() { close(b.stop) })
	b.wg.Wait()
	return b.tapErr
}

// Done is closed when the bridge has ended: the tap is written to the end
// and the sessions are handed back.
func (b *Bridge) Done() <-chan struct{} { return b.done }

// Err is nil while the bridge runs, then why it ended: a *LegEndedError
// naming the leg whose session ended (errors.Is sees the session's error,
// ErrRTPTimeout for one), or ErrBridgeClosed after Close.
func (b *Bridge) Err() error {
	select {
	case <-b.done:
		return b.err
	default:
		return nil
	}
}

// DTMF delivers the digits pressed on either leg while the bridge lasts,
// RFC 4733 and SIP INFO alike, for in-call features. They are relayed to
// the other leg whether or not anyone reads here; up to 32 wait, more are
// dropped until someone reads.
func (b *Bridge) DTMF() <-chan LegDTMF { return b.dtmf }

// Stats reads the counters; safe to call at any time.
func (b *Bridge) Stats() BridgeStats {
	st := BridgeStats{AToB: b.dirs[0].stats.snapshot(), BToA: b.dirs[1].stats.snapshot()}
	if b.mix != nil {
		st.TapDropped = b.mix.dropped.Load()
	}
	return st
}

// position is the tap's timeline at now, in samples since the start.
func (b *Bridge) position(now time.Time) int64 { return int64(Samples(now.Sub(b.start))) }

// run is the bridge's goroutine: it watches both sessions, plays SIP INFO
// digits at their pace, and writes the tap.
func (b *Bridge) run() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var tick <-chan time.Time
	if b.mix != nil {
		t := time.NewTicker(tapInterval)
		defer t.Stop()
		tick = t.C
	}
	a, bb := b.legs[0].sess, b.legs[1].sess
	for {
		var err error
		select {
		case <-b.stop:
			err = ErrBridgeClosed
		case <-a.Done():
			err = &LegEndedError{Leg: LegA, Err: a.Err()}
		case <-bb.Done():
			err = &LegEndedError{Leg: LegB, Err: bb.Err()}
		case d := <-b.in:
			b.onDigit(d)
		case <-timer.C:
		case now := <-tick:
			b.mix.emit(b.position(now) - tapLatency)
		}
		if err != nil {
			b.teardown(err)
			return
		}
		now := time.Now()
		next := earliest(b.legs[0].playDigits(now), b.legs[1].playDigits(now))
		if next.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(time.Until(next))
		}
	}
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}

// onDigit reports a digit to the owner and, for one that came by SIP INFO,
// queues it to be played to the other leg. An RFC 4733 digit went on with
// its own packets already.
func (b *Bridge) onDigit(d LegDTMF) {
	select {
	case b.dtmf <- d:
	default:
	}
	if d.Source == DTMFSourceRTP {
		return
	}
	to := b.legs[0]
	if d.Leg == LegA {
		to = b.legs[1]
	}
	if reason := to.queue(d.DTMF); reason != "" {
		b.log.Debug("bridge: digit not relayed", "from", d.Leg.String(), "digit", d.String(), "reason", reason)
	}
}

// teardown detaches the bridge from both sessions, finishes the tap and
// hands the send state back. It runs once, in the bridge's goroutine.
func (b *Bridge) teardown(err error) {
	b.ended.Store(true)
	for i, o := range b.legs {
		// Once relay is nil under rxMu, the session's receiver will not
		// call into the bridge again.
		s := o.sess
		s.rxMu.Lock()
		if s.relay.Load() == b.dirs[i] {
			s.relay.Store(nil)
		}
		s.rxMu.Unlock()
	}
	if b.mix != nil {
		b.mix.emit(b.position(time.Now()))
		b.tapErr = b.mix.err
	}
	for _, o := range b.legs {
		o.release()
	}
	b.err = err
	b.log.Debug("bridge ended", "reason", err.Error())
	close(b.done)
}

// relayCounters are one direction's counters.
type relayCounters struct {
	packets, transcoded, dtmf, dtmfDropped, held atomic.Uint64
}

func (c *relayCounters) snapshot() RelayStats {
	return RelayStats{
		Packets:     c.packets.Load(),
		Transcoded:  c.transcoded.Load(),
		DTMF:        c.dtmf.Load(),
		DTMFDropped: c.dtmfDropped.Load(),
		Held:        c.held.Load(),
	}
}

// relayDir carries one direction of a bridge: what the source leg's peer
// sends goes to the other leg's peer. It is attached to the source session,
// whose receive goroutine calls packet and restart with its rxMu held; that
// lock guards the fields below stats. digit may be called from any
// goroutine.
type relayDir struct {
	b     *Bridge
	from  Leg
	out   *legOut
	stats relayCounters

	pcm       []int16 // decoded audio for the tap, reused
	tokens    float64 // event packets that may still pass now
	tokensAt  time.Time
	haveEvent bool
	eventTS   uint32 // timestamp of the last event passed on
}

func newRelayDir(b *Bridge, from Leg, out *legOut) *relayDir {
	return &relayDir{b: b, from: from, out: out, pcm: make([]int16, 0, maxDatagram), tokens: eventBurst, tokensAt: b.start}
}

// packet takes one packet of the source's stream, in sequence order.
func (d *relayDir) packet(codec Codec, kind packetKind, ts uint32, payload []byte) {
	switch kind {
	case kindAudio:
		d.audio(codec, ts, payload)
	case kindEvent:
		d.event(ts, payload)
	}
}

// restart says the source's peer started a new stream (a new SSRC): its
// timestamps mean nothing next to the old ones.
func (d *relayDir) restart() {
	d.haveEvent = false
	d.out.mu.Lock()
	d.out.anchored = false
	d.out.mu.Unlock()
	if d.b.mix != nil {
		d.b.mix.restart(d.index())
	}
}

func (d *relayDir) index() int { return int(d.from - LegA) }

func (d *relayDir) audio(codec Codec, ts uint32, payload []byte) {
	now := time.Now()
	if m := d.b.mix; m != nil {
		d.pcm = codec.Decode(d.pcm[:0], payload)
		m.add(d.index(), ts, d.pcm, d.b.position(now))
	}
	o := d.out
	p, to := o.target()
	o.mu.Lock()
	defer o.mu.Unlock()
	if to == nil || !p.Direction.Sends() {
		o.held = true
		d.stats.held.Add(1)
		return
	}
	if o.ev.active {
		// A SIP INFO digit is playing on this leg: its events stand in
		// for the audio.
		return
	}
	out := ts + o.offset
	marker := false
	if gap := int32(out - o.nextTS); !o.anchored || o.held || gap < 0 || gap > maxGapFill {
		out, marker = o.anchor(now, ts), true
	}
	o.held = false
	pkt := o.header(p.PayloadType, marker, out)
	transcoded := codec != p.Codec
	if transcoded {
		pkt = transcode(pkt, codec, payload)
	} else {
		pkt = append(pkt, payload...)
	}
	if o.write(pkt, *to) {
		d.stats.packets.Add(1)
		if transcoded {
			d.stats.transcoded.Add(1)
		}
	}
	o.sent(out+uint32(len(payload)), now.Add(Duration(len(payload))))
}

func (d *relayDir) event(ts uint32, payload []byte) {
	now := time.Now()
	if len(payload) < 4 || int(payload[0]) >= len(eventDigits) || !d.allowEvent(now) {
		// Only the DTMF events we declared (telephoneEvents), and not a
		// flood of them.
		d.stats.dtmfDropped.Add(1)
		return
	}
	start := !d.haveEvent || ts != d.eventTS
	d.haveEvent, d.eventTS = true, ts
	o := d.out
	p, to := o.target()
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case to == nil || !p.Direction.Sends():
		o.held = true
		d.stats.held.Add(1)
		return
	case p.DTMFPayloadType == 0 || o.ev.active:
		d.stats.dtmfDropped.Add(1)
		return
	}
	out := ts + o.offset
	if gap := int32(out - o.nextTS); !o.anchored || (start && (gap < -maxGapFill || gap > maxGapFill)) {
		out = o.anchor(now, ts)
	}
	// The marker starts each event; its updates and end packets keep the
	// start's timestamp (RFC 4733 §2.5.1).
	pkt := o.header(p.DTMFPayloadType, start, out)
	pkt = append(pkt, payload[:4]...)
	if o.write(pkt, *to) {
		d.stats.dtmf.Add(1)
	}
	if end := out + uint32(binary.BigEndian.Uint16(payload[2:4])); !o.haveNext || int32(end-o.nextTS) > 0 {
		o.sent(end, now)
	}
}

// allowEvent is a token bucket over the event packets of this direction.
func (d *relayDir) allowEvent(now time.Time) bool {
	d.tokens = min(eventBurst, d.tokens+now.Sub(d.tokensAt).Seconds()*eventRate)
	d.tokensAt = now
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// digit takes a digit of the source leg, RFC 4733 or injected. It reports
// whether the bridge took it (false once the bridge is ending: the session
// keeps it) and whether it was queued rather than dropped.
func (d *relayDir) digit(x DTMF) (taken, queued bool) {
	if d.b.ended.Load() {
		return false, false
	}
	select {
	case d.b.in <- LegDTMF{Leg: d.from, DTMF: x}:
		return true, true
	default:
		if x.Source != DTMFSourceRTP {
			d.stats.dtmfDropped.Add(1)
		}
		return true, false
	}
}

// legOut sends to one leg's peer in that leg's SSRC, sequence and
// timestamp space, which it takes over from the session's player for the
// bridge's life and hands back at the end.
type legOut struct {
	sess  *Session
	stats *relayCounters // of the direction that ends at this leg

	// mu guards the fields below: the other leg's receiver relays through
	// them, the bridge's goroutine plays digits.
	mu       sync.Mutex
	ssrc     uint32
	seq      uint16
	haveNext bool
	nextTS   uint32    // the timestamp following the last media sent
	nextAt   time.Time // and when it is due
	anchored bool      // whether offset maps the incoming stream
	offset   uint32    // our timestamp minus the incoming one
	held     bool      // the last packet was dropped for a hold
	buf      []byte
	pending  [pendingDigits]DTMF // SIP INFO digits waiting to be played
	pendHead int
	pendN    int
	ev       genEvent
	rest     time.Time // no generated digit starts before this
}

// genEvent is an RFC 4733 event being played for a SIP INFO digit.
type genEvent struct {
	active bool
	code   uint8
	ts     uint32
	length int // samples
	step   time.Duration
	sent   int // packets sent so far, end packets excluded
	start  time.Time
	next   time.Time // when the next packet is due
}

// newLegOut takes over s's send state; the caller holds s.txMu.
func newLegOut(s *Session) *legOut {
	return &legOut{
		sess:     s,
		ssrc:     s.ssrcOut,
		seq:      s.seq,
		haveNext: s.haveNext,
		nextTS:   s.nextOut,
		nextAt:   s.nextDue,
		buf:      make([]byte, rtpHeader+maxDatagram),
	}
}

// release hands the send state back to the session, finishing a digit in
// progress, and lets a Play run.
func (o *legOut) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ev.active {
		p, to := o.target()
		if to != nil && p.Direction.Sends() && p.DTMFPayloadType != 0 {
			o.endEvent(p.DTMFPayloadType, *to)
		}
		o.ev.active = false
	}
	s := o.sess
	s.seq = o.seq
	s.haveNext, s.nextOut, s.nextDue = o.haveNext, o.nextTS, o.nextAt
	s.txMu.Unlock()
}

// target is what the leg negotiated and where its peer is. They are read
// without the session's rxMu, which the other leg's receiver must not take.
func (o *legOut) target() (*Params, *netip.AddrPort) {
	return o.sess.sendParams.Load(), o.sess.sendTo.Load()
}

// clock is our timestamp at now: following on from the last media sent,
// or on the session's own clock (as Play keeps it) when nothing was sent.
func (o *legOut) clock(now time.Time) uint32 {
	if !o.haveNext {
		return o.sess.ts0 + uint32(Samples(now.Sub(o.sess.start)))
	}
	ts := o.nextTS
	if late := now.Sub(o.nextAt); late > 0 {
		ts += uint32(Samples(late))
	}
	return ts
}

// anchor maps the incoming stream so that ts, arriving now, falls at our
// clock, and returns our timestamp for it.
func (o *legOut) anchor(now time.Time, ts uint32) uint32 {
	out := o.clock(now)
	o.offset, o.anchored = out-ts, true
	return out
}

// sent records that the media sent so far ends at timestamp ts, due at.
func (o *legOut) sent(ts uint32, at time.Time) {
	o.haveNext, o.nextTS, o.nextAt = true, ts, at
}

// header writes an RTP header (RFC 3550 §5.1) into buf and takes the next
// sequence number.
func (o *legOut) header(pt uint8, marker bool, ts uint32) []byte {
	b := o.buf[:rtpHeader]
	b[0] = 0x80 // version 2; no padding, extension or CSRC
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], o.seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], o.ssrc)
	o.seq++
	return b
}

func (o *legOut) write(pkt []byte, to netip.AddrPort) bool {
	if _, err := o.sess.conn.udp.WriteToUDPAddrPort(pkt, to); err != nil {
		return false
	}
	o.sess.stats.packetsOut.Add(1)
	o.sess.stats.bytesOut.Add(uint64(len(pkt)))
	return true
}

// transcode appends payload, G.711 in law from, converted to the other law.
func transcode(dst []byte, from Codec, payload []byte) []byte {
	table := &ulawToALaw
	if from == CodecPCMA {
		table = &alawToULaw
	}
	n := len(dst)
	dst = dst[:n+len(payload)]
	out := dst[n:]
	for i, c := range payload {
		out[i] = table[c]
	}
	return dst
}

// ulawToALaw and alawToULaw convert a G.711 byte directly to the other law
// (G.711 tables 3 and 4 do it without going through linear PCM).
var ulawToALaw, alawToULaw = func() (u2a, a2u [256]byte) {
	for i := range 256 {
		u2a[i] = g711.Ulaw2AlawFrame(byte(i))
		a2u[i] = g711.Alaw2UlawFrame(byte(i))
	}
	return u2a, a2u
}()

// queue adds a SIP INFO digit to those waiting to be played to this leg.
// It returns why the digit was dropped, or "".
func (o *legOut) queue(d DTMF) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	reason := ""
	switch {
	case o.sess.sendParams.Load().DTMFPayloadType == 0:
		reason = "no telephone-event on this leg"
	case o.pendN == len(o.pending):
		reason = "digit queue full"
	default:
		o.pending[(o.pendHead+o.pendN)%len(o.pending)] = d
		o.pendN++
		return ""
	}
	o.stats.dtmfDropped.Add(1)
	return reason
}

// playDigits sends the packets of generated events that are due at now,
// starting the next waiting digit when its turn comes. It returns when it
// next has something to do, or the zero Time.
func (o *legOut) playDigits(now time.Time) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.ev.active && o.pendN == 0 {
		return time.Time{}
	}
	p, to := o.target()
	sendable := to != nil && p.Direction.Sends() && p.DTMFPayloadType != 0
	if o.ev.active && !now.Before(o.ev.next) {
		if sendable {
			o.stepEvent(p.DTMFPayloadType, *to)
		} else {
			// Put on hold in the middle of a digit: the rest of it is
			// not sent.
			o.finishEvent()
		}
	}
	for !o.ev.active && o.pendN > 0 && !now.Before(o.rest) {
		d := o.pending[o.pendHead]
		o.pendHead = (o.pendHead + 1) % len(o.pending)
		o.pendN--
		code, ok := EventFromDigit(d.Digit)
		if !ok || !sendable {
			o.stats.dtmfDropped.Add(1)
			continue
		}
		length := d.Duration
		if length == 0 {
			length = defaultDigitLength
		}
		length = min(max(length, minDigitLength), maxDigitLength)
		o.ev = genEvent{
			active: true,
			code:   code,
			ts:     o.clock(now),
			length: Samples(length),
			step:   min(p.Ptime, maxEventStep),
			start:  now,
		}
		o.stepEvent(p.DTMFPayloadType, *to)
	}
	switch {
	case o.ev.active:
		return o.ev.next
	case o.pendN > 0:
		return o.rest
	}
	return time.Time{}
}

// stepEvent sends the next packet of the event being played: the start
// (with the marker bit), an update, or, once its length is reached, the
// end three times (RFC 4733 §2.5.1.4).
func (o *legOut) stepEvent(pt uint8, to netip.AddrPort) {
	e := &o.ev
	dur := (e.sent + 1) * Samples(e.step)
	if dur >= e.length {
		o.endEvent(pt, to)
		return
	}
	o.sendEvent(pt, to, e.sent == 0, false, dur)
	e.sent++
	e.next = e.start.Add(time.Duration(e.sent) * e.step)
}

func (o *legOut) endEvent(pt uint8, to netip.AddrPort) {
	e := &o.ev
	dur := e.length
	if elapsed := (e.sent + 1) * Samples(e.step); elapsed < dur {
		dur = elapsed // cut short by the bridge ending
	}
	for i := range 3 {
		o.sendEvent(pt, to, e.sent == 0 && i == 0, true, dur)
	}
	o.finishEvent()
}

// finishEvent ends the event being played: the audio that follows starts a
// new talkspurt after it, and the next digit waits for a pause as long as
// the digit was.
func (o *legOut) finishEvent() {
	e := &o.ev
	e.active = false
	o.sent(e.ts+uint32(e.length), e.start.Add(Duration(e.length)))
	o.anchored = false
	o.rest = e.start.Add(Duration(e.length) + max(minDigitPause, Duration(e.length)))
}

func (o *legOut) sendEvent(pt uint8, to netip.AddrPort, marker, end bool, dur int) {
	pkt := o.header(pt, marker, o.ev.ts)
	flags := byte(eventVolume)
	if end {
		flags |= 0x80
	}
	dur = min(dur, 0xFFFF)
	pkt = append(pkt, o.ev.code, flags, byte(dur>>8), byte(dur))
	if o.write(pkt, to) {
		o.stats.dtmf.Add(1)
	}
}
