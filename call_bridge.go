package switchboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/blob"
	"switchboard/ivr"
	"switchboard/media"
	"switchboard/sip"
	"switchboard/store"
)

var _ sip.Bridging = (*callBridges)(nil)

// callBridges puts the engine in the media path of the calls the proxy
// bridges: each side gets an RTP session on a port of the voicemail pool,
// and media.Bridge relays between them, recording both directions into
// one WAV for the users who record their calls.
type callBridges struct {
	apps       *voiceApps // the port pool, SDP settings and media address
	db         *store.DB
	audio      *audioStore
	recordings *recordingDir
	metrics    *bridgeMetrics
	settings   func(context.Context) (engineSettings, error)
	now        func() time.Time
	log        *slog.Logger
}

func (b *callBridges) Open(_ context.Context, req sip.BridgeRequest) (sip.BridgedCall, error) {
	log := b.log.With("call_id", req.CallID)
	leg, err := b.apps.openLeg(req.LocalIP, log)
	if err != nil {
		return nil, err
	}
	c := &bridgedCall{b: b, req: req, caller: leg, log: log}
	if len(req.Offer) == 0 {
		err = leg.makeOffer()
	} else {
		// The caller's offer is answered now, so that an offer without a
		// common codec is refused before anything rings; the session
		// starts when a leg answers (no RTP timeout while ringing).
		c.params, err = leg.answerOffer(req.Offer)
		c.offered = true
	}
	if err != nil {
		leg.Close()
		return nil, err
	}
	return c, nil
}

// bridgedCall is the media side of one bridged call until a leg answers.
type bridgedCall struct {
	b      *callBridges
	req    sip.BridgeRequest
	caller *mediaLeg
	// params are the caller's offer answered, for the session to start
	// with on Connect; offered says there was an offer.
	params  media.Params
	offered bool
	// answeredCaller marks a call placed for a caller an application
	// answered: their session runs already and stays theirs on Close.
	answeredCaller bool
	log            *slog.Logger

	mu     sync.Mutex // guards record
	record []string
}

func (c *bridgedCall) Leg(localIP netip.Addr) (sip.CalledLeg, error) {
	leg, err := c.b.apps.openLeg(localIP, c.log)
	if err != nil {
		return nil, err
	}
	if err := leg.makeOffer(); err != nil {
		leg.Close()
		return nil, err
	}
	return leg, nil
}

func (c *bridgedCall) Also(record []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ext := range record {
		if !slices.Contains(c.req.Record, ext) && !slices.Contains(c.record, ext) {
			c.record = append(c.record, ext)
		}
	}
}

func (c *bridgedCall) Connect(leg sip.CalledLeg, answer []byte, callee sip.AppCall, who sip.Answerer) (sip.AppSession, error) {
	called, ok := leg.(*mediaLeg)
	if !ok {
		leg.Close()
		return nil, errors.New("bridge: a leg of another kind")
	}
	if err := called.Acknowledged(answer); err != nil {
		called.Close()
		return nil, &sipStatusError{code: 488, text: "called party's answer: " + err.Error()}
	}
	c.mu.Lock()
	record := append(slices.Clone(c.req.Record), c.record...)
	c.mu.Unlock()
	return &bridgeRun{call: c, called: called, callee: callee, who: who, record: record}, nil
}

// confirmWait is how long an answer waits for its 1 after the question.
const confirmWait = 8 * time.Second

// Confirm plays "you have a call, to accept it press 1" to the called
// party, twice at most, and reports whether they pressed 1; another key,
// hanging up or silence refuses.
func (c *bridgedCall) Confirm(ctx context.Context, answered sip.AppSession) bool {
	run, ok := answered.(*bridgeRun)
	if !ok {
		return false
	}
	question := func() (media.Source, error) { return c.b.apps.runner.Prompts("confirm-call") }
	return run.ask(ctx, question, ivr.AllKeys, confirmWait) == '1'
}

func (c *bridgedCall) Decline(answered sip.AppSession) {
	if run, ok := answered.(*bridgeRun); ok {
		run.decline()
	}
}

func (c *bridgedCall) Close() {
	if !c.answeredCaller {
		c.caller.Close()
	}
}

// bridgeRun is a bridged call once a leg answered: the caller's side, which
// the proxy answers the caller with, and the called side.
type bridgeRun struct {
	call   *bridgedCall
	called *mediaLeg
	callee sip.AppCall
	who    sip.Answerer
	record []string
}

func (r *bridgeRun) Answer() []byte                       { return r.call.caller.Answer() }
func (r *bridgeRun) Reoffer(offer []byte) ([]byte, error) { return r.call.caller.Reoffer(offer) }
func (r *bridgeRun) Info(ct string, body []byte) error    { return r.call.caller.Info(ct, body) }

// Acknowledged starts the caller's session once the caller has the answer
// (its ACK): not earlier, so that a long ring with answers declined on
// the way is no silence the session would time out on.
func (r *bridgeRun) Acknowledged(sdp []byte) error {
	c := r.call
	switch {
	case c.caller.session() != nil:
		return nil
	case c.offered:
		return c.caller.start(c.params)
	default:
		return c.caller.Acknowledged(sdp)
	}
}

