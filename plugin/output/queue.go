package output

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxQueued bounds the output a slow reader may leave waiting in the plugin (Queue): 16 MiB, about
// 100 ms of a 250k events/s stream, which rides out a reader's pause (a GC, a descheduled jq) that 4 MiB did not
// once the binary framing let the exec streams deliver at that rate.
const DefaultMaxQueued = 16 << 20

// Queue decouples the pipeline from a slow reader of stdout (`| pv -L 50k`, a terminal paused with ^S): the
// sink's flushes are handed to a goroutine that writes them, so the merge loop and the agents' exec streams
// never wait for the reader. When maxQueued bytes wait already, whole lines are dropped and counted (Dropped):
// memory stays bounded and no line is ever cut. A write error of the reader (a closed pipe) is returned by the
// next Write.
//
// Write is called by one goroutine (the sink's buffer, from the merge loop); Dropped and Close are safe to call
// from any goroutine, Close once, after the last Write.
type Queue struct {
	dst       io.Writer
	maxQueued int
	chunks    chan []byte
	done      chan struct{}

	// owned by the writing goroutine
	partial  bool // the last accepted byte was not a newline: the rest of that line must follow
	dropping bool // the start of the current line was dropped: drop the rest of it too

	mu     sync.Mutex
	queued int // bytes handed over and not written yet
	err    error

	dropped atomic.Uint64
}

// NewQueue starts the goroutine that writes to dst; maxQueued <= 0 is DefaultMaxQueued.
func NewQueue(dst io.Writer, maxQueued int) *Queue {
	if maxQueued <= 0 {
		maxQueued = DefaultMaxQueued
	}
	q := &Queue{dst: dst, maxQueued: maxQueued, chunks: make(chan []byte, 1024), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *Queue) run() {
	defer close(q.done)
	for c := range q.chunks {
		q.mu.Lock()
		failed := q.err != nil
		q.mu.Unlock()
		if !failed {
			if _, err := q.dst.Write(c); err != nil {
				q.mu.Lock()
				q.err = err
				q.mu.Unlock()
			}
		}
		q.mu.Lock()
		q.queued -= len(c)
		q.mu.Unlock()
	}
}

// Write implements io.Writer: p is queued whole, or its complete lines are dropped and counted (the end of a
// line already partly queued is always queued). It never blocks on the reader.
func (q *Queue) Write(p []byte) (int, error) {
	n := len(p)
	q.mu.Lock()
	err, queued := q.err, q.queued
	q.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if q.dropping {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return n, nil
		}
		p, q.dropping = p[i+1:], false
	}
	var head []byte
	if q.partial {
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			head, p = p[:i+1], p[i+1:]
		} else {
			head, p = p, nil
		}
	}
	// full: too many bytes wait, or too many chunks (one slot is kept for the end of a partly queued line)
	if queued+len(head)+len(p) > q.maxQueued || len(q.chunks) >= cap(q.chunks)-1 {
		if len(p) > 0 {
			lines := bytes.Count(p, []byte{'\n'})
			if p[len(p)-1] != '\n' {
				lines++
				q.dropping = true
			}
			q.dropped.Add(uint64(lines))
		}
		p = nil
	}
	chunk := make([]byte, 0, len(head)+len(p))
	chunk = append(append(chunk, head...), p...)
	if len(chunk) > 0 {
		q.partial = chunk[len(chunk)-1] != '\n'
		q.mu.Lock()
		q.queued += len(chunk)
		q.mu.Unlock()
		q.chunks <- chunk // a free slot was checked above (only a single line longer than a buffer may wait here)
	}
	return n, nil
}

// Dropped counts the lines (events) dropped because the reader was too slow.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Close waits until what is queued was written, at most timeout; what a stalled reader did not take by then is
// dropped and counted. It returns the reader's write error, if any.
func (q *Queue) Close(timeout time.Duration) error {
	close(q.chunks)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
		// the writer is stuck in a write; what it has not taken is lost
		for c := range q.chunks {
			q.dropped.Add(uint64(bytes.Count(c, []byte{'\n'})))
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}
