package lineout

import (
	"testing"

	"go.uber.org/goleak"
)

// A closed Writer leaves no goroutine behind (one aborted in a stalled write ends when the write returns).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
