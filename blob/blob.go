// Package blob keeps audio (voicemail messages, greetings, name
// recordings, call recordings) outside the database. Rows hold keys; the bytes live here.
// A writer puts the blob first and commits the row that names it after,
// so a row never names audio that is not all there.
package blob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("blob not found")

// Store is where blobs live. A local directory is the default; a shared
// object store can stand in when several engines serve one domain.
type Store interface {
	// Put stores r under key, durably, before returning: once it returns
	// nil the blob survives a crash. It returns the size written.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the blob under key and its size, or ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes the blob under key; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// NewKey returns a fresh key under prefix (e.g. "voicemail/1001"): random,
// so that keys are never reused and cannot be guessed.
func NewKey(prefix, ext string) string {
	return strings.Trim(prefix, "/") + "/" + strings.ToLower(rand.Text()) + ext
}

// CheckKey reports whether key is one Put accepts: slash-separated parts
// of lower-case letters, digits, '-', '_' and '.', none empty or dot-only.
func CheckKey(key string) error {
	if key == "" || len(key) > 255 {
		return fmt.Errorf("blob key %q: 1 to 255 characters", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || strings.Trim(part, ".") == "" {
			return fmt.Errorf("blob key %q: empty or dot-only part", key)
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return fmt.Errorf("blob key %q: character %q", key, r)
			}
		}
	}
	return nil
}

// Dir is a Store in a local directory.
type Dir struct {
	root string
}

var _ Store = (*Dir)(nil)

// NewDir returns the Store in directory root, creating it.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file beside the target, syncs it, renames it
// into place and syncs the directory: a crash leaves either no blob or the
// whole blob, never part of one.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("put blob %s: %w", key, err)
	}
	return n, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (d *Dir) Open(_ context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("open blob %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	return f, st.Size(), nil
}

func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
