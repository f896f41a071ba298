//go:build linux

package serve

import (
	"testing"

	"go.uber.org/goleak"
)

// Every session a test started must be over when the tests end: no reader, writer or dead-man goroutine left.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
