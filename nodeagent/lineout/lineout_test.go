package lineout

import (
	"bytes"
	"errors"
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

func TestFastStreamIsBatched(t *testing.T) {
	rec := &recorder{wrote: make(chan struct{}, 1)}
	w := New(rec, 1024, time.Hour)
	line := bytes.Repeat([]byte("x"), 99)
	line = append(line, '\n')
	for range 100 {
		w.Lock()
		buf := append(w.AvailableBuffer(), line...)
		if err := w.WriteLocked(buf); err != nil {
			t.Fatal(err)
		}
		w.Unlock()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, writes := rec.snapshot()
	if len(got) != 100*len(line) {
		t.Fatalf("wrote %d bytes, want %d", len(got), 100*len(line))
	}
	if writes > 11 {
		t.Fatalf("%d writes for 10 KB through a 1 KB buffer; want about 10", writes)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestErrorsStick(t *testing.T) {
	w := New(failing{}, 16, time.Hour)
	_, _ = w.Write([]byte("0123456789abcdef0123\n"))
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
