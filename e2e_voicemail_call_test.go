package switchboard_test

// Voicemail on real calls: sipp and baresip callers leave messages and
// manage their mailbox by RFC 4733 keys over RTP, and the test checks what
// a user would: the message in the API (its caller, its audio by frequency
// and length), the phones' message-waiting NOTIFYs, the email, and the
// engine hanging up.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"switchboard"
	"switchboard/media"
)

// --- audio ---

// tonePCM is d of a sine at freq Hz, 8 kHz, at half of full scale.
func tonePCM(freq float64, d time.Duration) []int16 {
	pcm := make([]int16, media.Samples(d))
	for i := range pcm {
		pcm[i] = int16(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*freq*float64(i)/media.SampleRate))
	}
	return pcm
}

// dominantFrequency is the frequency, in 5 Hz steps from 100 to 3500 Hz,
// that carries the largest share of pcm's energy.
func dominantFrequency(pcm []int16) float64 {
	best, bestShare := 0.0, -1.0
	for f := 100.0; f <= 3500; f += 5 {
		if s := media.Goertzel(pcm, f); s > bestShare {
			best, bestShare = f, s
		}
	}
	return best
}

// requireTone requires that a message's audio is a tone at freq lasting
// about want (within tol), and returns the tone's and the audio's length.
func requireTone(t *testing.T, wav []byte, freq float64, want, tol time.Duration) (tone, total time.Duration) {
	t.Helper()
	pcm, err := media.ReadWAV(bytes.NewReader(wav), 0)
	require.NoError(t, err, "the message is a WAV file the engine reads")
	total = media.Duration(len(pcm))
	tone = media.ToneDuration(pcm, freq)
	require.InDelta(t, freq, dominantFrequency(pcm), 10, "the message sounds at the frequency sent")
	require.InDelta(t, want.Seconds(), tone.Seconds(), tol.Seconds(), "the tone lasts as long as it was sent")
	return tone, total
}

// --- admin API: messages ---

type apiMessage struct {
	ID         int64     `json:"id"`
	Folder     string    `json:"folder"`
	From       string    `json:"from"`
	FromName   string    `json:"from_name"`
	ReceivedAt time.Time `json:"received_at"`
	DurationMS int64     `json:"duration_ms"`
	SizeBytes  int64     `json:"size_bytes"`
}

// messages lists a mailbox's messages in folder ("" for all).
func (c *apiClient) messages(ext, folder string) []apiMessage {
	c.t.Helper()
	var out struct {
		Messages []apiMessage `json:"messages"`
	}
	path := "/api/v1/users/" + ext + "/voicemail/messages"
	if folder != "" {
		path += "?folder=" + folder
	}
	c.must(http.MethodGet, path, nil, http.StatusOK, &out)
	return out.Messages
}

// waitMessages polls a mailbox until it holds n messages. A message left by
// a caller who hung up is filed just after the call ends.
func (c *apiClient) waitMessages(ext string, n int, within time.Duration) []apiMessage {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := c.messages(ext, "")
		if len(msgs) == n {
			return msgs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %v, mailbox %s holds %d messages, want %d: %+v", within, ext, len(msgs), n, msgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *apiClient) messageAudio(ext string, id int64) []byte {
	c.t.Helper()
	code, b := c.raw(http.MethodGet, "/api/v1/users/"+ext+"/voicemail/messages/"+strconv.FormatInt(id, 10)+"/audio", "", nil)
	require.Equal(c.t, http.StatusOK, code, "%s", b)
	return b
}

// --- sipp with media ---

// requireRawSockets skips the test when sipp cannot send packet captures
// (play_pcap_audio writes them through a raw socket, which needs root or
// CAP_NET_RAW), except in CI, where it fails.
func requireRawSockets(t *testing.T) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_UDP)
	if err == nil {
		syscall.Close(fd)
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("sipp needs a raw socket to play RTP captures: %v", err)
	}
	t.Skipf("sipp cannot play RTP captures without a raw socket: %v", err)
}

// freeMediaPort returns an even port with the three above it free for UDP
// on loopback: sipp's -mp, where it sends and receives audio (RTP on the
// port, RTCP and video above it).
func freeMediaPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		base := u.LocalAddr().(*net.UDPAddr).Port &^ 1
		u.Close()
		ok := true
		for p := base; p < base+4 && ok; p++ {
			c, err := net.ListenPacket("udp", hostPort("127.0.0.1", p))
			if err != nil {
				ok = false
				continue
			}
			c.Close()
		}
		if ok && base+3 <= 65535 {
			return base
		}
	}
	t.Fatal("no free media port")
	return 0
}

