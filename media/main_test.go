package media

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a Session starts must end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
