package switchboard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/blob"
	"switchboard/media"
	"switchboard/sip"
	"switchboard/store"
)

// fakeCall is one side's dialog of a bridged call.
type fakeCall struct {
	ended    chan struct{}
	endOnce  sync.Once
	hungUp   chan struct{} // closed by HangUp
	hangOnce sync.Once
}

func newFakeCall() *fakeCall {
	return &fakeCall{ended: make(chan struct{}), hungUp: make(chan struct{})}
}

func (c *fakeCall) end() { c.endOnce.Do(func() { close(c.ended) }) }

func (c *fakeCall) HangUp() {
	c.hangOnce.Do(func() { close(c.hungUp) })
	c.end()
}

func (c *fakeCall) Ended() <-chan struct{} { return c.ended }

func (c *fakeCall) Transfer(context.Context, string) error { return errors.New("no transfer") }

// gatedBlobs holds every Put until open.
type gatedBlobs struct {
	blob.Store
	entered     chan struct{}
	enteredOnce sync.Once
	release     chan struct{}
	releaseOnce sync.Once
}

func (g *gatedBlobs) open() { g.releaseOnce.Do(func() { close(g.release) }) }

func (g *gatedBlobs) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	g.enteredOnce.Do(func() { close(g.entered) })
	<-g.release
	return g.Store.Put(ctx, key, r)
}

// When either side of a recorded bridged call hangs up, the other is hung
// up at once, not once the recording is filed (a copy of the whole call's
// audio and a database write, seconds for a long call on a busy disk).
func TestBridgeHangsUpBeforeFiling(t *testing.T) {
	for _, tc := range []struct {
		name          string
		callerHangsUp bool // else the callee
	}{
		{name: "caller hangs up", callerHangsUp: true},
		{name: "callee hangs up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			db, err := store.Open(ctx, filepath.Join(dir, "test.db"))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			_, err = db.Users().Create(ctx, store.NewUser{User: store.User{Extension: "1001", FirstName: "Rec", LastName: "Orded"}})
			require.NoError(t, err)
			dirBlobs, err := blob.NewDir(filepath.Join(dir, "audio"))
			require.NoError(t, err)
			blobs := &gatedBlobs{Store: dirBlobs, entered: make(chan struct{}), release: make(chan struct{})}
			t.Cleanup(blobs.open)
			recordings, err := newRecordingDir(filepath.Join(dir, "recordings"))
			require.NoError(t, err)
			ports, err := media.NewPortPool(47000, 47998)
			require.NoError(t, err)
			log := slog.New(slog.DiscardHandler)
			apps := &voiceApps{ports: ports, mediaIP: netip.MustParseAddr("127.0.0.1"), log: log}
			b := &callBridges{apps: apps, db: db, audio: newAudioStore(blobs, db, log), recordings: recordings,
				metrics: newBridgeMetrics(nil), now: time.Now, log: log}

			// Each leg sends to a socket of its own that nobody reads.
			leg := func() *mediaLeg {
				peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				require.NoError(t, err)
				t.Cleanup(func() { peer.Close() })
				l, err := apps.openLeg(netip.Addr{}, log)
				require.NoError(t, err)
				require.NoError(t, l.start(media.Params{Codec: media.CodecPCMU, Ptime: 20 * time.Millisecond,
					Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()}))
				t.Cleanup(l.Close)
				return l
			}
			caller, callee := newFakeCall(), newFakeCall()
			req := sip.BridgeRequest{CallID: "bridge-test", Dialled: "1001", Record: []string{"1001"}}
			r := &bridgeRun{call: &bridgedCall{b: b, req: req, caller: leg(), log: log}, called: leg(), callee: callee,
				who: sip.Answerer{Extension: "1001", Phone: "1001a"}, record: []string{"1001"}}
			done := make(chan struct{})
			go func() {
				defer close(done)
				r.Run(ctx, caller)
			}()
			require.Eventually(t, func() bool {
				b.metrics.mu.Lock()
				defer b.metrics.mu.Unlock()
				return len(b.metrics.live) == 1
			}, 5*time.Second, 10*time.Millisecond, "the bridge never started")

			other := callee
			if tc.callerHangsUp {
				caller.end() // the caller's BYE
			} else {
				callee.end() // the callee's BYE
				other = caller
			}
			select {
			case <-other.hungUp:
			case <-time.After(5 * time.Second):
				t.Fatal("the other side is not hung up while the recording waits to be filed")
			}
			select {
			case <-blobs.entered:
			case <-time.After(5 * time.Second):
				t.Fatal("the recording is never filed")
			}
			blobs.open()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			page, err := db.Recordings().Recordings(ctx, store.RecordingFilter{Extension: "1001"})
			require.NoError(t, err)
			require.Len(t, page.Recordings, 1)
		})
	}
}
