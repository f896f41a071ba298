package stream

import (
	"errors"
	"io"
	"time"

	"github.com/swoll-dev/swoll/event"
)

// Item is one event line and its finish time.
type Item struct {
	Finish int64
	Line   []byte
}

// Batch carries the event lines one stream read since its previous batch, or one notice.
type Batch struct {
	Stream int
	Items  []Item
	// Notice, when set, is a notice of the stream (the batch has no items): after the events before it.
	Notice *event.Notice
	// Snapshot, likewise, is a snapshot of the stream (counting mode).
	Snapshot *event.Snapshot
	// EOF marks the stream's last batch.
	EOF bool
}

// maxBatch bounds a batch so that a busy stream still hands over regularly.
const maxBatch = 1024

// Handler receives what is not an event line.
type Handler interface {
	// Notice is called for every notice, in stream order, from the pumping goroutine.
	Notice(n *event.Notice)
	// Snapshot is called likewise for every snapshot (counting mode).
	Snapshot(s *event.Snapshot)
	// Malformed is called for a line that is neither an event nor a notice.
	Malformed(line []byte, err error)
}

// Pump reads r until it ends, sending event batches to out and notices and snapshots to h, then to out. Lines are batched
// while more input is already buffered, so a busy stream costs one channel send per batch rather than per
// line. The last batch has EOF set. It returns nil at a clean end of stream. Pump runs in the caller's
// goroutine and calls h from it.
func Pump(r io.Reader, id int, out chan<- Batch, h Handler) error {
	lr := NewLineReader(r)
	batch := Batch{Stream: id}
	send := func(eof bool) {
		batch.EOF = eof
		if len(batch.Items) > 0 || eof {
			out <- batch
		}
		batch = Batch{Stream: id}
	}
	for {
		line, err := lr.Next()
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				h.Malformed(nil, err)
				continue
			}
			send(true)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return nil
			}
			return err
		}
		switch {
		case len(line) == 0:
		case IsSnapshot(line):
			snap, perr := ParseSnapshot(line)
			if perr != nil {
				h.Malformed(line, perr)
				break
			}
			send(false)
			h.Snapshot(snap)
			out <- Batch{Stream: id, Snapshot: snap}
		case IsNotice(line):
			n, perr := ParseNotice(line)
			if perr != nil {
				h.Malformed(line, perr)
				break
			}
			// keep order: events before the notice go out first
			send(false)
			h.Notice(n)
			out <- Batch{Stream: id, Notice: n}
		default:
			f, ok := FinishOf(line)
			if !ok {
				h.Malformed(line, errors.New("no finish time"))
				break
			}
			if batch.Items == nil {
				batch.Items = make([]Item, 0, 64)
			}
			batch.Items = append(batch.Items, Item{Finish: f, Line: line})
		}
		if len(batch.Items) >= maxBatch || lr.Buffered() == 0 {
			send(false)
		}
	}
}

// Now is the wall clock in Unix ns (a variable for tests).
var Now = func() int64 { return time.Now().UnixNano() }