// mediaCall is a sipp caller with audio: its own media port, and the
// scenario's files in its working directory.
func mediaCall(t *testing.T, scenario, phone, dialled string, files map[string][]byte) sippRun {
	t.Helper()
	requireTool(t, "sipp")
	requireRawSockets(t)
	return sippRun{Scenario: scenario, User: phone, Password: "secret-" + phone,
		Keys: map[string]string{"dialled": dialled}, Args: []string{"-mp", strconv.Itoa(freeMediaPort(t))},
		Files: files, Timeout: 30 * time.Second}
}

// depositTone is the tone uac_voicemail_deposit.xml streams: 3 s at 440 Hz.
const (
	depositFreq = 440.0
	depositLen  = 3 * time.Second
)

// sippPoundCapture is the capture of # the deposit scenario plays.
const sippPoundCapture = "/usr/share/sip-tester/dtmf_2833_pound.pcap"

// deposit leaves a message in ext's mailbox from phone with
// uac_voicemail_deposit.xml and requires the call to go as a caller
// expects: answered, and hung up by the engine after the closing prompts.
func deposit(t *testing.T, e *testEngine, phone, ext string) sippResult {
	t.Helper()
	// The scenario presses # with the capture the sip-tester package ships.
	if _, err := os.Stat(sippPoundCapture); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sipp's RFC 4733 captures are required in CI: %v", err)
		}
		t.Skipf("sipp's RFC 4733 captures are not installed: %v", err)
	}
	r := mediaCall(t, "uac_voicemail_deposit.xml", phone, ext,
		map[string][]byte{"tone.ulaw": media.CodecPCMU.Encode(nil, tonePCM(depositFreq, depositLen))})
	res := runSipp(t, e.sipAddr(), r)
	requireSippOK(t, res)
	return res
}

// --- RTP captures ---

// rtpCapture is a packet capture (pcap, Ethernet, IPv4) of one RTP stream
// as a phone sends it: one SSRC, sequence numbers and timestamps that go on
// from packet to packet, keys as RFC 4733 events on payload type 101,
// audio as PCMU. sipp's play_pcap_audio plays it from its media port to
// the engine's with the capture's timing: the first packet at once (the
// scenario plays the capture right after its ACK, so moments count from
// the answer), each next one as long after it as in the capture.
//
// sipp's own dtmf_2833_*.pcap files are slices of one capture: they share
// an SSRC, and their timestamps run in the order the keys were pressed
// there (1, 0, 2, 3, ..., 9, *, #). Played in another order, a key has an
// older timestamp than the key before it, which makes it a late packet of
// an event long over (an event is known by its timestamp, RFC 4733
// §2.3.1), rightly ignored; so key sequences are built here.
type rtpCapture struct {
	t     *testing.T
	b     bytes.Buffer
	seq   uint16
	last  time.Duration
	valid int // RTP packets of the negotiated payload types
}

const (
	captureSSRC  = 0x5eb0a11d
	eventPT      = 101
	keyDuration  = 100 * time.Millisecond
	frameLength  = 20 * time.Millisecond
	captureEpoch = 1_700_000_000
)

func newRTPCapture(t *testing.T) *rtpCapture {
	c := &rtpCapture{t: t, seq: 4000}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1) // Ethernet
	c.b.Write(h[:])
	return c
}

// timestamp is the RTP timestamp of a moment of the stream (8 kHz clock).
func timestamp(at time.Duration) uint32 { return 160_000 + uint32(media.Samples(at)) }

