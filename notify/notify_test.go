package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// mailbox is a local SMTP server that keeps what it receives.
type mailbox struct {
	mu       sync.Mutex
	messages []received
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
}

type session struct {
	mb     *mailbox
	conn   *smtp.Conn
	from   string
	to     []string
	authed bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "pbx@example.com" || pass != "relay-secret" {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.mb.mu.Lock()
	s.mb.messages = append(s.mb.messages, received{from: s.from, to: s.to, data: b, tls: isTLS})
	s.mb.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// startMailbox runs an SMTP server on loopback with STARTTLS and AUTH
// PLAIN, and returns the relay settings to reach it.
func startMailbox(t *testing.T) (*mailbox, SMTP) {
	t.Helper()
	cert, pool := selfSigned(t)
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{mb: mb, conn: c}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	port := l.Addr().(*net.TCPAddr).Port
	return mb, SMTP{Host: "127.0.0.1", Port: port, StartTLS: true, Username: "pbx@example.com", Password: "relay-secret",
		From: "Switchboard <pbx@example.com>", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
}

func TestSendAttachmentOverSTARTTLS(t *testing.T) {
	mb, cfg := startMailbox(t)
	audio := bytes.Repeat([]byte("RIFF-audio-"), 300)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	v := Voicemail{To: []string{"Ada Lovelace <ada@example.com>"}, Mode: ModeAttachment, Extension: "1001", UserName: "Ada",
		CallerNumber: "+14155550100", CallerName: "Grace Hopper", ReceivedAt: time.Date(2026, 11, 25, 15, 4, 0, 0, time.UTC),
		Location: ny, Duration: 12400 * time.Millisecond, Audio: audio}
	msg, err := Build(v, cfg.From, time.Now())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, Send(ctx, cfg, v.To, msg))

	mb.mu.Lock()
	defer mb.mu.Unlock()
	require.Len(t, mb.messages, 1)
	got := mb.messages[0]
	require.True(t, got.tls, "the message went over TLS")
	require.Equal(t, "pbx@example.com", got.from)
	require.Equal(t, []string{"ada@example.com"}, got.to)

	m, err := mail.ReadMessage(bytes.NewReader(got.data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "New voicemail from Grace Hopper (+14155550100)", subject)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mt)
	mr := multipart.NewReader(m.Body, params["boundary"])
	text, err := mr.NextPart()
	require.NoError(t, err)
	body, err := io.ReadAll(text) // quoted-printable decoded by the reader
	require.NoError(t, err)
	require.Contains(t, string(body), "Wednesday, November 25, 2026 at 10:04 AM EST", "the user's time zone")
	require.Contains(t, string(body), "12 seconds")
	att, err := mr.NextPart()
	require.NoError(t, err)
	require.Equal(t, "audio/wav", strings.Split(att.Header.Get("Content-Type"), ";")[0])
	require.Equal(t, "voicemail-1001-20261125-100400.wav", att.FileName())
	raw, err := io.ReadAll(att)
	require.NoError(t, err)
	decoded, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	require.NoError(t, err)
	require.Equal(t, audio, decoded, "the attachment is the message's audio")
}

func TestBuildModes(t *testing.T) {
	base := Voicemail{To: []string{"ada@example.com"}, Extension: "1001", CallerNumber: "", ReceivedAt: time.Now(),
		Duration: 3 * time.Second, Link: "https://pbx.example.com/v1/voicemail/abc", Audio: []byte("RIFF")}
	for _, tc := range []struct {
		mode        string
		wantLink    bool
		wantAttach  bool
		wantGreeted bool
	}{
		{ModeLink, true, false, true},
		{ModeBriefLink, true, false, false},
		{ModeAttachment, false, true, true},
		{ModeBriefAttachment, false, true, false},
	} {
		v := base
		v.Mode = tc.mode
		msg, err := Build(v, "pbx@example.com", time.Now())
		require.NoError(t, err, tc.mode)
		s := string(msg)
		require.Equal(t, tc.wantLink, strings.Contains(s, "https://pbx.example.com/v1/voicemail/abc"), tc.mode)
		require.Equal(t, tc.wantAttach, strings.Contains(s, "Content-Disposition: attachment"), tc.mode)
		require.Equal(t, tc.wantGreeted, strings.Contains(s, "Hello"), tc.mode)
		require.Contains(t, s, "an unknown caller", "a withheld number")
	}
	v := base
	v.Mode = ModeNone
	_, err := Build(v, "pbx@example.com", time.Now())
	require.Error(t, err)
	v.Mode, v.To = ModeLink, []string{"not an address"}
	_, err = Build(v, "pbx@example.com", time.Now())
	require.Error(t, err)
	v.To, v.Link = []string{"ada@example.com"}, ""
	_, err = Build(v, "pbx@example.com", time.Now())
	require.Error(t, err)
}

func TestSendFailures(t *testing.T) {
	_, cfg := startMailbox(t)
	msg, err := Build(Voicemail{To: []string{"ada@example.com"}, Mode: ModeBriefLink, Link: "x", ReceivedAt: time.Now()}, cfg.From, time.Now())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	wrong := cfg
	wrong.Password = "guess"
	require.ErrorContains(t, Send(ctx, wrong, []string{"ada@example.com"}, msg), "authenticate")

	untrusted := cfg
	untrusted.TLS = nil // the self-signed certificate is not trusted
	require.ErrorContains(t, Send(ctx, untrusted, []string{"ada@example.com"}, msg), "STARTTLS")

	require.ErrorContains(t, Send(ctx, SMTP{}, []string{"ada@example.com"}, msg), "no SMTP relay")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	down := cfg
	down.Port = closed
	require.ErrorContains(t, Send(ctx, down, []string{"ada@example.com"}, msg), "connect to 127.0.0.1:"+strconv.Itoa(closed))
}

// A relay that stops answering does not hold Send past the cancellation of
// its context.
func TestSendStopsWhenCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c // never greets
		}
	}()
	cfg := SMTP{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, From: "pbx@example.com"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err = Send(ctx, cfg, []string{"ada@example.com"}, []byte("Subject: x\r\n\r\nx\r\n"))
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second, "the exchange ends with its context")
	(<-accepted).Close()
}
