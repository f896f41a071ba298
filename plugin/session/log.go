package session

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// logger writes whole lines to stderr from many goroutines.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	debug bool
}

// debugf writes only when SWOLL_DEBUG is set: what the session sees of the API server, for bug reports.
func (l *logger) debugf(format string, args ...any) {
	if l.debug {
		l.printf("debug: "+format, args...)
	}
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, "swoll: "+format+"\n", args...)
}

func (l *logger) writeLine(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
}

// prefixWriter turns an agent's stderr into whole lines prefixed with its node, so that diagnostics of
// several agents do not interleave mid-line.
type prefixWriter struct {
	log    *logger
	prefix []byte
	buf    []byte
}

func newPrefixWriter(l *logger, prefix string) *prefixWriter {
	return &prefixWriter{log: l, prefix: []byte(prefix)}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.buf = append(p.buf, b...)
			if len(p.buf) > 64<<10 { // a runaway line: show what there is
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

func (p *prefixWriter) flush() {
	if len(p.buf) == 0 {
		return
	}
	line := make([]byte, 0, len(p.prefix)+len(p.buf)+1)
	line = append(append(append(line, p.prefix...), p.buf...), '\n')
	p.log.writeLine(line)
	p.buf = p.buf[:0]
}

// Close flushes a last partial line.
func (p *prefixWriter) Close() error {
	p.flush()
	return nil
}
