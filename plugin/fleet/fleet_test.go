package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agent"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/route"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testWait bounds every wait of these tests (a condition, never a sleep).
const testWait = 20 * time.Second

// harness is a session's fleet on a fake cluster: every exec into an agent pod is served by serve[generation].
type harness struct {
	t      *testing.T
	ctx    context.Context
	log    testutil.Buffer
	fleet  *Fleet
	router *route.Router
	pods   *lifecycle.Pods
	tr     *testutil.Transport
	serves map[string]func(context.Context, transport.Request, transport.Stdio) error // by Job name
	mu     sync.Mutex
	// startFirst adds node's first agent (not running yet).
	startFirst func(node string) *agent.Agent
	// gate, when set before the agents run, holds every replacement until it is closed.
	gate chan struct{}
}

func newHarness(t *testing.T, maxReplacements int) *harness {
	client := testutil.Clientset()
	testutil.RunAgentPods(client)
	h := &harness{t: t, serves: map[string]func(context.Context, transport.Request, transport.Stdio) error{}}
	log := userlog.New(&h.log, false)
	h.pods = lifecycle.New(client, nil, "swoll", "s1", log)
	ctx, cancel := context.WithCancel(t.Context())
	h.ctx = ctx
	watched := make(chan struct{})
	go func() { defer close(watched); h.pods.Watch(ctx) }()
	batches := make(chan stream.Batch, 1024)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-batches:
			case <-ctx.Done():
				return
			}
		}
	}()
	h.tr = &testutil.Transport{Serve: func(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
		h.mu.Lock()
		var serve func(context.Context, transport.Request, transport.Stdio) error
		longest := 0
		for job, s := range h.serves { // the longest Job name the pod's starts with (gen 1's is a prefix of gen 2's)
			if strings.HasPrefix(req.Pod, job+"-") && len(job) > longest {
				serve, longest = s, len(job)
			}
		}
		h.mu.Unlock()
		if serve == nil {
			return errors.New("no agent for pod " + req.Pod)
		}
		return serve(ctx, req, stdio)
	}}
	h.router = route.New(func(string) (route.Agent, error) { return nil, errors.New("no late nodes here") },
		func(*targets.Target, error) {}, log)
	var start func(node string, gen int) *agent.Agent
	h.fleet = New(log, h.router, func(node string, gen int) (*agent.Agent, error) {
		if h.gate != nil {
			<-h.gate
		}
		a := start(node, gen)
		h.router.Replace(node, a)
		go a.Run(ctx)
		return a, nil
	}, maxReplacements)
	start = func(node string, gen int) *agent.Agent {
		return h.fleet.Add(func(id int) *agent.Agent {
			return agent.New(agent.Config{
				ID: id, Node: node, Start: &protocol.Start{Node: node, Session: "s1"}, Pods: h.pods,
				Job:          agentpod.Build(agentpod.Params{Session: "s1", Node: node, Namespace: "swoll", Image: "i", Generation: gen}),
				Replacement:  gen > 1,
				StartTimeout: testWait, Transport: h.tr, Batches: batches, Log: log, Observer: h.fleet,
			})
		})
	}
	h.startFirst = func(node string) *agent.Agent {
		a := start(node, 1)
		h.router.Add(node, a)
		return a
	}
	t.Cleanup(func() {
		h.fleet.Ending()
		for _, a := range h.fleet.List() {
			a.Stop()
		}
		for _, a := range h.fleet.List() {
			<-a.Done()
		}
		cancel()
		<-watched
		<-drained
	})
	return h
}

// serve sets what the exec into the pod of generation gen of node's agent does.
func (h *harness) serve(node string, gen int, f func(context.Context, transport.Request, transport.Stdio) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.serves[agentpod.Name("s1", node)+genSuffix(gen)] = f
}

func genSuffix(gen int) string {
	if gen > 1 {
		return "-" + string(rune('0'+gen))
	}
	return ""
}

// waitLog waits until the session's messages hold want.
func (h *harness) waitLog(want string) {
	h.t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(h.log.String(), want) {
		select {
		case <-deadline.C:
			h.t.Fatalf("no %q in the messages:\n%s", want, h.log.String())
		case <-tick.C:
		}
	}
}

// readyThenBroken plays an agent that gets ready, then loses its stream once the plugin saw it ready.
func readyThenBroken(a func() *agent.Agent) func(context.Context, transport.Request, transport.Stdio) error {
	return func(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
		if _, err := stdio.Stdout.Write([]byte(`{"notice":{"kind":"ready"}}` + "\n")); err != nil {
			return err
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for !a().State().Ready {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		return errors.New("connection reset by peer")
	}
}

func target(node, pod, id string) targets.Target {
	t := targets.Target{Node: node}
	t.ContainerID, t.Pod, t.Namespace, t.Container = id, pod, "shop", "web"
	return t
}

// An agent whose stream breaks after it was ready is replaced: the replacement is given the node's current
// targets and its readiness reports the untraced gap; the summary counts the first one as replaced, not failed.
func TestFleetReplacesAFailedAgent(t *testing.T) {
	h := newHarness(t, 0)
	var first *agent.Agent
	h.serve("node-a", 1, readyThenBroken(func() *agent.Agent { return first }))
	second := &testutil.Agent{}
	h.serve("node-a", 2, second.Serve)
	first = h.startFirst("node-a")
	h.router.Initial([]targets.Target{target("node-a", "web-1", "containerd://a1"), target("node-a", "web-2", "containerd://a2")})
	go first.Run(h.ctx)

	h.waitLog("node-a: replacement agent ready; the node was not traced from ")
	if !h.fleet.Replaced(first) {
		t.Fatal("the first agent is not marked replaced")
	}
	agents := h.fleet.List()
	if len(agents) != 2 || h.fleet.Nodes() != 1 {
		t.Fatalf("%d agents on %d nodes, want 2 on 1", len(agents), h.fleet.Nodes())
	}
	adds := map[string]bool{}
	deadline := time.Now().Add(testWait)
	for len(adds) < 2 && time.Now().Before(deadline) {
		for _, c := range second.Commands() {
			if c.Op == protocol.OpAdd {
				adds[c.Target.ContainerID] = true
			}
		}
		time.Sleep(5 * time.Millisecond) // polling the fake agent's commands
	}
	if !adds["containerd://a1"] || !adds["containerd://a2"] {
		t.Fatalf("the replacement was given %v, want both of the node's targets\nmessages:\n%s", adds, h.log.String())
	}
}

// Past the bound, a failing node is said to be untraced, once, and no further agent starts.
func TestFleetGivesUpAfterMaxReplacements(t *testing.T) {
	h := newHarness(t, 1)
	var first, second *agent.Agent
	h.serve("node-a", 1, readyThenBroken(func() *agent.Agent { return first }))
	h.serve("node-a", 2, readyThenBroken(func() *agent.Agent {
		if second == nil {
			for _, a := range h.fleet.List() {
				if a != first {
					second = a
				}
			}
		}
		return second
	}))
	first = h.startFirst("node-a")
	h.router.Initial([]targets.Target{target("node-a", "web-1", "containerd://a1")})
	go first.Run(h.ctx)
	h.waitLog("node-a: its 1 container(s) are no longer traced: its agent failed 2 times")
	if n := len(h.fleet.List()); n != 2 {
		t.Fatalf("%d agents started, want 2 (one replacement)", n)
	}
	if !h.router.IsUntraced("node-a") {
		t.Fatal("node-a is not marked untraced")
	}
}

// An agent that never got ready is not replaced (its failure said why).
func TestFleetDoesNotReplaceAnAgentThatNeverStarted(t *testing.T) {
	h := newHarness(t, 0)
	h.serve("node-a", 1, func(context.Context, transport.Request, transport.Stdio) error {
		return errors.New("exec refused")
	})
	a := h.startFirst("node-a")
	go a.Run(h.ctx)
	select {
	case <-h.fleet.Exited: // after the fleet heard Finished (Done closes just before it)
	case <-time.After(testWait):
		t.Fatal("the agent did not finish")
	}
	if n := len(h.fleet.List()); n != 1 || !h.router.IsUntraced("node-a") {
		t.Fatalf("%d agents, untraced %v; messages:\n%s", n, h.router.IsUntraced("node-a"), h.log.String())
	}
}

// While a failed agent's replacement is being started the fleet is not done, though the failed agent's Done is
// closed: a session that ended then would leave the replacement running after its teardown took the list.
func TestFleetNotDoneWhileReplacing(t *testing.T) {
	h := newHarness(t, 0)
	h.gate = make(chan struct{})
	var first *agent.Agent
	h.serve("node-a", 1, readyThenBroken(func() *agent.Agent { return first }))
	second := &testutil.Agent{}
	h.serve("node-a", 2, second.Serve)
	first = h.startFirst("node-a")
	h.router.Initial([]targets.Target{target("node-a", "web-1", "containerd://a1")})
	go first.Run(h.ctx)
	select {
	case <-first.Done(): // its Finished is now held in the replacement's start
	case <-time.After(testWait):
		t.Fatal("the first agent did not end")
	}
	if h.fleet.AllDone() {
		t.Fatal("AllDone while the failed agent's replacement is being started")
	}
	close(h.gate)
	h.waitLog("node-a: replacement agent ready; the node was not traced from ")
	if h.fleet.AllDone() {
		t.Fatal("AllDone while the replacement runs")
	}
	if n := len(h.fleet.List()); n != 2 {
		t.Fatalf("%d agents, want 2", n)
	}
}
