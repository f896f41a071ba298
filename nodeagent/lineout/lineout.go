// Package lineout batches output lines: many events per write(2) when the stream is fast, and still a
// prompt delivery when it is slow, because a short timer flushes whatever is pending.
//
// The write(2) itself happens on the Writer's own goroutine, outside its lock: a stalled reader (a stopped
// or partitioned plugin) blocks that goroutine only. Writers that find the buffer full wait for room, which
// is back pressure on the event reader (the kernel ring then fills and counts its drops), and Abort releases
// every such wait at once, so that a dead-man switch never waits behind the output.
package lineout

import (
	"errors"
	"io"
	"sync"
	"time"
)

// ErrAborted is returned by every write after Abort.
var ErrAborted = errors.New("output aborted")

// Writer buffers lines for an io.Writer. Its methods are safe for concurrent use by any number of goroutines;
// the lock is never held across a write(2). The hot path holds the lock once per line and does not allocate:
//
//	w.Lock()
//	buf := w.AvailableBuffer()
//	buf = appendLine(buf, ...)
//	err := w.WriteLocked(buf)
//	w.Unlock()
type Writer struct {
	out   io.Writer
	size  int
	every time.Duration

	mu   sync.Mutex
	cond *sync.Cond // room in buf, progress of the writer goroutine, an error or an abort
	buf  []byte     // pending lines
	// spare is the buffer the writer goroutine hands back after writing; nil while it is being written.
	spare   []byte
	queued  uint64 // bytes ever appended
	written uint64 // bytes ever handed to out (or dropped by an error)
	err     error  // sticky: the first write error, or ErrAborted
	armed   bool   // the timer will kick the writer goroutine
	closed  bool

	// frame, once set (FrameLocked), turns each write's bytes from frameFrom of the pending buffer on into the
	// bytes written (a binary framing's frames); framed is the writer goroutine's buffer for them
	frame     func(dst, p []byte) []byte
	frameFrom int
	framed    []byte

	kick  chan struct{} // wakes the writer goroutine
	timer *time.Timer
	done  chan struct{} // closed when the writer goroutine returns
}

// New makes a Writer with a buffer of size bytes. Lines are written once half the buffer is used, and at the
// latest `every` after the oldest pending line was written.
func New(w io.Writer, size int, every time.Duration) *Writer {
	if size < 2 {
		size = 2
	}
	lw := &Writer{
		out:   w,
		size:  size,
		every: every,
		buf:   make([]byte, 0, size),
		spare: make([]byte, 0, size),
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	lw.cond = sync.NewCond(&lw.mu)
	lw.timer = time.AfterFunc(time.Hour, lw.wake)
	lw.timer.Stop()
	go lw.writeLoop()
	return lw
}

// Lock takes the writer for WriteLocked and AvailableBuffer. It waits while the buffer is full and the
// previous batch is still being written; it returns at once after an error or Abort (WriteLocked then
// reports it).
func (w *Writer) Lock() {
	w.mu.Lock()
	for len(w.buf) >= w.size && w.err == nil {
		w.wake()
		w.cond.Wait()
	}
}

// Unlock releases the writer.
func (w *Writer) Unlock() { w.mu.Unlock() }

// AvailableBuffer returns an empty slice over the unused part of the buffer, to append a line into without a
// copy (see bufio.Writer.AvailableBuffer). Call with the lock held.
func (w *Writer) AvailableBuffer() []byte { return w.buf[len(w.buf):] }

// WriteLocked queues one or more complete lines. Call with the lock held. The error is sticky: once the
// underlying writer failed (the reader went away) or the writer was aborted, every later write fails.
func (w *Writer) WriteLocked(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return io.ErrClosedPipe
	}
	n := len(w.buf)
	if len(p) > 0 && cap(w.buf)-n >= len(p) && &w.buf[:n+1][n] == &p[0] {
		w.buf = w.buf[:n+len(p)] // appended in place through AvailableBuffer
	} else {
		w.buf = append(w.buf, p...)
	}
	w.queued += uint64(len(p))
	switch {
	case len(w.buf) >= w.size/2:
		w.wake()
	case !w.armed && len(w.buf) > 0:
		w.armed = true
		w.timer.Reset(w.every)
	}
	return nil
}

// Write queues complete lines, taking the lock.
func (w *Writer) Write(p []byte) (int, error) {
	w.Lock()
	defer w.Unlock()
	if err := w.WriteLocked(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// TryWrite queues complete lines unless that would have to wait for room; it reports whether it did. For
// diagnostics that must never hold up their writer.
func (w *Writer) TryWrite(p []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > w.size && len(w.buf) > 0 {
		w.wake()
		return false
	}
	return w.WriteLocked(p) == nil
}

// FrameLocked makes every write from now on pass through frame, which appends the bytes to write for the
// pending bytes p (whole lines or records, as they were queued) to dst: the switch of a stream to a binary
// framing (package wire). Bytes queued before the call are written as they are. frame is called from the
// writer's goroutine only. Call with the lock held.
func (w *Writer) FrameLocked(frame func(dst, p []byte) []byte) {
	w.frame, w.frameFrom = frame, len(w.buf)
}

// Err is the sticky write error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// FlushSoon asks for everything pending to be written now, without waiting for it.
func (w *Writer) FlushSoon() { w.wake() }

// Flush writes out everything pending and waits until it was written, the writer failed, or Abort.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.queued
	for w.written < target && w.err == nil {
		w.wake()
		w.cond.Wait()
	}
	return w.err
}

// Abort fails every pending and later write at once and releases whoever waits for room or for a flush.
// A write(2) already in progress is left to block; the goroutine doing it exits when it returns.
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = ErrAborted
	}
	w.closed = true
	w.timer.Stop()
	w.wake()
	w.cond.Broadcast()
}

// Close flushes, stops the timer and the writer goroutine (unless Abort left it blocked in a write). The
// underlying writer is left open.
func (w *Writer) Close() error {
	err := w.Flush()
	w.mu.Lock()
	wasClosed := w.closed
	w.closed = true
	w.timer.Stop()
	aborted := errors.Is(w.err, ErrAborted)
	w.mu.Unlock()
	if !wasClosed {
		w.wake()
	}
	if !aborted {
		<-w.done
	}
	return err
}

// wake kicks the writer goroutine (any goroutine, lock held or not).
func (w *Writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// writeLoop owns the write(2)s: it swaps the pending buffer for the spare one under the lock and writes it
// outside the lock.
func (w *Writer) writeLoop() {
	defer close(w.done)
	for range w.kick {
		for {
			w.mu.Lock()
			w.armed = false
			if len(w.buf) == 0 || w.err != nil {
				stop := w.closed || w.err != nil
				if w.err != nil {
					w.written = w.queued // nothing pending will ever be written
				}
				w.cond.Broadcast()
				w.mu.Unlock()
				if stop {
					return
				}
				break
			}
			data := w.buf
			w.buf, w.spare = w.spare[:0], nil
			frame, from := w.frame, w.frameFrom
			w.frameFrom = 0
			w.cond.Broadcast() // room again
			w.mu.Unlock()

			out := data
			if frame != nil {
				w.framed = frame(append(w.framed[:0], data[:from]...), data[from:])
				out = w.framed
			}
			_, err := w.out.Write(out)

			w.mu.Lock()
			w.spare = data[:0]
			if len(data) > 4*w.size {
				w.spare = make([]byte, 0, w.size) // a giant line: do not keep its buffer
			}
			w.written += uint64(len(data))
			if err != nil && w.err == nil {
				w.err = err
			}
			w.cond.Broadcast()
			w.mu.Unlock()
		}
	}
}
