package switchboard_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"
)

// baresipModuleDirs are where distributions install baresip's modules.
var baresipModuleDirs = []string{
	"/usr/lib/baresip/modules",
	"/usr/local/lib/baresip/modules",
	"/usr/lib/x86_64-linux-gnu/baresip/modules",
	"/usr/lib/aarch64-linux-gnu/baresip/modules",
}

// baresipModulePath finds the directory holding account.so: the Debian
// package (baresip-core) installs it under /usr/lib/baresip/modules.
func baresipModulePath(t *testing.T) string {
	t.Helper()
	for _, d := range baresipModuleDirs {
		if _, err := os.Stat(filepath.Join(d, "account.so")); err == nil {
			return d
		}
	}
	t.Fatalf("baresip is installed but account.so is in none of %v", baresipModuleDirs)
	return ""
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writeTemplate renders testdata/baresip/<name>.tmpl into dir/<name>.
func writeTemplate(t *testing.T, dir, name string, data any) {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "baresip", name+".tmpl"))
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, tmpl.Execute(&b, data))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o600))
}

func TestE2EBaresip(t *testing.T) {
	bin := requireTool(t, "baresip")
	t.Parallel()
	// With the engine's defaults, as a new user runs it.
	e := startEngine(t)

	// Credentials as an administrator gets them: the API generates the SIP
	// password and shows it once.
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	var phone struct {
		Name        string `json:"name"`
		SIPPassword string `json:"sip_password"`
	}
	e.api.must(http.MethodPost, "/api/v1/users/1001/phones", map[string]any{"name": "1001a"}, http.StatusCreated, &phone)
	require.NotEmpty(t, phone.SIPPassword, "a generated SIP password is returned on creation")

	dir := t.TempDir()
	port := freePort(t, "127.0.0.1")
	writeTemplate(t, dir, "config", map[string]any{
		"Listen":     hostPort("127.0.0.1", port),
		"ModulePath": baresipModulePath(t),
	})
	writeTemplate(t, dir, "accounts", map[string]any{
		"Phone": phone.Name, "Password": phone.SIPPassword, "Domain": testDomain,
		"Server": e.sipAddr(), "RegInt": 60,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	// -t bounds baresip's own lifetime; the context kills it if it hangs.
	cmd := exec.CommandContext(ctx, bin, "-f", dir, "-t", "30", "-s")
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("baresip output:\n%s", out.String())
		}
	})

	regs := e.api.waitRegistrations(15*time.Second, "listing baresip", func(r []apiRegistration) bool {
		return len(r) == 1
	})
	reg := regs[0]
	require.Equal(t, "1001a", reg.Phone)
	require.Equal(t, "1001", reg.Extension)
	require.Contains(t, strings.ToLower(reg.UserAgent), "baresip")
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(port), reg.Source)
	require.True(t, strings.EqualFold("UDP", reg.Transport), "transport %q", reg.Transport)
	require.True(t, strings.HasPrefix(reg.Contact, "sip:1001a"), "contact %q", reg.Contact)
	require.Contains(t, reg.Contact, "@127.0.0.1:"+strconv.Itoa(port))
	require.WithinDuration(t, time.Now().Add(60*time.Second), reg.ExpiresAt, 5*time.Second)
	require.Equal(t, 1.0, e.api.metric("switchboard_sip_registrations"))

	// A graceful exit un-registers: baresip answers SIGTERM by sending
	// REGISTER with expires=0 for its contact before it quits.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		require.NoError(t, err, "baresip exit")
	case <-time.After(10 * time.Second):
		t.Fatal("baresip still running 10s after SIGTERM")
	}
	e.api.waitRegistrations(5*time.Second, "empty after baresip quit", func(r []apiRegistration) bool {
		return len(r) == 0
	})
	require.Equal(t, 0.0, e.api.metric("switchboard_sip_registrations"))
}
