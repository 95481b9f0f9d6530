package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// RecordingsBackend is what the call recording endpoints need. Recordings
// are made by calls; the API lists, serves and deletes what exists.
type RecordingsBackend interface {
	// ListRecordings returns a page of recordings, newest first, and the
	// cursor of the next page ("" after the last). An unknown extension
	// is NotFound("user"); a cursor it did not give is Invalid("after").
	ListRecordings(ctx context.Context, f RecordingFilter) ([]Recording, string, error)
	GetRecording(ctx context.Context, id int64) (Recording, error)
	// RecordingAudio opens the WAV of a recording (8 kHz, 16-bit, both
	// directions mixed).
	RecordingAudio(ctx context.Context, id int64) (io.ReadCloser, int64, error)
	// DeleteRecording deletes a recording; its audio goes once no other
	// owner's recording of the same call names it.
	DeleteRecording(ctx context.Context, id int64) error
}

// RecordingFilter is the query of GET /api/v1/recordings.
type RecordingFilter struct {
	Extension string    // the owner; "" for every user
	From      time.Time // started at or after; zero for no bound
	To        time.Time // started before; zero for no bound
	Limit     int       // page size, always between 1 and maxListLimit
	After     string    // the next of the page before; "" for the first
}

// Recording is one call recording. Extension is its owner: the user whose
// record_calls caused it; a call between two recorded users is a recording
// for each.
type Recording struct {
	ID           int64     `json:"id"`
	Extension    string    `json:"extension"`
	CallerNumber string    `json:"caller_number"`
	CallerName   string    `json:"caller_name"`
	Callee       string    `json:"callee"`
	CallID       string    `json:"call_id"`
	StartedAt    time.Time `json:"started_at"`
	DurationS    int64     `json:"duration_s"` // rounded to the nearest second
	SizeBytes    int64     `json:"size_bytes"`
}

func (s *server) recordingRoutes() {
	s.api("GET /api/v1/recordings", s.withRec(s.listRecordings))
	s.api("GET /api/v1/recordings/{id}", s.withRec(s.getRecording))
	s.api("GET /api/v1/recordings/{id}/audio", s.withRec(s.recordingAudio))
	s.api("DELETE /api/v1/recordings/{id}", s.withRec(s.deleteRecording))
}

// recHandler is a handler of the recording endpoints.
type recHandler func(rb RecordingsBackend, w http.ResponseWriter, r *http.Request) error

// withRec serves h with the backend's recordings side, or 404 when the
// backend has none.
func (s *server) withRec(h recHandler) handlerFunc {
	return withSide(s, "call recordings are not available", h)
}

func recordingID(r *http.Request) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, NotFound("recording")
	}
	return id, nil
}

// queryTime reads the RFC 3339 query parameter name; zero when absent.
func queryTime(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, Invalid(name, "time", name+" must be an RFC 3339 time, like 2026-03-01T09:00:00Z")
	}
	return t, nil
}

type recordingList struct {
	Recordings []Recording `json:"recordings"`
	Next       string      `json:"next"`
}

func (s *server) listRecordings(rb RecordingsBackend, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := RecordingFilter{Extension: q.Get("extension"), After: q.Get("after")}
	if f.Extension != "" {
		if err := checkExtensionField(f.Extension); err != nil {
			return err
		}
	}
	var err error
	if f.From, err = queryTime(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(r, "to"); err != nil {
		return err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Invalid("to", "range", "to must be after from")
	}
	if f.Limit, err = queryInt(r, "limit", defaultListLimit, 1, maxListLimit); err != nil {
		return err
	}
	list, next, err := rb.ListRecordings(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list recordings: %w", err)
	}
	out := recordingList{Recordings: make([]Recording, len(list)), Next: next}
	for i, rec := range list {
		rec.StartedAt = rec.StartedAt.UTC()
		out.Recordings[i] = rec
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) getRecording(rb RecordingsBackend, w http.ResponseWriter, r *http.Request) error {
	id, err := recordingID(r)
	if err != nil {
		return err
	}
	rec, err := rb.GetRecording(r.Context(), id)
	if err != nil {
		return fmt.Errorf("get recording %d: %w", id, err)
	}
	rec.StartedAt = rec.StartedAt.UTC()
	return writeJSON(w, http.StatusOK, rec)
}

func (s *server) recordingAudio(rb RecordingsBackend, w http.ResponseWriter, r *http.Request) error {
	id, err := recordingID(r)
	if err != nil {
		return err
	}
	rc, size, err := rb.RecordingAudio(r.Context(), id)
	if err != nil {
		return fmt.Errorf("open recording %d audio: %w", id, err)
	}
	serveWAV(w, rc, size)
	return nil
}

func (s *server) deleteRecording(rb RecordingsBackend, w http.ResponseWriter, r *http.Request) error {
	id, err := recordingID(r)
	if err != nil {
		return err
	}
	if err := rb.DeleteRecording(r.Context(), id); err != nil {
		return fmt.Errorf("delete recording %d: %w", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
