package switchboard

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/blob"
	"switchboard/notify"
	"switchboard/store"
)

// Voicemail email defaults.
const (
	// mailQueueSize bounds the messages waiting for their email, and
	// separately those waiting to retry. A relay that is down for long
	// costs emails, never memory.
	mailQueueSize = 256
	// mailSendTimeout bounds one attempt: reading the message, and the
	// whole SMTP exchange.
	mailSendTimeout = time.Minute
	// mailDrainTimeout is how long Close lets queued emails go out before
	// it abandons them.
	mailDrainTimeout = 10 * time.Second
	// voicemailLinkTTL is how long the link in an email plays the message.
	voicemailLinkTTL = 30 * 24 * time.Hour
	// maxAttachmentBytes bounds the audio attached to an email: relays
	// commonly refuse messages past 25 MB, and base64 adds a third.
	maxAttachmentBytes = 16 << 20
	// voicemailLinkPrefix is the path the links are served under.
	voicemailLinkPrefix = "/voicemail/"
)

// defaultMailRetryDelays are the waits before the second and the third
// attempt after a temporary failure (a 4xx answer, a relay that cannot be
// reached). A permanent failure (5xx) is not retried.
var defaultMailRetryDelays = []time.Duration{30 * time.Second, 2 * time.Minute}

// Why a message gets no email. The user's choices are logged at debug
// level, the rest at info.
const (
	skipModeNone      = "email mode none"
	skipNoAddress     = "the user has no email address"
	skipNotConfigured = "email is not configured (no SMTP relay)"
	skipUserDeleted   = "user deleted"
	skipMsgDeleted    = "message deleted"
)

// Results of the voicemail email metric.
const (
	mailSent    = "sent"
	mailFailed  = "failed"
	mailDropped = "dropped"
)

// errNoPublicURL fails an email whose mode needs a link when the setting
// public_url, the base of links, is empty. The email is not sent rather
// than sent without the one thing it is for; the failure is logged and
// counted so that the administrator sees what to set.
var errNoPublicURL = errors.New("public_url is not set; emails with a link need it")

// voicemailMailer emails a user about each message filed in their mailbox,
// in the mode their mailbox names (none, link, brief link, attachment,
// brief attachment). Filing never waits for mail: jobs go through a
// bounded queue to one worker goroutine, which the mailer owns and Close
// waits for.
type voicemailMailer struct {
	db    *store.DB
	blobs blob.Store
	links *voicemailLinks
	log   *slog.Logger
	now   func() time.Time
	sent  prometheus.Counter
	fail  prometheus.Counter
	drop  prometheus.Counter

	// retryDelays, sendTimeout and drainTimeout take the defaults above;
	// tests shorten them before the first message is filed (the queue
	// orders that write before the worker's reads).
	retryDelays  []time.Duration
	sendTimeout  time.Duration
	drainTimeout time.Duration

	mu     sync.Mutex // guards closed, and sending on queue against its close
	closed bool
	queue  chan mailJob

	ctx       context.Context // ends when Close gives up on the queue
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// mailJob is the email about one message.
type mailJob struct {
	ext      string
	id       int64
	attempts int       // made so far
	due      time.Time // of the next attempt, while waiting to retry
	lastErr  error
}

// newVoicemailMailer starts the mailer. secret signs the links in emails
// (at least 16 bytes, kept across restarts so that links stay valid);
// the counter switchboard_voicemail_emails_total is registered on reg
// unless it is nil.
func newVoicemailMailer(db *store.DB, blobs blob.Store, secret []byte, reg prometheus.Registerer,
	log *slog.Logger, now func() time.Time) (*voicemailMailer, error) {
	links, err := newVoicemailLinks(db, blobs, secret, log, now)
	if err != nil {
		return nil, err
	}
	emails := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "switchboard", Subsystem: "voicemail", Name: "emails_total",
		Help: "Voicemail notification emails, by result: sent, failed (refused, or still failing after the retries), dropped (queue full).",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(emails); err != nil {
			return nil, fmt.Errorf("voicemail email metrics: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &voicemailMailer{
		db: db, blobs: blobs, links: links, log: log.With("event", "voicemail_email"), now: now,
		sent: emails.WithLabelValues(mailSent), fail: emails.WithLabelValues(mailFailed), drop: emails.WithLabelValues(mailDropped),
		retryDelays: defaultMailRetryDelays, sendTimeout: mailSendTimeout, drainTimeout: mailDrainTimeout,
		queue: make(chan mailJob, mailQueueSize), ctx: ctx, cancel: cancel,
	}
	m.wg.Add(1)
	go m.run()
	return m, nil
}

// filed queues the email about msg, just filed in the mailbox at ext. It
// never blocks: when the queue is full the email is dropped.
func (m *voicemailMailer) filed(ext string, msg store.Message) {
	m.mu.Lock()
	queued, closed := false, m.closed
	if !closed {
		select {
		case m.queue <- mailJob{ext: ext, id: msg.ID}:
			queued = true
		default:
		}
	}
	m.mu.Unlock()
	if queued {
		return
	}
	m.drop.Inc()
	reason := "queue full"
	if closed {
		reason = "shutting down"
	}
	m.log.Warn("voicemail email dropped", "extension", ext, "message_id", msg.ID, "result", mailDropped, "reason", reason)
}

// Close stops taking emails, lets the queued ones go out for up to
// drainTimeout, then abandons the rest (an attempt in progress is cut
// short); emails waiting to retry are abandoned at once. It returns when
// the worker has ended.
func (m *voicemailMailer) Close() {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		close(m.queue)
		m.mu.Unlock()
		giveUp := time.AfterFunc(m.drainTimeout, m.cancel)
		m.wg.Wait()
		giveUp.Stop()
		m.cancel()
	})
}

