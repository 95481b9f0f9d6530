package switchboard

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type resyncSent struct {
	phone   string
	reasons []string
}

func newTestResyncer(delay time.Duration, send func(context.Context, string, []string)) *provisionResyncer {
	return newProvisionResyncer(delay, send, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// A burst of changes to one phone sends it one resync, with every reason,
// once the burst has settled; other phones count on their own.
func TestProvisionResyncDebounce(t *testing.T) {
	sent := make(chan resyncSent, 10)
	// The delay is far longer than the pause between the two changes, so
	// a loaded machine cannot split the burst.
	r := newTestResyncer(500*time.Millisecond, func(_ context.Context, phone string, reasons []string) {
		sent <- resyncSent{phone, reasons}
	})
	defer r.close()
	start := time.Now()
	r.schedule("1001a", "caller_id_name")
	time.Sleep(60 * time.Millisecond)
	r.schedule("1001a", "timezone", "caller_id_name")
	r.schedule("1002a", "mac")
	got := map[string][]string{}
	for range 2 {
		select {
		case s := <-sent:
			got[s.phone] = s.reasons
		case <-time.After(2 * time.Second):
			t.Fatal("no resync")
		}
	}
	require.GreaterOrEqual(t, time.Since(start), 560*time.Millisecond, "counted from the last change")
	require.Equal(t, map[string][]string{"1001a": {"caller_id_name", "timezone"}, "1002a": {"mac"}}, got)
	select {
	case s := <-sent:
		t.Fatalf("a second resync: %v", s)
	case <-time.After(300 * time.Millisecond):
	}
}

// close drops the phones waiting, cuts the resyncs in flight short and
// waits for them; later changes send nothing. A negative delay sends
// nothing at all.
func TestProvisionResyncClose(t *testing.T) {
	started := make(chan struct{})
	var mu sync.Mutex
	var sent []string
	r := newTestResyncer(10*time.Millisecond, func(ctx context.Context, phone string, _ []string) {
		mu.Lock()
		sent = append(sent, phone)
		mu.Unlock()
		if phone == "slow" {
			close(started)
			<-ctx.Done()
		}
	})
	r.schedule("slow", "mac")
	<-started
	r.delay = time.Hour
	r.schedule("waiting", "mac")
	done := make(chan struct{})
	go func() { r.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("close did not end the resync in flight")
	}
	r.schedule("late", "mac")
	mu.Lock()
	require.Equal(t, []string{"slow"}, sent)
	mu.Unlock()
	require.Empty(t, r.pending)

	off := newTestResyncer(-1, func(context.Context, string, []string) { t.Error("sent while off") })
	off.schedule("1001a", "mac")
	require.Empty(t, off.pending)
	off.close()
}

// At most resyncMaxPending phones wait; changes beyond send nothing.
func TestProvisionResyncBounded(t *testing.T) {
	r := newTestResyncer(time.Hour, func(context.Context, string, []string) {})
	defer r.close()
	for i := range resyncMaxPending + 5 {
		r.schedule(itoa(int64(i)), "mac")
	}
	require.Len(t, r.pending, resyncMaxPending)
	r.schedule("0", "model")
	require.Equal(t, []string{"mac", "model"}, r.pending["0"].reasons, "a phone already waiting still counts its changes")
}
