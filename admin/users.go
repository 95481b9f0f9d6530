package admin

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
)

func (s *server) createUser(w http.ResponseWriter, r *http.Request) error {
	in := defaultUserInput()
	if err := readJSON(w, r, &in, userReadOnly); err != nil {
		return err
	}
	if err := checkExtensionField(in.Extension); err != nil {
		return err
	}
	u, err := s.backend.CreateUser(r.Context(), in)
	if err != nil {
		return fmt.Errorf("create user %s: %w", in.Extension, err)
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(u.Extension))
	return writeJSON(w, http.StatusCreated, userOut(u))
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", defaultListLimit, 1, maxListLimit)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := UserListFilter{Site: q.Get("site"), Department: q.Get("department"), Limit: limit, Offset: offset}
	users, total, err := s.backend.ListUsers(r.Context(), f)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	out := make([]User, len(users))
	for i, u := range users {
		out[i] = userOut(u)
	}
	return writeJSON(w, http.StatusOK, struct {
		Users []User `json:"users"`
		Total int    `json:"total"`
	}{out, total})
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	u, err := s.backend.GetUser(r.Context(), ext)
	if err != nil {
		return fmt.Errorf("get user %s: %w", ext, err)
	}
	return writeJSON(w, http.StatusOK, userOut(u))
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	var p UserPatch
	if err := readJSON(w, r, &p, userReadOnly); err != nil {
		return err
	}
	if p.Extension != nil {
		if err := checkExtensionField(*p.Extension); err != nil {
			return err
		}
	}
	u, err := s.backend.UpdateUser(r.Context(), ext, p)
	if err != nil {
		return fmt.Errorf("update user %s: %w", ext, err)
	}
	return writeJSON(w, http.StatusOK, userOut(u))
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	ext, err := pathExtension(r)
	if err != nil {
		return err
	}
	if err := s.backend.DeleteUser(r.Context(), ext); err != nil {
		return fmt.Errorf("delete user %s: %w", ext, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userOut prepares u for the wire: [] rather than null for no emails, and
// times in UTC.
func userOut(u User) User {
	if u.Emails == nil {
		u.Emails = []string{}
	}
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	return u
}
