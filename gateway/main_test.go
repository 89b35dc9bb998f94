package gateway_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: job
// runners, deadlines and providers must all stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
