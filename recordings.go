package switchboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"switchboard/admin"
	"switchboard/blob"
	"switchboard/store"
)

var _ admin.RecordingsBackend = (*adminBackend)(nil)

func apiRecording(r store.Recording) admin.Recording {
	return admin.Recording{ID: r.ID, Extension: r.Extension, CallerNumber: r.CallerNumber, CallerName: r.CallerName,
		Callee: r.Callee, CallID: r.CallID, StartedAt: r.StartedAt,
		DurationS: int64((r.Duration + time.Second/2) / time.Second), SizeBytes: r.SizeBytes}
}

func (b *adminBackend) ListRecordings(ctx context.Context, f admin.RecordingFilter) ([]admin.Recording, string, error) {
	page, err := b.db.Recordings().Recordings(ctx, store.RecordingFilter{Extension: f.Extension, From: f.From, To: f.To,
		Limit: f.Limit, After: f.After})
	if err != nil {
		return nil, "", apiError(err, "user")
	}
	out := make([]admin.Recording, len(page.Recordings))
	for i, r := range page.Recordings {
		out[i] = apiRecording(r)
	}
	return out, page.Next, nil
}

func (b *adminBackend) GetRecording(ctx context.Context, id int64) (admin.Recording, error) {
	r, err := b.db.Recordings().Recording(ctx, id)
	if err != nil {
		return admin.Recording{}, apiError(err, "recording")
	}
	return apiRecording(r), nil
}

func (b *adminBackend) RecordingAudio(ctx context.Context, id int64) (io.ReadCloser, int64, error) {
	r, err := b.db.Recordings().Recording(ctx, id)
	if err != nil {
		return nil, 0, apiError(err, "recording")
	}
	rc, size, err := b.audio.blobs.Open(ctx, r.AudioKey)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, fmt.Errorf("audio %s of recording %d is missing: %w", r.AudioKey, id, err)
	}
	return rc, size, err
}

func (b *adminBackend) DeleteRecording(ctx context.Context, id int64) error {
	if err := b.db.Recordings().DeleteRecording(ctx, id); err != nil {
		return apiError(err, "recording")
	}
	b.audio.sweepSoon()
	return nil
}
