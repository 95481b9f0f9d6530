package voicemail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/ivr"
	"switchboard/media"
	"switchboard/prompts"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPool is one port pool for the test binary; concurrent test processes
// spread over different ranges (a port another one holds is skipped).
var testPool = sync.OnceValue(func() *media.PortPool {
	base := 40000 + (os.Getpid()%100)*100
	p, err := media.NewPortPool(base, base+98)
	if err != nil {
		panic(err)
	}
	return p
})

// line is a call's media: the session the runner drives and the phone's,
// talking to each other over loopback. heard is what the phone hears.
type line struct {
	sess, phone *media.Session
	heard       *pcmSink
}

// newLine connects two sessions; cfg is the runner side's (the phone
// never times out).
func newLine(t *testing.T, cfg media.SessionConfig) *line {
	t.Helper()
	connA, err := testPool().Listen(loopback)
	require.NoError(t, err)
	connB, err := testPool().Listen(loopback)
	if err != nil {
		connA.Close()
		require.NoError(t, err)
	}
	params := func(remote netip.AddrPort) media.Params {
		return media.Params{Codec: media.CodecPCMU, PayloadType: 0, DTMFPayloadType: 101, LocalDTMFPayloadType: 101,
			Ptime: 20 * time.Millisecond, Remote: remote, Direction: media.DirectionSendRecv}
	}
	a, err := media.NewSession(connA, params(connB.LocalAddr()), cfg)
	if err != nil {
		connA.Close()
		connB.Close()
		require.NoError(t, err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := media.NewSession(connB, params(connA.LocalAddr()), media.SessionConfig{InactivityTimeout: -1})
	if err != nil {
		connB.Close()
		require.NoError(t, err)
	}
	t.Cleanup(func() { b.Close() })
	l := &line{sess: a, phone: b, heard: &pcmSink{}}
	require.NoError(t, b.SetSink(l.heard))
	return l
}

// quiet is the runner side's session configuration for tests that do not
// test the RTP timeout: the phone only sends while it speaks.
var quiet = media.SessionConfig{InactivityTimeout: -1}

// press queues a key on the runner's session, as a SIP INFO would.
func (l *line) press(t *testing.T, keys string) {
	t.Helper()
	for _, k := range keys {
		require.True(t, l.sess.InjectDTMF(media.DTMF{Digit: k}))
	}
}

// say plays src from the phone, as the caller speaking.
func (l *line) say(t *testing.T, src media.Source) {
	t.Helper()
	require.NoError(t, l.phone.Play(context.Background(), src))
}

// allHeard waits until the phone has every packet the runner sent.
func (l *line) allHeard(t *testing.T) []int16 {
	t.Helper()
	waitFor(t, "the phone hears everything", func() bool {
		return l.phone.Stats().PacketsIn >= l.sess.Stats().PacketsOut
	})
	return l.heard.samples()
}

// pcmSink collects what a session delivers.
type pcmSink struct {
	mu  sync.Mutex
	pcm []int16
}

func (s *pcmSink) WritePCM(p []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pcm = append(s.pcm, p...)
	return nil
}

func (s *pcmSink) samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.pcm...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, what)
}

// fakeCall is the signalling side of a call.
type fakeCall struct {
	ended       chan struct{}
	endOnce     sync.Once
	transferErr error

	mu        sync.Mutex
	hangUps   int
	transfers []string
}

var _ Call = (*fakeCall)(nil)

func newFakeCall() *fakeCall { return &fakeCall{ended: make(chan struct{})} }

func (c *fakeCall) Transfer(_ context.Context, to string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.transfers = append(c.transfers, to)
	return c.transferErr
}

func (c *fakeCall) HangUp() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hangUps++
}

func (c *fakeCall) Ended() <-chan struct{} { return c.ended }

// callerHangsUp is the caller's BYE.
func (c *fakeCall) callerHangsUp() { c.endOnce.Do(func() { close(c.ended) }) }

func (c *fakeCall) counts() (hangUps int, transfers []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hangUps, append([]string(nil), c.transfers...)
}

// dirRecordings keeps recordings in a directory under handles rec1, rec2...
// and says on created when one is made.
type dirRecordings struct {
	dir     string
	created chan string

	mu sync.Mutex
	n  int
}

var _ Recordings = (*dirRecordings)(nil)

func newDirRecordings(t *testing.T) *dirRecordings {
	return &dirRecordings{dir: t.TempDir(), created: make(chan string, 10)}
}

