package tally

import (
	"encoding/json"
	"sync/atomic"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/output"
)

// Tap is a session's sink when counts are wanted: it counts the events, notices and snapshots it sees into
// Table and passes events and notices on to the output. The session calls its Sink methods from one
// goroutine; Table and TakeOverflow may be used from others.
type Tap struct {
	output.Sink
	Table    *Table
	overflow atomic.Uint64 // since TakeOverflow
	ev       event.Event
}

// NewTap counts into a new table in front of out.
func NewTap(out output.Sink) *Tap { return &Tap{Sink: out, Table: New()} }

// TakeOverflow returns the calls the agents could not count since the previous call.
func (t *Tap) TakeOverflow() uint64 { return t.overflow.Swap(0) }

// Event counts an event line and writes it.
func (t *Tap) Event(line []byte) error {
	t.ev = event.Event{}
	if json.Unmarshal(line, &t.ev) == nil {
		t.Table.AddEvent(&t.ev)
	}
	return t.Sink.Event(line)
}

// Snapshot implements output.SnapshotSink.
func (t *Tap) Snapshot(s *event.Snapshot) error {
	t.overflow.Add(s.Overflow)
	t.Table.AddSnapshot(s)
	return nil
}

// Notice counts the losses a notice reports and passes it on.
func (t *Tap) Notice(n *event.Notice) error {
	t.Table.AddNotice(n)
	return t.Sink.Notice(n)
}
