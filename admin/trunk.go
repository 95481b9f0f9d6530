package admin

import (
	"fmt"
	"net/http"
)

func (s *server) getTrunk(w http.ResponseWriter, r *http.Request) error {
	t, err := s.backend.GetTrunk(r.Context())
	if err != nil {
		return fmt.Errorf("get trunk: %w", err)
	}
	return writeJSON(w, http.StatusOK, trunkOut(t))
}

// putTrunk replaces the trunk; members left out take their zero values
// (port 5060 and udp by the backend's defaults).
func (s *server) putTrunk(w http.ResponseWriter, r *http.Request) error {
	var in TrunkInput
	if err := readJSON(w, r, &in, []string{"has_password", "registration"}); err != nil {
		return err
	}
	t, err := s.backend.PutTrunk(r.Context(), in)
	if err != nil {
		return fmt.Errorf("set trunk: %w", err)
	}
	return writeJSON(w, http.StatusOK, trunkOut(t))
}

func trunkOut(t Trunk) Trunk {
	if t.InboundSources == nil {
		t.InboundSources = []string{}
	}
	return t
}

type deniedPrefixes struct {
	Prefixes []DeniedPrefix `json:"prefixes"`
}

func (s *server) listDeniedPrefixes(w http.ResponseWriter, r *http.Request) error {
	list, err := s.backend.ListDeniedPrefixes(r.Context())
	if err != nil {
		return fmt.Errorf("list denied prefixes: %w", err)
	}
	return writeJSON(w, http.StatusOK, deniedPrefixesOut(list))
}

// putDeniedPrefixes replaces the whole deny list: {"prefixes": [...]}.
func (s *server) putDeniedPrefixes(w http.ResponseWriter, r *http.Request) error {
	var in deniedPrefixes
	if err := readJSON(w, r, &in, nil); err != nil {
		return err
	}
	list, err := s.backend.PutDeniedPrefixes(r.Context(), in.Prefixes)
	if err != nil {
		return fmt.Errorf("set denied prefixes: %w", err)
	}
	return writeJSON(w, http.StatusOK, deniedPrefixesOut(list))
}

func deniedPrefixesOut(list []DeniedPrefix) deniedPrefixes {
	if list == nil {
		list = []DeniedPrefix{}
	}
	return deniedPrefixes{Prefixes: list}
}
