package switchboard_test

// End-to-end harness: a real engine on loopback, a client of its admin API,
// and runners for the sipp and baresip binaries. The tests using it live in
// the other e2e_*_test.go files.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard"
	"switchboard/sip"
)

const (
	testToken  = "test-token"
	testDomain = "127.0.0.1"
)

// syncBuffer collects the engine's log lines; the engine writes from many
// goroutines while the test reads.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns the log lines that contain every one of subs.
func (s *syncBuffer) Lines(subs ...string) []string {
	var out []string
	for line := range strings.SplitSeq(s.String(), "\n") {
		ok := line != ""
		for _, sub := range subs {
			ok = ok && strings.Contains(line, sub)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// testEngine is a running engine and what the test needs to talk to it.
type testEngine struct {
	*switchboard.Engine
	cfg  switchboard.Config
	logs *syncBuffer
	api  *apiClient

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// testConfig is the configuration of a test engine: loopback, free ports, a
// fresh database, registrations as short as a second, no keepalives.
func testConfig(t *testing.T) switchboard.Config {
	t.Helper()
	dir := t.TempDir()
	return switchboard.Config{
		DBPath:     filepath.Join(dir, "sb.db"),
		DataDir:    filepath.Join(dir, "data"),
		SIPAddr:    "127.0.0.1:0",
		HTTPAddr:   "127.0.0.1:0",
		Domain:     testDomain,
		AdminToken: testToken,
		Out:        io.Discard,
		SIP: sip.Config{
			MinExpires:        time.Second,
			KeepaliveInterval: -1,
		},
	}
}

// startEngine starts an engine with testConfig changed by the options, and
// stops it when the test ends.
func startEngine(t *testing.T, opts ...func(*switchboard.Config)) *testEngine {
	t.Helper()
	cfg := testConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	return startEngineWith(t, cfg)
}

// startEngineWith starts an engine on cfg as is, so that a second engine can
// reuse the database of a stopped one.
func startEngineWith(t *testing.T, cfg switchboard.Config) *testEngine {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, cancel := context.WithCancel(context.Background())
	var eng *switchboard.Engine
	var err error
	for range 5 {
		eng, err = switchboard.New(ctx, cfg)
		// With port 0 the engine takes a free UDP port and then binds TCP
		// on the same number, which a TCP socket of another program (or
		// another test's client connection) may hold already.
		if !errors.Is(err, syscall.EADDRINUSE) || !strings.HasSuffix(cfg.SIPAddr, ":0") {
			break
		}
		t.Logf("start engine: %v; again", err)
	}
	if err != nil {
		cancel()
		t.Fatalf("start engine: %v", err)
	}
	te := &testEngine{Engine: eng, cfg: cfg, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { te.done <- eng.Run(ctx) }()
	te.api = newAPIClient(t, "http://"+eng.HTTPAddr().String())
	t.Cleanup(func() {
		te.stop(t)
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	te.waitHealthy(t)
	return te
}

func (e *testEngine) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(e.api.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine not healthy after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop cancels the engine and waits for Run to return; Run must end
// cleanly and within the shutdown budget.
func (e *testEngine) stop(t *testing.T) {
	t.Helper()
	e.stopOnce.Do(func() {
		e.cancel()
		select {
		case err := <-e.done:
			if err != nil {
				t.Errorf("engine Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("engine Run did not return 15s after cancel")
		}
	})
}

// sipAddr is the engine's SIP address as host:port.
func (e *testEngine) sipAddr() string { return e.SIPAddr().String() }

// requireTool skips the test when the named binary is missing, except in CI
// (CI=true), where a missing tool is a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI: %v", name, err)
	}
	t.Skipf("%s not installed: %v", name, err)
	return ""
}

// freePort returns a port that is free on ip for both UDP and TCP right
// now.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		require.NoError(t, err)
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatalf("no free port on %s", ip)
	return 0
}

// --- admin API client ---

type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newAPIClient(t *testing.T, base string) *apiClient {
	return &apiClient{t: t, base: base, http: &http.Client{Timeout: 10 * time.Second}}
}

// apiRegistration is one entry of GET /api/v1/registrations. Users and
// phones are compared as generic maps, where every field matters.
type apiRegistration struct {
	Phone     string    `json:"phone"`
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	ExpiresAt time.Time `json:"expires_at"`
}

type apiError struct {
	Error string `json:"error"`
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

// raw sends a request with a raw body and returns the status and body.
func (c *apiClient) raw(method, path, contentType string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err, "%s %s", method, path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res.StatusCode, b
}

// do sends v as JSON (nil for no body) and returns the status and body.
func (c *apiClient) do(method, path string, v any) (int, []byte) {
	c.t.Helper()
	if v == nil {
		return c.raw(method, path, "", nil)
	}
	b, err := json.Marshal(v)
	require.NoError(c.t, err)
	return c.raw(method, path, "application/json", b)
}

// must sends v and requires status want; the body is decoded into out
// when out is not nil.
func (c *apiClient) must(method, path string, v any, want int, out any) {
	c.t.Helper()
	code, body := c.do(method, path, v)
	require.Equal(c.t, want, code, "%s %s: %s", method, path, body)
	if out != nil {
		require.NoError(c.t, json.Unmarshal(body, out), "%s %s: %s", method, path, body)
	}
}

func (c *apiClient) createUser(ext string, fields map[string]any) {
	c.t.Helper()
	body := map[string]any{"extension": ext}
	for k, v := range fields {
		body[k] = v
	}
	c.must(http.MethodPost, "/api/v1/users", body, http.StatusCreated, nil)
}

// createPhone adds a phone with the given SIP password to a user.
func (c *apiClient) createPhone(ext, name, password string) {
	c.t.Helper()
	c.must(http.MethodPost, "/api/v1/users/"+ext+"/phones",
		map[string]any{"name": name, "sip_password": password}, http.StatusCreated, nil)
}

func (c *apiClient) registrations() []apiRegistration {
	c.t.Helper()
	var out struct {
		Registrations []apiRegistration `json:"registrations"`
	}
	c.must(http.MethodGet, "/api/v1/registrations", nil, http.StatusOK, &out)
	require.NotNil(c.t, out.Registrations, "registrations must be a list, never null")
	return out.Registrations
}

// registrationsLen returns the registrations once there are n of them.
// The list is read from the database, where the registrar saves binding
// changes in the background (within half a second); a change answered a
// moment ago can be missing while a save of it is in progress, so the list
// is polled for up to 2 s.
func (c *apiClient) registrationsLen(n int) []apiRegistration {
	c.t.Helper()
	return c.waitRegistrations(2*time.Second, fmt.Sprintf("%d long", n), func(r []apiRegistration) bool {
		return len(r) == n
	})
}

// registrationsOf returns the registrations of one extension.
func (c *apiClient) registrationsOf(ext string) []apiRegistration {
	c.t.Helper()
	var out struct {
		Registrations []apiRegistration `json:"registrations"`
	}
	c.must(http.MethodGet, "/api/v1/registrations?extension="+ext, nil, http.StatusOK, &out)
	require.NotNil(c.t, out.Registrations, "registrations must be a list, never null")
	return out.Registrations
}

// waitRegistrations polls the registrations until cond holds or the
// deadline passes, and returns the last list.
func (c *apiClient) waitRegistrations(within time.Duration, what string, cond func([]apiRegistration) bool) []apiRegistration {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		regs := c.registrations()
		if cond(regs) {
			return regs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %v, registrations are not %s: %+v", within, what, regs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of the series name whose labels include the
// given name=value pairs, summed over the matching series; 0 when absent.
func (c *apiClient) metric(name string, labels ...string) float64 {
	c.t.Helper()
	res, err := c.http.Get(c.base + "/metrics")
	require.NoError(c.t, err)
	defer res.Body.Close()
	require.Equal(c.t, http.StatusOK, res.StatusCode)
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		sname, lbls, _ := strings.Cut(series, "{")
		if sname != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(lbls, labels[i]+`="`+labels[i+1]+`"`) {
				match = false
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		require.NoError(c.t, err, "metric line %q", line)
		sum += v
	}
	require.NoError(c.t, sc.Err())
	return sum
}

// --- sipp ---

// sippRun describes one sipp client run of a scenario in testdata/sipp.
type sippRun struct {
	Scenario  string // file name in testdata/sipp
	Transport string // "u1" (default) or "t1"
	LocalIP   string // default 127.0.0.1
	Port      int    // local port; default a free one
	User      string // [user] and -au
	Password  string // -ap
	Expires   int    // [expires]; default 60
	// Contact is [contact_hostport]; default LocalIP:Port.
	Contact string
	Keys    map[string]string // more -key pairs
	Args    []string          // more arguments
	Calls   int               // -m; default 1
	// Files are written into sipp's working directory before it starts:
	// the audio and packet captures a scenario plays by relative name.
	Files map[string][]byte
	// Timeout bounds the whole run (-timeout); default 15 s.
	Timeout time.Duration
}

type sippResult struct {
	ExitCode int
	Port     int
	Messages []sipMessage // as traced, in order
	Output   string       // stdout and stderr
	Errors   string       // the error trace
	Log      string       // <log> actions
}

// sipMessage is one message of a sipp trace.
type sipMessage struct {
	Sent  bool
	Raw   string // as on the wire, CRLF line ends
	First string // request or status line
	// At is when sipp sent or received it, as its trace says (to the
	// microsecond); zero for a message read from a socket.
	At time.Time
	// Headers in order, names as sent.
	Headers []sipHeader
}

type sipHeader struct{ Name, Value string }

// Header returns the first value of the named header and whether it is
// there; names compare case-insensitively.
func (m sipMessage) Header(name string) (string, bool) {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// Status returns the status code of a response, 0 for a request.
func (m sipMessage) Status() int {
	f := strings.Fields(m.First)
	if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// Received returns the messages sipp received, in order.
func (r sippResult) Received() []sipMessage {
	var out []sipMessage
	for _, m := range r.Messages {
		if !m.Sent {
			out = append(out, m)
		}
	}
	return out
}

// LastReceived is the final message sipp received.
func (r sippResult) LastReceived(t *testing.T) sipMessage {
	t.Helper()
	got := r.Received()
	require.NotEmpty(t, got, "sipp received nothing; output:\n%s", r.Output)
	return got[len(got)-1]
}

// runSipp runs sipp against addr with a deadline and returns what it did;
// the process is killed if the test ends first.
func runSipp(t *testing.T, addr string, r sippRun) sippResult {
	t.Helper()
	bin := requireTool(t, "sipp")
	if r.Transport == "" {
		r.Transport = "u1"
	}
	if r.LocalIP == "" {
		r.LocalIP = "127.0.0.1"
	}
	if r.Port == 0 {
		r.Port = freePort(t, r.LocalIP)
	}
	if r.Expires == 0 {
		r.Expires = 60
	}
	if r.Contact == "" {
		r.Contact = net.JoinHostPort(r.LocalIP, strconv.Itoa(r.Port))
	}
	if r.Calls == 0 {
		r.Calls = 1
	}
	if r.Timeout == 0 {
		r.Timeout = 15 * time.Second
	}
	scenario, err := filepath.Abs(filepath.Join("testdata", "sipp", r.Scenario))
	require.NoError(t, err)
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "messages.log")
	errFile := filepath.Join(dir, "errors.log")
	logFile := filepath.Join(dir, "actions.log")
	for name, b := range r.Files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	args := []string{addr,
		"-sf", scenario,
		"-t", r.Transport,
		"-i", r.LocalIP, "-bind_local",
		"-p", strconv.Itoa(r.Port),
		"-m", strconv.Itoa(r.Calls),
		"-timeout", strconv.Itoa(int(r.Timeout/time.Second)) + "s", "-timeout_error",
		"-recv_timeout", "5000",
		"-nostdin",
		"-trace_msg", "-message_file", msgFile,
		"-trace_err", "-error_file", errFile,
		"-trace_logs", "-log_file", logFile,
		"-au", r.User, "-ap", r.Password,
		"-key", "user", r.User,
		"-key", "domain", testDomain,
		"-key", "expires", strconv.Itoa(r.Expires),
		"-key", "contact_hostport", r.Contact,
	}
	for k, v := range r.Keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, r.Args...)

	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	res := sippResult{Port: r.Port, Output: out.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("run sipp: %v", err)
	}
	require.NoError(t, ctx.Err(), "sipp outlived its deadline; output:\n%s", res.Output)
	if b, err := os.ReadFile(msgFile); err == nil {
		res.Messages = parseSippTrace(t, string(b))
	}
	if b, err := os.ReadFile(errFile); err == nil {
		res.Errors = string(b)
	}
	if b, err := os.ReadFile(logFile); err == nil {
		res.Log = string(b)
	}
	return res
}

// requireSippOK requires that every call of the run succeeded.
func requireSippOK(t *testing.T, r sippResult) {
	t.Helper()
	require.Equal(t, 0, r.ExitCode, "sipp failed\noutput:\n%s\nerrors:\n%s\nmessages:\n%s",
		r.Output, r.Errors, r.dump())
}

func (r sippResult) dump() string {
	var b strings.Builder
	for _, m := range r.Messages {
		if m.Sent {
			b.WriteString(">>> sent\n")
		} else {
			b.WriteString("<<< received\n")
		}
		b.WriteString(strings.ReplaceAll(m.Raw, "\r\n", "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

// sippTraceHeader starts each message in sipp's -trace_msg file, e.g.
// "UDP message sent (412 bytes):" or "TCP message received [380] bytes :".
var sippTraceHeader = regexp.MustCompile(`(?m)^(?:UDP|TCP) message (sent|received) (?:\((\d+) bytes\)|\[(\d+)\] bytes) ?:[ \t]*$`)

// parseSippTrace splits a sipp message trace into messages, using the
// byte count sipp logs for each one to cut it exactly.
func parseSippTrace(t *testing.T, trace string) []sipMessage {
	t.Helper()
	var out []sipMessage
	locs := sippTraceHeader.FindAllStringSubmatchIndex(trace, -1)
	for _, loc := range locs {
		count := loc[4:6]
		if count[0] < 0 {
			count = loc[6:8]
		}
		n, err := strconv.Atoi(trace[count[0]:count[1]])
		require.NoError(t, err)
		start := loc[1]
		// The count line is followed by one blank line, then the message.
		for _, prefix := range []string{"\n\n", "\r\n\r\n", "\n"} {
			if strings.HasPrefix(trace[start:], prefix) {
				start += len(prefix)
				break
			}
		}
		end := min(start+n, len(trace))
		m := parseSIPMessage(trace[start:end], trace[loc[2]:loc[3]] == "sent")
		m.At = sippTraceTime(trace[:loc[0]])
		out = append(out, m)
	}
	return out
}

// sippTraceTime reads the time stamped on the line that precedes a
// message's count line in a sipp trace, e.g.
// "----------------------------------------------- 2026-11-25 18:26:49.848705"
// (local time); zero when there is none.
func sippTraceTime(before string) time.Time {
	before = strings.TrimRight(before, "\r\n")
	line := before[strings.LastIndexByte(before, '\n')+1:]
	dashes, stamp, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(dashes, "---") {
		return time.Time{}
	}
	at, err := time.ParseInLocation("2006-01-02 15:04:05.999999", strings.TrimSpace(stamp), time.Local)
	if err != nil {
		return time.Time{}
	}
	return at
}

// parseSIPMessage reads the start line and headers of a raw SIP message.
func parseSIPMessage(raw string, sent bool) sipMessage {
	m := sipMessage{Sent: sent, Raw: raw}
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m.First = lines[0]
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		m.Headers = append(m.Headers, sipHeader{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return m
}

// --- raw SIP over UDP ---

// sipConn is a UDP socket that sends hand-written SIP and reads answers.
// Like a desk phone it answers the unsolicited message-waiting NOTIFYs it
// gets (after each REGISTER of a user with voicemail) by itself, unless
// keepMWI asks recv to return them.
type sipConn struct {
	t       *testing.T
	conn    *net.UDPConn
	to      *net.UDPAddr
	keepMWI bool
}

func dialSIP(t *testing.T, localIP, server string) *sipConn {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", server)
	require.NoError(t, err)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &sipConn{t: t, conn: conn, to: to}
}

func (c *sipConn) localAddr() *net.UDPAddr { return c.conn.LocalAddr().(*net.UDPAddr) }

func (c *sipConn) send(msg []byte) {
	c.t.Helper()
	_, err := c.conn.WriteToUDP(msg, c.to)
	require.NoError(c.t, err)
}

// recv returns the next datagram within wait, or false when none came.
func (c *sipConn) recv(wait time.Duration) (sipMessage, bool) {
	c.t.Helper()
	buf := make([]byte, 65535)
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(wait)))
	for {
		n, from, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			require.True(c.t, errors.As(err, &ne) && ne.Timeout(), "read: %v", err)
			return sipMessage{}, false
		}
		m := parseSIPMessage(string(buf[:n]), false)
		if !c.keepMWI && isUnsolicitedMWI(m) {
			_, err := c.conn.WriteToUDP([]byte(respond(m, 200, "OK")), from)
			require.NoError(c.t, err)
			continue
		}
		return m, true
	}
}

// isUnsolicitedMWI reports whether m is a message-waiting NOTIFY outside a
// subscription.
func isUnsolicitedMWI(m sipMessage) bool {
	ev, _ := m.Header("Event")
	to, _ := m.Header("To")
	return strings.HasPrefix(m.First, "NOTIFY ") && ev == "message-summary" && !strings.Contains(to, ";tag=")
}

// exchange sends msg and returns the answer, failing when none comes.
func (c *sipConn) exchange(msg string) sipMessage {
	c.t.Helper()
	c.send([]byte(msg))
	res, ok := c.recv(3 * time.Second)
	require.True(c.t, ok, "no answer to:\n%s", msg)
	return res
}

// crlf turns the "\n" line ends of a literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

var branchSeq struct {
	mu sync.Mutex
	n  int
}

// newBranch returns a unique RFC 3261 branch.
func newBranch() string {
	branchSeq.mu.Lock()
	defer branchSeq.mu.Unlock()
	branchSeq.n++
	return fmt.Sprintf("z9hG4bK-e2e-%d-%d", time.Now().UnixNano(), branchSeq.n)
}