// Close ends a call the caller never got to: both legs' media and the
// called party's dialog.
func (r *bridgeRun) Close() {
	r.call.caller.Close()
	r.called.Close()
	r.callee.HangUp()
}

// ask puts a question to the called party before the call is connected:
// question is played (a key stops it) and a key awaited for wait after it,
// twice at most. It returns the first key pressed among keys, or 0: none
// of them, silence, the called party hanging up, or the end of ctx.
func (r *bridgeRun) ask(ctx context.Context, question func() (media.Source, error), keys string, wait time.Duration) rune {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.callee.Ended():
			cancel() // no use asking on
		case <-ctx.Done():
		}
	}()
	sess := r.called.sess
	for range 2 {
		src, err := question()
		if err != nil {
			r.call.log.Error("question to the called party", "error", err)
			return 0
		}
		d, err := sess.PlayUntilDigit(ctx, src)
		if err != nil {
			return 0
		}
		if d.Digit == 0 {
			timer := time.NewTimer(wait)
			select {
			case d = <-sess.DTMF():
			case <-timer.C:
			case <-ctx.Done():
			}
			timer.Stop()
		}
		if d.Digit != 0 && strings.ContainsRune(keys, d.Digit) {
			return d.Digit
		}
		if ctx.Err() != nil {
			return 0
		}
	}
	return 0
}

// decline ends the called side of a call that is not to be connected; the
// caller's side stays.
func (r *bridgeRun) decline() {
	r.called.Close()
	r.callee.HangUp()
}

// Run relays the call until either side hangs up or its audio stops, then
// hangs up both sides and files the recording.
func (r *bridgeRun) Run(ctx context.Context, call sip.AppCall) {
	b := r.call.b
	log := r.call.log
	defer r.Close()
	var rec *callRecording
	if len(r.record) > 0 {
		var err error
		if rec, err = b.startRecording(); err != nil {
			log.Error("call recording", "error", err)
		}
	}
	if len(r.record) > 0 {
		r.announce(ctx)
	}
	cfg := media.BridgeConfig{Logger: log}
	if rec != nil {
		cfg.Tap = rec.w
	}
	br, err := media.NewBridge(r.call.caller.sess, r.called.sess, cfg)
	if err != nil {
		log.Error("bridge", "error", err)
		if rec != nil {
			rec.discard()
		}
		return
	}
	started := b.now()
	live := b.metrics.add(br, r.call.caller.sess, r.called.sess)
	select {
	case <-br.Done():
	case <-call.Ended():
	case <-r.callee.Ended():
	case <-ctx.Done():
	}
	tapErr := br.Close()
	b.metrics.remove(live)
	st := br.Stats()
	log.Info("bridged call ended", "reason", bridgeEnd(br.Err()),
		"a_to_b", st.AToB.Packets, "b_to_a", st.BToA.Packets, "transcoded", st.AToB.Transcoded+st.BToA.Transcoded,
		"dtmf", st.AToB.DTMF+st.BToA.DTMF, "held", st.AToB.Held+st.BToA.Held, "lost_a", r.call.caller.sess.Stats().Lost, "lost_b", r.called.sess.Stats().Lost)
	// Whoever is still on the line is hung up now, not kept in a silent
	// call while the recording is filed.
	var wg sync.WaitGroup
	wg.Go(r.Close)
	wg.Go(call.HangUp)
	wg.Wait()
	if rec == nil {
		return
	}
	if tapErr != nil {
		log.Error("call recording", "error", tapErr)
		rec.discard()
		return
	}
	// The caller has been hung up on by now; filing the recording must
	// outlive a shutdown that started meanwhile.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := b.file(fctx, rec, r.call.req, r.who, started, r.record); err != nil {
		log.Error("file call recording", "error", err)
	}
}

// announce tells both parties "this call may be recorded" before they are
// connected, when the settings ask for it.
func (r *bridgeRun) announce(ctx context.Context) {
	if r.call.b.settings == nil {
		return
	}
	st, err := r.call.b.settings(ctx)
	if err != nil || !st.AnnounceRecording {
		return
	}
	var wg sync.WaitGroup
	for _, sess := range []*media.Session{r.call.caller.sess, r.called.sess} {
		src, err := r.call.b.apps.runner.Prompts("call-recorded")
		if err != nil {
			r.call.log.Error("recording announcement", "error", err)
			return
		}
		wg.Go(func() { _ = sess.Play(ctx, src) })
	}
	wg.Wait()
}

func bridgeEnd(err error) string {
	var le *media.LegEndedError
	switch {
	case err == nil, errors.Is(err, media.ErrBridgeClosed):
		return "hang-up"
	case errors.As(err, &le):
		return le.Error()
	default:
		return err.Error()
	}
}

// callRecording is a call's WAV being written in the recordings directory.
type callRecording struct {
	dir    *recordingDir
	handle string
	f      *os.File
	w      *media.WAVWriter
}

