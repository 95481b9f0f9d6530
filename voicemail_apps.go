package switchboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchboard/blob"
	"switchboard/ivr"
	"switchboard/media"
	"switchboard/routing"
	"switchboard/sip"
	"switchboard/store"
	"switchboard/voicemail"
)

var _ sip.Applications = (*voiceApps)(nil)

// voiceApps answers the calls the proxy routes to voicemail: a caller
// leaving a message, or a user managing a mailbox (*97, *98). Each gets an
// RTP session on a port of the pool and runs its ivr application through
// the voicemail runner.
type voiceApps struct {
	ports   *media.PortPool
	sdp     media.SDPConfig
	mediaIP netip.Addr // the --media-address, if set
	runner  *voicemail.Runner
	store   *ivrStore
	now     func() time.Time
	log     *slog.Logger
	// For the directory and transfers: the users, the settings, the
	// calls the engine places and their bridges.
	db       *store.DB
	settings func(context.Context) (engineSettings, error)
	dialer   dialer
	bridges  *callBridges
}

// parsePortRange reads "min-max".
func parsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("RTP port range %q: want min-max, e.g. 10000-20000", s)
	}
	return min, max, nil
}

type sipStatusError struct {
	code int
	text string
}

func (e *sipStatusError) Error() string  { return e.text }
func (e *sipStatusError) SIPStatus() int { return e.code }

func (a *voiceApps) Accept(ctx context.Context, req sip.AppRequest) (sip.AppSession, error) {
	leg, err := a.openLeg(req.LocalIP, a.log.With("call_id", req.CallID))
	if err != nil {
		return nil, err
	}
	c := &voiceCall{mediaLeg: leg, apps: a, req: req}
	if len(req.Offer) == 0 {
		// The caller wants our offer in the 200 and answers in the ACK.
		if err := leg.makeOffer(); err != nil {
			leg.Close()
			return nil, err
		}
	} else {
		params, err := leg.answerOffer(req.Offer)
		if err != nil {
			leg.Close()
			return nil, err
		}
		if err := leg.start(params); err != nil {
			return nil, err
		}
	}
	now := a.now()
	switch req.Target.Kind {
	case routing.TargetVoicemail:
		c.deposit = ivr.NewDeposit(a.store, ivr.DepositConfig{
			Extension: req.Target.To, CallerNumber: callerNumber(req.Caller), CallerName: req.Caller.Name,
			ReceivedAt: now, Busy: req.Busy,
		})
		c.app = c.deposit
	case routing.TargetScreening:
		c.screen = &screening{plan: sip.DialRequest{Caller: req.Caller, To: req.Target.To, Plan: req.Plan}}
	case routing.TargetDirectory:
		if c.app, err = a.directory(ctx); err != nil {
			leg.Close()
			return nil, err
		}
	default:
		c.app = ivr.NewAccess(a.store, ivr.AccessConfig{Extension: req.Target.To, Now: now, Location: time.Local})
	}
	return c, nil
}

// callerNumber is the number a message is from: for a caller who
// authenticated as one of this PBX's phones, the user's extension (such a
// phone's From names the phone, "1002a", which nobody can call back, and
// is whatever the phone put there); else the caller ID the call came with.
func callerNumber(c sip.Caller) string {
	if c.Extension != "" && !c.FromTrunk {
		return c.Extension
	}
	return c.Number
}

// openLeg opens the media of one call leg on a port of the pool, with
// localIP (or the --media-address) in its SDP.
func (a *voiceApps) openLeg(localIP netip.Addr, log *slog.Logger) (*mediaLeg, error) {
	ip := a.mediaIP
	if !ip.IsValid() {
		ip = localIP
	}
	if !ip.IsValid() {
		return nil, errors.New("no local address for the call's audio")
	}
	bind := netip.IPv6Unspecified()
	if ip.Is4() {
		bind = netip.IPv4Unspecified()
	}
	conn, err := a.ports.Listen(bind)
	if err != nil {
		return nil, err
	}
	// One o= line for the leg's whole life, its version counting our SDPs
	// (RFC 3264 §8): some phones take a new session ID in the answer to
	// a re-offer for a new session.
	sdp := a.sdp
	sdp.SessionID, sdp.SessionVersion = rand.Uint64N(1<<31)+1, 1
	return &mediaLeg{sdp: sdp, conn: conn, ip: ip, port: conn.Port(), log: log}, nil
}

// mediaLeg is the media of one call leg: a socket of the port pool, our SDP
// and, once the offer/answer is done, the RTP session.
type mediaLeg struct {
	sdp  media.SDPConfig
	conn *media.Conn // until the session owns it
	// sess is nil until the answer is known. It is set by the goroutine
	// that runs the call, after the ACK, while in-dialog requests (INFO,
	// re-INVITE) may already read it: under mu, read with session().
	sess *media.Session
	ip   netip.Addr
	port int
	log  *slog.Logger

	mu     sync.Mutex // guards answer and sess
	answer []byte
}

// session is the RTP session, nil before the answer is known.
func (l *mediaLeg) session() *media.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess
}

// makeOffer makes our SDP an offer, answered by the peer's 200 or ACK.
func (l *mediaLeg) makeOffer() error {
	offer, err := media.Offer(l.ip, l.port, l.sdp)
	if err != nil {
		return err
	}
	l.setAnswer(offer)
	return nil
}

