package switchboard_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"
)

// baresipPhone is a running baresip instance with one account.
type baresipPhone struct {
	name    string
	console string // host:port of its cons module (UDP)
	out     *lockedBuffer
	cmd     *exec.Cmd
	exited  chan error
}

// renderBaresipTemplate renders testdata/baresip/<tmpl> into dst.
func renderBaresipTemplate(t *testing.T, tmpl, dst string, data any) {
	t.Helper()
	tp, err := template.ParseFiles(filepath.Join("testdata", "baresip", tmpl))
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, tp.Execute(&b, data))
	require.NoError(t, os.WriteFile(dst, b.Bytes(), 0o600))
}

// startBaresipPhone starts baresip for one phone of the engine, with the
// call configuration (testdata/baresip/call_config.tmpl and
// call_accounts.tmpl). The process lives no longer than ctx and is killed
// when the test ends.
func startBaresipPhone(ctx context.Context, t *testing.T, e *testEngine, phone, password, answerMode string) *baresipPhone {
	t.Helper()
	return startBaresipPhoneWith(ctx, t, e, phone, password, answerMode, "call_config.tmpl", nil)
}

// startBaresipPhoneWith is startBaresipPhone with another configuration
// template of testdata/baresip, given extra fields besides Listen, Console
// and ModulePath.
func startBaresipPhoneWith(ctx context.Context, t *testing.T, e *testEngine, phone, password, answerMode,
	config string, extra map[string]any) *baresipPhone {
	t.Helper()
	bin := requireTool(t, "baresip")
	dir := t.TempDir()
	p := &baresipPhone{
		name:    phone,
		console: hostPort("127.0.0.1", freePort(t, "127.0.0.1")),
		out:     &lockedBuffer{},
		exited:  make(chan error, 1),
	}
	data := map[string]any{
		"Listen":     hostPort("127.0.0.1", freePort(t, "127.0.0.1")),
		"Console":    p.console,
		"ModulePath": baresipModulePath(t),
	}
	for k, v := range extra {
		data[k] = v
	}
	renderBaresipTemplate(t, config, filepath.Join(dir, "config"), data)
	renderBaresipTemplate(t, "call_accounts.tmpl", filepath.Join(dir, "accounts"), map[string]any{
		"Phone": phone, "Password": password, "Domain": testDomain,
		"Server": e.sipAddr(), "RegInt": 60, "AnswerMode": answerMode, "Codecs": extra["Codecs"],
	})
	// -t bounds baresip's own lifetime, ctx kills it if it hangs; -s
	// traces SIP into the output shown when the test fails.
	p.cmd = exec.CommandContext(ctx, bin, "-f", dir, "-t", "30", "-s")
	p.cmd.Dir = dir
	p.cmd.WaitDelay = 2 * time.Second
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", phone, p.out.String())
		}
	})
	return p
}

// command types a command into the phone's console, as a user would at
// its prompt.
func (p *baresipPhone) command(t *testing.T, cmd string) {
	t.Helper()
	conn, err := net.Dial("udp", p.console)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte(cmd + "\n"))
	require.NoError(t, err)
}

// waitOutput waits until the phone's output contains s.
func (p *baresipPhone) waitOutput(t *testing.T, within time.Duration, s string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, baresip %s has not logged %q", within, p.name, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMetric polls a metric until it has the value want.
func waitMetric(t *testing.T, e *testEngine, within time.Duration, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := e.api.metric(name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %s%v is %v, want %v", within, name, labels, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two baresip phones call each other through the engine: 1002a dials 1001,
// the engine challenges it and forks to 1001's only phone, which answers by
// itself; both phones have the call up, then the caller hangs up and the
// callee sees the call ended by the other side.
func TestE2EBaresipCall(t *testing.T) {
	requireTool(t, "baresip")
	t.Parallel()
	e := startEngine(t)
	e.addPhone(t, "1001", "1001a", "secret-1001a")
	e.addPhone(t, "1002", "1002a", "secret-1002a")

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	callee := startBaresipPhone(ctx, t, e, "1001a", "secret-1001a", "auto")
	caller := startBaresipPhone(ctx, t, e, "1002a", "secret-1002a", "manual")

	regs := e.api.waitRegistrations(15*time.Second, "both baresip phones", func(r []apiRegistration) bool {
		return len(r) == 2
	})
	got := map[string]string{}
	for _, r := range regs {
		got[r.Phone] = r.Extension
	}
	// The list is written after the registrar has the bindings in memory,
	// where calls are routed from: both phones are reachable now.
	require.Equal(t, map[string]string{"1001a": "1001", "1002a": "1002"}, got)

	// The dial command is sent to the caller's console (cons module) once
	// both phones are registered, rather than given with -e at start,
	// where it would race the callee's registration. menu provides /dial.
	caller.command(t, "/dial 1001")

	// Both ends have the call up: baresip logs "<account>: Call
	// established: <peer>" when the 200 OK/ACK exchange completes.
	caller.waitOutput(t, 10*time.Second, "Call established: sip:1001@"+testDomain)
	callee.waitOutput(t, 10*time.Second, "Call established: sip:1002a@"+testDomain)
	waitMetric(t, e, 2*time.Second, 1, "switchboard_sip_calls_total", "outcome", "answered")
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_total"), "one call, answered")
	// The call is in progress until its BYE.
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_in_progress"))
	require.Len(t, e.api.calls(), 1)
	require.Equal(t, 0.0, e.api.metric("switchboard_sip_requests_total", "method", "BYE"))

	// Audio flows both ways (RTP goes from phone to phone; the engine
	// carries only the signalling).
	caller.waitOutput(t, 5*time.Second, "incoming rtp for 'audio' established")
	callee.waitOutput(t, 5*time.Second, "incoming rtp for 'audio' established")
	// The call stays up a moment: baresip logs "Call with <peer>
	// terminated (duration: ...)" only for calls that lasted a second or
	// more.
	time.Sleep(1500 * time.Millisecond)
	require.NotContains(t, caller.out.String(), "terminated (duration")
	require.NotContains(t, callee.out.String(), "terminated (duration")

	// The caller hangs up: baresip sends BYE along the route set, through
	// the engine, and the callee reports the session closed by the peer
	// (ECONNRESET is how baresip 1.0 reports a BYE received).
	caller.command(t, "/hangup")
	caller.waitOutput(t, 5*time.Second, "Call with sip:1001@"+testDomain+" terminated")
	callee.waitOutput(t, 5*time.Second, "session closed: Connection reset by peer")
	callee.waitOutput(t, 5*time.Second, "Call with sip:1002a@"+testDomain+" terminated")
	require.NotContains(t, callee.out.String(), "call: terminate call", "the callee did not hang up itself")
	require.GreaterOrEqual(t, e.api.metric("switchboard_sip_requests_total", "method", "BYE"), 1.0,
		"the BYE went through the engine")
	waitMetric(t, e, 2*time.Second, 0, "switchboard_sip_calls_in_progress")
	require.Empty(t, e.api.calls())
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_calls_total"))
}
