package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ProvisioningBackend is what the provisioning endpoints need.
type ProvisioningBackend interface {
	// ProvisioningModels returns the models phones may be, ready to
	// encode.
	ProvisioningModels(ctx context.Context) (any, error)
	// PhoneConfig renders the provisioning file of phone name of the user
	// at ext: its file name, content and content type.
	PhoneConfig(ctx context.Context, ext, name string) (string, []byte, string, error)
	// Resync asks the registered phone name to fetch its file again and
	// returns how many of its contacts were asked.
	Resync(ctx context.Context, name string) (int, error)
}

func (s *server) provisioningRoutes() {
	s.api("GET /api/v1/provisioning/models", s.withProvisioning(func(pb ProvisioningBackend, w http.ResponseWriter, r *http.Request) error {
		models, err := pb.ProvisioningModels(r.Context())
		if err != nil {
			return fmt.Errorf("list models: %w", err)
		}
		return writeJSON(w, http.StatusOK, models)
	}))
	s.api("GET /api/v1/users/{extension}/phones/{name}/config", s.withProvisioning(func(pb ProvisioningBackend, w http.ResponseWriter, r *http.Request) error {
		name, content, contentType, err := pb.PhoneConfig(r.Context(), r.PathValue("extension"), r.PathValue("name"))
		if err != nil {
			return fmt.Errorf("render phone config: %w", err)
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Header().Set("Cache-Control", "no-store") // it holds the phone's password
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(content)
		return nil
	}))
	// POST /api/v1/phones/{name}:resync (a pattern segment cannot hold a
	// wildcard and a literal together).
	s.api("POST /api/v1/phones/{nameAction}", s.withProvisioning(func(pb ProvisioningBackend, w http.ResponseWriter, r *http.Request) error {
		name, ok := strings.CutSuffix(r.PathValue("nameAction"), ":resync")
		if !ok || name == "" {
			return NotFound("action")
		}
		n, err := pb.Resync(r.Context(), name)
		if err != nil {
			return fmt.Errorf("resync phone: %w", err)
		}
		return writeJSON(w, http.StatusOK, map[string]int{"notified": n})
	}))
}

// withProvisioning serves h with the backend's provisioning side, or 404
// when the backend has none.
func (s *server) withProvisioning(h func(ProvisioningBackend, http.ResponseWriter, *http.Request) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pb, ok := s.backend.(ProvisioningBackend)
		if !ok {
			return &Error{Status: http.StatusNotFound, Message: "provisioning is not available"}
		}
		return h(pb, w, r)
	}
}