// datagram adds a UDP datagram sent at the moment at of the stream.
func (c *rtpCapture) datagram(at time.Duration, payload []byte) {
	c.t.Helper()
	require.GreaterOrEqual(c.t, at, c.last, "a capture's packets are in time order")
	c.last = at
	be := binary.BigEndian
	udpLen := 8 + len(payload)
	frame := make([]byte, 14+20+udpLen)
	be.PutUint16(frame[12:], 0x0800) // IPv4
	ip := frame[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, syscall.IPPROTO_UDP
	be.PutUint16(ip[2:], uint16(20+udpLen))
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(be.Uint16(ip[i:]))
	}
	sum = sum&0xffff + sum>>16
	be.PutUint16(ip[10:], ^uint16(sum+sum>>16))
	udp := frame[34:]
	// sipp replaces the ports: the source by its -mp, the destination by
	// the port of the engine's SDP.
	be.PutUint16(udp[0:], 40000)
	be.PutUint16(udp[2:], 30000)
	be.PutUint16(udp[4:], uint16(udpLen))
	copy(udp[8:], payload)

	var rec [16]byte
	le := binary.LittleEndian
	le.PutUint32(rec[0:], uint32(captureEpoch+at/time.Second))
	le.PutUint32(rec[4:], uint32(at%time.Second/time.Microsecond))
	le.PutUint32(rec[8:], uint32(len(frame)))
	le.PutUint32(rec[12:], uint32(len(frame)))
	c.b.Write(rec[:])
	c.b.Write(frame)
}

// rtp adds an RTP packet of the stream; next says whether it takes a new
// sequence number (the repeated end of an event does not).
func (c *rtpCapture) rtp(at time.Duration, pt uint8, marker bool, ts uint32, payload []byte, next bool) {
	if next {
		c.seq++
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: c.seq,
		Timestamp: ts, SSRC: captureSSRC}, Payload: payload}
	b, err := p.Marshal()
	require.NoError(c.t, err)
	c.datagram(at, b)
	c.valid++
}

// key presses key at the moment at for 100 ms: an RFC 4733 event updated
// every 20 ms, its end sent three times.
func (c *rtpCapture) key(at time.Duration, key rune) {
	c.t.Helper()
	code, ok := media.EventFromDigit(key)
	require.True(c.t, ok, "no event for key %q", key)
	ts := timestamp(at)
	const volume = 10
	steps := int(keyDuration / frameLength)
	for i := range steps {
		dur := uint16(media.Samples(time.Duration(i+1) * frameLength))
		c.rtp(at+time.Duration(i)*frameLength, eventPT, i == 0, ts, []byte{code, volume, byte(dur >> 8), byte(dur)}, true)
	}
	dur := uint16(media.Samples(keyDuration))
	end := []byte{code, 0x80 | volume, byte(dur >> 8), byte(dur)}
	for i := range 3 {
		c.rtp(at+keyDuration, eventPT, false, ts, end, i == 0)
	}
}

// keys presses each key of keys in turn from at, gap apart, and returns
// the moment a next key would come.
func (c *rtpCapture) keys(at, gap time.Duration, keys string) time.Duration {
	for _, k := range keys {
		c.key(at, k)
		at += gap
	}
	return at
}

// audio sends pcm as PCMU from the moment at, 20 ms a packet; between
// packets, extra (if not nil) adds what else the stream carries then.
func (c *rtpCapture) audio(at time.Duration, pcm []int16, extra func(at time.Duration)) {
	n := media.Samples(frameLength)
	for i := 0; i < len(pcm); i += n {
		frame := pcm[i:min(i+n, len(pcm))]
		t := at + media.Duration(i)
		c.rtp(t, 0, i == 0, timestamp(t), media.CodecPCMU.Encode(nil, frame), true)
		if extra != nil {
			extra(t)
		}
	}
}

func (c *rtpCapture) bytes() []byte { return c.b.Bytes() }

