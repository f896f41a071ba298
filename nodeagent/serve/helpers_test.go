//go:build linux

package serve

import (
	"io"
	"time"

	"github.com/swoll-dev/swoll/nodeagent/lineout"
)

func newDiscardWriter() *lineout.Writer { return lineout.New(io.Discard, 256<<10, time.Hour) }
