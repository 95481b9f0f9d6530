package switchboard

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"

	"switchboard/audiofile"
	"switchboard/blob"
	"switchboard/store"
)

const (
	testRelayUser     = "pbx@example.com"
	testRelayPassword = "relay-secret-4711"
)

// testRelay is an SMTP relay on loopback that wants AUTH PLAIN, keeps what
// it accepts, and answers DATA as reject says.
type testRelay struct {
	mu       sync.Mutex
	attempts int               // messages offered (DATA)
	reject   func(n int) error // the answer to the nth DATA; nil accepts
	hold     chan struct{}     // when set, MAIL FROM waits for it to close
	held     chan struct{}     // signalled when a MAIL FROM waits
	accepted [][]byte
	arrived  chan struct{}
}

type relaySession struct {
	r      *testRelay
	authed bool
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != testRelayUser || pass != testRelayPassword {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.r.mu.Lock()
	hold := s.r.hold
	s.r.mu.Unlock()
	if hold != nil {
		select {
		case s.r.held <- struct{}{}:
		default:
		}
		<-hold
	}
	return nil
}

func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.attempts++
	if s.r.reject != nil {
		if err := s.r.reject(s.r.attempts); err != nil {
			return err
		}
	}
	s.r.accepted = append(s.r.accepted, b)
	s.r.arrived <- struct{}{}
	return nil
}

func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

func startTestRelay(t *testing.T) (*testRelay, int) {
	t.Helper()
	r := &testRelay{arrived: make(chan struct{}, 16), held: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &relaySession{r: r}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = true // loopback: net/smtp sends PLAIN to 127.0.0.1 in clear
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return r, l.Addr().(*net.TCPAddr).Port
}

// waitMail returns the next message the relay accepts.
func (r *testRelay) waitMail(t *testing.T) []byte {
	t.Helper()
	select {
	case <-r.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted[len(r.accepted)-1]
}

func (r *testRelay) counts() (attempts, accepted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts, len(r.accepted)
}

// mailEnv is a mailer over a real database, blob directory and relay, with
// the link handler served as the engine serves it.
type mailEnv struct {
	db     *store.DB
	blobs  *blob.Dir
	relay  *testRelay
	mailer *voicemailMailer
	reg    *prometheus.Registry
	logs   *lockedBuffer
	web    *httptest.Server
	skew   atomic.Int64 // added to the clock, in nanoseconds
}

func newMailEnv(t *testing.T) *mailEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "sb.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	blobs, err := blob.NewDir(filepath.Join(dir, "audio"))
	require.NoError(t, err)
	relay, port := startTestRelay(t)

	e := &mailEnv{db: db, blobs: blobs, relay: relay, reg: prometheus.NewRegistry(), logs: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }
	e.mailer, err = newVoicemailMailer(db, blobs, bytes.Repeat([]byte{7}, 32), e.reg, log, now)
	require.NoError(t, err)
	e.mailer.retryDelays = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}
	t.Cleanup(e.mailer.Close)

	e.web = httptest.NewServer(withVoicemailLinks(e.mailer.links, http.NotFoundHandler()))
	t.Cleanup(e.web.Close)

	require.NoError(t, db.Settings().SetAll(ctx, map[string]string{
		settingSMTPHost: "127.0.0.1", settingSMTPPort: strconv.Itoa(port), settingSMTPUsername: testRelayUser,
		settingSMTPPassword: testRelayPassword, settingSMTPFrom: "Switchboard <pbx@example.com>",
		settingPublicURL: e.web.URL,
	}))
	return e
}

func (e *mailEnv) addUser(t *testing.T, ext, mode string, emails ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.db.Users().Create(ctx, store.NewUser{User: store.User{Extension: ext, FirstName: "Ada", LastName: "Lovelace",
		Timezone: "Europe/Paris", Emails: emails}})
	require.NoError(t, err)
	_, err = e.db.Voicemail().UpdateMailbox(ctx, ext, store.MailboxUpdate{EmailMode: &mode})
	require.NoError(t, err)
}

// file stores a message the way a deposit does and tells the mailer.
func (e *mailEnv) file(t *testing.T, ext string, wav []byte) store.Message {
	t.Helper()
	msg := e.add(t, ext, wav)
	e.mailer.filed(ext, msg)
	return msg
}