// garbage is a datagram of random bytes of random length that is not an
// RTP packet of a payload type the engine takes from a caller (PCMU and
// telephone-event as negotiated, comfort noise always, RFC 3389): those
// are audio, keys and silence, not garbage.
func garbage(rng *rand.Rand) []byte {
	for {
		n := rng.IntN(1200)
		if rng.IntN(4) == 0 {
			n = rng.IntN(16) // shorter than, or barely, an RTP header
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		var p rtp.Packet
		if p.Unmarshal(b) == nil && p.Version == 2 && (p.PayloadType == 0 || p.PayloadType == eventPT || p.PayloadType == 13) {
			continue
		}
		return b
	}
}

// --- message waiting ---

// watchMWI answers every NOTIFY that reaches a phone's socket with 200 and
// passes on its Voice-Message counts ("new/saved", without the urgent
// ones in parentheses, RFC 3842 §5.2), until the test ends.
func watchMWI(t *testing.T, c *sipConn) <-chan string {
	t.Helper()
	out := make(chan string, 64)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 65535)
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
				return
			}
			n, from, err := c.conn.ReadFromUDP(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			m := parseSIPMessage(string(buf[:n]), false)
			if !strings.HasPrefix(m.First, "NOTIFY ") {
				continue
			}
			_, _ = c.conn.WriteToUDP([]byte(respond(m, 200, "OK")), from)
			for line := range strings.SplitSeq(m.Raw, "\r\n") {
				if v, ok := strings.CutPrefix(line, "Voice-Message: "); ok {
					counts, _, _ := strings.Cut(strings.TrimSpace(v), " ")
					select {
					case out <- counts:
					default:
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return out
}

// waitVoiceMessage waits for a NOTIFY saying want ("1/0": one new message,
// none saved); retransmissions of earlier NOTIFYs are passed over.
func waitVoiceMessage(t *testing.T, notifies <-chan string, want string, within time.Duration) {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case v := <-notifies:
			if v == want {
				return
			}
			seen = append(seen, v)
		case <-timer.C:
			t.Fatalf("no NOTIFY with Voice-Message: %s within %v; saw %v", want, within, seen)
		}
	}
}

// --- email ---

// mailSink is an SMTP server on loopback that keeps every message.
type mailSink struct{ mails chan []byte }

type mailSession struct{ sink *mailSink }

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                               {}
func (s *mailSession) Logout() error                        { return nil }

func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	select {
	case s.sink.mails <- b:
		return nil
	default:
		return errors.New("mail sink full")
	}
}

func startMailSink(t *testing.T) (*mailSink, int) {
	t.Helper()
	sink := &mailSink{mails: make(chan []byte, 8)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSession{sink: sink}, nil
	}))
	srv.Domain = "127.0.0.1"
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
	return sink, l.Addr().(*net.TCPAddr).Port
}

// attachment reads an email's headers and its one attachment.
func attachment(t *testing.T, raw []byte) (*mail.Message, []byte, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mt, "an email with an attachment")
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		require.NoError(t, err, "the email has an attachment")
		if p.FileName() == "" {
			continue
		}
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		require.Equal(t, "base64", strings.ToLower(p.Header.Get("Content-Transfer-Encoding")))
		data, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
		require.NoError(t, err)
		return m, data, p.FileName()
	}
}

// --- the tests ---

// A sipp caller reaches the mailbox of a user with no phone online, skips
// the greeting with #, streams a 3 s tone after the beep and ends the
// recording with #: the engine says goodbye and hangs up, and the user's
// mailbox holds one new message from the caller's extension whose audio is
// the tone, as long as it was streamed.
//
// Where the message starts and ends: the recording starts when the beep
// has played (0.4 s after the #), and only audio that arrives is written;
// the tone starts 1.5 s after the #, and the # that ends the recording
// comes 0.3 s after the tone, so the message is the tone exactly: 3.000 s,
// checked to 100 ms.
func TestE2EVoicemailDepositTone(t *testing.T) {
	requireTool(t, "sipp")
	t.Parallel()
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	res := deposit(t, e, "1002a", "1001")
	answered, bye := answerAndBye(t, res)
	// # at 0 s, tone from 1.5 s to 4.5 s, # at 4.8 s; then "Message
	// recorded. Goodbye." (2.9 s) and the BYE.
	hangUp := bye.At.Sub(answered.At)
	require.Greater(t, hangUp, 7200*time.Millisecond, "the closing prompts play out")
	require.Less(t, hangUp, 11*time.Second, "the engine hangs up after them")

	msgs := e.api.messages("1001", "new")
	require.Len(t, msgs, 1, "one new message")
	msg := msgs[0]
	require.Equal(t, "1002", msg.From, "from the caller's extension")
	require.Equal(t, "Caller", msg.FromName, "with the caller's name")
	require.WithinDuration(t, answered.At, msg.ReceivedAt, 2*time.Second)
	wav := e.api.messageAudio("1001", msg.ID)
	require.EqualValues(t, len(wav), msg.SizeBytes)
	tone, total := requireTone(t, wav, depositFreq, depositLen, 100*time.Millisecond)
	require.InDelta(t, depositLen.Seconds(), total.Seconds(), 0.1, "the message is the tone, without silence around it")
	require.EqualValues(t, total.Milliseconds(), msg.DurationMS)
	t.Logf("deposit: message %v, tone %v, streamed %v; BYE %v after the answer", total, tone, depositLen, hangUp)

	require.Equal(t, 1.0, e.api.metric("switchboard_voicemail_deposits_total", "outcome", "filed"))
	require.Zero(t, e.api.metric("switchboard_voicemail_calls_active"))
	// 150 packets of tone and two keys of 10 packets each, none lost.
	st := voicemailCallStats(t, e)
	require.Equal(t, 170, st["packets_in"])
	require.Zero(t, st["lost"])
}

