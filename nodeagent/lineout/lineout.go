// Package lineout batches output lines: many events per write(2) when the stream is fast, and still a
// prompt delivery when it is slow, because a short timer flushes whatever is pending.
package lineout

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer buffers lines for an io.Writer. It is safe for concurrent use; the hot path holds the lock once per
// line and does not allocate:
//
//	w.Lock()
//	buf := w.AvailableBuffer()
//	buf = appendLine(buf, ...)
//	err := w.WriteLocked(buf)
//	w.Unlock()
type Writer struct {
	mu    sync.Mutex
	bw    *bufio.Writer
	timer *time.Timer
	every time.Duration
	armed bool // a flush is scheduled
	// closed stops the timer from flushing after Close.
	closed bool
}

// New makes a Writer with a buffer of size bytes. Lines are written when the buffer is full, and at the
// latest `every` after the oldest pending line was written.
func New(w io.Writer, size int, every time.Duration) *Writer {
	lw := &Writer{bw: bufio.NewWriterSize(w, size), every: every}
	lw.timer = time.AfterFunc(time.Hour, lw.timedFlush)
	lw.timer.Stop()
	return lw
}

// Lock takes the writer for WriteLocked and AvailableBuffer.
func (w *Writer) Lock() { w.mu.Lock() }

// Unlock releases the writer.
func (w *Writer) Unlock() { w.mu.Unlock() }

// AvailableBuffer returns an empty slice over the unused part of the buffer, to append a line into without a
// copy (see bufio.Writer.AvailableBuffer). Call with the lock held.
func (w *Writer) AvailableBuffer() []byte { return w.bw.AvailableBuffer() }

// WriteLocked writes one or more complete lines. Call with the lock held. The error is sticky: once the
// underlying writer failed (the reader went away), every later write fails.
func (w *Writer) WriteLocked(p []byte) error {
	_, err := w.bw.Write(p)
	if !w.armed && w.bw.Buffered() > 0 && !w.closed {
		w.armed = true
		w.timer.Reset(w.every)
	}
	return err
}

// Write writes complete lines, taking the lock.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.WriteLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Err is the sticky write error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.bw.Write(nil) // bufio reports its sticky error on any write
	return err
}

// Flush writes out everything pending now.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bw.Flush()
}

func (w *Writer) timedFlush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if !w.closed {
		_ = w.bw.Flush() // the error sticks in bw; writers see it
	}
}

// Close flushes and stops the timer. The underlying writer is left open.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.timer.Stop()
	return w.bw.Flush()
}
