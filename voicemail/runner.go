package voicemail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/ivr"
	"switchboard/media"
)

// Recordings keeps the audio recorded on calls in progress, one 16-bit
// 8 kHz mono WAV file per handle, until the application files it (a store
// method reads the file at Path) or discards it.
type Recordings interface {
	// Create makes a new empty recording file, open for reading and
	// writing, and returns its handle.
	Create() (handle string, f *os.File, err error)
	// Path is where the recording with handle is.
	Path(handle string) string
	// Remove deletes a recording; a missing one is not an error.
	Remove(handle string) error
}

// Audio opens stored audio (greetings, recorded names, messages) by its
// key: a WAV file as media.ReadWAV reads it.
type Audio interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Call is the signalling side of the call an application serves.
type Call interface {
	// Transfer hands the caller over to to, an extension or an outside
	// number (a blind transfer). Once it returns nil the call is no longer
	// the runner's: it neither plays nor hangs up. An error means the
	// transfer was refused and the call is still ours.
	Transfer(ctx context.Context, to string) error
	// HangUp ends the call from our side (our BYE). Calling it again, or
	// after the caller hung up, does nothing.
	HangUp()
	// Ended is closed when the caller hung up (their BYE) or the call
	// failed.
	Ended() <-chan struct{}
}

// Defaults for Config.
const (
	DefaultMaxAudio      = 10 * time.Minute
	DefaultSilenceTail   = 300 * time.Millisecond
	DefaultHandleTimeout = 30 * time.Second
)

// Config is what a Runner needs; Recordings and Audio are required.
type Config struct {
	Recordings Recordings
	Audio      Audio
	// Logger receives warnings (audio that could not be played) and debug
	// lines; nil discards them. WithLogger gives a call its own.
	Logger *slog.Logger
	// Registerer, when set, gets the runner's metrics.
	Registerer prometheus.Registerer
	// MaxAudio bounds the stored audio and recordings played back: longer
	// ones are skipped (0: DefaultMaxAudio).
	MaxAudio time.Duration
	// SilenceThreshold is the level in dBFS below which the caller counts
	// as silent (0: media.DefaultSilenceThreshold).
	SilenceThreshold float64
	// SilenceTail is how much of the trailing silence a recording stopped
	// by silence keeps, so the end of the last word is not clipped (0:
	// DefaultSilenceTail; negative: none).
	SilenceTail time.Duration
	// HandleTimeout bounds the application's work on one event: its
	// store calls, which may run after the caller hung up (0:
	// DefaultHandleTimeout).
	HandleTimeout time.Duration
}

// Runner runs voice applications on calls. It is safe for concurrent use:
// one Runner serves every call.
type Runner struct {
	cfg        Config
	log        *slog.Logger
	maxSamples int
	prompts    *promptCache
	metrics    *metrics
}

// NewRunner returns a runner for cfg, its metrics registered on
// cfg.Registerer.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Recordings == nil || cfg.Audio == nil {
		return nil, errors.New("voicemail: runner needs Recordings and Audio")
	}
	if cfg.MaxAudio <= 0 {
		cfg.MaxAudio = DefaultMaxAudio
	}
	switch {
	case cfg.SilenceTail == 0:
		cfg.SilenceTail = DefaultSilenceTail
	case cfg.SilenceTail < 0:
		cfg.SilenceTail = 0
	}
	if cfg.HandleTimeout <= 0 {
		cfg.HandleTimeout = DefaultHandleTimeout
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, maxSamples: media.Samples(cfg.MaxAudio), prompts: &promptCache{}, metrics: m}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// WithLogger returns a runner that logs to l (a call's child logger) and
// shares everything else with r.
func (r *Runner) WithLogger(l *slog.Logger) *Runner {
	c := *r
	if l != nil {
		c.log = l
	}
	return &c
}