// voicemailCallStats reads the counters of the "voicemail call ended" line
// the engine logs for its one voicemail call (packets_in, packets_out,
// lost, late): the whole call's, from its answer on.
func voicemailCallStats(t *testing.T, e *testEngine) map[string]int {
	t.Helper()
	return loggedCounters(t, e, "voicemail call ended")
}

// loggedCounters reads the numbers (key=value) of the one line the engine
// logs with msg, waiting up to 3 s for it.
func loggedCounters(t *testing.T, e *testEngine, msg string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	lines := e.logs.Lines(`msg="` + msg + `"`)
	for len(lines) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		lines = e.logs.Lines(`msg="` + msg + `"`)
	}
	require.Len(t, lines, 1, "one %q line", msg)
	out := map[string]int{}
	for _, f := range strings.Fields(lines[0]) {
		k, v, ok := strings.Cut(f, "=")
		if n, err := strconv.Atoi(v); ok && err == nil {
			out[k] = n
		}
	}
	return out
}

// answerAndBye returns the 200 that answered a sipp call and the BYE the
// engine ended it with, both as sipp received them.
func answerAndBye(t *testing.T, res sippResult) (answered, bye sipMessage) {
	t.Helper()
	for _, m := range res.Received() {
		switch {
		case m.Status() == 200 && answered.First == "":
			answered = m
		case strings.HasPrefix(m.First, "BYE "):
			bye = m
		}
	}
	requireVoicemail(t, answered)
	require.NotEmpty(t, bye.First, "the engine hangs up")
	require.False(t, answered.At.IsZero() || bye.At.IsZero(), "sipp's trace has the times")
	return answered, bye
}

// accessCall dials *97 from phone with uac_voicemail_capture.xml, its keys
// in capture, and requires the engine to hang up in the end.
func accessCall(t *testing.T, e *testEngine, phone string, capture *rtpCapture) sippResult {
	t.Helper()
	r := mediaCall(t, "uac_voicemail_capture.xml", phone, "*97", map[string][]byte{"capture.pcap": capture.bytes()})
	res := runSipp(t, e.sipAddr(), r)
	requireSippOK(t, res)
	return res
}

// A user whose phone watches the mailbox (message-summary) gets a message
// by a real call, then calls *97, enters the PIN, listens to the message
// and saves it: the phone is told 1/0 after the deposit and 0/1 after the
// save, and the API shows the message saved.
func TestE2EVoicemailAccessSavesMessage(t *testing.T) {
	requireTool(t, "sipp")
	requireRawSockets(t)
	t.Parallel()
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"voicemail_pin": "2468"}, http.StatusOK, nil)
	// Without the date and caller read out, the message plays right after
	// "first new message".
	e.api.must(http.MethodPatch, "/api/v1/users/1001/voicemail",
		map[string]any{"announce_time": false, "announce_caller_id": false}, http.StatusOK, nil)

	// The phone subscribes to its mailbox (it is not registered: calls to
	// 1001 go to voicemail).
	watcher := dialSIP(t, "127.0.0.1", e.sipAddr())
	ok := subscribeMWI(t, e, watcher, "1001a", "1001", "secret-1001a", 600)
	require.Equal(t, 200, ok.Status(), ok.First)
	notifies := watchMWI(t, watcher)
	waitVoiceMessage(t, notifies, "0/0", 3*time.Second)

	deposit(t, e, "1002a", "1001")
	waitVoiceMessage(t, notifies, "1/0", 3*time.Second)
	require.Len(t, e.api.messages("1001", "new"), 1)

	// Keys as the user presses them: the PIN and # while "Welcome. Please
	// enter your PIN" plays; 1 (listen) during "You have one new message
	// and no saved messages" and the menu; 9 (save) while the message
	// plays. A key stops the prompt it falls in. The user hangs up after
	// "Message saved. End of messages." and the menu.
	keys := newRTPCapture(t)
	keys.keys(0, 200*time.Millisecond, "2468#")
	keys.key(2*time.Second, '1')
	keys.key(4200*time.Millisecond, '9')
	r := mediaCall(t, "uac_capture_hangup.xml", "1001a", "*97", map[string][]byte{"capture.pcap": keys.bytes()})
	res := runSipp(t, e.sipAddr(), r)
	requireSippOK(t, res)

	waitVoiceMessage(t, notifies, "0/1", 3*time.Second)
	require.Empty(t, e.api.messages("1001", "new"))
	saved := e.api.messages("1001", "saved")
	require.Len(t, saved, 1, "the message is saved")
	require.Equal(t, "1002", saved[0].From)
	var vm map[string]any
	e.api.must(http.MethodGet, "/api/v1/users/1001/voicemail", nil, http.StatusOK, &vm)
	require.Equal(t, 0.0, vm["new_messages"])
	require.Equal(t, 1.0, vm["saved_messages"])
	require.Equal(t, 1.0, e.api.metric("switchboard_voicemail_logins_total", "result", "ok"))
	require.Zero(t, e.api.metric("switchboard_voicemail_logins_total", "result", "failed"))
}

