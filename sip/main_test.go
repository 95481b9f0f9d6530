package sip

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a Server starts must end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
