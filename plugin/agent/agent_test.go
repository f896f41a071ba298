package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run opens a connection whose far end is serve, with cmds sent first, and collects what comes out until Run
// returns; stopWhen, when set, stops the connection once it returns true for a notice.
func run(t *testing.T, ctx context.Context, serve func(context.Context, transport.Request, transport.Stdio) error,
	cmds []protocol.Command, stopWhen func(*event.Notice) bool) (End, []stream.Batch, []string, string) {
	t.Helper()
	var log testutil.Buffer
	batches := make(chan stream.Batch, 64)
	var mu sync.Mutex
	var notices []string
	tr := &testutil.Transport{Serve: serve}
	var c *Conn
	c = New(Config{ID: 7, Node: "node-a", Namespace: "swoll", Transport: tr, Batches: batches,
		Log: userlog.New(&log, false), Notice: func(n *event.Notice) {
			mu.Lock()
			notices = append(notices, string(n.Kind))
			mu.Unlock()
			if stopWhen != nil && stopWhen(n) {
				c.Stop()
			}
		}})
	c.Send(cmds...)
	end := c.Run(ctx, "swoll-s1-abc-x7k2p")
	close(batches)
	var got []stream.Batch
	for b := range batches {
		got = append(got, b)
	}
	if execs := tr.Execs(); len(execs) != 1 || execs[0].Pod != "swoll-s1-abc-x7k2p" || execs[0].Namespace != "swoll" ||
		execs[0].Container != agentpod.ContainerName || strings.Join(execs[0].Command, " ") != agentpod.AgentBinary+" session" {
		t.Errorf("execs %+v", execs)
	}
	return end, got, notices, log.String()
}

// TestConnStreams: the commands go to the agent in order and OpStop last; events go to the merge loop in
// batches of the agent's stream; notices come out in order; malformed lines are told, then only counted.
func TestConnStreams(t *testing.T) {
	agent := &testutil.Agent{Events: [][]byte{
		[]byte(`{"syscall":{"name":"read"},"start":1,"finish":2}`),
		[]byte(`not json 1`), []byte(`not json 2`), []byte(`not json 3`), []byte(`not json 4`),
		[]byte(`{"notice":{"kind":"lost","lost":5,"lost_total":5}}`),
		[]byte(`{"syscall":{"name":"read"},"start":3,"finish":4}`),
		[]byte(`{"notice":{"kind":"stats"}}`),
	}}
	start := protocol.Command{Op: protocol.OpStart, Start: &protocol.Start{Node: "node-a"}}
	add := protocol.Command{Op: protocol.OpPod, Pod: &protocol.Pod{UID: "u1", Name: "web-1", Namespace: "shop"}}
	end, batches, notices, log := run(t, t.Context(), agent.Serve, []protocol.Command{start, add},
		func(n *event.Notice) bool { return n.Kind == event.NoticeStats })
	if end != (End{Pod: "swoll-s1-abc-x7k2p"}) || end.Failure(true) != "" {
		t.Fatalf("end %+v", end)
	}
	if got := agent.Ops(); got != "start pod web-1 stop" {
		t.Errorf("the agent received %q", got)
	}
	if got := strings.Join(notices, " "); got != "ready lost stats target_attached exit" {
		t.Errorf("notices %q", got)
	}
	var finishes []int64
	for _, b := range batches {
		if b.Stream != 7 {
			t.Fatalf("a batch of stream %d", b.Stream)
		}
		for _, it := range b.Items {
			finishes = append(finishes, it.Finish)
		}
	}
	if fmt.Sprint(finishes) != "[2 4]" || !batches[len(batches)-1].EOF || len(batches[0].Items) != 0 || batches[0].Notice != nil {
		t.Errorf("batches: finishes %v, first %+v, last %+v", finishes, batches[0], batches[len(batches)-1])
	}
	if n := strings.Count(log, "node-a: ignoring a malformed line from the agent"); n != maxShownMalformed ||
		strings.Contains(log, "not json 4") {
		t.Errorf("malformed lines told %d times:\n%s", n, log)
	}
}

// TestConnEnds: how a stream ended, and what that says of the agent.
func TestConnEnds(t *testing.T) {
	cut, cancel := context.WithCancel(t.Context())
	tests := []struct {
		name    string
		ctx     context.Context
		serve   func(context.Context, transport.Request, transport.Stdio) error
		failure string // with no goodbye from the agent
	}{
		{"the agent said goodbye", t.Context(), func(_ context.Context, _ transport.Request, s transport.Stdio) error {
			return testutil.WriteNotice(s.Stdout, event.Notice{Kind: event.NoticeExit})
		}, "the agent's session ended without saying why"},
		{"the connection was refused", t.Context(), func(context.Context, transport.Request, transport.Stdio) error {
			return errors.New("error dialing backend: connection refused")
		}, "the agent's session ended: error dialing backend: connection refused"},
		{"the connection closed", t.Context(), func(context.Context, transport.Request, transport.Stdio) error {
			return io.ErrUnexpectedEOF
		}, "the agent's session ended: the connection to the agent closed"},
		{"the exec could not be prepared", t.Context(), func(context.Context, transport.Request, transport.Stdio) error {
			return &transport.SetupError{Err: errors.New("no host")}
		}, "preparing exec into swoll-s1-abc-x7k2p: no host"},
		{"the stream was cut", cut, func(ctx context.Context, _ transport.Request, _ transport.Stdio) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}, "the agent's session ended: context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end, _, _, _ := run(t, tc.ctx, tc.serve, nil, nil)
			if got := end.Failure(false); got != tc.failure {
				t.Fatalf("failure %q, want %q", got, tc.failure)
			}
			if end.Setup == nil && end.Exec == nil && end.Failure(true) != "" {
				t.Fatalf("a said goodbye is a failure: %q", end.Failure(true))
			}
		})
	}
}

// TestConnOverflow: a counting agent's full counter table is said at once.
func TestConnOverflow(t *testing.T) {
	serve := func(_ context.Context, _ transport.Request, s transport.Stdio) error {
		return testutil.WriteLine(s.Stdout, event.Line{Snapshot: &event.Snapshot{Overflow: 3, OverflowTotal: 9}})
	}
	_, batches, _, log := run(t, t.Context(), serve, nil, nil)
	if !strings.Contains(log, "node-a: 3 calls not counted in the last interval: the agent's counter table is full (total 9)") {
		t.Fatalf("log:\n%s", log)
	}
	if len(batches) < 2 || batches[1].Snapshot == nil {
		t.Fatalf("batches %+v", batches)
	}
}

// TestConnSendAfterStop: commands sent before the stop are written before OpStop; the writer never blocks the
// sender.
func TestConnSendAfterStop(t *testing.T) {
	agent := &testutil.Agent{}
	c := New(Config{Node: "node-a", Transport: &testutil.Transport{Serve: agent.Serve}, Batches: make(chan stream.Batch, 64),
		Log: userlog.New(io.Discard, false), Notice: func(*event.Notice) {}})
	c.Send(protocol.Command{Op: protocol.OpStart, Start: &protocol.Start{}})
	c.Stop()
	c.Stop()
	done := make(chan End, 1)
	go func() { done <- c.Run(t.Context(), "p") }()
	select {
	case <-done:
	case <-time.After(testutil.WaitBound):
		t.Fatal("a stopped connection did not end")
	}
	if got := agent.Ops(); got != "start stop" {
		t.Fatalf("the agent received %q", got)
	}
}
