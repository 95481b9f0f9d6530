package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// PortPool hands out the even UDP ports of a range for RTP (RFC 3550 §11:
// RTP on an even port, RTCP on the odd one above, which stays unused here).
// Ports come out in first-released, first-reused order, so a port is reused
// as late as possible and stray packets of an ended call rarely reach the
// next one. It is safe for concurrent use.
type PortPool struct {
	min int

	mu    sync.Mutex // guards the fields below
	free  []int      // ring of free ports, head first
	head  int
	n     int    // number of free ports in the ring
	inUse []bool // by (port-min)/2
}

// NewPortPool returns a pool of the even ports p with min <= p <= max (and
// p+1 <= 65535, for RTCP).
func NewPortPool(min, max int) (*PortPool, error) {
	if min%2 != 0 {
		min++
	}
	if max > 65534 {
		max = 65534
	}
	if min < 2 || max < min {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even port", min, max)
	}
	count := (max-min)/2 + 1
	p := &PortPool{min: min, free: make([]int, count), n: count, inUse: make([]bool, count)}
	for i := range p.free {
		p.free[i] = min + 2*i
	}
	return p, nil
}

// Size is the number of ports in the pool.
func (p *PortPool) Size() int { return len(p.free) }

// Available is the number of ports not handed out.
func (p *PortPool) Available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Acquire takes the next free port; ErrPortsExhausted when none is left.
func (p *PortPool) Acquire() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return 0, fmt.Errorf("%w: all %d ports in use", ErrPortsExhausted, len(p.free))
	}
	port := p.free[p.head]
	p.head = (p.head + 1) % len(p.free)
	p.n--
	p.inUse[(port-p.min)/2] = true
	return port, nil
}

// Release gives a port back. Releasing a port that is not handed out (twice,
// or one outside the pool) does nothing.
func (p *PortPool) Release(port int) {
	i := (port - p.min) / 2
	if port < p.min || port%2 != 0 || i >= len(p.inUse) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inUse[i] {
		return
	}
	p.inUse[i] = false
	p.free[(p.head+p.n)%len(p.free)] = port
	p.n++
}

// Listen binds a UDP socket on ip (the unspecified address for all) to a
// port of the pool. A port another program holds is skipped (and goes back
// to the end of the pool); when every port is taken or held, Listen fails
// with ErrPortsExhausted. Closing the Conn gives the port back.
func (p *PortPool) Listen(ip netip.Addr) (*Conn, error) {
	network := "udp6"
	if ip.Unmap().Is4() {
		network, ip = "udp4", ip.Unmap()
	}
	for range p.Size() {
		port, err := p.Acquire()
		if err != nil {
			return nil, err
		}
		udp, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err == nil {
			return &Conn{udp: udp, port: port, pool: p}, nil
		}
		p.Release(port)
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("media: listen for RTP: %w", err)
		}
	}
	return nil, fmt.Errorf("%w: every port is bound by another program", ErrPortsExhausted)
}

// Conn is a UDP socket bound to a port of a PortPool.
type Conn struct {
	udp  *net.UDPConn
	port int
	pool *PortPool

	once sync.Once
	err  error
}

// Port is the local port, for the SDP.
func (c *Conn) Port() int { return c.port }

// LocalAddr is the address the socket is bound to.
func (c *Conn) LocalAddr() netip.AddrPort { return c.udp.LocalAddr().(*net.UDPAddr).AddrPort() }

// Close closes the socket and gives its port back to the pool; calling it
// again does nothing.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.err = c.udp.Close()
		c.pool.Release(c.port)
	})
	return c.err
}
