package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/swoll-dev/swoll/eventline"
)

// ErrCorrupt wraps every error of a stream that does not follow the framing.
var ErrCorrupt = errors.New("corrupt binary event stream")

// Kind tells what Decoder.Next read.
type Kind int

// What Decoder.Next reads.
const (
	// Event: Decoder.Parts holds an event.
	Event Kind = iota + 1
	// Line: Decoder.Line holds a JSON line (a notice) without its newline.
	Line
)

// Decoder reads a stream's frames (after the ready notice) and hands out its ops. It is not safe for
// concurrent use: one per stream.
type Decoder struct {
	r    *bufio.Reader
	zdec *zstd.Decoder

	frame   []byte // the frame as read
	payload []byte // the ops of the frame (frame, or its decompression)
	unz     []byte // the buffer payload is decompressed into
	pos     int

	tabs      [numTables][][]byte
	tabBytes  [numTables]int
	prevStart int64
	parts     eventline.Parts
	line      []byte
}

// NewDecoder reads frames from r, which is positioned after the ready notice.
func NewDecoder(r *bufio.Reader) *Decoder { return &Decoder{r: r} }

// Parts is the event of the last Next that returned Event: valid until the next call.
func (d *Decoder) Parts() *eventline.Parts { return &d.parts }

// Buffered reports whether another op may be read without blocking: the frame holds more, or more of the
// stream was read.
func (d *Decoder) Buffered() bool { return d.pos < len(d.payload) || d.r.Buffered() > 0 }

// Line is the line of the last Next that returned Line: valid until the next call.
func (d *Decoder) Line() []byte { return d.line }

// Next reads the next event or line. At the end of the stream between frames it returns io.EOF; a stream cut
// inside a frame is io.ErrUnexpectedEOF; one that breaks the framing is ErrCorrupt (wrapped).
func (d *Decoder) Next() (Kind, error) {
	for {
		for d.pos >= len(d.payload) {
			if err := d.readFrame(); err != nil {
				return 0, err
			}
		}
		op := d.payload[d.pos]
		d.pos++
		switch op {
		case opDefine:
			tab, s, err := d.tableBytes()
			if err != nil {
				return 0, err
			}
			if len(d.tabs[tab]) >= MaxTable || d.tabBytes[tab]+len(s) > MaxTableBytes {
				return 0, fmt.Errorf("%w: table %d defined past its bound", ErrCorrupt, tab)
			}
			d.tabBytes[tab] += len(s)
			// the table keeps its strings: copied out of the frame, which the next frame overwrites
			d.tabs[tab] = append(d.tabs[tab], append([]byte(nil), s...))
		case opReset:
			tab, err := d.table()
			if err != nil {
				return 0, err
			}
			d.tabs[tab], d.tabBytes[tab] = d.tabs[tab][:0], 0
		case opEvent:
			return Event, d.event()
		case opLine:
			l, err := d.bytes()
			if err != nil {
				return 0, err
			}
			d.line = l
			return Line, nil
		default:
			return 0, fmt.Errorf("%w: unknown op %d", ErrCorrupt, op)
		}
	}
}

func (d *Decoder) event() error {
	p := &d.parts
	for tab, dst := range [numTables]*[]byte{&p.Prefix, &p.Identity, &p.Session, nil, &p.Namespaces, &p.Target} {
		id, err := d.uvarint()
		if err != nil {
			return err
		}
		if id >= uint64(len(d.tabs[tab])) {
			return fmt.Errorf("%w: string %d of table %d not defined", ErrCorrupt, id, tab)
		}
		if dst == nil {
			p.Error = errorName(d.tabs[tab][id])
			continue
		}
		*dst = d.tabs[tab][id]
	}
	start, err := d.varint()
	if err != nil {
		return err
	}
	dur, err := d.varint()
	if err != nil {
		return err
	}
	ret, err := d.varint()
	if err != nil {
		return err
	}
	p.Start = d.prevStart + start
	d.prevStart = p.Start
	p.Finish = p.Start + dur
	p.Return = ret
	if p.AfterReturn, err = d.bytes(); err != nil {
		return err
	}
	if p.Args, err = d.bytes(); err != nil {
		return err
	}
	p.AfterArgs, err = d.bytes()
	return err
}

// errorName is the errno name b as a string; the common ones without an allocation.
func errorName(b []byte) string {
	switch string(b) {
	case "OK":
		return "OK"
	case "ENOENT":
		return "ENOENT"
	case "EAGAIN":
		return "EAGAIN"
	}
	return string(b)
}

func (d *Decoder) readFrame() error {
	kind, err := d.r.ReadByte()
	if err != nil {
		return err // io.EOF between frames: the end of the stream
	}
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return unexpected(err)
	}
	if n > MaxFrame {
		return fmt.Errorf("%w: a frame of %d bytes (at most %d)", ErrCorrupt, n, MaxFrame)
	}
	if cap(d.frame) < int(n) {
		d.frame = make([]byte, n)
	}
	d.frame = d.frame[:n]
	if _, err := io.ReadFull(d.r, d.frame); err != nil {
		return unexpected(err)
	}
	switch kind {
	case frameRaw:
		d.payload = d.frame
	case frameZstd:
		if d.zdec == nil {
			// Options that cannot fail: one goroutine, and memory bounded like a raw frame.
			d.zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxFrame),
				zstd.WithDecoderLowmem(true))
		}
		d.unz, err = d.zdec.DecodeAll(d.frame, d.unz[:0])
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		d.payload = d.unz
	default:
		return fmt.Errorf("%w: unknown frame kind %d", ErrCorrupt, kind)
	}
	d.pos = 0
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

var errShort = fmt.Errorf("%w: an op runs past the end of its frame", ErrCorrupt)

func (d *Decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.payload[d.pos:])
	if n <= 0 {
		return 0, errShort
	}
	d.pos += n
	return v, nil
}

func (d *Decoder) varint() (int64, error) {
	v, n := binary.Varint(d.payload[d.pos:])
	if n <= 0 {
		return 0, errShort
	}
	d.pos += n
	return v, nil
}

func (d *Decoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.payload)-d.pos) {
		return nil, errShort
	}
	b := d.payload[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *Decoder) table() (int, error) {
	if d.pos >= len(d.payload) {
		return 0, errShort
	}
	tab := int(d.payload[d.pos])
	d.pos++
	if tab >= numTables {
		return 0, fmt.Errorf("%w: unknown table %d", ErrCorrupt, tab)
	}
	return tab, nil
}

func (d *Decoder) tableBytes() (int, []byte, error) {
	tab, err := d.table()
	if err != nil {
		return 0, nil, err
	}
	s, err := d.bytes()
	return tab, s, err
}
