// Package output is the end of the engine's pipeline: a Sink receives the merged events in time order and the
// agents' notices. The sinks here write to stdout: JSON lines passed through byte for byte (for jq), or
// strace-like lines (package render). Writes go through one large buffer that the owner flushes on a timer, so
// a busy session costs a write system call per buffer, not per event. Other consumers (top, metrics, the Go
// API) implement Sink.
package output

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/render"
)

// Formats accepted by -o.
const (
	JSON = "json"
	CLI  = "cli"
)

// Formats lists the -o values.
var Formats = []string{JSON, CLI}

const bufferSize = 1 << 20

// Sink receives what a session produces. The merge loop calls it from one goroutine: it need not be safe for
// concurrent use. An error from Event or Notice ends the session ("output closed").
type Sink interface {
	// Event receives one event line (JSON, without newline), in time order. It must not keep line.
	Event(line []byte) error
	// Notice receives a notice of an agent (ready, targets, lost events, exit), as it arrives.
	Notice(n *event.Notice) error
	// Flush writes what is buffered; it is called on a timer and at the end.
	Flush() error
}

// SnapshotSink is a Sink that also takes the agents' snapshots (counting mode), as they come.
type SnapshotSink interface {
	Sink
	Snapshot(s *event.Snapshot) error
}

// IsBrokenPipe tells an error from a closed reader (`| head`: EPIPE, in the write's *os.PathError), which ends a
// session quietly.
func IsBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe)
}

// New returns the stdout sink for a format. colour adds ANSI colours per pod (only for CLI, only when w is a
// terminal: the caller decides).
func New(format string, w io.Writer, colour bool) (Sink, error) {
	bw := bufio.NewWriterSize(w, bufferSize)
	switch format {
	case JSON, "":
		return &jsonWriter{w: bw}, nil
	case CLI:
		return &cliWriter{w: bw, colour: colour, colours: map[string][]byte{}}, nil
	default:
		return nil, fmt.Errorf("unknown output format %q (want json or cli)", format)
	}
}

type jsonWriter struct{ w *bufio.Writer }

func (j *jsonWriter) Event(line []byte) error {
	if _, err := j.w.Write(line); err != nil {
		return err
	}
	return j.w.WriteByte('\n')
}

// Notice implements Sink: a container's start and end are written among the events, as the agent wrote them
// ({"notice":{...}}), so that a reader of the JSON sees run after run; other notices are not part of the stdout
// stream (they go to stderr as messages).
func (j *jsonWriter) Notice(n *event.Notice) error {
	if !InStream(n) {
		return nil
	}
	line, err := json.Marshal(event.Line{Notice: n})
	if err != nil {
		return fmt.Errorf("encoding a notice: %w", err)
	}
	if _, err := j.w.Write(line); err != nil {
		return err
	}
	return j.w.WriteByte('\n')
}

// InStream reports whether a notice is written in the JSON output: a container's start or end.
func InStream(n *event.Notice) bool {
	return n.Kind == event.NoticeContainerStarted || n.Kind == event.NoticeContainerEnded
}

func (j *jsonWriter) Flush() error { return j.w.Flush() }

type cliWriter struct {
	w       *bufio.Writer
	buf     []byte
	ev      event.Event
	colour  bool
	colours map[string][]byte
}

// palette avoids black, white and red (red reads as an error).
var palette = [][]byte{
	[]byte("\x1b[32m"), []byte("\x1b[33m"), []byte("\x1b[34m"), []byte("\x1b[35m"), []byte("\x1b[36m"),
	[]byte("\x1b[92m"), []byte("\x1b[93m"), []byte("\x1b[94m"), []byte("\x1b[95m"), []byte("\x1b[96m"),
}

var reset = []byte("\x1b[0m")

func (c *cliWriter) Event(line []byte) error {
	c.ev = event.Event{}
	if err := json.Unmarshal(line, &c.ev); err != nil {
		// never drop silently: show what could not be rendered
		c.buf = append(c.buf[:0], "(undecodable event) "...)
		c.buf = append(c.buf, line...)
		c.buf = append(c.buf, '\n')
		_, werr := c.w.Write(c.buf)
		return werr
	}
	c.buf = c.buf[:0]
	if ct := c.ev.Container; ct != nil {
		if c.colour {
			c.buf = append(c.buf, c.colourOf(ct)...)
			c.buf = render.AppendPrefix(c.buf, ct)
			c.buf = append(c.buf, reset...)
		} else {
			c.buf = render.AppendPrefix(c.buf, ct)
		}
	}
	c.buf = render.AppendBody(c.buf, &c.ev)
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return err
}

func (c *cliWriter) colourOf(ct *event.Container) []byte {
	key := ct.Namespace + "/" + ct.Pod
	col, ok := c.colours[key]
	if !ok {
		col = palette[len(c.colours)%len(palette)]
		c.colours[key] = col
	}
	return col
}

// Notice implements Sink, as for JSON.
func (c *cliWriter) Notice(*event.Notice) error { return nil }

func (c *cliWriter) Flush() error { return c.w.Flush() }