func (b *callBridges) startRecording() (*callRecording, error) {
	handle, f, err := b.recordings.Create()
	if err != nil {
		return nil, err
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		f.Close()
		_ = b.recordings.Remove(handle)
		return nil, err
	}
	return &callRecording{dir: b.recordings, handle: handle, f: f, w: w}, nil
}

func (r *callRecording) discard() {
	r.f.Close()
	_ = r.dir.Remove(r.handle)
}

// file completes a recording and files it for each user who records the
// call: the audio in the blob store first, then one row per user. A user
// whose storage is full gets none; audio nobody got is deleted.
func (b *callBridges) file(ctx context.Context, rec *callRecording, req sip.BridgeRequest, who sip.Answerer, started time.Time, owners []string) error {
	defer rec.discard()
	if err := rec.w.Close(); err != nil {
		return err
	}
	if _, err := rec.f.Seek(0, 0); err != nil {
		return err
	}
	key := blob.NewKey("recordings", ".wav")
	size, err := b.audio.blobs.Put(ctx, key, rec.f)
	if err != nil {
		return err
	}
	// Who was reached: the user's extension, or the number as it went out
	// through the provider (+E.164), else what was dialled.
	callee := req.Dialled
	switch {
	case who.Extension != "":
		callee = who.Extension
	case who.Number != "":
		callee = who.Number
	}
	nr := store.NewRecording{
		CallerNumber: callerNumber(req.Caller), CallerName: req.Caller.Name, Callee: callee, CallID: req.CallID,
		StartedAt: started, Duration: rec.w.Duration(), SizeBytes: size, AudioKey: key,
	}
	filed := 0
	var firstErr error
	for _, ext := range owners {
		if _, err := b.db.Recordings().AddRecording(ctx, ext, nr); err != nil {
			if errors.Is(err, store.ErrMailboxFull) {
				b.log.Warn("call recording not kept: storage full", "extension", ext, "call_id", req.CallID)
			} else if firstErr == nil {
				firstErr = err
			}
			continue
		}
		filed++
	}
	if filed == 0 {
		b.audio.discard(key)
	}
	if firstErr != nil {
		return fmt.Errorf("recording row: %w", firstErr)
	}
	return nil
}

// bridgeMetrics counts the bridged calls: those running now, and the
// packets relayed and lost by every bridge, running or ended.
type bridgeMetrics struct {
	active, relayed, lost, transcoded *prometheus.Desc

	mu   sync.Mutex // guards the rest
	live map[*liveBridge]struct{}
	done liveTotals
}

type liveBridge struct {
	br   *media.Bridge
	a, b *media.Session
}

type liveTotals struct{ relayed, lost, transcoded uint64 }

func (l *liveBridge) totals() liveTotals {
	st := l.br.Stats()
	return liveTotals{
		relayed:    st.AToB.Packets + st.BToA.Packets,
		lost:       l.a.Stats().Lost + l.b.Stats().Lost,
		transcoded: st.AToB.Transcoded + st.BToA.Transcoded,
	}
}

func newBridgeMetrics(reg prometheus.Registerer) *bridgeMetrics {
	m := &bridgeMetrics{
		active:     prometheus.NewDesc("switchboard_bridges_active", "Calls bridged by the engine now.", nil, nil),
		relayed:    prometheus.NewDesc("switchboard_bridge_packets_relayed_total", "RTP audio packets relayed between the legs of bridged calls.", nil, nil),
		lost:       prometheus.NewDesc("switchboard_bridge_packets_lost_total", "RTP packets the peers of bridged calls sent that never arrived.", nil, nil),
		transcoded: prometheus.NewDesc("switchboard_bridge_packets_transcoded_total", "Relayed packets converted between µ-law and A-law.", nil, nil),
		live:       make(map[*liveBridge]struct{}),
	}
	if reg != nil {
		reg.MustRegister(m)
	}
	return m
}

func (m *bridgeMetrics) add(br *media.Bridge, a, b *media.Session) *liveBridge {
	l := &liveBridge{br: br, a: a, b: b}
	m.mu.Lock()
	m.live[l] = struct{}{}
	m.mu.Unlock()
	return l
}

func (m *bridgeMetrics) remove(l *liveBridge) {
	t := l.totals()
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, l)
	m.done.relayed += t.relayed
	m.done.lost += t.lost
	m.done.transcoded += t.transcoded
}

func (m *bridgeMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.active
	ch <- m.relayed
	ch <- m.lost
	ch <- m.transcoded
}

func (m *bridgeMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	sum := m.done
	n := len(m.live)
	for l := range m.live {
		t := l.totals()
		sum.relayed += t.relayed
		sum.lost += t.lost
		sum.transcoded += t.transcoded
	}
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.active, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(m.relayed, prometheus.CounterValue, float64(sum.relayed))
	ch <- prometheus.MustNewConstMetric(m.lost, prometheus.CounterValue, float64(sum.lost))
	ch <- prometheus.MustNewConstMetric(m.transcoded, prometheus.CounterValue, float64(sum.transcoded))
}
