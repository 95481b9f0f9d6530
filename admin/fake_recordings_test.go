package admin

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var _ RecordingsBackend = (*fakeRecordings)(nil)

// fakeRecordings is the fake backend with call recordings: kept in a
// slice with their audio, listed newest first, a page's cursor the id of
// its last recording. The recordings side is optional, so it stands beside
// fakeBackend rather than in it.
type fakeRecordings struct {
	*fakeBackend

	recs       []Recording // guarded by fakeBackend.mu
	audio      map[int64][]byte
	lastFilter RecordingFilter
}

func newFakeRecordings() *fakeRecordings {
	return &fakeRecordings{fakeBackend: newFakeBackend(), audio: map[int64][]byte{}}
}

// add files a recording with its audio, as a call would.
func (f *fakeRecordings) add(rec Recording, audio []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, rec)
	f.audio[rec.ID] = audio
}

func (f *fakeRecordings) ListRecordings(_ context.Context, filter RecordingFilter) ([]Recording, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, "", err
	}
	f.lastFilter = filter
	if filter.Extension != "" && f.users[filter.Extension] == nil {
		return nil, "", NotFound("user")
	}
	var after int64
	if filter.After != "" {
		n, err := strconv.ParseInt(filter.After, 10, 64)
		if err != nil {
			return nil, "", Invalid("after", "cursor", "after is the next of a previous page")
		}
		after = n
	}
	list := slices.Clone(f.recs)
	slices.SortFunc(list, func(a, b Recording) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	var out []Recording
	started := after == 0
	for _, r := range list {
		if !started {
			started = r.ID == after
			continue
		}
		if filter.Extension != "" && r.Extension != filter.Extension ||
			!filter.From.IsZero() && r.StartedAt.Before(filter.From) ||
			!filter.To.IsZero() && !r.StartedAt.Before(filter.To) {
			continue
		}
		out = append(out, r)
	}
	if len(out) > filter.Limit {
		out = out[:filter.Limit]
		return out, strconv.FormatInt(out[len(out)-1].ID, 10), nil
	}
	return out, "", nil
}

func (f *fakeRecordings) find(id int64) (int, error) {
	i := slices.IndexFunc(f.recs, func(r Recording) bool { return r.ID == id })
	if i < 0 {
		return 0, NotFound("recording")
	}
	return i, nil
}

func (f *fakeRecordings) GetRecording(_ context.Context, id int64) (Recording, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return Recording{}, err
	}
	i, err := f.find(id)
	if err != nil {
		return Recording{}, err
	}
	return f.recs[i], nil
}

func (f *fakeRecordings) RecordingAudio(_ context.Context, id int64) (io.ReadCloser, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return nil, 0, err
	}
	if _, err := f.find(id); err != nil {
		return nil, 0, err
	}
	a := f.audio[id]
	return io.NopCloser(bytes.NewReader(a)), int64(len(a)), nil
}

func (f *fakeRecordings) DeleteRecording(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(); err != nil {
		return err
	}
	i, err := f.find(id)
	if err != nil {
		return err
	}
	f.recs = slices.Delete(f.recs, i, i+1)
	delete(f.audio, id)
	return nil
}

// newRecordingsEnv is newTestEnv with a backend that has recordings.
func newRecordingsEnv(t *testing.T) (*testEnv, *fakeRecordings) {
	t.Helper()
	fake := newFakeRecordings()
	e := &testEnv{backend: fake.fakeBackend, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	h := NewHandler(Config{
		Backend: fake,
		CheckToken: func(tok string) bool {
			return subtle.ConstantTimeCompare([]byte(tok), []byte(testToken)) == 1
		},
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Now:    func() time.Time { return fake.now },
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e, fake
}
