package admin

import (
	"fmt"
	"net/http"
)

func (s *server) getAllowBlock(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	ab, err := s.backend.GetAllowBlock(r.Context(), ext)
	if err != nil {
		return fmt.Errorf("get allow/block lists of user %s: %w", ext, err)
	}
	return writeJSON(w, http.StatusOK, allowBlockOut(ab))
}

// putAllowBlock replaces both lists and the flag: a member left out is
// empty (or false).
func (s *server) putAllowBlock(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	var in AllowBlock
	if err := readJSON(w, r, &in, nil); err != nil {
		return err
	}
	if in.Allowed == nil {
		in.Allowed = []string{}
	}
	if in.Blocked == nil {
		in.Blocked = []string{}
	}
	ab, err := s.backend.PutAllowBlock(r.Context(), ext, in)
	if err != nil {
		return fmt.Errorf("set allow/block lists of user %s: %w", ext, err)
	}
	return writeJSON(w, http.StatusOK, allowBlockOut(ab))
}

// allowBlockOut prepares ab for the wire: [] rather than null.
func allowBlockOut(ab AllowBlock) AllowBlock {
	if ab.Allowed == nil {
		ab.Allowed = []string{}
	}
	if ab.Blocked == nil {
		ab.Blocked = []string{}
	}
	return ab
}
