package admin

import (
	"fmt"
	"net/http"
)

func (s *server) listRegistrations(w http.ResponseWriter, r *http.Request) error {
	ext := r.URL.Query().Get("extension")
	if ext != "" {
		if err := checkExtensionField(ext); err != nil {
			return err
		}
	}
	regs, err := s.backend.ListRegistrations(r.Context(), ext)
	if err != nil {
		return fmt.Errorf("list registrations: %w", err)
	}
	out := make([]Registration, len(regs))
	for i, reg := range regs {
		reg.ExpiresAt = reg.ExpiresAt.UTC()
		out[i] = reg
	}
	return writeJSON(w, http.StatusOK, struct {
		Registrations []Registration `json:"registrations"`
	}{out})
}
