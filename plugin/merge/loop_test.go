package merge

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/stream"
)

func eventLine(finish int64, pod string) []byte {
	return []byte(fmt.Sprintf(`{"syscall":{"name":"read"},"start":%d,"finish":%d,"container":{"pod":%q}}`, finish-1, finish, pod))
}

func items(pod string, finishes ...int64) []stream.Item {
	out := make([]stream.Item, len(finishes))
	for i, f := range finishes {
		out[i] = stream.Item{Finish: f, Line: eventLine(f, pod)}
	}
	return out
}

func startLoop(t testing.TB, cfg LoopConfig) *Loop {
	l := NewLoop(cfg)
	go l.Run()
	t.Cleanup(func() {
		l.Stop()
		<-l.Done()
	})
	return l
}

func TestLoopOrdersAcrossStreamsAndStopsAtMaxEvents(t *testing.T) {
	var out bytes.Buffer
	w, _ := output.New(output.JSON, &out, false)
	// order comes from the streams' progress: with the default window, a test stalled for 250 ms between two
	// batches would see the first one released by the clock, ahead of the second
	l := startLoop(t, LoopConfig{Sink: w, MaxEvents: 5, Window: time.Hour})
	in := l.Batches()
	in <- stream.Batch{Stream: 0}
	in <- stream.Batch{Stream: 1}
	in <- stream.Batch{Stream: 0, Items: items("a", 10, 30, 50)}
	in <- stream.Batch{Stream: 1, Items: items("b", 20, 40, 60)}
	select {
	case <-l.MaxReached():
	case <-time.After(5 * time.Second):
		t.Fatal("--max-events was not signalled")
	}
	in <- stream.Batch{Stream: 1, Items: items("b", 70), EOF: true}
	l.Stop()
	<-l.Done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines written, want exactly 5:\n%s", len(lines), out.String())
	}
	for i, want := range []int64{10, 20, 30, 40, 50} {
		pod := map[bool]string{true: "a", false: "b"}[want%20 != 0]
		if lines[i] != string(eventLine(want, pod)) {
			t.Fatalf("line %d = %s", i, lines[i])
		}
	}
	st := l.Stats()
	if st.Received[0] != 3 || st.Received[1] != 4 || st.Emitted != 5 || st.FirstEvent.IsZero() {
		t.Fatalf("stats: %+v", st)
	}
}

// TestLoopHoldsForASlowStream: an event is held while another registered stream may still send an older one,
// and released in order once that stream caught up.
func TestLoopHoldsForASlowStream(t *testing.T) {
	sink := &recordingSink{}
	l := startLoop(t, LoopConfig{Sink: sink, Window: time.Hour})
	in := l.Batches()
	in <- stream.Batch{Stream: 0}
	in <- stream.Batch{Stream: 1}
	in <- stream.Batch{Stream: 0, Items: items("a", 100, 300)}
	in <- stream.Batch{Stream: 1, Items: items("b", 200)}
	in <- stream.Batch{Stream: 1, Items: items("b", 400)}
	in <- stream.Batch{Stream: 0, EOF: true}
	in <- stream.Batch{Stream: 1, EOF: true}
	l.Stop()
	<-l.Done()
	if got := sink.finishes(); got != "100 200 300 400" {
		t.Fatalf("order %s", got)
	}
}

func TestLoopPassesNoticesToTheSink(t *testing.T) {
	sink := &recordingSink{}
	l := startLoop(t, LoopConfig{Sink: sink})
	l.Batches() <- stream.Batch{Stream: 0}
	l.Batches() <- stream.Batch{Stream: 0, Notice: &event.Notice{Kind: event.NoticeReady, Node: "n1"}}
	l.Stop()
	<-l.Done()
	if len(sink.notices) != 1 || sink.notices[0].Node != "n1" {
		t.Fatalf("notices %+v", sink.notices)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "|1", Err: syscall.EPIPE} // what a write to a closed pipe returns
}

func TestLoopReportsOutputErrors(t *testing.T) {
	w, _ := output.New(output.JSON, failingWriter{}, false)
	l := startLoop(t, LoopConfig{Sink: w})
	l.Batches() <- stream.Batch{Stream: 0, Items: items("a", 1), EOF: true}
	select {
	case err := <-l.Failed():
		if !output.IsBrokenPipe(err) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("output error not reported")
	}
}