// add stores a message without telling the mailer.
func (e *mailEnv) add(t *testing.T, ext string, wav []byte) store.Message {
	t.Helper()
	ctx := context.Background()
	key := blob.NewKey("voicemail/"+ext, ".wav")
	_, err := e.blobs.Put(ctx, key, bytes.NewReader(wav))
	require.NoError(t, err)
	msg, err := e.db.Voicemail().AddMessage(ctx, ext, store.NewMessage{CallerNumber: "+14155550100", CallerName: "Grace Hopper",
		ReceivedAt: time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC), Duration: time.Second, SizeBytes: int64(len(wav)), AudioKey: key})
	require.NoError(t, err)
	return msg
}

// emailsTotal reads switchboard_voicemail_emails_total{result} as a
// scraper would.
func (e *mailEnv) emailsTotal(t *testing.T, result string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_voicemail_emails_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series for result %q", result)
	return 0
}

// testWAV is one second of a 440 Hz tone, as the recorder stores it.
func testWAV() []byte {
	pcm := make([]int16, 8000)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return audiofile.EncodeWAV(pcm)
}

// readMail parses an email into its text and its attachment, if any.
func readMail(t *testing.T, raw []byte) (m *mail.Message, text string, attachment []byte, attachmentName string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	if mt == "text/plain" {
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		require.NoError(t, err)
		return m, string(body), nil, ""
	}
	require.Equal(t, "multipart/mixed", mt)
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return m, text, attachment, attachmentName
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		if p.FileName() == "" {
			text = string(b)
			continue
		}
		attachment, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
		require.NoError(t, err)
		attachmentName = p.FileName()
	}
}

var linkPattern = regexp.MustCompile(`http://\S+/voicemail/[A-Za-z0-9_-]+`)

func TestVoicemailEmailAttachment(t *testing.T) {
	e := newMailEnv(t)
	e.addUser(t, "1001", store.EmailAttachment, "ada@example.com", "ada.lovelace@example.org")
	wav := testWAV()
	e.file(t, "1001", wav)

	m, text, attachment, name := readMail(t, e.relay.waitMail(t))
	to, err := m.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Address: "ada@example.com"}, {Address: "ada.lovelace@example.org"}}, to, "every address of the user")
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "New voicemail from Grace Hopper (+14155550100)", subject)
	require.Contains(t, text, "Hello Ada Lovelace")
	require.Contains(t, text, "at 4:04 PM CET", "the time in the user's zone")
	require.Equal(t, wav, attachment, "the attachment is the message's audio")
	require.Equal(t, "voicemail-1001-20261125-160405.wav", name)

	require.Eventually(t, func() bool { return e.emailsTotal(t, mailSent) == 1 }, 5*time.Second, 10*time.Millisecond)
	logs := e.logs.String()
	require.Contains(t, logs, "event=voicemail_email")
	require.Regexp(t, `voicemail email sent" event=voicemail_email extension=1001 message_id=\d+ result=sent`, logs)
	require.NotContains(t, logs, testRelayPassword)
}

func TestVoicemailEmailBriefLinkPlaysTheMessage(t *testing.T) {
	e := newMailEnv(t)
	e.addUser(t, "1001", store.EmailBriefLink, "ada@example.com")
	wav := testWAV()
	e.file(t, "1001", wav)

	_, text, attachment, _ := readMail(t, e.relay.waitMail(t))
	require.Nil(t, attachment, "a link email carries no audio")
	require.NotContains(t, text, "Hello", "brief")
	link := linkPattern.FindString(text)
	require.NotEmpty(t, link, "the email has a link: %q", text)
	require.True(t, strings.HasPrefix(link, e.web.URL+"/voicemail/"))

	res, err := e.web.Client().Get(link)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "audio/wav", res.Header.Get("Content-Type"))
	require.Equal(t, `inline; filename=voicemail-1001-20261125-160405.wav`, res.Header.Get("Content-Disposition"))
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, wav, body)

	// A player asking for part of the audio gets that part.
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	req.Header.Set("Range", "bytes=0-43")
	res2, err := e.web.Client().Do(req)
	require.NoError(t, err)
	defer res2.Body.Close()
	require.Equal(t, http.StatusPartialContent, res2.StatusCode)
	head, err := io.ReadAll(res2.Body)
	require.NoError(t, err)
	require.Equal(t, wav[:44], head)
}

// answer is what a client sees of a response, the Date header aside.
type answer struct {
	status int
	header http.Header
	body   string
}

func (e *mailEnv) get(t *testing.T, url string) answer {
	t.Helper()
	res, err := e.web.Client().Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	res.Header.Del("Date")
	return answer{res.StatusCode, res.Header, string(b)}
}

