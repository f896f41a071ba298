//go:build unix

package session

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/eventline"
	"github.com/swoll-dev/swoll/plugin/agent"
	"github.com/swoll-dev/swoll/plugin/merge"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/wire"
)

const (
	// benchEvents is each node's events per run of the pipeline.
	benchEvents = 1 << 15
	// benchWrite is what an agent writes at once when it is busy: its output buffer (256 KiB) is written when
	// half full, as one frame in a binary framing (package lineout).
	benchWrite = 128 << 10
	// benchPods, benchThreads: each node runs that many pods, each with that many threads.
	benchPods, benchThreads = 4, 3
	// benchSpacing is the event time between a node's consecutive events (500k events/s per node); every node
	// covers the same time, so the streams interleave event by event.
	benchSpacing = 2000
	// benchStatsEvery: an agent's stats notice after that many events.
	benchStatsEvery = 1 << 14
	// benchQueueClose bounds the wait for the output queue's last writes to the discarding writer.
	benchQueueClose = 10 * time.Second
)

var benchFramings = []string{wire.BinaryZstd, wire.Binary, wire.JSON}

// BenchmarkPipeline measures the plugin's side of a session's events/s across nodes (issue 20): for 1, 2, 4
// and 8 nodes, each node's agent stream (a mix of openat, read, write and close calls of several pods and
// threads, in the agent's framing and write sizes) goes through its own connection (agent.Conn: the exec
// stream's pipe and the stream.Pump goroutine that reads it, as the fleet runs one per node) into one merge
// loop (merge.Loop) writing JSON lines (output.New through output.Queue, as `kubectl swoll trace -o json`
// does) to a discarding writer. It reports events/s through the whole pipeline, ns and allocations per event,
// and the bytes per event on the wire.
//
// Its stages apart say which one saturates: "pumps" is the per-node part alone (each connection's batches
// counted and dropped; it runs on as many cores as there are nodes), "loop" the shared part alone (the merge
// loop and the JSON writer fed the batches the pumps made, on one goroutine whatever the nodes).
func BenchmarkPipeline(b *testing.B) {
	for _, framing := range benchFramings {
		for _, nodes := range []int{1, 2, 4, 8} {
			streams, wireBytes := benchStreams(b, framing, nodes)
			b.Run(fmt.Sprintf("whole/%s/nodes=%d", framing, nodes), func(b *testing.B) {
				benchRuns(b, nodes, wireBytes, func() (uint64, uint64) { return runPipeline(b, streams, loopSink) })
			})
			b.Run(fmt.Sprintf("pumps/%s/nodes=%d", framing, nodes), func(b *testing.B) {
				benchRuns(b, nodes, wireBytes, func() (uint64, uint64) { return runPipeline(b, streams, countSink) })
			})
			if framing == benchFramings[0] {
				batches := pumpedBatches(b, streams)
				b.Run(fmt.Sprintf("loop/nodes=%d", nodes), func(b *testing.B) {
					benchRuns(b, nodes, wireBytes, func() (uint64, uint64) { return runLoop(b, batches) })
				})
			}
		}
	}
}

// benchRuns runs one case: run handles every node's events once and returns how many came out, and how many
// of them the output queue dropped.
func benchRuns(b *testing.B, nodes, wireBytes int, run func() (uint64, uint64)) {
	want := uint64(nodes * benchEvents)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore := cpuTime(b)
	b.ReportAllocs()
	var dropped uint64
	for b.Loop() {
		got, d := run()
		if got != want {
			b.Fatalf("%d events out of %d", got, want)
		}
		dropped += d
	}
	cpu := cpuTime(b) - cpuBefore
	runtime.ReadMemStats(&after)
	events := float64(b.N) * float64(want)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	// the process's CPU time (the garbage collector's included): what an event costs whatever else shares the
	// cores, which the wall time does not say on a loaded machine
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/events, "B/event")
	b.ReportMetric(float64(wireBytes)/benchEvents, "wire-B/event")
	// the events the output queue dropped were merged and written to the JSON writer's buffer, then dropped for
	// want of the queue's writer (starved of CPU: it never waits for io.Discard)
	b.ReportMetric(float64(dropped)/events, "dropped/event")
}

// cpuTime is the CPU time the process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// batchesTo starts what takes the connections' batches and returns where they go, and a function that waits
// for the end after every connection returned and says how many events came out and how many of them the
// output dropped.
type batchesTo func(b *testing.B) (chan<- stream.Batch, func() (uint64, uint64))

// loopSink is the session's: one merge loop writing JSON lines through the output queue to a discarding writer.
func loopSink(b *testing.B) (chan<- stream.Batch, func() (uint64, uint64)) {
	q := output.NewQueue(io.Discard, 0)
	sink, err := output.New(output.JSON, q, false)
	if err != nil {
		b.Fatal(err)
	}
	loop := merge.NewLoop(merge.LoopConfig{Sink: sink})
	go loop.Run()
	return loop.Batches(), func() (uint64, uint64) {
		loop.Stop()
		<-loop.Done()
		if err := q.Close(benchQueueClose); err != nil {
			b.Fatal(err)
		}
		return loop.Stats().Emitted, q.Dropped()
	}
}

