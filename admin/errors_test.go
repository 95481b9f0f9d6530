package admin

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestError(t *testing.T) {
	cause := errors.New("UNIQUE constraint failed: users.extension")
	tests := []struct {
		name       string
		err        *Error
		wantStatus int
		wantText   string
	}{
		{"not found", NotFound("phone"), http.StatusNotFound, "phone not found"},
		{"conflict", Conflict("login_name"), http.StatusConflict, "login_name: login_name is already in use (unique)"},
		{"invalid", Invalid("voicemail_pin", "length", "voicemail_pin must be 4 to 10 digits"), http.StatusBadRequest,
			"voicemail_pin: voicemail_pin must be 4 to 10 digits (length)"},
		{"unauthorized", Unauthorized(), http.StatusUnauthorized, "missing or invalid bearer token"},
		{"with cause", &Error{Status: http.StatusConflict, Field: "extension", Rule: "unique", Message: "taken", Err: cause},
			http.StatusConflict, "extension: taken (unique): UNIQUE constraint failed: users.extension"},
		{"status text for no message", &Error{Status: http.StatusTeapot}, http.StatusTeapot, "I'm a teapot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.wantStatus, tt.err.Status)
			require.Equal(t, tt.wantText, tt.err.Error())

			wrapped := fmt.Errorf("update user 101: %w", tt.err)
			got, ok := errors.AsType[*Error](wrapped)
			require.True(t, ok)
			require.Same(t, tt.err, got)
			if tt.err.Err != nil {
				require.ErrorIs(t, wrapped, cause)
			}
		})
	}
}
