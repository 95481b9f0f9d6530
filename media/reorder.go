package media

// reorderSlots bounds how far ahead of the next expected packet one can be
// held; a power of two.
const reorderSlots = 64

const (
	// maxDropout and maxMisorder are the sequence jumps, forward and back,
	// beyond which a packet is taken for a restarted sender rather than a
	// lost or late one (RFC 3550 §A.1 uses the same numbers).
	maxDropout  = 3000
	maxMisorder = 100
)

// packetKind tells what a packet in the stream carries: only audio is
// decoded, but every packet of the source takes a sequence number (RFC 4733
// events, comfort noise), so all of them go through the buffer.
type packetKind uint8

const (
	kindUnknown packetKind = iota
	kindAudio
	kindEvent // RFC 4733 telephone-event
	kindOther
)

// pushResult is what became of one packet handed to the buffer.
type pushResult uint8

const (
	pushAccepted  pushResult = iota + 1
	pushDuplicate            // already received, dropped
	pushLate                 // its turn was skipped already, dropped
	pushJump                 // far out of sequence, dropped unless confirmed by the next one
)

type bufferedPacket struct {
	ext     int64 // extended sequence number
	used    bool
	kind    packetKind
	ts      uint32
	payload []byte // owned; reused across packets
}

// reorderBuffer delivers the packets of one RTP source in sequence order.
// A missing packet is waited for until depth later packets have arrived,
// then declared lost; one that comes after that is late and dropped, as is a
// duplicate. Sequence numbers are extended past 65535 (RFC 3550 §A.1), so
// wrap-around is just the next number.
//
// It is not safe for concurrent use. Delivered payloads are valid only
// during the call to deliver.
type reorderBuffer struct {
	deliver func(kind packetKind, ts uint32, payload []byte)
	depth   int64

	started bool
	next    int64  // extended sequence number to deliver next
	highest int64  // highest extended sequence number received
	history uint64 // bit i set: sequence number next-1-i was delivered
	badSeq  int64  // after a jump, the number that confirms a restart
	lost    uint64 // packets skipped
	slots   [reorderSlots]bufferedPacket
}

func newReorderBuffer(depth int, deliver func(kind packetKind, ts uint32, payload []byte)) *reorderBuffer {
	if depth < 0 {
		depth = 0
	}
	if depth > reorderSlots-1 {
		depth = reorderSlots - 1
	}
	return &reorderBuffer{deliver: deliver, depth: int64(depth), badSeq: -1}
}

// extend places a 16-bit sequence number nearest to the highest seen.
func (b *reorderBuffer) extend(seq uint16) int64 {
	return b.highest + int64(int16(seq-uint16(b.highest)))
}

// push takes one packet; payload is copied if it has to wait.
func (b *reorderBuffer) push(seq uint16, kind packetKind, ts uint32, payload []byte) pushResult {
	if !b.started {
		b.restart(seq)
	}
	ext := b.extend(seq)
	delta := ext - b.next
	switch {
	case delta < 0 && -delta <= 64 && b.history&(1<<(-delta-1)) != 0:
		return pushDuplicate
	case delta < 0 && -delta <= maxMisorder:
		return pushLate
	case delta < 0 || delta >= maxDropout:
		// RFC 3550 §A.1: a big jump is a restarted sender only if the next
		// packet follows it.
		if ext != b.badSeq {
			b.badSeq = ext + 1
			return pushJump
		}
		b.flush()
		b.restart(seq)
		ext = b.next
	}
	b.badSeq = -1

	if ext == b.next && b.highest < b.next {
		// In order with nothing waiting: no copy.
		b.highest = ext
		b.advance(true)
		b.deliver(kind, ts, payload)
		return pushAccepted
	}
	for ext-b.next >= reorderSlots {
		b.skipOrDeliver()
	}
	slot := &b.slots[ext&(reorderSlots-1)]
	if slot.used && slot.ext == ext {
		return pushDuplicate
	}
	slot.ext, slot.used, slot.kind, slot.ts = ext, true, kind, ts
	slot.payload = append(slot.payload[:0], payload...)
	if ext > b.highest {
		b.highest = ext
	}
	b.drain()
	return pushAccepted
}

// drain delivers what is in order, skipping a gap once depth packets wait
// behind it.
func (b *reorderBuffer) drain() {
	for b.next <= b.highest {
		slot := &b.slots[b.next&(reorderSlots-1)]
		if !(slot.used && slot.ext == b.next) && b.highest-b.next < b.depth {
			return
		}
		b.skipOrDeliver()
	}
}

// skipOrDeliver moves past the next sequence number: delivering its packet
// if it is here, counting it lost otherwise.
func (b *reorderBuffer) skipOrDeliver() {
	slot := &b.slots[b.next&(reorderSlots-1)]
	if slot.used && slot.ext == b.next {
		slot.used = false
		b.advance(true)
		b.deliver(slot.kind, slot.ts, slot.payload)
		return
	}
	b.lost++
	b.advance(false)
}

func (b *reorderBuffer) advance(delivered bool) {
	b.history <<= 1
	if delivered {
		b.history |= 1
	}
	b.next++
}

// flush delivers everything still waiting, in order, counting the gaps as
// lost.
func (b *reorderBuffer) flush() {
	for b.started && b.next <= b.highest {
		b.skipOrDeliver()
	}
}

// reset flushes and forgets the source, for a new SSRC.
func (b *reorderBuffer) reset() {
	b.flush()
	b.started = false
}

func (b *reorderBuffer) restart(seq uint16) {
	// Start high enough that numbers just below the first stay positive.
	b.next = 1<<20 + int64(seq)
	b.highest = b.next - 1
	b.history = 0
	b.badSeq = -1
	b.started = true
	for i := range b.slots {
		b.slots[i].used = false
	}
}