// run sends the queued emails and the retries as they fall due, until
// the queue is closed and empty.
func (m *voicemailMailer) run() {
	defer m.wg.Done()
	var waiting []mailJob // retries, soonest first
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if len(waiting) > 0 {
			timer.Reset(time.Until(waiting[0].due))
		}
		select {
		case j, ok := <-m.queue:
			if !ok {
				for _, w := range waiting {
					m.failed(w, "abandoned at shutdown", w.lastErr)
				}
				return
			}
			waiting = m.try(j, waiting)
		case <-timer.C:
			for len(waiting) > 0 && !waiting[0].due.After(time.Now()) {
				j := waiting[0]
				waiting = m.try(j, waiting[1:])
			}
		}
	}
}

// try makes one attempt at j and logs its outcome, or adds j to waiting
// to retry later.
func (m *voicemailMailer) try(j mailJob, waiting []mailJob) []mailJob {
	j.attempts++
	ctx, cancel := context.WithTimeout(m.ctx, m.sendTimeout)
	skip, recipients, err := m.deliver(ctx, j)
	cancel()
	log := m.log.With("extension", j.ext, "message_id", j.id)
	switch {
	case skip == skipModeNone || skip == skipNoAddress:
		log.Debug("no voicemail email", "reason", skip)
	case skip != "":
		log.Info("no voicemail email", "reason", skip)
	case err == nil:
		m.sent.Inc()
		log.Info("voicemail email sent", "result", mailSent, "recipients", recipients, "attempts", j.attempts)
	case m.ctx.Err() != nil:
		m.failed(j, "abandoned at shutdown", err)
	case !temporary(err):
		m.failed(j, "refused", err)
	case j.attempts > len(m.retryDelays):
		m.failed(j, "still failing after retries", err)
	case len(waiting) >= mailQueueSize:
		m.failed(j, "too many emails waiting to retry", err)
	default:
		j.lastErr = err
		j.due = time.Now().Add(m.retryDelays[j.attempts-1])
		log.Debug("voicemail email will be retried", "attempts", j.attempts, "retry_in", m.retryDelays[j.attempts-1], "error", err)
		i := slices.IndexFunc(waiting, func(w mailJob) bool { return w.due.After(j.due) })
		if i < 0 {
			i = len(waiting)
		}
		return slices.Insert(waiting, i, j)
	}
	return waiting
}

func (m *voicemailMailer) failed(j mailJob, reason string, err error) {
	m.fail.Inc()
	m.log.Warn("voicemail email failed", "extension", j.ext, "message_id", j.id, "result", mailFailed,
		"reason", reason, "attempts", j.attempts, "error", err)
}

