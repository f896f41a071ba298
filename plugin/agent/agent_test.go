package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// observer records what an agent reports.
type observer struct {
	mu       sync.Mutex
	calls    []string
	finished chan struct{}
}

func (o *observer) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, s)
}
func (o *observer) Phrase(_ *Agent, p string)        { o.add("phrase " + p) }
func (o *observer) Ready(*Agent)                     { o.add("ready") }
func (o *observer) Notice(_ *Agent, n *event.Notice) { o.add("notice " + string(n.Kind)) }
func (o *observer) Finished(*Agent)                  { o.add("finished"); close(o.finished) }

func (o *observer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.calls, ", ")
}

// run starts one agent whose transport is serve, collects its batches until it finished, and returns it.
func run(t *testing.T, serve func(a *Agent) func(context.Context, transport.Request, transport.Stdio) error) (*Agent, *observer, string, []stream.Batch) {
	t.Helper()
	client := testutil.Clientset()
	testutil.RunAgentPods(client)
	var logBuf testutil.Buffer
	log := userlog.New(&logBuf, false)
	pods := lifecycle.New(client, nil, "swoll", "s1", log)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watched := make(chan struct{})
	go func() { defer close(watched); pods.Watch(ctx) }()
	defer func() { cancel(); <-watched }()

	batches := make(chan stream.Batch, 64)
	obs := &observer{finished: make(chan struct{})}
	pod := agentpod.Build(agentpod.Params{Session: "s1", Node: "node-a", Namespace: "swoll", Image: "i"})
	tr := &testutil.Transport{}
	a := New(Config{
		ID: 7, Node: "node-a", Start: &protocol.Start{Node: "node-a", Session: "s1"},
		Pods: pods, Job: pod, StartTimeout: 10 * time.Second,
		Transport: tr, Batches: batches, Log: log, Observer: obs,
	})
	tr.Serve = serve(a)
	go a.Run(ctx)
	var got []stream.Batch
	for {
		select {
		case b := <-batches:
			got = append(got, b)
		case <-obs.finished:
			for len(batches) > 0 {
				got = append(got, <-batches)
			}
			return a, obs, logBuf.String(), got
		case <-time.After(20 * time.Second):
			t.Fatalf("the agent did not finish; log:\n%s", logBuf.String())
		}
	}
}

func TestAgentStreamsEventsAndKeepsNotices(t *testing.T) {
	fake := &testutil.Agent{Events: [][]byte{
		[]byte(`{"syscall":{"name":"read"},"start":1,"finish":2}`),
		[]byte(`not json`),
		[]byte(`{"notice":{"kind":"lost","lost":5,"lost_total":5}}`),
		[]byte(`{"notice":{"kind":"stats","events":2,"filtered_total":9}}`),
		[]byte(`{"syscall":{"name":"read"},"start":3,"finish":4}`),
	}}
	serve := func(a *Agent) func(context.Context, transport.Request, transport.Stdio) error {
		return func(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
			if req.Pod != a.PodName() || req.Container != agentpod.ContainerName || req.Command[1] != "session" {
				return fmt.Errorf("unexpected exec %+v", req)
			}
			time.AfterFunc(50*time.Millisecond, a.Stop) // the session ends
			return fake.Serve(ctx, req, stdio)
		}
	}
	a, obs, log, batches := run(t, serve)
	st := a.State()
	if !st.Ready || st.Failure != "" || st.Exit == nil || st.Lost != 5 || st.Malformed != 1 || st.Filtered != 9 {
		t.Fatalf("state %+v; log:\n%s", st, log)
	}
	if got := obs.String(); !strings.Contains(got, "ready, notice ready, notice lost, notice stats, notice exit, finished") {
		t.Fatalf("observer: %s", got)
	}
	var finishes []int64
	notices := 0
	for _, b := range batches {
		if b.Stream != 7 {
			t.Fatalf("batch of stream %d", b.Stream)
		}
		for _, it := range b.Items {
			finishes = append(finishes, it.Finish)
		}
		if b.Notice != nil {
			notices++
		}
	}
	if fmt.Sprint(finishes) != "[2 4]" || notices != 4 || !batches[len(batches)-1].EOF {
		t.Fatalf("batches: finishes %v, %d notices, last %+v", finishes, notices, batches[len(batches)-1])
	}
	if !strings.Contains(log, "node-a: 5 events lost in the kernel (total 5)") || !strings.Contains(log, "ignoring a malformed line from the agent") {
		t.Fatalf("log:\n%s", log)
	}
	cmds := fake.Commands()
	if len(cmds) < 2 || cmds[0].Op != protocol.OpStart || cmds[len(cmds)-1].Op != protocol.OpStop {
		t.Fatalf("commands %+v", cmds)
	}
}

func TestAgentBrokenTransport(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"connection refused", errors.New("error dialing backend: connection refused"), "node-a: the agent's session ended: error dialing backend: connection refused"},
		{"stream cut", io.ErrUnexpectedEOF, "node-a: the agent's session ended: the connection to the agent closed"},
		{"bad request", &transport.SetupError{Err: errors.New("no host")}, "node-a: preparing exec into swoll-s1-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, obs, log, _ := run(t, func(*Agent) func(context.Context, transport.Request, transport.Stdio) error {
				return func(context.Context, transport.Request, transport.Stdio) error { return tc.err }
			})
			if a.State().Failure == "" || !strings.Contains(log, tc.want) {
				t.Fatalf("failure %q; log:\n%s", a.State().Failure, log)
			}
			if !strings.HasSuffix(obs.String(), "finished") {
				t.Fatalf("observer: %s", obs)
			}
		})
	}
}

func TestAgentOnANodeThatIsNotReady(t *testing.T) {
	var logBuf bytes.Buffer
	obs := &observer{finished: make(chan struct{})}
	client := testutil.Clientset()
	a := New(Config{
		Node: "node-a", NotReady: "node is not Ready (NodeStatusUnknown)",
		Pods: lifecycle.New(client, nil, "swoll", "s1", userlog.New(&logBuf, false)),
		Job:  agentpod.Build(agentpod.Params{Session: "s1", Node: "node-a", Namespace: "swoll", Image: "i"}),
		Log:  userlog.New(&logBuf, false), Observer: obs,
	})
	a.Run(t.Context())
	if !strings.Contains(logBuf.String(), "node-a: node is not Ready (NodeStatusUnknown); its containers are not traced") {
		t.Fatal(logBuf.String())
	}
	if list, _ := client.CoreV1().Pods("swoll").List(t.Context(), metav1.ListOptions{}); len(list.Items) != 0 {
		t.Fatal("a pod was created on a node that is not ready")
	}
}
