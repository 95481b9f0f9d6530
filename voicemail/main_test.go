package voicemail

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a Run starts must end before it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