// deliver builds and sends the email about j. A non-empty skip says why
// there is nothing to send: the user has no address or wants no email,
// email is not configured, or the message is gone.
func (m *voicemailMailer) deliver(ctx context.Context, j mailJob) (skip string, recipients int, err error) {
	u, err := m.db.Users().FindByExtension(ctx, j.ext)
	if errors.Is(err, store.ErrNotFound) {
		return skipUserDeleted, 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	if len(u.Emails) == 0 {
		return skipNoAddress, 0, nil
	}
	box, err := m.db.Voicemail().Mailbox(ctx, j.ext)
	if errors.Is(err, store.ErrNotFound) {
		return skipUserDeleted, 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	// The mailbox's modes are notify's: the same names.
	mode := box.EmailMode
	if mode == store.EmailNone || mode == "" {
		return skipModeNone, 0, nil
	}
	st, err := loadSettings(ctx, m.db)
	if err != nil {
		return "", 0, err
	}
	if st.SMTP.Host == "" {
		return skipNotConfigured, 0, nil
	}
	msg, err := m.db.Voicemail().Message(ctx, j.ext, j.id)
	if errors.Is(err, store.ErrNotFound) {
		return skipMsgDeleted, 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	v := notify.Voicemail{
		To: u.Emails, Mode: mode, Extension: j.ext, UserName: strings.TrimSpace(u.FirstName + " " + u.LastName),
		CallerNumber: msg.CallerNumber, CallerName: msg.CallerName, ReceivedAt: msg.ReceivedAt,
		Location: userLocation(u), Duration: msg.Duration,
	}
	switch mode {
	case store.EmailLink, store.EmailBriefLink:
		if st.PublicURL == "" {
			return "", 0, errNoPublicURL
		}
		v.Link = strings.TrimRight(st.PublicURL, "/") + voicemailLinkPrefix + m.links.token(j.ext, j.id, m.now().Add(m.links.ttl))
	case store.EmailAttachment, store.EmailBriefAttachment:
		v.Audio, err = m.readAudio(ctx, msg.AudioKey)
		if errors.Is(err, blob.ErrNotFound) {
			return skipMsgDeleted, 0, nil
		}
		if err != nil {
			return "", 0, err
		}
	default:
		return "", 0, fmt.Errorf("email mode %q", mode)
	}
	body, err := notify.Build(v, st.SMTP.From, m.now())
	if err != nil {
		return "", 0, fmt.Errorf("build email: %w", err)
	}
	if err := notify.Send(ctx, st.smtp(), u.Emails, body); err != nil {
		return "", 0, err
	}
	return "", len(u.Emails), nil
}

func (m *voicemailMailer) readAudio(ctx context.Context, key string) ([]byte, error) {
	rc, size, err := m.blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxAttachmentBytes {
		return nil, fmt.Errorf("audio of %d bytes is too large to attach (at most %d)", size, maxAttachmentBytes)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxAttachmentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read audio %s: %w", key, err)
	}
	if len(b) > maxAttachmentBytes {
		return nil, fmt.Errorf("audio %s is too large to attach (more than %d bytes)", key, maxAttachmentBytes)
	}
	return b, nil
}

// temporary reports whether a failed send may succeed later: the relay
// answered 4xx (RFC 5321 section 4.2.1), or could not be reached or
// dropped the connection. A 5xx answer, a certificate the relay cannot
// prove, or an email that cannot be built fails the same way each time.
func temporary(err error) bool {
	if tp, ok := errors.AsType[*textproto.Error](err); ok {
		return tp.Code >= 400 && tp.Code < 500
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return false
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// userLocation is the user's time zone, or nil (UTC) when unset or unknown.
func userLocation(u store.User) *time.Location {
	if u.Timezone == "" {
		return nil
	}
	loc, err := time.LoadLocation(u.Timezone)
	if err != nil {
		return nil
	}
	return loc
}

// voicemailLinks signs the links in emails and serves them: GET
// /voicemail/{token} plays the message the token names.
//
// A token is, in URL-safe base64 without padding: a version byte, the
// expiry (Unix seconds, 8 bytes), the message id (8 bytes), the extension,
// then an HMAC-SHA256 of all that under a secret only the server has.
// Message ids are never reused, so a token cannot come to name another
// message; a renumbered user's old links stop working.
type voicemailLinks struct {
	db     *store.DB
	blobs  blob.Store
	secret []byte
	ttl    time.Duration
	log    *slog.Logger
	now    func() time.Time
}

const (
	linkTokenVersion = 1
	linkHeaderLen    = 1 + 8 + 8
	maxLinkExtension = 32
	// linkDomain separates these signatures from any other use of a
	// secret: a MAC made for something else never passes as a link.
	linkDomain = "switchboard voicemail link\x00"
)

var linkEncoding = base64.RawURLEncoding.Strict()

func newVoicemailLinks(db *store.DB, blobs blob.Store, secret []byte, log *slog.Logger, now func() time.Time) (*voicemailLinks, error) {
	if len(secret) < 16 {
		return nil, errors.New("voicemail link secret: at least 16 bytes")
	}
	return &voicemailLinks{db: db, blobs: blobs, secret: slices.Clone(secret), ttl: voicemailLinkTTL, log: log, now: now}, nil
}

// token returns the signed token naming message id of ext until expires.
func (l *voicemailLinks) token(ext string, id int64, expires time.Time) string {
	b := make([]byte, 0, linkHeaderLen+len(ext)+sha256.Size)
	b = append(b, linkTokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	b = append(b, ext...)
	return linkEncoding.EncodeToString(l.sign(b))
}

// sign appends the MAC of payload to it.
func (l *voicemailLinks) sign(payload []byte) []byte {
	mac := hmac.New(sha256.New, l.secret)
	mac.Write([]byte(linkDomain))
	mac.Write(payload)
	return mac.Sum(payload)
}

// parse returns what a genuine token names, and whether it is genuine and
// unexpired. The signature is compared in constant time.
func (l *voicemailLinks) parse(tok string) (ext string, id int64, ok bool) {
	if tok == "" || len(tok) > linkEncoding.EncodedLen(linkHeaderLen+maxLinkExtension+sha256.Size) {
		return "", 0, false
	}
	b, err := linkEncoding.DecodeString(tok)
	if err != nil || len(b) < linkHeaderLen+1+sha256.Size || b[0] != linkTokenVersion {
		return "", 0, false
	}
	n := len(b) - sha256.Size
	want := l.sign(slices.Clone(b[:n]))
	if !hmac.Equal(want[n:], b[n:]) {
		return "", 0, false
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0)
	if !l.now().Before(expires) {
		return "", 0, false
	}
	return string(b[linkHeaderLen:n]), int64(binary.BigEndian.Uint64(b[9:17])), true
}

// ServeHTTP plays the message a link names. A malformed, forged or expired
// token, a deleted message and a path that is no link all get the same
// 404, so that nothing can be learnt by trying tokens. Only a genuine
// token can meet a storage error, which answers 500.
func (l *voicemailLinks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	tok := r.PathValue("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.URL.Path, voicemailLinkPrefix)
	}
	ext, id, ok := l.parse(tok)
	if !ok {
		linkNotFound(w)
		return
	}
	ctx := r.Context()
	msg, err := l.db.Voicemail().Message(ctx, ext, id)
	if errors.Is(err, store.ErrNotFound) {
		linkNotFound(w)
		return
	}
	if err != nil {
		l.linkError(w, ext, id, err)
		return
	}
	rc, size, err := l.blobs.Open(ctx, msg.AudioKey)
	if errors.Is(err, blob.ErrNotFound) { // deleted since the row was read
		linkNotFound(w)
		return
	}
	if err != nil {
		l.linkError(w, ext, id, err)
		return
	}
	defer rc.Close()
	var loc *time.Location
	if u, err := l.db.Users().FindByExtension(ctx, ext); err == nil {
		loc = userLocation(u)
	}
	if loc == nil {
		loc = time.UTC
	}
	name := "voicemail-" + ext + "-" + msg.ReceivedAt.In(loc).Format("20060102-150405") + ".wav"
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if rs, ok := rc.(io.ReadSeeker); ok {
		// Ranges, which browsers' audio players ask for.
		http.ServeContent(w, r, "", msg.ReceivedAt, rs)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, rc)
}

func (l *voicemailLinks) linkError(w http.ResponseWriter, ext string, id int64, err error) {
	l.log.Error("serve voicemail link", "extension", ext, "message_id", id, "error", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// linkNotFound is the one answer to every link that plays nothing.
func linkNotFound(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "This voicemail link is not valid or has expired.\n")
}

// withVoicemailLinks serves /voicemail/ with links and every other path
// with next (the admin API, which answers its own 404s).
func withVoicemailLinks(links http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, voicemailLinkPrefix) {
			links.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