func (d *dirRecordings) Create() (string, *os.File, error) {
	d.mu.Lock()
	d.n++
	handle := fmt.Sprintf("rec%d", d.n)
	d.mu.Unlock()
	f, err := os.OpenFile(d.Path(handle), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, err
	}
	d.created <- handle
	return handle, f, nil
}

func (d *dirRecordings) Path(handle string) string { return filepath.Join(d.dir, handle+".wav") }

func (d *dirRecordings) Remove(handle string) error {
	if err := os.Remove(d.Path(handle)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// waitCreated waits for the runner to start recording.
func (d *dirRecordings) waitCreated(t *testing.T) string {
	t.Helper()
	select {
	case h := <-d.created:
		// Let the runner attach its recorder to the session.
		time.Sleep(50 * time.Millisecond)
		return h
	case <-time.After(5 * time.Second):
		t.Fatal("no recording started")
		return ""
	}
}

// read decodes a recording, checking that its header tells its true size.
func (d *dirRecordings) read(t *testing.T, handle string) []int16 {
	t.Helper()
	b, err := os.ReadFile(d.Path(handle))
	require.NoError(t, err)
	pcm, err := media.ReadWAV(bytes.NewReader(b), 0)
	require.NoError(t, err)
	require.Len(t, b, 44+2*len(pcm), "the header's sizes match the file")
	return pcm
}

// mapAudio is stored audio in memory.
type mapAudio map[string][]byte

var _ Audio = mapAudio(nil)

func (m mapAudio) Open(_ context.Context, key string) (io.ReadCloser, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("audio %s: %w", key, os.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// toneWAV is a stored WAV file of a tone.
func toneWAV(t *testing.T, freq float64, d time.Duration) []byte {
	t.Helper()
	pcm, err := media.ReadAll(media.Tone(freq, d, 0.5), 0)
	require.NoError(t, err)
	return media.EncodeWAV(pcm)
}

// promptLen is how long a prompt plays, in samples.
func promptLen(t *testing.T, name string) int {
	t.Helper()
	b, ok := prompts.WAV(name)
	require.True(t, ok, name)
	pcm, err := media.ReadWAV(bytes.NewReader(b), 0)
	require.NoError(t, err)
	return len(pcm)
}

// scriptApp answers Start and each event with the next of its batches and
// notes the events it gets. It is done after a batch with HangUp or
// Transfer, or when the call ends; then it answers with final.
type scriptApp struct {
	mu      sync.Mutex
	batches [][]ivr.Action
	final   []ivr.Action
	events  []ivr.Event
	live    []bool // whether each Handle's ctx was live and bounded
	done    bool
	// onEvent, when set, runs in Handle before the answer.
	onEvent func(ctx context.Context, ev ivr.Event)
}

var _ ivr.App = (*scriptApp)(nil)

func (a *scriptApp) Start(context.Context) []ivr.Action {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.next()
}

func (a *scriptApp) Handle(ctx context.Context, ev ivr.Event) []ivr.Action {
	if a.onEvent != nil {
		a.onEvent(ctx, ev)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, ev)
	_, bounded := ctx.Deadline()
	a.live = append(a.live, ctx.Err() == nil && bounded)
	if a.done {
		return nil
	}
	switch ev := ev.(type) {
	case ivr.CallEnded:
		a.done = true
		return a.final
	case ivr.RecordDone:
		if ev.Reason == ivr.StopHangUp {
			a.done = true
			return a.final
		}
	}
	return a.next()
}

func (a *scriptApp) next() []ivr.Action {
	if len(a.batches) == 0 {
		a.done = true
		return []ivr.Action{ivr.HangUp{}}
	}
	b := a.batches[0]
	a.batches = a.batches[1:]
	for _, act := range b {
		switch act.(type) {
		case ivr.HangUp, ivr.Transfer:
			a.done = true
		}
	}
	return b
}

func (a *scriptApp) Done() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done
}

func (a *scriptApp) Err() error { return nil }

func (a *scriptApp) got() ([]ivr.Event, []bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ivr.Event(nil), a.events...), append([]bool(nil), a.live...)
}

// fixture is a runner with its recordings and stored audio.
type fixture struct {
	r     *Runner
	recs  *dirRecordings
	audio mapAudio
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{recs: newDirRecordings(t), audio: mapAudio{}}
	cfg.Recordings, cfg.Audio = f.recs, f.audio
	r, err := NewRunner(cfg)
	require.NoError(t, err)
	f.r = r
	return f
}

// start runs app on the line in the background; the result arrives on
// the channel. The run is stopped and waited for when the test ends.
func (f *fixture) start(t *testing.T, ctx context.Context, app ivr.App, l *line, call Call) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		out <- f.r.Run(ctx, app, l.sess, call)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return out
}

func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}