// countSink counts the events of the batches and drops them: the pumps alone.
func countSink(*testing.B) (chan<- stream.Batch, func() (uint64, uint64)) {
	batches, counted := make(chan stream.Batch, 256), make(chan uint64)
	go func() {
		var n uint64
		for bt := range batches {
			n += uint64(len(bt.Items))
		}
		counted <- n
	}()
	return batches, func() (uint64, uint64) {
		close(batches)
		return <-counted, 0
	}
}

// runPipeline connects to one replayed agent per stream, as the fleet does, and sends their batches to the
// sink to; it returns when every stream ended.
func runPipeline(b *testing.B, streams [][][]byte, to batchesTo) (uint64, uint64) {
	batches, wait := to(b)
	log := userlog.New(io.Discard, false)
	var conns sync.WaitGroup
	for i, writes := range streams {
		c := agent.New(agent.Config{
			ID: i, Node: benchNode(i), Namespace: agentNS, Transport: replay(writes), Batches: batches, Log: log,
			Notice: func(*event.Notice) {},
		})
		conns.Go(func() {
			if end := c.Run(b.Context(), agentNS+"-"+benchNode(i)); end.Failure(true) != "" {
				b.Errorf("%s: %s", benchNode(i), end.Failure(true))
			}
		})
	}
	conns.Wait()
	return wait()
}

// runLoop sends the nodes' batches, as their pumps made them, to a session's merge loop: a batch of each node
// in turn, as streams of the same pace arrive (from one goroutine: goroutines of their own would each put their
// whole stream in the loop's queue at once, which holds every batch of the run).
func runLoop(b *testing.B, perNode [][]stream.Batch) (uint64, uint64) {
	batches, wait := loopSink(b)
	for i := range perNode {
		batches <- stream.Batch{Stream: i} // registers the stream, as agent.Conn does
	}
	for k := 0; ; k++ {
		sent := false
		for _, bs := range perNode {
			if k < len(bs) {
				batches <- bs[k]
				sent = true
			}
		}
		if !sent {
			return wait()
		}
	}
}

// pumpedBatches reads each stream once with stream.Pump and keeps its batches (their lines stay valid: the
// pump's slabs are never reused).
func pumpedBatches(b *testing.B, streams [][][]byte) [][]stream.Batch {
	out := make([][]stream.Batch, len(streams))
	for i, writes := range streams {
		r, w := io.Pipe()
		go func() {
			defer func() { _ = w.Close() }()
			for _, p := range writes {
				if _, err := w.Write(p); err != nil {
					return
				}
			}
		}()
		ch := make(chan stream.Batch, 1<<16)
		if err := stream.Pump(r, i, ch, discardHandler{}); err != nil {
			b.Fatal(err)
		}
		close(ch)
		for bt := range ch {
			out[i] = append(out[i], bt)
		}
	}
	return out
}

type discardHandler struct{}

func (discardHandler) Notice(*event.Notice)     {}
func (discardHandler) Snapshot(*event.Snapshot) {}
func (discardHandler) Malformed(line []byte, _ error) {
	panic(fmt.Sprintf("malformed line %.200q", line))
}

// replay is a transport whose agent writes a stream it was given, one write per element (as the agent writes
// its output buffer), then ends as an agent does after its exit notice.
type replay [][]byte