// Forged, altered, expired, misdirected and stale links answer exactly as
// a link that never existed: nothing tells a prober how close it came.
func TestVoicemailLinkFailuresLookAlike(t *testing.T) {
	e := newMailEnv(t)
	e.addUser(t, "1001", store.EmailLink, "ada@example.com")
	e.addUser(t, "1002", store.EmailNone, "bob@example.com")
	msg := e.file(t, "1001", testWAV())
	_, text, _, _ := readMail(t, e.relay.waitMail(t))
	link := linkPattern.FindString(text)
	require.NotEmpty(t, link)
	require.Equal(t, http.StatusOK, e.get(t, link).status)
	tok := strings.TrimPrefix(link, e.web.URL+"/voicemail/")

	unknown := e.get(t, e.web.URL+"/voicemail/nosuchlink")
	require.Equal(t, http.StatusNotFound, unknown.status)

	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other, err := newVoicemailLinks(e.db, e.blobs, bytes.Repeat([]byte{8}, 32), slog.New(slog.DiscardHandler), time.Now)
	require.NoError(t, err)
	for name, path := range map[string]string{
		"signature altered":     flip(len(raw) - 1),
		"message id altered":    flip(16),
		"expiry extended":       flip(4),
		"truncated":             tok[:len(tok)-4],
		"empty":                 "",
		"not base64":            "!!!!",
		"signed by another key": other.token("1001", msg.ID, time.Now().Add(time.Hour)),
		"another user's box":    e.mailer.links.token("1002", msg.ID, time.Now().Add(time.Hour)),
		"no such message":       e.mailer.links.token("1001", msg.ID+1000, time.Now().Add(time.Hour)),
		"expired":               e.mailer.links.token("1001", msg.ID, time.Now().Add(-time.Second)),
		"below the link":        tok + "/x",
	} {
		require.Equal(t, unknown, e.get(t, e.web.URL+"/voicemail/"+path), name)
	}

	// The link in the email stops playing after 30 days.
	e.skew.Store(int64(voicemailLinkTTL - time.Minute))
	require.Equal(t, http.StatusOK, e.get(t, link).status, "still valid just before it expires")
	e.skew.Store(int64(voicemailLinkTTL + time.Minute))
	require.Equal(t, unknown, e.get(t, link), "expired")
	e.skew.Store(0)

	// A deleted message's link stops playing, whether or not its audio
	// is swept yet.
	require.NoError(t, e.db.Voicemail().DeleteMessage(context.Background(), "1001", msg.ID))
	require.Equal(t, unknown, e.get(t, link), "deleted")
}

// Nothing is sent for a user who wants no email or has no address, nor
// while no relay is configured; nothing counts as failed either.
func TestVoicemailEmailNothingToSend(t *testing.T) {
	e := newMailEnv(t)
	e.addUser(t, "1001", store.EmailNone, "ada@example.com")
	e.addUser(t, "1002", store.EmailAttachment)
	e.addUser(t, "1003", store.EmailAttachment, "carol@example.com")
	e.file(t, "1001", testWAV())
	e.file(t, "1002", testWAV())
	// A message for a user who wants email, deleted before its turn.
	gone := e.add(t, "1003", testWAV())
	require.NoError(t, e.db.Voicemail().DeleteMessage(context.Background(), "1003", gone.ID))
	e.mailer.filed("1003", gone)
	e.mailer.Close() // sends what is queued, then returns

	e2 := newMailEnv(t)
	e2.addUser(t, "1003", store.EmailAttachment, "carol@example.com")
	require.NoError(t, e2.db.Settings().Set(context.Background(), settingSMTPHost, ""))
	e2.file(t, "1003", testWAV())
	e2.mailer.Close()

	for _, env := range []*mailEnv{e, e2} {
		attempts, _ := env.relay.counts()
		require.Zero(t, attempts, "no email offered to the relay")
		require.Zero(t, env.emailsTotal(t, mailSent))
		require.Zero(t, env.emailsTotal(t, mailFailed))
	}
	require.Contains(t, e.logs.String(), `reason="email mode none"`)
	require.Contains(t, e.logs.String(), `reason="the user has no email address"`)
	require.Contains(t, e.logs.String(), `reason="message deleted"`)
	require.Contains(t, e2.logs.String(), `reason="email is not configured (no SMTP relay)"`)
}

