package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// limitedHandler bounds what sipgo's internal logging can write: at most
// perSecond records a second pass, string attributes are cut short (sipgo
// dumps whole messages into its error lines), and a summary line says how
// many were dropped. A flood of garbage must not become a flood of logs.
type limitedHandler struct {
	next      slog.Handler
	perSecond int
	state     *limiterState
}

type limiterState struct {
	mu      sync.Mutex // guards the fields below
	second  int64
	n       int
	dropped int
}

const maxLoggedString = 160

func newLimitedHandler(next slog.Handler, perSecond int) *limitedHandler {
	return &limitedHandler{next: next, perSecond: perSecond, state: &limiterState{}}
}

func (h *limitedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *limitedHandler) Handle(ctx context.Context, r slog.Record) error {
	now := r.Time
	if now.IsZero() {
		now = time.Now()
	}
	sec := now.Unix()
	h.state.mu.Lock()
	if sec != h.state.second {
		h.state.second, h.state.n = sec, 0
	}
	if h.state.n >= h.perSecond {
		h.state.dropped++
		h.state.mu.Unlock()
		return nil
	}
	h.state.n++
	dropped := h.state.dropped
	h.state.dropped = 0
	h.state.mu.Unlock()

	if dropped > 0 {
		s := slog.NewRecord(now, slog.LevelWarn, "suppressed log lines from the SIP stack", 0)
		s.AddAttrs(slog.Int("dropped", dropped))
		if err := h.next.Handle(ctx, s); err != nil {
			return err
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindString && len(a.Value.String()) > maxLoggedString {
			a.Value = slog.StringValue(a.Value.String()[:maxLoggedString] + "…")
		}
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *limitedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &limitedHandler{next: h.next.WithAttrs(attrs), perSecond: h.perSecond, state: h.state}
}

func (h *limitedHandler) WithGroup(name string) slog.Handler {
	return &limitedHandler{next: h.next.WithGroup(name), perSecond: h.perSecond, state: h.state}
}
