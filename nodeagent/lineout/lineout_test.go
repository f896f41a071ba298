package lineout

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder counts writes and signals each one.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	wrote  chan struct{}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	r.buf.Write(p)
	select {
	case r.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (r *recorder) snapshot() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String(), r.writes
}

func TestTimerFlushesASlowStream(t *testing.T) {
	rec := &recorder{wrote: make(chan struct{}, 1)}
	w := New(rec, 4096, 10*time.Millisecond)
	defer func() { _ = w.Close() }()
	if _, err := w.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("a pending line was never flushed")
	}
	if got, _ := rec.snapshot(); got != "one\n" {
		t.Fatalf("got %q", got)
	}
}

// Lines wait until half the buffer is used (or the timer), and then everything pending goes in one write. (How
// many writes a long fast stream takes depends on how the writer goroutine is scheduled against the appends:
// 10 to 13 for 100 lines through this buffer, so the test checks the rule instead of a count.)
func TestFastStreamIsBatched(t *testing.T) {
	rec := &recorder{wrote: make(chan struct{}, 1)}
	w := New(rec, 1024, time.Hour)
	line := bytes.Repeat([]byte("x"), 99)
	line = append(line, '\n')
	add := func(n int) {
		for range n {
			w.Lock()
			buf := append(w.AvailableBuffer(), line...)
			if err := w.WriteLocked(buf); err != nil {
				t.Fatal(err)
			}
			w.Unlock()
		}
	}
	add(5)   // 500 bytes: under half the buffer, they wait for the timer (an hour)
	select { // a while for a wrong write to show (a right run never writes here, however long it waits)
	case <-rec.wrote:
		got, writes := rec.snapshot()
		t.Fatalf("%d writes (%d bytes) of lines under half the buffer, want none yet", writes, len(got))
	case <-time.After(50 * time.Millisecond):
	}
	add(1) // 600 bytes: past half, everything pending is written at once
	select {
	case <-rec.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("half a buffer of lines was not written")
	}
	if got, writes := rec.snapshot(); writes != 1 || len(got) != 6*len(line) {
		t.Fatalf("%d writes of %d bytes, want one of %d", writes, len(got), 6*len(line))
	}
	add(100) // a fast stream passes whole, in order, whatever the batches
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.snapshot(); got != strings.Repeat(string(line), 106) {
		t.Fatalf("wrote %d bytes, want %d", len(got), 106*len(line))
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestErrorsStick(t *testing.T) {
	w := New(failing{}, 16, time.Hour)
	_, _ = w.Write([]byte("0123456789abcdef0123\n"))
	if err := w.Flush(); err == nil {
		t.Fatal("Flush did not report the failure")
	}
	if _, err := w.Write([]byte("x\n")); err == nil {
		t.Fatal("write after a failed flush succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close did not report the failure")
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	w := New(&recorder{wrote: make(chan struct{}, 1)}, 256<<10, time.Hour)
	defer func() { _ = w.Close() }()
	line := []byte(`{"syscall":{"nr":257,"name":"openat"}}` + "\n")
	allocs := testing.AllocsPerRun(1000, func() {
		w.Lock()
		buf := append(w.AvailableBuffer(), line...)
		_ = w.WriteLocked(buf)
		w.Unlock()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per line, want 0", allocs)
	}
}

// stalled blocks every write until released: a reader that stopped reading.
type stalled struct {
	entered chan struct{}
	release chan struct{}
}

func newStalled() *stalled {
	return &stalled{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s *stalled) Write(p []byte) (int, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return len(p), nil
}

// A write(2) blocked on a stalled reader does not hold the lock: other lines are still queued, Err answers.
func TestStalledWriteDoesNotHoldTheLock(t *testing.T) {
	out := newStalled()
	defer close(out.release)
	w := New(out, 64, time.Millisecond)
	defer w.Abort() // the stalled write then ends the writer goroutine
	if _, err := w.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	<-out.entered // the writer goroutine is now inside Write, blocked
	done := make(chan error, 1)
	go func() {
		_, err := w.Write([]byte("second\n"))
		if err == nil {
			err = w.Err()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write waited behind a stalled write(2)")
	}
}

// Abort releases a writer that waits for room in a full buffer, and every later write fails at once.
func TestAbortReleasesWaitingWriters(t *testing.T) {
	out := newStalled()
	defer close(out.release)
	w := New(out, 32, time.Millisecond)
	line := []byte("0123456789abcdef0123456789abcdef\n") // fills the buffer on its own
	if _, err := w.Write(line); err != nil {
		t.Fatal(err)
	}
	<-out.entered
	if _, err := w.Write(line); err != nil { // taken while the first is being written
		t.Fatal(err)
	}
	waiting := make(chan error, 2)
	go func() { _, err := w.Write(line); waiting <- err }() // no room: waits
	go func() { waiting <- w.Flush() }()                    // waits for a write that never completes
	select {
	case err := <-waiting:
		t.Fatalf("returned before Abort: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	w.Abort()
	for range 2 {
		select {
		case err := <-waiting:
			if !errors.Is(err, ErrAborted) {
				t.Fatalf("got %v, want ErrAborted", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Abort did not release a waiting writer")
		}
	}
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, ErrAborted) {
		t.Fatalf("write after Abort: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		if !errors.Is(err, ErrAborted) {
			t.Fatalf("Close after Abort: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the stalled write(2) after Abort")
	}
}

// Flush returns once what was queued before it is written.
func TestFlushWaitsForTheWrite(t *testing.T) {
	rec := &recorder{wrote: make(chan struct{}, 1)}
	w := New(rec, 4096, time.Hour)
	defer func() { _ = w.Close() }()
	if _, err := w.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.snapshot(); got != "one\n" {
		t.Fatalf("after Flush: %q", got)
	}
}

// TryWrite never waits: with the buffer full behind a stalled write it drops the line and says so.
func TestTryWriteDoesNotWait(t *testing.T) {
	out := newStalled()
	defer close(out.release)
	w := New(out, 16, time.Millisecond)
	defer w.Abort()
	if !w.TryWrite([]byte("0123456789abcdef\n")) {
		t.Fatal("TryWrite into an empty buffer failed")
	}
	<-out.entered
	if !w.TryWrite([]byte("0123456789abcdef\n")) {
		t.Fatal("TryWrite into the free buffer failed")
	}
	done := make(chan bool, 1)
	go func() { done <- w.TryWrite([]byte("x\n")) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("TryWrite queued a line into a full buffer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TryWrite waited for room")
	}
}

// TestFrameFromTheSwitchOn: what was queued before FrameLocked is written as it is, everything after it in
// frames, each write's bytes whole.
func TestFrameFromTheSwitchOn(t *testing.T) {
	for _, flushBetween := range []bool{false, true} {
		r := &recorder{wrote: make(chan struct{}, 1)}
		w := New(r, 1<<10, time.Hour)
		if _, err := w.Write([]byte("ready\n")); err != nil {
			t.Fatal(err)
		}
		if flushBetween {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		w.Lock()
		w.FrameLocked(func(dst, p []byte) []byte { return append(append(append(dst, '['), p...), ']') })
		w.Unlock()
		for _, l := range []string{"a\n", "b\n", "c\n"} {
			if _, err := w.Write([]byte(l)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := r.snapshot()
		rest, ok := strings.CutPrefix(got, "ready\n")
		if !ok || !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
			t.Fatalf("flush between %v: got %q, want ready\\n then frames", flushBetween, got)
		}
		if inner := strings.ReplaceAll(rest[1:len(rest)-1], "][", ""); inner != "a\nb\nc\n" {
			t.Fatalf("flush between %v: frames hold %q, want a, b, c", flushBetween, inner)
		}
	}
}
