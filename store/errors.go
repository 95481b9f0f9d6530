package store

import (
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is returned when the user, phone or setting asked for does not
// exist.
var ErrNotFound = errors.New("not found")

// ErrConflict matches every *ConflictError through errors.Is.
var ErrConflict = errors.New("conflict")

// ConflictError reports a value that must be unique and is already taken,
// or a row that cannot go because another uses it. Field is the name of the
// field as the API spells it: "extension", "login_name", "name" (a phone's
// or a time frame's name), "mac", "emails", or "time_frame" (a time frame
// that answering rules still use).
type ConflictError struct {
	Field string
}

func (e *ConflictError) Error() string {
	if e.Field == "" {
		return "conflict: value already in use"
	}
	return e.Field + " already in use"
}

// Is makes errors.Is(err, ErrConflict) true for any *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// FieldName returns the field whose value is already taken.
func (e *ConflictError) FieldName() string { return e.Field }

// ValidationError reports input that breaks a rule. Field is the field as the
// API spells it ("extension", "voicemail_pin", "mac", ...); Rule names the
// rule that failed ("digits", "length", "header_safe", "e164", "enum",
// "sequential", ...), so a caller can map it without parsing Message.
type ValidationError struct {
	Field   string
	Rule    string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// FieldName returns the field that failed validation.
func (e *ValidationError) FieldName() string { return e.Field }

// RuleName returns the rule that failed.
func (e *ValidationError) RuleName() string { return e.Rule }

func invalid(field, rule, msg string) *ValidationError {
	return &ValidationError{Field: field, Rule: rule, Message: msg}
}

// uniqueFields maps the columns named in SQLite's "UNIQUE constraint failed:
// table.column" message to API field names.
var uniqueFields = map[string]string{
	"users.extension":     "extension",
	"users.login_name":    "login_name",
	"phones.name":         "name",
	"phones.mac":          "mac",
	"user_emails.user_id": "emails",
	"settings.key":        "key",
	"time_frames.name":    "name",
}

// mapConstraint turns SQLite's unique and primary key violations into a
// *ConflictError naming the field; any other error is returned unchanged.
// The check runs on the error SQLite reports rather than on a prior SELECT,
// so it holds however many engines write to the same database.
func mapConstraint(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	if se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return err
	}
	// The message reads "...UNIQUE constraint failed: phones.mac (2067)";
	// a composite key lists every column, comma separated.
	msg := se.Error()
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return &ConflictError{}
	}
	cols := msg[i+len(marker):]
	if j := strings.Index(cols, " ("); j >= 0 {
		cols = cols[:j]
	}
	first, _, _ := strings.Cut(cols, ",")
	first = strings.TrimSpace(first)
	if f, ok := uniqueFields[first]; ok {
		return &ConflictError{Field: f}
	}
	if _, col, ok := strings.Cut(first, "."); ok {
		return &ConflictError{Field: col}
	}
	return &ConflictError{}
}

// isForeignKeyError reports whether err is SQLite refusing a write that
// breaks a foreign key: a child naming a parent that does not exist, or a
// parent row still referenced. SQLite runs ON DELETE/UPDATE RESTRICT as an
// internal trigger, so that refusal comes as SQLITE_CONSTRAINT_TRIGGER with
// the foreign key's message rather than SQLITE_CONSTRAINT_FOREIGNKEY.
func isForeignKeyError(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return true
	case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		return strings.Contains(se.Error(), "FOREIGN KEY constraint failed")
	}
	return false
}