func (r replay) Exec(ctx context.Context, _ transport.Request, stdio transport.Stdio) error {
	for _, p := range r {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := stdio.Stdout.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func benchNode(i int) string { return fmt.Sprintf("node-%d", i) }

// benchStreams makes every node's stream in a framing, as the writes its agent makes: the ready notice, then
// its events (and a stats notice now and then) in writes of up to benchWrite bytes, then the exit notice. It
// also returns a node's bytes.
func benchStreams(b *testing.B, framing string, nodes int) ([][][]byte, int) {
	streams := make([][][]byte, nodes)
	for n := range streams {
		streams[n] = benchStream(b, framing, n)
	}
	total := 0
	for _, p := range streams[0] {
		total += len(p)
	}
	return streams, total
}

func benchStream(b *testing.B, framing string, node int) [][]byte {
	notice := func(n event.Notice) []byte {
		line, err := json.Marshal(event.Line{Notice: &n})
		if err != nil {
			b.Fatal(err)
		}
		return line
	}
	name := benchNode(node)
	writes := [][]byte{append(notice(event.Notice{Kind: event.NoticeReady, Node: name, Time: benchT0, Framing: framing}), '\n')}
	binary := wire.IsBinary(framing)
	enc, fr := wire.NewEncoder(), wire.NewFramer(framing == wire.BinaryZstd)
	var j eventline.Joiner
	var pending []byte // ops, or JSON lines
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if binary {
			writes = append(writes, fr.Append(nil, pending))
		} else {
			writes = append(writes, pending)
		}
		pending = nil
	}
	addLine := func(line []byte) {
		if binary {
			pending = enc.AppendLine(pending, line)
		} else {
			pending = append(append(pending, line...), '\n')
		}
	}
	g := newBenchNode(node)
	for i := range benchEvents {
		p := g.event(i)
		if binary {
			pending = enc.AppendEvent(pending, p)
		} else {
			pending = j.Append(pending, p)
		}
		if (i+1)%benchStatsEvery == 0 {
			addLine(notice(event.Notice{Kind: event.NoticeStats, Node: name, Time: p.Finish, Events: uint64(i + 1)}))
		}
		if len(pending) >= benchWrite {
			flush()
		}
	}
	addLine(notice(event.Notice{Kind: event.NoticeExit, Node: name, Events: benchEvents}))
	flush()
	return writes
}

const benchT0 = 1_765_000_000_000_000_000

// benchGen makes a node's events: its pods' threads in turn, each calling openat, read, write and close on a
// file, the first two of its own.
type benchGen struct {
	node    int
	threads []benchThread
	parts   eventline.Parts
	args    []byte
}

type benchThread struct {
	identity, namespaces, target []byte
}

var (
	benchComms = []string{"nginx", "php-fpm", "redis-server", "java", "node", "envoy", "postgres", "python3"}
	benchCalls = [][]byte{
		[]byte(`{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files","arch":"amd64"},"start":`),
		[]byte(`{"syscall":{"nr":0,"name":"read","class":"FileSystem","group":"ReadWrite","arch":"amd64"},"start":`),
		[]byte(`{"syscall":{"nr":1,"name":"write","class":"FileSystem","group":"ReadWrite","arch":"amd64"},"start":`),
		[]byte(`{"syscall":{"nr":3,"name":"close","class":"FileSystem","group":"Files","arch":"amd64"},"start":`),
	}
	benchSession = []byte(`,"session":"ab12cd","error":"`)
)

func newBenchNode(node int) *benchGen {
	g := &benchGen{node: node}
	for pod := range benchPods {
		pid := 1000*(node+1) + 100*pod
		ns := fmt.Appendf(nil, `,"pid_ns":%d,"uts_ns":%d,"mount_ns":%d`, 4026532300+10*pod, 4026532301+10*pod, 4026532302+10*pod)
		target := fmt.Appendf(nil, `,"container":{"id":"%016x","pod":"web-%d-%d-7d9f","name":"app","image":"registry.local/shop/web:1.%d","namespace":"shop","restart_count":0,"labels":{"app":"web","tier":"front"}},"node":"%s"`,
			uint64(node+1)<<32|uint64(pod), node, pod, pod, benchNode(node))
		for t := range benchThreads {
			comm := benchComms[(pod*benchThreads+t)%len(benchComms)]
			g.threads = append(g.threads, benchThread{
				identity: fmt.Appendf(nil, `,"pid":%d,"tid":%d,"container_pid":%d,"uid":101,"gid":101,"comm":"%s"`,
					pid, pid+t, 1+t, comm),
				namespaces: ns, target: target,
			})
		}
	}
	return g
}

// event is the node's i-th event; the parts are valid until the next call.
func (g *benchGen) event(i int) *eventline.Parts {
	th := &g.threads[(i/4)%len(g.threads)]
	call := i % 4
	finish := int64(benchT0 + i*benchSpacing + g.node*benchSpacing/8)
	p := &g.parts
	*p = eventline.Parts{
		Prefix: benchCalls[call], Start: finish - 300 - int64(i*7919%2500), Finish: finish,
		Identity: th.identity, Session: benchSession, Error: "OK", Namespaces: th.namespaces, Target: th.target,
	}
	fd := 3 + (i/4)%5
	switch call {
	case 0:
		g.args = fmt.Appendf(g.args[:0], `{"dirfd":"AT_FDCWD","pathname":"/var/www/html/static/asset-%d.css","flags":"O_RDONLY|O_CLOEXEC"}`, i/4%64)
		if i%20 == 0 {
			p.Error, p.Return = "ENOENT", -2
		} else {
			p.Return = int64(fd)
		}
	case 1:
		g.args = fmt.Appendf(g.args[:0], `{"fd":%d,"buf":"0x7ffd%08x","count":65536}`, fd, i)
		p.Return = int64(512 + i%4096)
	case 2:
		g.args = fmt.Appendf(g.args[:0], `{"fd":%d,"buf":"0x55d3%08x","count":%d}`, 10+fd, i, 512+i%4096)
		p.Return = int64(512 + i%4096)
	default:
		g.args = fmt.Appendf(g.args[:0], `{"fd":%d}`, fd)
	}
	p.Args = g.args
	return p
}