// A link mode without public_url cannot make its link: the email fails
// visibly rather than going out without it.
func TestVoicemailEmailLinkWithoutPublicURL(t *testing.T) {
	e := newMailEnv(t)
	require.NoError(t, e.db.Settings().Set(context.Background(), settingPublicURL, ""))
	e.addUser(t, "1001", store.EmailLink, "ada@example.com")
	e.file(t, "1001", testWAV())
	e.mailer.Close()
	attempts, _ := e.relay.counts()
	require.Zero(t, attempts)
	require.Equal(t, 1.0, e.emailsTotal(t, mailFailed))
	require.Contains(t, e.logs.String(), "public_url is not set")
}

func TestVoicemailEmailRetriesTemporaryFailure(t *testing.T) {
	e := newMailEnv(t)
	e.relay.mu.Lock()
	e.relay.reject = func(n int) error {
		if n == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}
	e.relay.mu.Unlock()
	e.addUser(t, "1001", store.EmailBriefAttachment, "ada@example.com")
	wav := testWAV()
	e.file(t, "1001", wav)

	_, text, attachment, _ := readMail(t, e.relay.waitMail(t))
	require.Equal(t, wav, attachment)
	require.NotContains(t, text, "Hello", "brief")
	attempts, accepted := e.relay.counts()
	require.Equal(t, 2, attempts, "one refusal, one delivery")
	require.Equal(t, 1, accepted)
	require.Eventually(t, func() bool { return e.emailsTotal(t, mailSent) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Zero(t, e.emailsTotal(t, mailFailed))
	require.Contains(t, e.logs.String(), "attempts=2")
}

func TestVoicemailEmailPermanentFailureNotRetried(t *testing.T) {
	e := newMailEnv(t)
	e.mailer.retryDelays = []time.Duration{time.Millisecond, time.Millisecond}
	e.relay.mu.Lock()
	e.relay.reject = func(int) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	e.relay.mu.Unlock()
	e.addUser(t, "1001", store.EmailAttachment, "ada@example.com")
	e.file(t, "1001", testWAV())

	require.Eventually(t, func() bool { return e.emailsTotal(t, mailFailed) == 1 }, 5*time.Second, 10*time.Millisecond)
	e.mailer.Close()
	attempts, accepted := e.relay.counts()
	require.Equal(t, 1, attempts, "a 550 is not retried")
	require.Zero(t, accepted)
	require.Zero(t, e.emailsTotal(t, mailSent))
	logs := e.logs.String()
	require.Regexp(t, `voicemail email failed" event=voicemail_email extension=1001 message_id=\d+ result=failed reason=refused attempts=1 error=".*550`, logs)
	require.NotContains(t, logs, testRelayPassword)
}

// Filing never waits for mail: with the relay stuck and the queue full,
// a further message's email is dropped and counted, and Close gives up on
// the stuck send after its grace period.
func TestVoicemailMailerQueueFullAndClose(t *testing.T) {
	e := newMailEnv(t)
	release := make(chan struct{})
	e.relay.mu.Lock()
	e.relay.hold = release
	e.relay.mu.Unlock()
	t.Cleanup(func() { close(release) })
	e.mailer.drainTimeout = 100 * time.Millisecond
	e.addUser(t, "1001", store.EmailAttachment, "ada@example.com")
	e.file(t, "1001", testWAV())
	select {
	case <-e.relay.held:
	case <-time.After(5 * time.Second):
		t.Fatal("the first email never reached the relay")
	}

	start := time.Now()
	for i := range mailQueueSize + 1 {
		e.mailer.filed("1001", store.Message{ID: int64(1000 + i)})
	}
	require.Less(t, time.Since(start), time.Second, "filing does not wait")
	require.Equal(t, 1.0, e.emailsTotal(t, mailDropped))
	require.Contains(t, e.logs.String(), `voicemail email dropped" event=voicemail_email extension=1001 message_id=1256 result=dropped reason="queue full"`)

	start = time.Now()
	e.mailer.Close()
	require.Less(t, time.Since(start), 5*time.Second, "Close abandons the stuck send")
	require.GreaterOrEqual(t, e.emailsTotal(t, mailFailed), 1.0)
	require.Contains(t, e.logs.String(), `reason="abandoned at shutdown"`)

	e.mailer.filed("1001", store.Message{ID: 1})
	require.Equal(t, 2.0, e.emailsTotal(t, mailDropped), "after Close, emails are dropped")
}

func TestVoicemailEmailMetricNames(t *testing.T) {
	e := newMailEnv(t)
	mfs, err := e.reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	require.Equal(t, "switchboard_voicemail_emails_total", mfs[0].GetName())
	require.Len(t, mfs[0].GetMetric(), 3, "sent, failed and dropped from the start")
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
}