// Three wrong PINs on *97 end the call (the engine hangs up after "Too
// many attempts. Your mailbox is locked.") and lock the mailbox: the next
// *97, with the right PIN, is hung up on without a PIN being checked.
func TestE2EVoicemailWrongPINLocksMailbox(t *testing.T) {
	requireTool(t, "sipp")
	requireRawSockets(t)
	t.Parallel()
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.api.must(http.MethodPatch, "/api/v1/users/1001", map[string]any{"voicemail_pin": "2468"}, http.StatusOK, nil)

	// Each wrong PIN stops "Login incorrect. Please enter your PIN." after
	// the one before; the third # comes 3.1 s after the answer. The user
	// then tries the right PIN: had the engine asked again, it would log
	// in.
	const gap = 150 * time.Millisecond
	wrong := newRTPCapture(t)
	at := wrong.keys(0, gap, "1357#")
	at = wrong.keys(at+500*time.Millisecond, gap, "9753#")
	at = wrong.keys(at+500*time.Millisecond, gap, "1111#")
	third := at - gap
	wrong.keys(at+time.Second, gap, "2468#")
	res := accessCall(t, e, "1001a", wrong)
	answered, bye := answerAndBye(t, res)
	// "Too many attempts. Your mailbox is locked. Goodbye." (6.24 s), then
	// the BYE.
	afterThird := bye.At.Sub(answered.At) - third
	require.Greater(t, afterThird, 6*time.Second, "the closing prompts play out")
	require.Equal(t, 3.0, e.api.metric("switchboard_voicemail_logins_total", "result", "failed"))
	require.Zero(t, e.api.metric("switchboard_voicemail_logins_total", "result", "ok"), "the call ended at the third wrong PIN")
	var vm struct {
		LockedUntil *time.Time `json:"locked_until"`
	}
	e.api.must(http.MethodGet, "/api/v1/users/1001/voicemail", nil, http.StatusOK, &vm)
	require.NotNil(t, vm.LockedUntil, "the mailbox is locked")
	require.WithinDuration(t, time.Now().Add(30*time.Minute), *vm.LockedUntil, time.Minute)

	right := newRTPCapture(t)
	right.keys(0, gap, "2468#")
	right.key(2*time.Second, '1')
	res = accessCall(t, e, "1001a", right)
	answered2, bye2 := answerAndBye(t, res)
	// "Your mailbox is locked. Goodbye." (4.44 s), nothing asked, the BYE.
	locked := bye2.At.Sub(answered2.At)
	require.Greater(t, locked, 4*time.Second, "the locked mailbox says so")
	require.Less(t, locked, 8*time.Second, "and hangs up")
	t.Logf("lockout: BYE %v after the third wrong PIN; locked mailbox: BYE %v after the answer", afterThird, locked)
	require.Equal(t, 3.0, e.api.metric("switchboard_voicemail_logins_total", "result", "failed"), "no PIN was asked")
	require.Zero(t, e.api.metric("switchboard_voicemail_logins_total", "result", "ok"), "the right PIN did not log in")
}

