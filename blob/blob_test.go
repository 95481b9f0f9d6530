package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDirPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDir(root)
	require.NoError(t, err)
	key := NewKey("voicemail/1001", ".wav")
	require.NoError(t, CheckKey(key))

	n, err := d.Put(ctx, key, strings.NewReader("RIFF audio"))
	require.NoError(t, err)
	require.EqualValues(t, 10, n)
	r, size, err := d.Open(ctx, key)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, r.Close())
	require.NoError(t, err)
	require.Equal(t, "RIFF audio", string(b))
	require.EqualValues(t, 10, size)

	require.NoError(t, d.Delete(ctx, key))
	require.NoError(t, d.Delete(ctx, key), "deleting twice is fine")
	_, _, err = d.Open(ctx, key)
	require.ErrorIs(t, err, ErrNotFound)
	require.NotEqual(t, NewKey("a", ""), NewKey("a", ""), "keys are never reused")
}

// A failed write leaves nothing behind: no blob, no temporary file.
func TestDirPutFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDir(root)
	require.NoError(t, err)
	broken := io.MultiReader(bytes.NewReader(make([]byte, 4096)), errReader{})
	_, err = d.Put(ctx, "voicemail/x/m.wav", broken)
	require.Error(t, err)
	_, _, err = d.Open(ctx, "voicemail/x/m.wav")
	require.ErrorIs(t, err, ErrNotFound)
	entries, err := os.ReadDir(filepath.Join(root, "voicemail", "x"))
	require.NoError(t, err)
	require.Empty(t, entries)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = d.Put(cancelled, "voicemail/x/n.wav", strings.NewReader("x"))
	require.ErrorIs(t, err, context.Canceled)
}

func TestCheckKey(t *testing.T) {
	for _, bad := range []string{"", "../etc/passwd", "a//b", "a/./b", "/abs", "A/b", "a b", "a\\b", strings.Repeat("a", 256)} {
		require.Error(t, CheckKey(bad), bad)
	}
	for _, good := range []string{"voicemail/1001/abc.wav", "greetings/2/x-y_z.wav", "a"} {
		require.NoError(t, CheckKey(good), good)
	}
	d, err := NewDir(t.TempDir())
	require.NoError(t, err)
	_, err = d.Put(context.Background(), "../escape", strings.NewReader("x"))
	require.Error(t, err)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }
