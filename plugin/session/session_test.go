package session

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	targetNS  = "shop"
	agentNS   = "swoll"
	sessionID = "t1"
)

func targetPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: targetNS, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "web:1"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", ContainerID: "containerd://" + name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}},
	}
}

func eventLine(finish int64, pod string) []byte {
	return []byte(fmt.Sprintf(`{"syscall":{"name":"read"},"start":%d,"finish":%d,"container":{"pod":%q}}`, finish-1, finish, pod))
}

// cluster is a fake API server with two nodes' worth of targets and a scripted agent per node.
type cluster struct {
	client    *fake.Clientset
	agents    map[string]*testutil.Agent // by pod name
	transport *testutil.Transport
	stderr    *testutil.Buffer
	sink      *recordingSink
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{
		client: testutil.Clientset(
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: targetNS}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: agentNS}},
			targetPod("web-a", "node-a"), targetPod("web-b", "node-b"),
		),
		agents: map[string]*testutil.Agent{
			agentpod.Name(sessionID, "node-a"): {Events: [][]byte{eventLine(10, "web-a"), eventLine(30, "web-a"), eventLine(50, "web-a")}},
			agentpod.Name(sessionID, "node-b"): {Events: [][]byte{eventLine(20, "web-b"), eventLine(40, "web-b"), eventLine(60, "web-b")}},
		},
		stderr: &testutil.Buffer{},
		sink:   &recordingSink{},
	}
	testutil.RunAgentPods(c.client)
	// the agents write their events once both are connected: a stream that connects late holds nothing back
	gate := make(chan struct{})
	var mu sync.Mutex
	connected := 0
	for _, a := range c.agents {
		a.Gate = gate
	}
	c.transport = &testutil.Transport{Serve: func(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
		a, ok := c.agents[req.Pod[:max(strings.LastIndex(req.Pod, "-"), 0)]] // the Job's pod: <job>-<suffix>
		if !ok {
			return fmt.Errorf("no agent in pod %s", req.Pod)
		}
		mu.Lock()
		if connected++; connected == len(c.agents) {
			close(gate)
		}
		mu.Unlock()
		return a.Serve(ctx, req, stdio)
	}}
	return c
}

func (c *cluster) config() Config {
	return Config{
		Client:         c.client,
		Transport:      c.transport,
		Selection:      targets.Selection{Namespace: targetNS, LabelSelector: "app=web"},
		Sink:           c.sink,
		Stderr:         c.stderr,
		AgentNamespace: agentNS,
		Image:          "swoll-agent:test",
		SessionID:      sessionID,
		Window:         time.Hour, // order comes from the streams' progress, not from waiting
	}
}

// agentPods counts the session's agent pods and Jobs left.
func (c *cluster) agentPods(t *testing.T) int {
	sel := metav1.ListOptions{LabelSelector: agentpod.SessionSelector(sessionID)}
	list, err := c.client.CoreV1().Pods(agentNS).List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := c.client.BatchV1().Jobs(agentNS).List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items) + len(jobs.Items)
}

// TestSessionOrdersStreamsAcrossAgents runs a whole session in process: two agents' interleaved streams come
// out in time order, the session stops at --max-events, every agent got start, its target and stop, the
// summary counts per node, and no agent pod is left.
func TestSessionOrdersStreamsAcrossAgents(t *testing.T) {
	c := newCluster(t)
	cfg := c.config()
	cfg.MaxEvents = 5 // the sixth is held (it could still be overtaken), the fifth is the limit
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatalf("session: %v\n%s", err, c.stderr)
	}
	if got := c.sink.finishes(); got != "10 20 30 40 50" {
		t.Fatalf("events out of order: %s", got)
	}
	for pod, a := range c.agents {
		var ops []string
		for _, cmd := range a.Commands() {
			ops = append(ops, string(cmd.Op))
		}
		if got := strings.Join(ops, ","); got != "start,pod,stop" && !strings.HasPrefix(got, "start,pod,") {
			t.Errorf("%s got commands %s", pod, got)
		}
	}
	stderr := c.stderr.String()
	for _, want := range []string{
		"session t1: tracing 2 pod(s) on 2 node(s); starting 2 agent(s) in namespace swoll",
		"agents ready 2/2 after",
		"session t1 ended (--max-events 5 reached)",
		"  node-a: 3 events, 0 lost\n",
		"  node-b: 3 events, 0 lost\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := c.agentPods(t); n != 0 {
		t.Fatalf("%d agent pods left", n)
	}
	if len(c.sink.notices) == 0 {
		t.Fatal("the sink got no notices")
	}
}

