package wire

import (
	"bytes"
	"encoding/binary"

	"github.com/klauspost/compress/zstd"

	"github.com/swoll-dev/swoll/eventline"
)

// Encoder appends events and lines as ops (see the package doc). It is not safe for concurrent use: the agent
// calls it under its output lock, which also keeps its ops in stream order.
type Encoder struct {
	tabs      [numTables]encTable
	prevStart int64
}

type encTable struct {
	ids   map[string]uint64
	bytes int // the strings' total length
	// last and lastID are the string last referred to: consecutive events mostly share their parts, and
	// comparing is cheaper than hashing
	last   []byte
	lastID uint64
}

// NewEncoder makes an Encoder for one stream.
func NewEncoder() *Encoder {
	e := &Encoder{}
	for i := range e.tabs {
		e.tabs[i].ids = map[string]uint64{}
	}
	return e
}

// AppendEvent appends p as an opEvent, preceded by the definitions of the strings the stream has not had yet.
// It allocates only for a string it has not seen (a new thread, container or call).
func (e *Encoder) AppendEvent(dst []byte, p *eventline.Parts) []byte {
	var refs [numTables]uint64
	dst, refs[tabPrefix] = e.ref(dst, tabPrefix, p.Prefix)
	dst, refs[tabIdentity] = e.ref(dst, tabIdentity, p.Identity)
	dst, refs[tabSession] = e.ref(dst, tabSession, p.Session)
	dst, refs[tabError] = e.refString(dst, tabError, p.Error)
	dst, refs[tabNamespaces] = e.ref(dst, tabNamespaces, p.Namespaces)
	dst, refs[tabTarget] = e.ref(dst, tabTarget, p.Target)
	dst = append(dst, opEvent)
	for _, r := range refs {
		dst = binary.AppendUvarint(dst, r)
	}
	dst = binary.AppendVarint(dst, p.Start-e.prevStart)
	e.prevStart = p.Start
	dst = binary.AppendVarint(dst, p.Finish-p.Start)
	dst = binary.AppendVarint(dst, p.Return)
	dst = appendBytes(dst, p.AfterReturn)
	dst = appendBytes(dst, p.Args)
	return appendBytes(dst, p.AfterArgs)
}

// AppendLine appends a JSON line (a notice) as an opLine; a trailing newline is left out.
func (e *Encoder) AppendLine(dst, line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return appendBytes(append(dst, opLine), line)
}

// ref is s's number in table tab, with s's definition appended first when it is new.
func (e *Encoder) ref(dst []byte, tab int, s []byte) ([]byte, uint64) {
	t := &e.tabs[tab]
	if t.last != nil && bytes.Equal(t.last, s) {
		return dst, t.lastID
	}
	id, ok := t.ids[string(s)]
	if !ok {
		dst, id = e.define(dst, tab, string(s))
	}
	t.last, t.lastID = append(t.last[:0], s...), id
	return dst, id
}

func (e *Encoder) refString(dst []byte, tab int, s string) ([]byte, uint64) {
	t := &e.tabs[tab]
	if t.last != nil && string(t.last) == s {
		return dst, t.lastID
	}
	id, ok := t.ids[s]
	if !ok {
		dst, id = e.define(dst, tab, s)
	}
	t.last, t.lastID = append(t.last[:0], s...), id
	return dst, id
}

func (e *Encoder) define(dst []byte, tab int, s string) ([]byte, uint64) {
	t := &e.tabs[tab]
	if len(t.ids) >= MaxTable || t.bytes+len(s) > MaxTableBytes {
		clear(t.ids)
		t.bytes = 0
		t.last = t.last[:0:0] // its number is gone with the table
		dst = append(dst, opReset, byte(tab))
	}
	id := uint64(len(t.ids))
	t.ids[s] = id
	t.bytes += len(s)
	dst = append(dst, opDefine, byte(tab))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...), id
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// Framer makes frames of the ops an agent writes at once. It is not safe for concurrent use: the agent's
// output goroutine calls it for each write.
type Framer struct {
	zenc *zstd.Encoder
	// scratch is the compressed payload being framed
	scratch []byte
}

// minCompress is the smallest payload worth compressing: below it, a frame's header and zstd's own outweigh
// what is saved.
const minCompress = 512

// NewFramer makes a Framer; with compress, payloads are compressed with zstd at its fastest level where that
// makes them smaller.
func NewFramer(compress bool) *Framer {
	f := &Framer{}
	if compress {
		// Options that cannot fail: a single goroutine, the fastest level, no checksum (the stream is TLS).
		f.zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderCRC(false))
	}
	return f
}

// Append appends the frame of ops (whole ops, fewer than MaxFrame bytes: the agent's writes are far smaller)
// to dst.
func (f *Framer) Append(dst, ops []byte) []byte {
	if len(ops) == 0 {
		return dst
	}
	if f.zenc != nil && len(ops) >= minCompress {
		f.scratch = f.zenc.EncodeAll(ops, f.scratch[:0])
		if len(f.scratch) < len(ops) {
			return appendBytes(append(dst, frameZstd), f.scratch)
		}
	}
	return appendBytes(append(dst, frameRaw), ops)
}