// Run executes app on the call until the application is done, following
// the protocol of package ivr, and returns once every goroutine it started
// has ended. It uses sess's DTMF queue and sink while it runs and leaves no
// sink set; it closes neither sess nor the call.
//
// When the caller hangs up (call.Ended) or the media ends (sess.Done, for
// instance media.ErrRTPTimeout), Run stops what was running and reports it
// to the application, whose last word (filing a message recorded up to the
// hang-up) runs under a context that outlives the call, bounded by
// Config.HandleTimeout. When ctx is cancelled (shutdown) Run does the same
// and returns as soon as that last word is said. In both
// cases, unless the caller hung up, Run ends the call with call.HangUp, as
// it does after a refused transfer and whenever the application stops
// without ending the call itself.
//
// Run returns the application's Err, what went wrong in the runner
// (a recording or a transfer that failed), the media's failure and, on
// shutdown, ctx's error, joined; nil when the call simply ended.
func (r *Runner) Run(ctx context.Context, app ivr.App, sess *media.Session, call Call) error {
	live := r.metrics.begin(sess)
	defer r.metrics.end(live)

	// The call's context ends with the call too, so a prompt being
	// played stops at once.
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-call.Ended():
		case <-sess.Done():
		case <-callCtx.Done():
		}
		cancel(errCallEnded)
	})

	c := &callRun{r: r, log: r.log, app: app, sess: sess, call: call}
	c.log.Debug("voicemail application starting", "app", fmt.Sprintf("%T", app))
	c.run(callCtx)
	cancel(errCallEnded)
	wg.Wait()

	if !c.hungUp && !c.transferred && c.cause != endCaller {
		// Shutdown, failed media, a runner error, or an application that
		// stopped without ending the call: nobody serves the call any more.
		call.HangUp()
	}
	if d, ok := app.(*ivr.Deposit); ok {
		r.metrics.deposited(d.Outcome())
	}
	c.log.Debug("voicemail application ended", "end", c.cause, "hung_up", c.hungUp, "transferred", c.transferred)

	errs := append(c.errs, app.Err())
	switch c.cause {
	case endShutdown:
		errs = append(errs, ctx.Err())
	case endMedia:
		if err := sess.Err(); !errors.Is(err, media.ErrSessionClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endCause says why the call ended while an application ran.
type endCause uint8

const (
	endUnknown  endCause = iota // still up, or ended by the application
	endCaller                   // the caller hung up, or the call failed
	endShutdown                 // Run's ctx was cancelled
	endMedia                    // the media session ended (no RTP, socket failure, closed)
)

func (e endCause) String() string {
	switch e {
	case endCaller:
		return "caller"
	case endShutdown:
		return "shutdown"
	case endMedia:
		return "media"
	default:
		return "unknown"
	}
}

// errCallEnded cancels a call's context when the call or its media ended.
var errCallEnded = errors.New("voicemail: call ended")

// callRun is one Run's state, owned by the goroutine that called Run. Its
// methods take the call's context, which ends with the call.
type callRun struct {
	r    *Runner
	log  *slog.Logger
	app  ivr.App
	sess *media.Session
	call Call

	gone        bool // the call ended under the application
	cause       endCause
	hungUp      bool // we hung up
	transferred bool
	errs        []error
}

func (c *callRun) fail(err error) { c.errs = append(c.errs, err) }

// run is the loop of package ivr's protocol: a batch, its event, the
// application's answer.
func (c *callRun) run(ctx context.Context) {
	acts := c.start(ctx)
	for {
		ev, final := c.execute(ctx, acts)
		if final || c.app.Done() {
			return
		}
		if ev == nil {
			c.fail(fmt.Errorf("voicemail: %T gave a batch that ends without a wait", c.app))
			return
		}
		wasGone := c.gone
		acts = c.handle(ctx, ev)
		if wasGone {
			// The application's last batch after a hang-up holds only
			// Discard actions, and executing it plays nothing.
			c.execute(ctx, acts)
			if !c.app.Done() {
				c.fail(fmt.Errorf("voicemail: %T not done after the call ended", c.app))
			}
			return
		}
	}
}

// appCtx is the context of the application's work on one event: the
// call's values without its end, which a hang-up brings. A message recorded
// up to the hang-up is filed then, and a message filed when the caller
// pressed # must not be lost because the caller hung up right after.
func (c *callRun) appCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.r.cfg.HandleTimeout)
}

func (c *callRun) start(ctx context.Context) []ivr.Action {
	actx, cancel := c.appCtx(ctx)
	defer cancel()
	return c.app.Start(actx)
}

