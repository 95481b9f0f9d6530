package media

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPortBase spreads concurrent test processes over different ranges.
func testPortBase() int { return 20000 + (os.Getpid()%100)*200 }

func TestPortPoolRange(t *testing.T) {
	p, err := NewPortPool(10001, 10010)
	require.NoError(t, err)
	require.Equal(t, 5, p.Size()) // 10002 .. 10010
	var got []int
	for range 5 {
		port, err := p.Acquire()
		require.NoError(t, err)
		got = append(got, port)
	}
	require.Equal(t, []int{10002, 10004, 10006, 10008, 10010}, got)

	p, err = NewPortPool(65530, 70000)
	require.NoError(t, err)
	require.Equal(t, 3, p.Size()) // 65530, 65532, 65534 (RTCP on 65535)

	for _, r := range [][2]int{{0, 0}, {11, 11}, {20000, 10000}, {-4, -2}} {
		_, err := NewPortPool(r[0], r[1])
		require.Error(t, err, "%v", r)
	}
}

func TestPortPoolExhaustionAndReuseOrder(t *testing.T) {
	p, err := NewPortPool(10000, 10004)
	require.NoError(t, err)
	a, _ := p.Acquire()
	b, _ := p.Acquire()
	c, _ := p.Acquire()
	require.Equal(t, 0, p.Available())
	_, err = p.Acquire()
	require.ErrorIs(t, err, ErrPortsExhausted)
	require.Equal(t, 503, SIPStatus(err))

	p.Release(b)
	p.Release(b)     // twice: no effect
	p.Release(10001) // odd: not ours
	p.Release(9998)  // outside
	p.Release(99998) // far outside
	require.Equal(t, 1, p.Available())
	p.Release(a)
	// First released, first reused.
	x, _ := p.Acquire()
	y, _ := p.Acquire()
	require.Equal(t, []int{b, a}, []int{x, y})
	p.Release(c)
	require.Equal(t, 1, p.Available())
}

func TestPortPoolConcurrent(t *testing.T) {
	p, err := NewPortPool(10000, 10198) // 100 ports
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	held := map[int]bool{}
	for range 8 {
		wg.Go(func() {
			for range 500 {
				port, err := p.Acquire()
				if err != nil {
					continue // exhausted for a moment
				}
				mu.Lock()
				if held[port] {
					mu.Unlock()
					t.Errorf("port %d handed out twice", port)
					return
				}
				held[port] = true
				mu.Unlock()

				mu.Lock()
				delete(held, port)
				mu.Unlock()
				p.Release(port)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 100, p.Available())
}

func TestPortPoolListen(t *testing.T) {
	base := testPortBase()
	// Another program holds the first port of the range.
	squatter, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base})
	require.NoError(t, err)
	defer squatter.Close()

	p, err := NewPortPool(base, base+4)
	require.NoError(t, err)
	c1, err := p.Listen(loopback)
	require.NoError(t, err)
	require.Equal(t, base+2, c1.Port())
	require.Equal(t, netip.AddrPortFrom(loopback, uint16(base+2)), c1.LocalAddr())
	c2, err := p.Listen(loopback)
	require.NoError(t, err)
	require.Equal(t, base+4, c2.Port())

	_, err = p.Listen(loopback)
	require.ErrorIs(t, err, ErrPortsExhausted)

	require.NoError(t, c1.Close())
	require.NoError(t, c1.Close()) // idempotent
	c3, err := p.Listen(loopback)
	require.NoError(t, err)
	require.Equal(t, base+2, c3.Port())
	require.NoError(t, c2.Close())
	require.NoError(t, c3.Close())
	require.Equal(t, 3, p.Available()) // the squatted port went back too
}
