package sip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a handler.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes the JSON log lines written so far and empties the buffer.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	b.buf.Reset()
	return out
}

func newTestParseErrorLog(perSecond int) (*ParseErrorLog, *syncBuffer, *fakeClock) {
	buf := &syncBuffer{}
	clock := newFakeClock()
	l := NewParseErrorLog(slog.New(slog.NewJSONHandler(buf, nil)), perSecond)
	l.now = clock.now
	return l, buf, clock
}

var errGarbage = errors.New("transmission beginning 'GET / HTTP/1.1' is not a SIP message")

func TestParseErrorLogBound(t *testing.T) {
	const perSecond = 5
	l, buf, clock := newTestParseErrorLog(perSecond)

	for range 10000 {
		l.Log("198.51.100.7:5060", []byte("GET / HTTP/1.1\r\n\r\n"), errGarbage)
	}
	lines := buf.lines(t)
	require.Len(t, lines, perSecond)
	for _, line := range lines {
		require.Equal(t, "unparsable message", line["msg"])
		require.Equal(t, "198.51.100.7:5060", line["src"])
		require.Equal(t, errGarbage.Error(), line["error"])
	}
	require.EqualValues(t, 10000-perSecond, l.Dropped())

	// The next second starts with the summary, which takes one line of
	// that second's budget.
	clock.advance(time.Second)
	for range 10000 {
		l.Log("198.51.100.7:5060", []byte("x"), errGarbage)
	}
	lines = buf.lines(t)
	require.Len(t, lines, perSecond)
	require.Equal(t, fmt.Sprintf("dropped %d unparsable messages", 10000-perSecond), lines[0]["msg"])
	require.EqualValues(t, 10000-perSecond, lines[0]["dropped"])
	for _, line := range lines[1:] {
		require.Equal(t, "unparsable message", line["msg"])
	}
	require.EqualValues(t, 2*10000-2*perSecond+1, l.Dropped())

	// A quiet second later, one message gets the summary and its own line.
	clock.advance(5 * time.Second)
	l.Log("198.51.100.7:5060", []byte("x"), errGarbage)
	lines = buf.lines(t)
	require.Len(t, lines, 2)
	require.Equal(t, fmt.Sprintf("dropped %d unparsable messages", 10000-perSecond+1), lines[0]["msg"])
	require.Equal(t, "unparsable message", lines[1]["msg"])

	// And with nothing dropped, no summary.
	clock.advance(time.Second)
	l.Log("198.51.100.7:5060", []byte("x"), errGarbage)
	lines = buf.lines(t)
	require.Len(t, lines, 1)
	require.Equal(t, "unparsable message", lines[0]["msg"])
}

func TestParseErrorLogQuotesAtMost120Bytes(t *testing.T) {
	l, buf, _ := newTestParseErrorLog(10)
	data := append([]byte("INVITE sip:x SIP/2.0\r\n\x00\x01\xff"), bytes.Repeat([]byte("Z"), 4000)...)
	l.Log("203.0.113.9:5060", data, errGarbage)

	lines := buf.lines(t)
	require.Len(t, lines, 1)
	require.Equal(t, fmt.Sprintf("%q", data[:120]), lines[0]["data"])
	require.EqualValues(t, len(data), lines[0]["bytes"])

	l.Log("203.0.113.9:5060", []byte("short"), errGarbage)
	lines = buf.lines(t)
	require.Equal(t, `"short"`, lines[0]["data"])
}

func TestParseErrorLogConcurrent(t *testing.T) {
	const perSecond = 20
	l, buf, _ := newTestParseErrorLog(perSecond)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				l.Log("192.0.2.1:5060", []byte("junk"), errGarbage)
			}
		})
	}
	wg.Wait()
	require.Len(t, buf.lines(t), perSecond)
	require.EqualValues(t, 8*1000-perSecond, l.Dropped())
}

func TestParseErrorLogZeroBudget(t *testing.T) {
	l, buf, clock := newTestParseErrorLog(0)
	l.Log("192.0.2.1:5060", []byte("junk"), errGarbage)
	clock.advance(time.Second)
	l.Log("192.0.2.1:5060", []byte("junk"), errGarbage)
	require.Empty(t, buf.lines(t))
	require.EqualValues(t, 2, l.Dropped())
}

func TestParseErrorLogNilLogger(t *testing.T) {
	l := NewParseErrorLog(nil, 1)
	require.NotPanics(t, func() {
		l.Log("192.0.2.1:5060", []byte("junk"), errGarbage)
		l.Log("192.0.2.1:5060", nil, nil)
	})
	require.EqualValues(t, 1, l.Dropped())
}

func TestParseErrorLogSuppressedDoesNotAllocate(t *testing.T) {
	l, _, _ := newTestParseErrorLog(1)
	data := []byte("junk")
	l.Log("192.0.2.1:5060", data, errGarbage)
	allocs := testing.AllocsPerRun(1000, func() {
		l.Log("192.0.2.1:5060", data, errGarbage)
	})
	require.Zero(t, allocs)
}
