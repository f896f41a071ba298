package output

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gatedWriter blocks every write until open is closed (a reader that does not read), then keeps what it gets.
type gatedWriter struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
	err  error
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return 0, g.err
	}
	return g.buf.Write(p)
}

func (g *gatedWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// A reader that does not read: writes never block, whole lines are dropped past the bound and counted, and
// what reaches the reader is made of whole lines only.
func TestQueueDropsWholeLines(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	q := NewQueue(g, 100)
	var sent int
	write := func(s string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := q.Write([]byte(s)); err != nil {
				t.Error(err)
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Write blocked on a reader that does not read")
		}
	}
	// 10-byte lines, written in pieces that cut lines, as a buffer's flushes do
	var all strings.Builder
	for i := range 40 {
		fmt.Fprintf(&all, "line %03d\n", i)
		sent++
	}
	text := all.String()
	for i := 0; i < len(text); i += 25 {
		write(text[i:min(i+25, len(text))])
	}
	close(g.open)
	if err := q.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	got := g.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, l := range lines {
		if len(l) != 8 || !strings.HasPrefix(l, "line ") {
			t.Fatalf("a cut or merged line %q in:\n%s", l, got)
		}
	}
	if uint64(len(lines))+q.Dropped() != uint64(sent) {
		t.Fatalf("%d lines written + %d dropped != %d sent", len(lines), q.Dropped(), sent)
	}
	if q.Dropped() == 0 || len(lines) == 0 {
		t.Fatalf("%d written, %d dropped: want some of each with a 100-byte bound", len(lines), q.Dropped())
	}
}

// A reader that keeps up gets everything, in order.
func TestQueuePassesEverythingToAReader(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	close(g.open)
	q := NewQueue(g, 0)
	var want strings.Builder
	for i := range 1000 {
		l := fmt.Sprintf("event %d\n", i)
		want.WriteString(l)
		if _, err := q.Write([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if g.String() != want.String() || q.Dropped() != 0 {
		t.Fatalf("dropped %d; output differs", q.Dropped())
	}
}

// The reader's error (a closed pipe) comes back from a later Write; Close with a stalled reader returns in time
// and counts what was left.
func TestQueueErrorAndStalledClose(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{}), err: &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}}
	close(g.open)
	q := NewQueue(g, 0)
	if _, err := q.Write([]byte("a\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var err error
	for err == nil && time.Now().Before(deadline) {
		_, err = q.Write([]byte("b\n"))
		time.Sleep(time.Millisecond) // until the writer goroutine met the error
	}
	if !IsBrokenPipe(err) {
		t.Fatalf("Write after a broken pipe: %v", err)
	}
	_ = q.Close(time.Second)

	stalled := &gatedWriter{open: make(chan struct{})}
	q = NewQueue(stalled, 0)
	for range 3 {
		_, _ = q.Write([]byte("x\n"))
	}
	closed := make(chan struct{})
	go func() { defer close(closed); _ = q.Close(100 * time.Millisecond) }()
	select { // waiting for the reader would be forever: any generous bound tells the two apart
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close waited for a stalled reader")
	}
	if q.Dropped() < 2 { // the first chunk is in the stuck write; the others are counted
		t.Fatalf("dropped %d, want the lines left in the queue", q.Dropped())
	}
	close(stalled.open) // lets the stuck write return
}
