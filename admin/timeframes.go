package admin

import (
	"fmt"
	"net/http"
	"net/url"
)

func (s *server) createTimeFrame(w http.ResponseWriter, r *http.Request) error {
	var in TimeFrameInput
	if err := readJSON(w, r, &in, timeFrameReadOnly); err != nil {
		return err
	}
	tf, err := s.backend.CreateTimeFrame(r.Context(), in)
	if err != nil {
		return fmt.Errorf("create time frame %q: %w", in.Name, err)
	}
	w.Header().Set("Location", "/api/v1/time-frames/"+url.PathEscape(tf.Name))
	return writeJSON(w, http.StatusCreated, timeFrameOut(tf))
}

func (s *server) listTimeFrames(w http.ResponseWriter, r *http.Request) error {
	tfs, err := s.backend.ListTimeFrames(r.Context())
	if err != nil {
		return fmt.Errorf("list time frames: %w", err)
	}
	out := make([]TimeFrame, len(tfs))
	for i, tf := range tfs {
		out[i] = timeFrameOut(tf)
	}
	return writeJSON(w, http.StatusOK, struct {
		TimeFrames []TimeFrame `json:"time_frames"`
	}{out})
}

func (s *server) getTimeFrame(w http.ResponseWriter, r *http.Request) error {
	name, err := pathTimeFrame(r)
	if err != nil {
		return err
	}
	tf, err := s.backend.GetTimeFrame(r.Context(), name)
	if err != nil {
		return fmt.Errorf("get time frame %q: %w", name, err)
	}
	return writeJSON(w, http.StatusOK, timeFrameOut(tf))
}

func (s *server) updateTimeFrame(w http.ResponseWriter, r *http.Request) error {
	name, err := pathTimeFrame(r)
	if err != nil {
		return err
	}
	var p TimeFramePatch
	if err := readJSON(w, r, &p, timeFrameReadOnly); err != nil {
		return err
	}
	tf, err := s.backend.UpdateTimeFrame(r.Context(), name, p)
	if err != nil {
		return fmt.Errorf("update time frame %q: %w", name, err)
	}
	return writeJSON(w, http.StatusOK, timeFrameOut(tf))
}

func (s *server) deleteTimeFrame(w http.ResponseWriter, r *http.Request) error {
	name, err := pathTimeFrame(r)
	if err != nil {
		return err
	}
	if err := s.backend.DeleteTimeFrame(r.Context(), name); err != nil {
		return fmt.Errorf("delete time frame %q: %w", name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// timeFrameOut prepares tf for the wire: [] rather than null for empty
// lists, and times in UTC.
func timeFrameOut(tf TimeFrame) TimeFrame {
	weekly := make([]WeeklyRange, len(tf.Weekly))
	for i, w := range tf.Weekly {
		if w.Days == nil {
			w.Days = []string{}
		}
		weekly[i] = w
	}
	tf.Weekly = weekly
	if tf.Dates == nil {
		tf.Dates = []DateRange{}
	}
	tf.CreatedAt = tf.CreatedAt.UTC()
	tf.UpdatedAt = tf.UpdatedAt.UTC()
	return tf
}

// validTimeFrameName reports whether s is 1 to 64 letters, digits, spaces,
// '.', '_' or '-', without a space at either end: the names a time frame
// can have.
func validTimeFrameName(s string) bool {
	if len(s) < 1 || len(s) > 64 || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == ' ', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// pathTimeFrame returns the {name} of the route. One that cannot exist
// answers 404 without asking the backend.
func pathTimeFrame(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !validTimeFrameName(name) {
		return "", NotFound("time frame")
	}
	return name, nil
}
