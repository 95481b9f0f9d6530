// Package notify tells users about new voicemail by email, in the modes
// of the hosted-PBX voicemail settings: a link, a brief link, the audio
// attached, or brief with the audio attached.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Email modes, as stored with the user's voicemail options.
const (
	ModeNone            = "none"
	ModeLink            = "link"
	ModeBriefLink       = "brief_link"
	ModeAttachment      = "attachment"
	ModeBriefAttachment = "brief_attachment"
)

// SMTP is how mail leaves: the relay, its port, whether to upgrade the
// connection with STARTTLS, the credentials (AUTH PLAIN, only over TLS
// unless the relay is on loopback), and the From address.
type SMTP struct {
	Host     string
	Port     int
	StartTLS bool
	Username string
	Password string
	From     string
	// TLS overrides the TLS settings (tests use it to trust their own
	// certificate); nil verifies the relay's certificate against Host.
	TLS *tls.Config
}

// Voicemail is what the email about one message says.
type Voicemail struct {
	To           []string
	Mode         string
	Extension    string // the mailbox
	UserName     string
	CallerNumber string // "" when the caller withheld it
	CallerName   string
	ReceivedAt   time.Time // shown in Location
	Location     *time.Location
	Duration     time.Duration
	// Link is where the message can be played (link modes); Audio is the
	// WAV (attachment modes).
	Link  string
	Audio []byte
}

func (v Voicemail) caller() string {
	switch {
	case v.CallerName != "" && v.CallerNumber != "":
		return v.CallerName + " (" + v.CallerNumber + ")"
	case v.CallerNumber != "":
		return v.CallerNumber
	case v.CallerName != "":
		return v.CallerName
	}
	return "an unknown caller"
}

// Build writes the email for v from from, as RFC 5322 with MIME parts.
func Build(v Voicemail, from string, now time.Time) ([]byte, error) {
	if len(v.To) == 0 {
		return nil, errors.New("no recipient")
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("from address %q: %w", from, err)
	}
	var to []string
	for _, t := range v.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %w", t, err)
		}
		to = append(to, a.String())
	}
	loc := v.Location
	if loc == nil {
		loc = time.UTC
	}
	received := v.ReceivedAt.In(loc)
	secs := int(v.Duration.Round(time.Second) / time.Second)

	var text strings.Builder
	brief := v.Mode == ModeBriefLink || v.Mode == ModeBriefAttachment
	if brief {
		fmt.Fprintf(&text, "Voicemail from %s, %d s, %s.\r\n", v.caller(), secs, received.Format("Jan 2 15:04"))
	} else {
		fmt.Fprintf(&text, "Hello %s,\r\n\r\nYou have a new voicemail message in mailbox %s.\r\n\r\n", nonEmpty(v.UserName, v.Extension), v.Extension)
		fmt.Fprintf(&text, "From:     %s\r\nReceived: %s\r\nLength:   %d seconds\r\n", v.caller(), received.Format("Monday, January 2, 2006 at 3:04 PM MST"), secs)
	}
	switch v.Mode {
	case ModeLink, ModeBriefLink:
		if v.Link == "" {
			return nil, errors.New("link mode without a link")
		}
		if brief {
			fmt.Fprintf(&text, "%s\r\n", v.Link)
		} else {
			fmt.Fprintf(&text, "\r\nListen to the message: %s\r\n", v.Link)
		}
	case ModeAttachment, ModeBriefAttachment:
		if len(v.Audio) == 0 {
			return nil, errors.New("attachment mode without audio")
		}
		if !brief {
			text.WriteString("\r\nThe message is attached. It stays in your mailbox until you delete it.\r\n")
		}
	default:
		return nil, fmt.Errorf("mode %q sends no email", v.Mode)
	}

	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", fromAddr.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", "New voicemail from "+v.caller()))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+strings.ToLower(rand.Text())+"@"+domainOf(fromAddr.Address)+">")
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")
	if v.Mode == ModeLink || v.Mode == ModeBriefLink {
		header("Content-Type", `text/plain; charset="utf-8"`)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, text.String())
		return b.Bytes(), nil
	}
	boundary := "sb-" + strings.ToLower(rand.Text())
	header("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(&b, text.String())
	b.WriteString("\r\n--" + boundary + "\r\n")
	name := "voicemail-" + v.Extension + "-" + received.Format("20060102-150405") + ".wav"
	fmt.Fprintf(&b, "Content-Type: audio/wav; name=%q\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=%q\r\n\r\n", name, name)
	enc := base64.StdEncoding.EncodeToString(v.Audio)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return d
	}
	return "switchboard.invalid"
}

// Send delivers msg to to through the relay in cfg. The whole exchange is
// bounded by ctx: its deadline becomes the connection's, and its
// cancellation cuts the exchange short.
func Send(ctx context.Context, cfg SMTP, to []string, msg []byte) error {
	if cfg.Host == "" {
		return errors.New("no SMTP relay configured")
	}
	port := cfg.Port
	if port == 0 {
		port = 25
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return fmt.Errorf("from address %q: %w", cfg.From, err)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	// A deadline in the past fails the pending read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer c.Close()
	if cfg.StartTLS {
		tc := cfg.TLS
		if tc == nil {
			tc = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("smtp %s: STARTTLS: %w", addr, err)
		}
	}
	if cfg.Username != "" {
		// net/smtp refuses PLAIN over a clear connection except to
		// localhost: credentials never cross the network in clear.
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)); err != nil {
			return fmt.Errorf("smtp %s: authenticate: %w", addr, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", addr, err)
	}
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("recipient %q: %w", t, err)
		}
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("smtp %s: RCPT TO %s: %w", addr, a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: write message: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of message: %w", addr, err)
	}
	return c.Quit()
}