type recordingSink struct {
	lines   [][]byte
	notices []*event.Notice
}

func (r *recordingSink) Event(line []byte) error {
	r.lines = append(r.lines, append([]byte(nil), line...))
	return nil
}
func (r *recordingSink) Notice(n *event.Notice) error { r.notices = append(r.notices, n); return nil }
func (r *recordingSink) Flush() error                 { return nil }

func (r *recordingSink) finishes() string {
	var out []string
	for _, l := range r.lines {
		f, _ := event.FinishOf(l)
		out = append(out, fmt.Sprint(f))
	}
	return strings.Join(out, " ")
}

// BenchmarkLoopThroughput pushes two streams' event lines through the loop and the JSON writer, as a session
// does, and reports events per second (the plugin must sustain well over 100k/s).
func BenchmarkLoopThroughput(b *testing.B) {
	w, _ := output.New(output.JSON, discardWriter{}, false)
	l := NewLoop(LoopConfig{Sink: w})
	line := []byte(`{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":1732527600123456000,"finish":1732527600123459000,"pid":4242,"tid":4242,"container_pid":1,"uid":0,"gid":0,"comm":"nginx","session":"abc","error":"OK","return":3,"pid_ns":4026531836,"uts_ns":4026531838,"mount_ns":4026531841,"container":{"id":"containerd://0123456789abcdef","pod":"web-1","name":"nginx","image":"nginx:1.27","namespace":"default","labels":{"app":"web"}},"node":"node-a","args":{"dirfd":"AT_FDCWD","pathname":"/etc/hosts","flags":"O_RDONLY|O_CLOEXEC","mode":"0"}}`)
	go l.Run()
	in := l.Batches()
	in <- stream.Batch{Stream: 0}
	in <- stream.Batch{Stream: 1}
	const batch = 512
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	t0 := time.Now().UnixNano()
	for i := 0; i < b.N; i += batch {
		its := make([]stream.Item, batch)
		for j := range its {
			its[j] = stream.Item{Finish: t0 + int64(i+j)*1000, Line: line}
		}
		in <- stream.Batch{Stream: (i / batch) & 1, Items: its}
	}
	in <- stream.Batch{Stream: 0, EOF: true}
	in <- stream.Batch{Stream: 1, EOF: true}
	l.Stop()
	<-l.Done()
	b.ReportMetric(float64(l.Stats().Emitted)/time.Since(start).Seconds(), "events/s")
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// A container's start and end take their place among the events by their time, in the JSON output too; other
// notices go to the sink as they come.
func TestLoopPutsContainerNoticesInTimeOrder(t *testing.T) {
	var out bytes.Buffer
	w, _ := output.New(output.JSON, &out, false)
	l := startLoop(t, LoopConfig{Sink: w, Window: time.Hour})
	in := l.Batches()
	in <- stream.Batch{Stream: 0}
	in <- stream.Batch{Stream: 1}
	in <- stream.Batch{Stream: 0, Items: items("crash", 100, 300)}
	// written after the run's last call, which it follows in time
	in <- stream.Batch{Stream: 0, Notice: &event.Notice{Kind: event.NoticeContainerEnded, Time: 200, Pod: "crash"}}
	in <- stream.Batch{Stream: 0, Notice: &event.Notice{Kind: event.NoticeStats, Time: 50}}
	in <- stream.Batch{Stream: 1, Items: items("web", 150, 400)}
	in <- stream.Batch{Stream: 0, EOF: true}
	in <- stream.Batch{Stream: 1, EOF: true}
	l.Stop()
	<-l.Done()
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(line, event.NoticePrefix) {
			got = append(got, "ended")
			continue
		}
		f, _ := event.FinishOf([]byte(line))
		got = append(got, fmt.Sprint(f))
	}
	if strings.Join(got, " ") != "100 150 ended 300 400" {
		t.Fatalf("order %v", got)
	}
	if st := l.Stats(); st.Emitted != 4 {
		t.Fatalf("%d events counted, want 4 (a notice is no event)", st.Emitted)
	}
}
