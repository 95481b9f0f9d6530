package provision

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownModel is returned for a model ID that Lookup does not know.
	ErrUnknownModel = errors.New("unknown phone model")
	// ErrUnknownDevice is what a Directory returns (wrapped or not) for a
	// MAC address that no phone has.
	ErrUnknownDevice = errors.New("no phone with this MAC address")
	// ErrNotServed is returned when a model has no file of the requested
	// name.
	ErrNotServed = errors.New("file not served for this model")
)

// SettingError says why a setting, usually one of a phone's overrides,
// cannot go into a model's file: its key is not a valid key of the file's
// format, or its value would change the file's structure. The phones API
// answers it as a validation error on the overrides field.
type SettingError struct {
	Model  string // model ID
	Key    string
	Reason string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("setting %q for %s: %s", e.Key, e.Model, e.Reason)
}
