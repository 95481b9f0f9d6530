package switchboard

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"switchboard/routing"
)

// The generated token is printed once and survives restarts as a hash; a
// configured token replaces it for good.
func TestAdminTokenLifecycle(t *testing.T) {
	dir := t.TempDir()
	open := func(token string) (*Engine, string) {
		var out bytes.Buffer
		e, err := New(context.Background(), Config{
			DBPath: filepath.Join(dir, "sb.db"), DataDir: filepath.Join(dir, "data"),
			SIPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Domain: "127.0.0.1", AdminToken: token,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: &out,
		})
		require.NoError(t, err)
		return e, out.String()
	}

	e, out := open("")
	m := regexp.MustCompile(`only its hash is stored\):\n  (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, "first start prints the token: %q", out)
	generated := m[1]
	require.True(t, e.checkToken(generated))
	require.False(t, e.checkToken(generated+"x"))
	stored, _, err := e.db.Settings().Get(context.Background(), "admin_token_sha256")
	require.NoError(t, err)
	require.NotContains(t, stored, generated, "only a hash is stored")
	require.NoError(t, e.Close())

	e, out = open("")
	require.NotContains(t, out, generated, "printed once only")
	require.True(t, e.checkToken(generated))
	require.NoError(t, e.Close())

	e, _ = open("replacement-token")
	require.True(t, e.checkToken("replacement-token"))
	require.False(t, e.checkToken(generated))
	require.NoError(t, e.Close())

	e, _ = open("")
	require.True(t, e.checkToken("replacement-token"), "the configured token stays")
	require.NoError(t, e.Close())
}

// A fresh install refuses premium-rate and satellite destinations; an admin
// who empties the list keeps it empty across restarts.
func TestDenyListSeededOnce(t *testing.T) {
	dir := t.TempDir()
	open := func() *Engine {
		e, err := New(context.Background(), Config{
			DBPath: filepath.Join(dir, "sb.db"), DataDir: filepath.Join(dir, "data"),
			SIPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Domain: "127.0.0.1", AdminToken: "t",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: io.Discard,
		})
		require.NoError(t, err)
		return e
	}
	e := open()
	list, err := e.db.DeniedPrefixes().Find(context.Background())
	require.NoError(t, err)
	require.Len(t, list, len(routing.DefaultDenyList))
	_, err = e.db.DeniedPrefixes().Replace(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, e.Close())

	e = open()
	defer e.Close()
	list, err = e.db.DeniedPrefixes().Find(context.Background())
	require.NoError(t, err)
	require.Empty(t, list)
}
