package admin

import (
	"fmt"
	"net/http"
	"time"
)

// Call is a call in progress as GET /api/v1/calls shows it.
type Call struct {
	CallID          string `json:"call_id"`
	From            string `json:"from"`      // caller ID number, "" when anonymous
	FromName        string `json:"from_name"` // caller ID name
	CallerExtension string `json:"caller_extension"`
	FromTrunk       bool   `json:"from_trunk"`
	Dialled         string `json:"dialled"`
	State           string `json:"state"` // ringing or answered
	// Extensions are the users whose call paths the call occupies.
	Extensions []string   `json:"extensions"`
	AnsweredBy string     `json:"answered_by"` // the phone, "voicemail", "" for the provider
	External   bool       `json:"external"`    // a leg goes out through the trunk
	Started    time.Time  `json:"started"`
	Answered   *time.Time `json:"answered"`
	DurationS  int        `json:"duration_s"` // since answered, 0 while ringing
}

type callList struct {
	Calls []Call `json:"calls"`
}

func (s *server) listCalls(w http.ResponseWriter, r *http.Request) error {
	calls, err := s.backend.ListCalls(r.Context())
	if err != nil {
		return fmt.Errorf("list calls: %w", err)
	}
	now := s.now()
	for i := range calls {
		c := &calls[i]
		if c.Extensions == nil {
			c.Extensions = []string{}
		}
		if c.Answered != nil {
			c.DurationS = int(now.Sub(*c.Answered) / time.Second)
		}
	}
	if calls == nil {
		calls = []Call{}
	}
	return writeJSON(w, http.StatusOK, callList{Calls: calls})
}
