package admin

import (
	"errors"
	"log/slog"
	"net/http"
)

// Error is an error that knows its HTTP answer. The backend returns one for
// validation failures, conflicts and missing resources; handlers return it
// unchanged (wrapped or not) and writeError turns it into the response.
//
// Message, Field and Rule are sent to the client. Err is never sent: it is
// kept for errors.Is/As and for the log.
type Error struct {
	Status  int    // HTTP status code, 4xx or 5xx
	Message string // human-readable, safe to show to the API client
	Field   string // JSON field (or query parameter) at fault, if any
	Rule    string // machine-readable name of the rule that failed, if any
	Err     error  // underlying cause, if any
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Rule != "" {
		msg += " (" + e.Rule + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// NotFound reports that the named resource ("user", "phone") does not exist.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Message: what + " not found"}
}

// Conflict reports that the value of field is already taken by another
// resource (an extension, a login name, a phone name or MAC address).
func Conflict(field string) *Error {
	return &Error{
		Status:  http.StatusConflict,
		Message: field + " is already in use",
		Field:   field,
		Rule:    "unique",
	}
}

// InUse reports that a resource cannot go because others refer to it (a time
// frame that answering rules use); field names the resource.
func InUse(field, message string) *Error {
	return &Error{Status: http.StatusConflict, Message: message, Field: field, Rule: "in_use"}
}

// Invalid reports that field broke rule; message says so in words.
func Invalid(field, rule, message string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: message, Field: field, Rule: rule}
}

// Unauthorized reports a missing or wrong bearer token.
func Unauthorized() *Error {
	return &Error{Status: http.StatusUnauthorized, Message: "missing or invalid bearer token"}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	Rule  string `json:"rule,omitempty"`
}

// writeError is the one place that turns a handler's error into a response.
// An *Error answers with its own status and message; anything else is an
// internal error whose text stays in the log and never reaches the client.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if sw, ok := w.(*statusWriter); ok && sw.wroteHeader {
		// The answer has started; it cannot become an error any more.
		logger.ErrorContext(r.Context(), "admin request failed after the response started",
			"method", r.Method, "path", r.URL.Path, "error", err)
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Status < 400 || e.Status > 599 {
		logger.ErrorContext(r.Context(), "admin request failed",
			"method", r.Method, "path", r.URL.Path, "error", err)
		e = &Error{Status: http.StatusInternalServerError, Message: "internal error"}
	} else if e.Status >= 500 {
		logger.ErrorContext(r.Context(), "admin request failed",
			"method", r.Method, "path", r.URL.Path, "status", e.Status, "error", err)
	}
	if e.Status == http.StatusUnauthorized {
		// RFC 6750 section 3: a 401 names the scheme the client should use.
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	// errorBody holds only strings: marshalling it cannot fail.
	_ = writeJSON(w, e.Status, errorBody{Error: msg, Field: e.Field, Rule: e.Rule})
}
