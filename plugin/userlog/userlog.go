// Package userlog writes a session's messages for the person at the terminal: whole "swoll: ..." lines on
// stderr, kept apart from the events on stdout, and each agent's own stderr as whole lines prefixed with its
// node.
//
// A Logger is safe for concurrent use (lines from many goroutines never interleave); a PrefixWriter belongs to
// one stream and is not.
package userlog

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/swoll-dev/swoll/internal/termesc"
)

// maxPartial bounds a line an agent has not finished: a runaway line is shown in pieces rather than buffered.
const maxPartial = 64 << 10

// Logger writes whole lines to one writer.
type Logger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
}

// New writes to w; debug enables Debugf (SWOLL_DEBUG).
func New(w io.Writer, debug bool) *Logger {
	if w == nil {
		w = io.Discard
	}
	return &Logger{w: w, debug: debug}
}

// Printf writes "swoll: " and the message as one line, escaped for the terminal (termesc): the arguments
// often hold text from the cluster (pod messages, events) or from agents.
func (l *Logger) Printf(format string, args ...any) {
	line := append(termesc.Append([]byte("swoll: "), fmt.Sprintf(format, args...)), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(line)
}

// Debugf writes only in debug mode: what the session sees of the API server, for bug reports.
func (l *Logger) Debugf(format string, args ...any) {
	if l.debug {
		l.Printf("debug: "+format, args...)
	}
}

// writeLine writes text from an agent as one escaped line.
func (l *Logger) writeLine(b []byte) {
	line := append(termesc.Append(nil, string(b)), '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(line)
}

// PrefixWriter turns a stream (an agent's stderr) into whole lines with a prefix, so that diagnostics of
// several agents do not interleave mid-line.
type PrefixWriter struct {
	log    *Logger
	prefix []byte
	buf    []byte
}

// NewPrefixWriter writes to l, each line starting with prefix.
func NewPrefixWriter(l *Logger, prefix string) *PrefixWriter {
	return &PrefixWriter{log: l, prefix: []byte(prefix)}
}

// Write implements io.Writer; it never fails.
func (p *PrefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.buf = append(p.buf, b...)
			if len(p.buf) > maxPartial {
				p.flush()
			}
			break
		}
		p.buf = append(p.buf, b[:i]...)
		p.flush()
		b = b[i+1:]
	}
	return n, nil
}

func (p *PrefixWriter) flush() {
	if len(p.buf) == 0 {
		return
	}
	line := make([]byte, 0, len(p.prefix)+len(p.buf))
	line = append(append(line, p.prefix...), p.buf...)
	p.log.writeLine(line)
	p.buf = p.buf[:0]
}

// Close writes a last partial line.
func (p *PrefixWriter) Close() error {
	p.flush()
	return nil
}
