package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Optional is a member of a PATCH body that null may clear, so that absent
// and null mean different things: absent leaves the field as it is (Set is
// false), null clears it (Set, Value nil), a value replaces it (Set, Value
// not nil).
type Optional[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON records that the member was present. encoding/json calls it
// for a null too, since Optional is not a pointer. The value is decoded as
// strictly as the body around it: an unknown field is an error.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	o.Value = nil
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	v := new(T)
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("json: trailing data after the value")
	}
	o.Value = v
	return nil
}