// A message left by a real call is emailed to the user through the SMTP
// relay set in the settings, with the WAV the API serves attached.
func TestE2EVoicemailEmailAttachment(t *testing.T) {
	requireTool(t, "sipp")
	t.Parallel()
	e := startEngine(t)
	sink, port := startMailSink(t)
	e.api.must(http.MethodPatch, "/api/v1/settings", map[string]any{"smtp": map[string]any{
		"host": "127.0.0.1", "port": port, "from": "Switchboard <pbx@example.com>",
	}}, http.StatusOK, nil)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace",
		"emails": []string{"ada@example.com"}})
	e.api.must(http.MethodPatch, "/api/v1/users/1001/voicemail", map[string]any{"email_mode": "attachment"}, http.StatusOK, nil)
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	deposit(t, e, "1002a", "1001")
	msgs := e.api.messages("1001", "new")
	require.Len(t, msgs, 1)
	wav := e.api.messageAudio("1001", msgs[0].ID)

	var raw []byte
	select {
	case raw = <-sink.mails:
	case <-time.After(10 * time.Second):
		t.Fatal("no email reached the relay")
	}
	m, att, name := attachment(t, raw)
	to, err := m.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Address: "ada@example.com"}}, to)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "New voicemail from Caller (1002)", subject)
	require.True(t, strings.HasPrefix(name, "voicemail-1001-") && strings.HasSuffix(name, ".wav"), name)
	require.Equal(t, wav, att, "the attachment is the message the API serves")
	requireTone(t, att, depositFreq, depositLen, 100*time.Millisecond)
	select {
	case extra := <-sink.mails:
		t.Fatalf("a second email:\n%s", extra)
	case <-time.After(200 * time.Millisecond):
	}
}

