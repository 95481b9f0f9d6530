package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// Page sizes of GET /api/v1/users.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// readJSON decodes the JSON object in r's body into dst, strictly: the body
// must be application/json, at most maxBodyBytes, a single object with no
// unknown field and no null member. readOnly names fields that exist in
// responses but cannot be written, so that sending one back gets a clearer
// rule than an unknown field. Every failure is an *Error.
func readJSON(w http.ResponseWriter, r *http.Request, dst any, readOnly []string) error {
	return readJSONNullable(w, r, dst, readOnly, nil)
}

// readJSONNullable is readJSON for a body whose members named in nullable
// may be null: a forward or a simultaneous ring that null clears. Nulls in
// any other member are still refused.
func readJSONNullable(w http.ResponseWriter, r *http.Request, dst any, readOnly, nullable []string) error {
	if err := checkContentType(r); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &Error{
				Status:  http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("request body exceeds %d bytes", maxBodyBytes),
				Rule:    "max_size",
			}
		}
		return &Error{Status: http.StatusBadRequest, Message: "request body could not be read", Rule: "body", Err: err}
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, dst, readOnly)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("", "json", "request body must hold a single JSON object")
	}
	return rejectNulls(body, nullable)
}

// checkContentType accepts application/json, with or without parameters
// such as charset.
func checkContentType(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		return nil
	}
	return &Error{
		Status:  http.StatusUnsupportedMediaType,
		Message: "Content-Type must be application/json",
		Rule:    "content_type",
	}
}

// decodeError turns an encoding/json error into a 400 naming what is wrong.
// dst is what the body was decoded into.
func decodeError(err error, dst any, readOnly []string) error {
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if ute.Field == "" {
			return Invalid("", "type", "request body must be a JSON object")
		}
		return Invalid(ute.Field, "type", ute.Field+" must be "+describeType(fieldType(dst, ute.Field, ute.Type)))
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return &Error{Status: http.StatusBadRequest, Rule: "json",
			Message: fmt.Sprintf("malformed JSON at byte %d", se.Offset), Err: err}
	}
	if errors.Is(err, io.EOF) {
		return Invalid("", "json", "request body is empty")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return Invalid("", "json", "request body ends inside the JSON value")
	}
	// encoding/json has no typed error for unknown fields; this is the
	// documented text of DisallowUnknownFields.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		if slices.Contains(readOnly, name) {
			return Invalid(name, "read_only", name+" is read-only")
		}
		return Invalid(name, "unknown_field", "unknown field "+strconv.Quote(name))
	}
	return fmt.Errorf("decode request body: %w", err)
}

// fieldType returns the type of the struct field of *dst whose JSON name is
// name, or def. encoding/json reports the type of the element at fault ("a
// string" for [1] in an array of strings); the field's own type makes the
// clearer message.
func fieldType(dst any, name string, def reflect.Type) reflect.Type {
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return def
	}
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if strings.EqualFold(tag, name) {
			return f.Type
		}
	}
	return def
}

// describeType names a Go type in JSON words for error messages.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Map:
		if t.Elem().Kind() == reflect.String {
			return "an object of strings"
		}
		return "an object"
	case reflect.Struct:
		return "an object"
	default:
		return "a number"
	}
}

// rejectNulls answers 400 for a top-level member whose value is null,
// unless nullable names it. Apart from an answering rule's forwards and
// simultaneous ring, no field of this API is nullable: to clear a string
// send "", an array [] and an object {}. encoding/json decodes null into a
// pointer as nil, which would make it look absent, hence this separate pass
// over the already valid body.
func rejectNulls(body []byte, nullable []string) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return fmt.Errorf("decode request body members: %w", err)
	}
	names := make([]string, 0, len(members))
	for name, raw := range members {
		if string(bytes.TrimSpace(raw)) == "null" && !slices.Contains(nullable, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return Invalid(names[0], "not_null", names[0]+" must not be null")
}

// writeJSON answers status with v as the body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the client has gone; there is no one left to
	// tell, so the error is dropped.
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// validExtension reports whether s is 2 to 10 ASCII digits.
func validExtension(s string) bool {
	if len(s) < 2 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validPhoneName reports whether s is 1 to 32 of A-Z a-z 0-9 . _ -.
func validPhoneName(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// pathExtension returns the {extension} of the route. One that cannot exist
// answers 404 without asking the backend.
func pathExtension(r *http.Request) (string, error) {
	ext := r.PathValue("extension")
	if !validExtension(ext) {
		return "", NotFound("user")
	}
	return ext, nil
}

// pathPhone returns the {extension} and {name} of the route, like
// pathExtension.
func pathPhone(r *http.Request) (ext, name string, err error) {
	if ext, err = pathExtension(r); err != nil {
		return "", "", err
	}
	name = r.PathValue("name")
	if !validPhoneName(name) {
		return "", "", NotFound("phone")
	}
	return ext, name, nil
}

// checkExtensionField validates an extension sent in a body or a query.
func checkExtensionField(ext string) error {
	if !validExtension(ext) {
		return Invalid("extension", "format", "extension must be 2 to 10 digits")
	}
	return nil
}

// checkPhoneNameField validates a phone name sent in a body.
func checkPhoneNameField(name string) error {
	if !validPhoneName(name) {
		return Invalid("name", "format", "name must be 1 to 32 letters, digits, '.', '_' or '-'")
	}
	return nil
}

// queryInt reads the integer query parameter name, def when absent, and
// checks it lies in [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, Invalid(name, "type", name+" must be an integer")
	}
	if n < lo || n > hi {
		return 0, Invalid(name, "range", fmt.Sprintf("%s must be between %d and %d", name, lo, hi))
	}
	return n, nil
}