// answerOffer answers the peer's offer: our SDP becomes the answer and the
// parameters are those the session is to start with.
func (l *mediaLeg) answerOffer(offer []byte) (media.Params, error) {
	answer, params, err := media.Answer(offer, l.ip, l.port, l.sdp)
	if err != nil {
		return media.Params{}, err
	}
	l.setAnswer(answer)
	return params, nil
}

func (l *mediaLeg) setAnswer(sdp []byte) {
	l.mu.Lock()
	l.answer = sdp
	l.mu.Unlock()
}

// start starts the RTP session, which owns the socket from then on.
func (l *mediaLeg) start(p media.Params) error {
	sess, err := media.NewSession(l.conn, p, media.SessionConfig{Logger: l.log})
	if err != nil {
		l.conn.Close()
		l.conn = nil
		return err
	}
	l.mu.Lock()
	l.sess, l.conn = sess, nil
	l.mu.Unlock()
	return nil
}

// Acknowledged takes the peer's answer to our offer and starts the
// session; nothing to do when the session runs already.
func (l *mediaLeg) Acknowledged(sdp []byte) error {
	if l.session() != nil {
		return nil
	}
	p, err := media.ParseAnswer(sdp, l.sdp)
	if err != nil {
		return err
	}
	return l.start(p)
}

func (l *mediaLeg) Answer() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answer
}

func (l *mediaLeg) Reoffer(offer []byte) ([]byte, error) {
	sess := l.session()
	if sess == nil {
		return nil, &sipStatusError{code: 491, text: "the first offer is not answered yet"}
	}
	cfg := l.sdp
	cfg.SessionVersion++
	answer, params, err := media.Answer(offer, l.ip, l.port, cfg)
	if err != nil {
		return nil, err
	}
	l.sdp = cfg
	if err := sess.Update(params); err != nil {
		return nil, err
	}
	l.setAnswer(answer)
	return answer, nil
}

func (l *mediaLeg) Info(contentType string, body []byte) error {
	d, err := media.ParseDTMFInfo(contentType, body)
	if err != nil {
		code := 400
		if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/dtmf-relay" && mt != "application/dtmf" {
			code = 415
		}
		return &sipStatusError{code: code, text: err.Error()}
	}
	if sess := l.session(); sess != nil {
		sess.InjectDTMF(d)
	}
	return nil
}

func (l *mediaLeg) Close() {
	switch sess := l.session(); {
	case sess != nil:
		sess.Close()
	case l.conn != nil:
		l.conn.Close()
		l.conn = nil
	}
}

// voiceCall is one call a voicemail application serves.
type voiceCall struct {
	*mediaLeg
	req     sip.AppRequest
	apps    *voiceApps
	app     ivr.App
	deposit *ivr.Deposit // when app leaves a message
	screen  *screening   // for a screened call, in place of app
}

func (c *voiceCall) Run(ctx context.Context, call sip.AppCall) {
	if c.screen != nil {
		c.runScreening(ctx, call)
		return
	}
	defer c.sess.Close()
	err := c.apps.runner.WithLogger(c.log).Run(ctx, c.app, c.sess, &placingCall{AppCall: call, c: c})
	switch {
	case err == nil:
	case errors.Is(err, media.ErrRTPTimeout):
		c.log.Info("voicemail call: the caller's audio stopped", "error", err)
	case errors.Is(err, context.Canceled):
		c.log.Info("voicemail call: shutting down")
	default:
		c.log.Error("voicemail call", "error", err)
	}
	st := c.sess.Stats()
	args := []any{"packets_in", st.PacketsIn, "packets_out", st.PacketsOut, "lost", st.Lost, "late", st.Late}
	if c.deposit != nil {
		args = append(args, "outcome", c.deposit.Outcome().String())
	}
	c.log.Info("voicemail call ended", args...)
}

// prepareVoicemail sets up what calls answered by voicemail need: the RTP
// port pool, the directory of recordings in progress (emptied: what is
// there belongs to calls of an earlier run), the mailbox store and the
// runner.
func (e *Engine) prepareVoicemail(a *voiceApps) error {
	lo, hi, err := parsePortRange(e.cfg.RTPPorts)
	if err != nil {
		return err
	}
	if a.ports, err = media.NewPortPool(lo, hi); err != nil {
		return fmt.Errorf("RTP ports: %w", err)
	}
	if e.cfg.MediaAddress != "" {
		if a.mediaIP, err = netip.ParseAddr(e.cfg.MediaAddress); err != nil {
			return fmt.Errorf("media address %q: want an IP address", e.cfg.MediaAddress)
		}
	}
	recordings, err := newRecordingDir(filepath.Join(e.cfg.DataDir, "recordings"))
	if err != nil {
		return err
	}
	if err := recordings.clear(); err != nil {
		return fmt.Errorf("recordings directory: %w", err)
	}
	a.store = &ivrStore{db: e.db, audio: e.audio, recordings: recordings, changed: e.mailboxChanged,
		logins: newLoginsMetric(e.registry)}
	a.runner, err = voicemail.NewRunner(voicemail.Config{Recordings: recordings, Audio: blobAudio{e.audio.blobs},
		Logger: e.log, Registerer: e.registry})
	return err
}

// mailboxChanged tells the user's phones the new counts, and the user by
// email of a message just filed.
func (e *Engine) mailboxChanged(ext string, filed *store.Message) {
	e.sip.NotifyMailboxSoon(ext, nil, "")
	if filed != nil {
		e.mailer.filed(ext, *filed)
	}
}

// blobAudio opens stored audio for the runner.
type blobAudio struct{ blobs blob.Store }

func (b blobAudio) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := b.blobs.Open(ctx, key)
	return rc, err
}