func (c *callRun) handle(ctx context.Context, ev ivr.Event) []ivr.Action {
	actx, cancel := c.appCtx(ctx)
	defer cancel()
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.Debug("voicemail event", "event", fmt.Sprintf("%T%+v", ev, ev))
	}
	return c.app.Handle(actx, ev)
}

// execute runs a batch and returns its event (nil when it ran to its end
// without one) and whether it ended the application's hold on the call
// (HangUp, Transfer, or a runner error).
//
// Once a key or the end of the call stops the batch, or a HangUp or
// Transfer ran, the actions left are dropped, except Discard: a recording
// it names would otherwise never be removed. After the call ended only
// Discard runs; media actions report the end at once.
func (c *callRun) execute(ctx context.Context, acts []ivr.Action) (ev ivr.Event, final bool) {
	for _, a := range acts {
		if ev != nil || final {
			if d, ok := a.(ivr.Discard); ok {
				c.discard(d.Recording)
			}
			continue
		}
		switch a := a.(type) {
		case ivr.Play:
			ev = c.play(ctx, a)
		case ivr.WaitDigit:
			ev = c.waitDigit(ctx, a)
		case ivr.Record:
			ev = c.record(ctx, a)
		case ivr.Discard:
			c.discard(a.Recording)
		case ivr.Transfer:
			c.transfer(ctx, a.To)
			final = true
		case ivr.HangUp:
			if !c.checkGone(ctx) {
				c.call.HangUp()
				c.hungUp = true
			}
			final = true
		default:
			c.fail(fmt.Errorf("voicemail: unknown action %T", a))
			final = true
		}
	}
	return ev, final
}

// checkGone reports whether the call has ended under the application,
// noting why the first time.
func (c *callRun) checkGone(ctx context.Context) bool {
	if c.gone {
		return true
	}
	switch {
	case isClosed(c.call.Ended()):
		c.cause = endCaller
	case ctx.Err() != nil && context.Cause(ctx) != errCallEnded:
		c.cause = endShutdown
	case isClosed(c.sess.Done()):
		c.cause = endMedia
	case ctx.Err() != nil:
		c.cause = endShutdown
	default:
		return false
	}
	c.gone = true
	c.log.Debug("voicemail call ended", "end", c.cause)
	return true
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitDigit reports the next key, one already waiting included.
func (c *callRun) waitDigit(ctx context.Context, w ivr.WaitDigit) ivr.Event {
	if c.checkGone(ctx) {
		return ivr.CallEnded{}
	}
	if key, ok := c.takeWaiting(ivr.AllKeys); ok {
		return ivr.Digit{Key: key}
	}
	timer := time.NewTimer(max(w.Timeout, 0))
	defer timer.Stop()
	for {
		select {
		case d := <-c.sess.DTMF():
			if isKey(d.Digit, ivr.AllKeys) {
				return ivr.Digit{Key: d.Digit}
			}
		case <-timer.C:
			return ivr.Timeout{}
		case <-ctx.Done():
			c.checkGone(ctx)
			return ivr.CallEnded{}
		}
	}
}

// takeWaiting takes the keys queued before an action starts: the first one
// in keys is returned, the others before it are dropped.
func (c *callRun) takeWaiting(keys string) (rune, bool) {
	for {
		select {
		case d := <-c.sess.DTMF():
			if isKey(d.Digit, keys) {
				return d.Digit, true
			}
		default:
			return 0, false
		}
	}
}

// isKey reports whether r is a keypad key (A-D are not: no menu uses them)
// listed in keys.
func isKey(r rune, keys string) bool {
	return strings.ContainsRune(keys, r) && strings.ContainsRune(ivr.AllKeys, r)
}

func (c *callRun) discard(handle string) {
	if err := c.r.cfg.Recordings.Remove(handle); err != nil {
		c.fail(fmt.Errorf("voicemail: discard recording %s: %w", handle, err))
	}
}

// transfer hands the call over. Refused, it hangs up: the application is
// done either way, and has nothing left to say.
func (c *callRun) transfer(ctx context.Context, to string) {
	if c.checkGone(ctx) {
		return
	}
	err := c.call.Transfer(ctx, to)
	switch {
	case err == nil:
		c.transferred = true
	case c.checkGone(ctx):
	default:
		c.fail(fmt.Errorf("voicemail: transfer to %s: %w", to, err))
		c.call.HangUp()
		c.hungUp = true
	}
}
