package stream

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/eventline"
	"github.com/swoll-dev/swoll/wire"
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
//
// The stream is JSON lines up to the agent's ready notice, and after it in the framing the notice names
// (package wire): JSON lines still, or the binary framing, whose events Pump joins into the same lines as the
// agent's (package eventline). A stream in a framing this plugin does not read, or that breaks its framing, is
// drained and its error returned.
func Pump(r io.Reader, id int, out chan<- Batch, h Handler) error {
	p := pump{lr: NewLineReader(r), id: id, out: out, h: h, batch: Batch{Stream: id}}
	for {
		line, err := p.lr.Next()
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				h.Malformed(nil, err)
				continue
			}
			return p.end(err)
		}
		if ready := p.line(line); ready != nil && ready.Kind == event.NoticeReady && ready.Framing != "" {
			switch {
			case wire.IsBinary(ready.Framing):
				return p.binary()
			case !wire.Reads(ready.Framing):
				return p.drain(fmt.Errorf("%w: the agent writes %q, which this plugin does not read: use a plugin and an agent image of one release",
					ErrFraming, ready.Framing))
			}
		}
		if len(p.batch.Items) >= maxBatch || p.lr.Buffered() == 0 {
			p.send(false)
		}
	}
}

// ErrFraming wraps a stream in a framing this plugin does not read, or that breaks it.
var ErrFraming = errors.New("event stream framing")

// pump is one stream's state while Pump reads it.
type pump struct {
	lr    *LineReader
	id    int
	out   chan<- Batch
	h     Handler
	batch Batch
	join  eventline.Joiner
}

func (p *pump) send(eof bool) {
	p.batch.EOF = eof
	if len(p.batch.Items) > 0 || eof {
		p.out <- p.batch
	}
	p.batch = Batch{Stream: p.id}
}

// end sends the last batch and says how the stream ended: nil at its clean end.
func (p *pump) end(err error) error {
	p.send(true)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}

// drain reads the rest of a stream it cannot read (so that the agent's writes do not block), then ends it with
// err.
func (p *pump) drain(err error) error {
	_, _ = io.Copy(io.Discard, p.lr.br)
	p.send(true)
	return err
}

// line handles one JSON line (an event, a notice or a snapshot); it returns the notice it was, if any.
func (p *pump) line(line []byte) *event.Notice {
	switch {
	case len(line) == 0:
	case IsSnapshot(line):
		snap, perr := ParseSnapshot(line)
		if perr != nil {
			p.h.Malformed(line, perr)
			break
		}
		p.send(false)
		p.h.Snapshot(snap)
		p.out <- Batch{Stream: p.id, Snapshot: snap}
	case IsNotice(line):
		n, perr := ParseNotice(line)
		if perr != nil {
			p.h.Malformed(line, perr)
			break
		}
		// keep order: events before the notice go out first
		p.send(false)
		p.h.Notice(n)
		p.out <- Batch{Stream: p.id, Notice: n}
		return n
	default:
		f, ok := FinishOf(line)
		if !ok {
			p.h.Malformed(line, errors.New("no finish time"))
			break
		}
		p.item(Item{Finish: f, Line: line})
	}
	return nil
}

func (p *pump) item(it Item) {
	if p.batch.Items == nil {
		p.batch.Items = make([]Item, 0, 64)
	}
	p.batch.Items = append(p.batch.Items, it)
}

// binary reads the rest of the stream in the binary framing.
func (p *pump) binary() error {
	p.send(false)
	d := wire.NewDecoder(p.lr.br)
	for {
		k, err := d.Next()
		switch {
		case errors.Is(err, io.EOF):
			return p.end(err)
		case err != nil:
			return p.drain(fmt.Errorf("%w: %w", ErrFraming, err))
		case k == wire.Event:
			parts := d.Parts()
			p.item(Item{Finish: parts.Finish, Line: p.lr.joined(&p.join, parts)})
		default:
			// a notice: kept, like the lines of the JSON framing, past the next op
			p.line(p.lr.keep(d.Line()))
		}
		if len(p.batch.Items) >= maxBatch || !d.Buffered() {
			p.send(false)
		}
	}
}

// Now is the wall clock in Unix ns (a variable for tests).
var Now = func() int64 { return time.Now().UnixNano() }
