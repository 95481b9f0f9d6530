package switchboard_test

import (
	"testing"

	"go.uber.org/goleak"
)

// An engine that has stopped leaves no goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