// A baresip phone calls a user with no phone online, presses # (RFC 4733)
// to skip the greeting, and speaks from a WAV file (aufile): 1.5 s of
// silence, a 3 s tone at 600 Hz, 0.5 s of silence. When the file runs out
// baresip hangs up. The message holds the tone, as long as it was sent, in
// a message about as long as the audio after the beep.
func TestE2EVoicemailBaresipDeposit(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	const freq = 600.0
	const toneLen = 3 * time.Second
	pcm := append(make([]int16, media.Samples(1500*time.Millisecond)), tonePCM(freq, toneLen)...)
	pcm = append(pcm, make([]int16, media.Samples(500*time.Millisecond))...)
	audio := filepath.Join(t.TempDir(), "speech.wav")
	require.NoError(t, os.WriteFile(audio, media.EncodeWAV(pcm), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	caller := startBaresipPhoneWith(ctx, t, e, "1002a", "secret-1002a", "manual",
		"deposit_config.tmpl", map[string]any{"Audio": audio})
	e.api.waitRegistrations(15*time.Second, "the baresip phone", func(r []apiRegistration) bool { return len(r) == 1 })

	caller.command(t, "/dial 1001")
	caller.waitOutput(t, 10*time.Second, "Call established: sip:1001@"+testDomain)
	caller.command(t, "/sndcode #")
	caller.waitOutput(t, 15*time.Second, "Call with sip:1001@"+testDomain+" terminated")

	msgs := e.api.waitMessages("1001", 1, 5*time.Second)
	require.Equal(t, "1002", msgs[0].From)
	wav := e.api.messageAudio("1001", msgs[0].ID)
	tone, total := requireTone(t, wav, freq, toneLen, 150*time.Millisecond)
	// The recording starts after the beep, within a second of the answer,
	// and ends when baresip hangs up, up to a second after its file ran
	// out (it checks once a second): what is left of the leading silence,
	// the tone, the trailing silence and that second.
	require.GreaterOrEqual(t, total, toneLen+400*time.Millisecond)
	require.LessOrEqual(t, total, toneLen+3*time.Second)
	t.Logf("baresip deposit: message %v, tone %v, sent %v", total, tone, toneLen)
	require.Equal(t, 1.0, e.api.metric("switchboard_voicemail_deposits_total", "outcome", "filed"))
}

// callWithSDP is callFrom with an SDP offer in the INVITE.
func callWithSDP(t *testing.T, e *testEngine, phone, password, dialled, sdp string) sipMessage {
	t.Helper()
	return callFromWithBody(t, dialSIP(t, "127.0.0.1", e.sipAddr()), phone, password, dialled, sdp)
}

// Bad input from callers: an offer without a codec in common is refused
// with 488 and leaves nothing behind; garbage datagrams on the call's RTP
// port, from the caller's own address and from another, change nothing: the
// message is stored as if they had not come.
func TestE2EVoicemailBadInput(t *testing.T) {
	t.Run("no common codec", func(t *testing.T) {
		t.Parallel()
		e := startEngine(t)
		e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
		e.addPhone(t, "1002", "1002a", "secret-1002a")
		offer := "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
			"m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendrecv\r\n"
		res := callWithSDP(t, e, "1002a", "secret-1002a", "1001", offer)
		require.Equal(t, 488, res.Status(), res.First)
		require.Empty(t, e.api.messages("1001", ""))
		require.Zero(t, e.api.metric("switchboard_voicemail_deposits_total"))
		require.Zero(t, e.api.metric("switchboard_voicemail_calls_active"))
		require.Zero(t, countFiles(t, e.cfg.DataDir), "no recording, no audio")
	})

	t.Run("garbage RTP", func(t *testing.T) {
		requireTool(t, "sipp")
		requireRawSockets(t)
		t.Parallel()
		rtpPort := freeRTPPort(t)
		e := startEngine(t, func(c *switchboard.Config) { c.RTPPorts = fmt.Sprintf("%d-%d", rtpPort, rtpPort) })
		e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
		e.addPhone(t, "1002", "1002a", "secret-1002a")

		// The caller's stream: # (skip the greeting), a 2 s tone with a
		// garbage datagram after every packet, # (end the recording).
		const freq = 500.0
		const toneLen = 2 * time.Second
		rng := rand.New(rand.NewPCG(4733, 3550))
		capture := newRTPCapture(t)
		capture.key(0, '#')
		inStream := 0
		capture.audio(1500*time.Millisecond, tonePCM(freq, toneLen), func(at time.Duration) {
			capture.datagram(at+time.Millisecond, garbage(rng))
			inStream++
		})
		capture.key(1500*time.Millisecond+toneLen+300*time.Millisecond, '#')

		// Meanwhile another socket sprays garbage at the call's port, every
		// 5 ms until the call is over.
		var sprayed atomic.Int64
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			conn, err := net.Dial("udp", hostPort("127.0.0.1", rtpPort))
			if err != nil {
				return
			}
			defer conn.Close()
			sprayRNG := rand.New(rand.NewPCG(1, 2))
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for deadline := time.After(40 * time.Second); ; {
				select {
				case <-stop:
					return
				case <-deadline:
					return
				case <-tick.C:
					if _, err := conn.Write(garbage(sprayRNG)); err == nil {
						sprayed.Add(1)
					}
				}
			}
		}()
		var once sync.Once
		halt := func() {
			once.Do(func() { close(stop) })
			<-stopped
		}
		t.Cleanup(halt)
		r := mediaCall(t, "uac_voicemail_capture.xml", "1002a", "1001", map[string][]byte{"capture.pcap": capture.bytes()})
		res := runSipp(t, e.sipAddr(), r)
		halt()
		requireSippOK(t, res)
		require.True(t, strings.HasPrefix(res.LastReceived(t).First, "BYE "), "the engine hangs up after its prompts")

		msgs := e.api.messages("1001", "new")
		require.Len(t, msgs, 1, "the message is stored")
		require.Equal(t, "1002", msgs[0].From)
		wav := e.api.messageAudio("1001", msgs[0].ID)
		_, total := requireTone(t, wav, freq, toneLen, 100*time.Millisecond)
		require.InDelta(t, toneLen.Seconds(), total.Seconds(), 0.1, "nothing but the tone was recorded")
		require.Equal(t, 1.0, e.api.metric("switchboard_voicemail_deposits_total", "outcome", "filed"))
		// Every packet of the caller's stream taken, nothing else.
		st := voicemailCallStats(t, e)
		require.Equal(t, capture.valid, st["packets_in"])
		require.Zero(t, st["lost"])
		t.Logf("garbage: %d datagrams in the caller's stream, %d from another socket; message %v", inStream, sprayed.Load(), total)
	})
}

// freeRTPPort returns an even port free for UDP on every address, for an
// engine whose RTP range is that one port.
func freeRTPPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp4", ":0")
		require.NoError(t, err)
		p := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		if p%2 == 1 {
			p--
		}
		c, err := net.ListenPacket("udp4", ":"+strconv.Itoa(p))
		if err == nil {
			c.Close()
			return p
		}
	}
	t.Fatal("no free even UDP port")
	return 0
}
