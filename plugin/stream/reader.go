// Package stream reads one agent's stdout: JSON lines that are either events (passed on untouched, with their
// finish time found by a byte scan) or notices (decoded, they are rare).
package stream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/eventline"
)

const (
	readBufferSize = 1 << 20
	slabSize       = 1 << 20
	// MaxLine bounds one line; longer ones (a runaway agent) are dropped, not buffered without limit.
	MaxLine = 16 << 20
)

// ErrLineTooLong is reported (not returned) for a line over MaxLine.
var ErrLineTooLong = errors.New("line longer than 16 MiB dropped")

// LineReader splits a stream into lines. The lines it returns are copied into large slabs that are never
// reused, so a line stays valid after the next call (the merger holds lines for a while) at the cost of one
// allocation per megabyte rather than one per line.
type LineReader struct {
	br   *bufio.Reader
	slab []byte
	long []byte
}

// NewLineReader wraps r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, readBufferSize)}
}

// Buffered tells whether another line may be available without blocking.
func (r *LineReader) Buffered() int { return r.br.Buffered() }

// Next returns the next line without its newline. At the end of the stream it returns io.EOF (a last line
// without a newline is returned first). A line over MaxLine is skipped and ErrLineTooLong returned once.
func (r *LineReader) Next() ([]byte, error) {
	frag, err := r.br.ReadSlice('\n')
	if err == nil {
		return r.keep(frag[:len(frag)-1]), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		if len(frag) > 0 {
			return r.keep(frag), nil
		}
		return nil, err
	}
	// a line longer than the read buffer: gather it
	r.long = append(r.long[:0], frag...)
	tooLong := false
	for {
		frag, err = r.br.ReadSlice('\n')
		if !tooLong {
			r.long = append(r.long, frag...)
			if len(r.long) > MaxLine {
				tooLong = true
				r.long = r.long[:0]
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, ErrLineTooLong
		}
		line := r.long
		if err == nil {
			line = line[:len(line)-1]
		}
		out := make([]byte, len(line))
		copy(out, line)
		if cap(r.long) > 4*readBufferSize {
			r.long = nil
		}
		return out, nil
	}
}

func (r *LineReader) keep(line []byte) []byte {
	n := len(line)
	if n > slabSize/4 {
		out := make([]byte, n)
		copy(out, line)
		return out
	}
	if cap(r.slab)-len(r.slab) < n {
		r.slab = make([]byte, 0, slabSize)
	}
	start := len(r.slab)
	r.slab = append(r.slab, line...)
	return r.slab[start : start+n : start+n]
}

// joined joins an event's parts into its line (without the newline), in the slabs like the lines Next returns.
func (r *LineReader) joined(j *eventline.Joiner, p *eventline.Parts) []byte {
	n := len(p.Prefix) + len(p.Identity) + len(p.Session) + len(p.Error) + len(p.AfterReturn) + len(p.Namespaces) +
		len(p.Target) + len(p.Args) + len(p.AfterArgs) + maxJoinedNumbers
	if n > slabSize/4 {
		line := j.Append(make([]byte, 0, n), p)
		return line[: len(line)-1 : len(line)-1]
	}
	if cap(r.slab)-len(r.slab) < n {
		r.slab = make([]byte, 0, slabSize)
	}
	start := len(r.slab)
	r.slab = j.Append(r.slab, p)
	end := len(r.slab) - 1 // the newline stays in the slab, out of the line
	return r.slab[start:end:end]
}

// maxJoinedNumbers bounds what a joined line holds besides its parts: the keys and digits of start, finish and
// return, the braces and the newline.
const maxJoinedNumbers = 128

// FinishOf finds an event line's finish time without decoding it (the shared scanner of package event).
func FinishOf(line []byte) (int64, bool) { return event.FinishOf(line) }

// IsNotice tells notice lines from events without decoding.
func IsNotice(line []byte) bool { return bytes.HasPrefix(line, []byte(event.NoticePrefix)) }

// IsSnapshot tells snapshot lines (counting mode) from events without decoding.
func IsSnapshot(line []byte) bool { return bytes.HasPrefix(line, []byte(event.SnapshotPrefix)) }

// ParseSnapshot decodes a snapshot line.
func ParseSnapshot(line []byte) (*event.Snapshot, error) {
	var l event.Line
	if err := json.Unmarshal(line, &l); err != nil || l.Snapshot == nil {
		return nil, fmt.Errorf("malformed snapshot %.120q", line)
	}
	return l.Snapshot, nil
}

// ParseNotice decodes a notice line.
func ParseNotice(line []byte) (*event.Notice, error) {
	var l struct {
		Notice *event.Notice `json:"notice"`
	}
	if err := json.Unmarshal(line, &l); err != nil || l.Notice == nil {
		return nil, fmt.Errorf("malformed notice %.120q", line)
	}
	return l.Notice, nil
}
