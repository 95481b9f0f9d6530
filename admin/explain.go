package admin

import (
	"fmt"
	"net/http"
	"time"
)

// maxCallerDigits bounds the from parameter of an explanation.
const maxCallerDigits = 32

// explain answers GET /api/v1/users/{extension}/explain?from=&at=: what a
// call from the number (or extension) from at the instant at would do. An
// absent from is an anonymous caller; an absent at is now.
func (s *server) explain(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from := q.Get("from")
	if from != "" && !validCallerNumber(from) {
		// An unescaped '+' in a query reads as a space.
		return Invalid("from", "format",
			fmt.Sprintf("from must be an optional + (written %%2B in a URL) and 1 to %d digits", maxCallerDigits))
	}
	at := s.now()
	if v := q.Get("at"); v != "" {
		if at, err = time.Parse(time.RFC3339, v); err != nil {
			return Invalid("at", "format",
				"at must be an RFC 3339 time such as 2026-03-03T10:00:00-05:00 (a '+' written %2B in a URL)")
		}
	}
	ex, err := s.backend.Explain(r.Context(), ext, ExplainQuery{From: from, At: at})
	if err != nil {
		return fmt.Errorf("explain a call to user %s: %w", ext, err)
	}
	return writeJSON(w, http.StatusOK, explanationOut(ex))
}

// validCallerNumber reports whether s is an optional '+' and 1 to
// maxCallerDigits digits.
func validCallerNumber(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if len(s) < 1 || len(s) > maxCallerDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// explanationOut prepares ex for the wire: [] rather than null for empty
// lists.
func explanationOut(ex Explanation) Explanation {
	stages := make([]ExplainStage, len(ex.Stages))
	for i, st := range ex.Stages {
		if st.Targets == nil {
			st.Targets = []ExplainTarget{}
		}
		stages[i] = st
	}
	ex.Stages = stages
	if ex.Explanation == nil {
		ex.Explanation = []string{}
	}
	return ex
}
