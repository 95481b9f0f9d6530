package sip

import (
	"bytes"
	"net"
	"net/netip"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// udpWriter is a UDP socket whose writes go through one goroutine. Every
// message leaves through the one listening socket, and Go serialises writes
// to a socket: with sipgo writing from a goroutine per message, hundreds of
// writers queued on the socket's lock under load, the socket's readers
// among them, and whenever the writer holding it lost its core the read
// buffer overflowed. Queued, a write costs its caller a copy; the readers
// never wait on the socket.
//
// WriteTo reports no send error (UDP loses datagrams silently anyway); it
// waits only while the queue is full.
type udpWriter struct {
	net.PacketConn
	q    chan outDatagram
	done chan struct{}
	once sync.Once
}

type outDatagram struct {
	b    *[]byte
	addr net.Addr
}

const udpWriteQueue = 8192

var datagramPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func newUDPWriter(c net.PacketConn) *udpWriter {
	w := &udpWriter{PacketConn: c, q: make(chan outDatagram, udpWriteQueue), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *udpWriter) WriteTo(b []byte, addr net.Addr) (int, error) {
	buf := datagramPool.Get().(*[]byte)
	*buf = append((*buf)[:0], b...)
	select {
	case w.q <- outDatagram{b: buf, addr: addr}:
		return len(b), nil
	case <-w.done:
		datagramPool.Put(buf)
		return 0, net.ErrClosed
	}
}

func (w *udpWriter) run() {
	for {
		select {
		case d := <-w.q:
			_, _ = w.PacketConn.WriteTo(*d.b, d.addr)
			if cap(*d.b) <= 64<<10 {
				datagramPool.Put(d.b)
			}
		case <-w.done:
			return
		}
	}
}

// stop ends the writing goroutine; later writes fail. The socket is the
// caller's to close.
func (w *udpWriter) stop() { w.once.Do(func() { close(w.done) }) }

// messageBuffers hold messages being serialised for a write: the socket
// copies what it is given (udpWriter), so the buffer is reused at once.
var messageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// messageBuffer serialises msg into a buffer from messageBuffers.
func messageBuffer(msg gosip.Message) *bytes.Buffer {
	buf := messageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	msg.StringWrite(buf)
	return buf
}

// udpAddr is net.ResolveUDPAddr for the numeric addresses in flow tokens,
// Vias and bindings, without the resolver; names still resolve.
func udpAddr(hostport string) (*net.UDPAddr, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return net.UDPAddrFromAddrPort(ap), nil
	}
	return net.ResolveUDPAddr("udp", hostport)
}