// TestSessionBrokenTransport: when the connection to an agent fails, the session says so, ends with an error
// (the trace is incomplete), and still removes every pod.
func TestSessionBrokenTransport(t *testing.T) {
	c := newCluster(t)
	broken := agentpod.Name(sessionID, "node-b")
	c.agents[agentpod.Name(sessionID, "node-a")].Gate = nil
	serve := c.transport.Serve
	c.transport.Serve = func(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
		if strings.HasPrefix(req.Pod, broken+"-") { // the Job's pod
			return fmt.Errorf("error dialing backend: connection refused")
		}
		return serve(ctx, req, stdio)
	}
	cfg := c.config()
	// --duration counts from when every agent that did not fail is ready: node-b must have failed first
	cfg.Duration, cfg.Window = 200*time.Millisecond, 0
	err := Run(t.Context(), cfg)
	if err == nil || err.Error() != "1 of 2 agents failed (see above)" {
		t.Fatalf("error %v\n%s", err, c.stderr)
	}
	stderr := c.stderr.String()
	for _, want := range []string{
		"node-b: the agent's session ended: error dialing backend: connection refused",
		"  node-b: 0 events, 0 lost; agent failed (see above)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if got := c.sink.finishes(); got != "10 30 50" {
		t.Fatalf("events: %s", got)
	}
	if n := c.agentPods(t); n != 0 {
		t.Fatalf("%d agent pods left", n)
	}
}

// TestSessionInterrupted: cancelling the caller's context ends the session through its teardown, which stops
// the agents (OpStop) before it deletes their pods.
func TestSessionInterrupted(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithCancel(t.Context())
	c.sink.onEvent = func(n int) {
		if n == 6 {
			cancel()
		}
	}
	cfg := c.config()
	cfg.Window = 0 // the default: the last events go out after it
	if err := Run(ctx, cfg); err != nil {
		t.Fatalf("session: %v\n%s", err, c.stderr)
	}
	for pod, a := range c.agents {
		cmds := a.Commands()
		if len(cmds) == 0 || cmds[len(cmds)-1].Op != protocol.OpStop {
			t.Errorf("%s was not stopped: %+v", pod, cmds)
		}
	}
	if !strings.Contains(c.stderr.String(), "ended (interrupted)") {
		t.Fatalf("stderr:\n%s", c.stderr)
	}
	if n := c.agentPods(t); n != 0 {
		t.Fatalf("%d agent pods left", n)
	}
}

type recordingSink struct {
	mu      sync.Mutex
	lines   [][]byte
	notices []*event.Notice
	onEvent func(n int)
}

func (r *recordingSink) Event(line []byte) error {
	r.mu.Lock()
	r.lines = append(r.lines, append([]byte(nil), line...))
	n := len(r.lines)
	r.mu.Unlock()
	if r.onEvent != nil {
		r.onEvent(n)
	}
	return nil
}

func (r *recordingSink) Notice(n *event.Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, n)
	return nil
}

func (r *recordingSink) Flush() error { return nil }

func (r *recordingSink) finishes() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		f, _ := event.FinishOf(l)
		out = append(out, fmt.Sprint(f))
	}
	return strings.Join(out, " ")
}

// TestSessionWaitsForAPod: a selection that matches no pod fails with one line naming --wait; with --wait the
// session says it waits, and traces the pod from the moment it is bound to a node, before any of its
// containers runs (the pod is Pending).
func TestSessionWaitsForAPod(t *testing.T) {
	c := newCluster(t)
	cfg := c.config()
	cfg.Selection.LabelSelector = "app=crash"
	err := Run(t.Context(), cfg)
	if err == nil || err.Error() != "no pods match -l app=crash in namespace shop; --wait waits for one" {
		t.Fatalf("without --wait: %v", err)
	}

	c = newCluster(t)
	agent := &testutil.Agent{Events: [][]byte{eventLine(10, "crash"), eventLine(20, "crash")}}
	c.agents = map[string]*testutil.Agent{agentpod.Name(sessionID, "node-b"): agent}
	cfg = c.config()
	cfg.Selection.LabelSelector, cfg.Wait, cfg.MaxEvents = "app=crash", true, 2
	done := make(chan error, 1)
	go func() { done <- Run(t.Context(), cfg) }()
	const waiting = "waiting for a pod that matches -l app=crash in namespace shop to be bound to a node (--wait; Ctrl-C to stop)"
	testutil.WaitFor(t, "the session to say it waits", func() bool { return strings.Contains(c.stderr.String(), waiting) })
	pod := targetPod("crash", "")
	pod.Labels["app"] = "crash"
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	if _, err := c.client.CoreV1().Pods(targetNS).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Spec.NodeName = "node-b" // the scheduler binds it; its image is still being pulled
	if _, err := c.client.CoreV1().Pods(targetNS).Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("session: %v\n%s", err, c.stderr)
	}
	if got := agent.Ops(); got != "start pod crash stop" {
		t.Errorf("the agent received %q", got)
	}
	if got := c.sink.finishes(); got != "10 20" {
		t.Errorf("events %s", got)
	}
	if !strings.Contains(c.stderr.String(), "tracing 1 pod(s) on 1 node(s)") {
		t.Errorf("stderr:\n%s", c.stderr)
	}
}
