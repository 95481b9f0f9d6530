package admin

import (
	"fmt"
	"net/http"
	"net/url"
)

// createdPhone is the answer to a phone creation.
type createdPhone struct {
	Phone
	// SIPPassword is the password the backend generated because the request
	// had none. This answer is the only place it is ever shown, so that the
	// admin can configure the phone with it; later reads never return it.
	SIPPassword string `json:"sip_password,omitempty"`
}

func (s *server) createPhone(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	var in PhoneInput
	if err := readJSON(w, r, &in, phoneReadOnly); err != nil {
		return err
	}
	if err := checkPhoneNameField(in.Name); err != nil {
		return err
	}
	p, err := s.backend.CreatePhone(r.Context(), ext, in)
	if err != nil {
		return fmt.Errorf("create phone %s of user %s: %w", in.Name, ext, err)
	}
	out := createdPhone{Phone: phoneOut(p)}
	if in.SIPPassword == "" {
		// A password the client chose is not echoed: it is write-only.
		out.SIPPassword = p.GeneratedSIPPassword
	}
	w.Header().Set("Location",
		"/api/v1/users/"+url.PathEscape(p.Extension)+"/phones/"+url.PathEscape(p.Name))
	return writeJSON(w, http.StatusCreated, out)
}

func (s *server) listPhones(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	phones, err := s.backend.ListPhones(r.Context(), ext)
	if err != nil {
		return fmt.Errorf("list phones of user %s: %w", ext, err)
	}
	out := make([]Phone, len(phones))
	for i, p := range phones {
		out[i] = phoneOut(p)
	}
	return writeJSON(w, http.StatusOK, struct {
		Phones []Phone `json:"phones"`
	}{out})
}

func (s *server) getPhone(w http.ResponseWriter, r *http.Request) error {
	ext, name, err := pathPhone(r)
	if err != nil {
		return err
	}
	p, err := s.backend.GetPhone(r.Context(), ext, name)
	if err != nil {
		return fmt.Errorf("get phone %s of user %s: %w", name, ext, err)
	}
	return writeJSON(w, http.StatusOK, phoneOut(p))
}

func (s *server) updatePhone(w http.ResponseWriter, r *http.Request) error {
	ext, name, err := pathPhone(r)
	if err != nil {
		return err
	}
	var patch PhonePatch
	if err := readJSON(w, r, &patch, phonePatchReadOnly); err != nil {
		return err
	}
	p, err := s.backend.UpdatePhone(r.Context(), ext, name, patch)
	if err != nil {
		return fmt.Errorf("update phone %s of user %s: %w", name, ext, err)
	}
	return writeJSON(w, http.StatusOK, phoneOut(p))
}

func (s *server) deletePhone(w http.ResponseWriter, r *http.Request) error {
	ext, name, err := pathPhone(r)
	if err != nil {
		return err
	}
	if err := s.backend.DeletePhone(r.Context(), ext, name); err != nil {
		return fmt.Errorf("delete phone %s of user %s: %w", name, ext, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// phoneOut prepares p for the wire: {} rather than null for no overrides,
// times in UTC, and no generated password.
func phoneOut(p Phone) Phone {
	if p.Overrides == nil {
		p.Overrides = map[string]string{}
	}
	p.CreatedAt = p.CreatedAt.UTC()
	p.UpdatedAt = p.UpdatedAt.UTC()
	p.GeneratedSIPPassword = ""
	return p
}
