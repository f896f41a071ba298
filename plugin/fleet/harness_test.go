package fleet

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	agentNS = "swoll"
	session = "s1"
)

// serveFunc plays the far end of one exec.
type serveFunc func(ctx context.Context, req transport.Request, stdio transport.Stdio) error

// setup is what a test's fleet starts with; the zero value is one node (node-a) with one target, whose agent
// runs and streams.
type setup struct {
	nodes   []string // initial agents (default node-a)
	targets []targets.Target
	// objects are on the API server before the session.
	objects []runtime.Object
	kubelet testutil.Kubelet
	// notReady nodes cannot run an agent.
	notReady map[string]string
	// prepare replaces the harness's plans for late nodes and replacements.
	prepare                   func(ctx context.Context, node string, gen int) (Plan, error)
	maxReplacements, maxNodes int
	startTimeout              time.Duration
	// waits changes the harness's short waits.
	waits func(*waits)
	// before runs before the fleet does (reactors, serves).
	before func(h *harness)
}

// harness runs a fleet against a fake API server (lifecycle's watches on testutil.Clientset, a fake kubelet)
// and a fake transport whose far end is a scripted agent per Job.
type harness struct {
	t       *testing.T
	client  *fake.Clientset
	jobs    *lifecycle.Jobs
	fleet   *Fleet
	log     testutil.Buffer
	tr      *testutil.Transport
	changes chan []targets.Change
	// pods is the fleet's input from the agent pods watch; a test may send to it too (podNow).
	pods chan lifecycle.Update

	mu     sync.Mutex
	serves map[string]serveFunc       // by Job name
	agents map[string]*testutil.Agent // by Job name: the default far end
	broken map[string]chan error      // by Job name: breaks its agent's stream
	paths  map[string][]string        // "node/gen" -> the states it went through
	bad    []string                   // transitions the table does not have
}

func plan(node string, gen int) Plan {
	return Plan{
		Node:  node,
		Start: &protocol.Start{Node: node, Session: session},
		Job:   agentpod.Build(agentpod.Params{Session: session, Node: node, Namespace: agentNS, Image: "i", Generation: gen}),
	}
}

func jobName(node string, gen int) string { return plan(node, gen).Job.Name }

// target is pod of namespace shop on node, with UID id and one container, app, whose run has id id.
func target(node, pod, id string) targets.Target {
	t := targets.Target{Node: node}
	t.UID, t.Name, t.Namespace = id, pod, "shop"
	t.Containers = []protocol.Container{{Name: "app", Kind: protocol.KindRegular, ID: "containerd://" + id}}
	return t
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	if s.nodes == nil {
		s.nodes = []string{"node-a"}
	}
	if s.targets == nil {
		s.targets = []targets.Target{target("node-a", "web-1", "a1")}
	}
	if s.kubelet == nil {
		s.kubelet = testutil.Running
	}
	if s.startTimeout == 0 {
		s.startTimeout = testutil.WaitBound
	}
	h := &harness{
		t:       t,
		client:  testutil.Clientset(s.objects...),
		changes: make(chan []targets.Change),
		pods:    make(chan lifecycle.Update),
		serves:  map[string]serveFunc{},
		agents:  map[string]*testutil.Agent{},
		broken:  map[string]chan error{},
		paths:   map[string][]string{},
	}
	testutil.RunAgentPodsWith(h.client, s.kubelet)
	log := userlog.New(&h.log, false)
	h.jobs = lifecycle.New(h.client, nil, agentNS, session, log)
	h.tr = &testutil.Transport{Serve: h.serve}
	planFor := func(node string, gen int) Plan {
		p := plan(node, gen)
		p.NotReady = s.notReady[node]
		return p
	}
	var initial []Plan
	for _, n := range s.nodes {
		initial = append(initial, planFor(n, 1))
	}
	prepare := s.prepare
	if prepare == nil {
		prepare = func(_ context.Context, node string, gen int) (Plan, error) { return planFor(node, gen), nil }
	}
	batches := make(chan stream.Batch, 64)
	h.fleet = New(Config{
		Jobs: h.jobs, Transport: h.tr, Batches: batches, Log: log,
		Initial: initial, Targets: s.targets, Changes: h.changes, Pods: h.pods, Prepare: prepare,
		StartTimeout: s.startTimeout, MaxReplacements: s.maxReplacements, MaxNodes: s.maxNodes,
	})
	// what takes seconds in a session takes moments here: no timed assertion depends on them
	h.fleet.waits = waits{silenceCheck: time.Millisecond, silentAfter: time.Hour, podEndGrace: time.Millisecond}
	if s.waits != nil {
		s.waits(&h.fleet.waits)
	}
	h.fleet.onTransition = h.moved
	if s.before != nil {
		s.before(h)
	}

	ctx, cancel := context.WithCancel(t.Context())
	watchCtx, stopWatch := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); h.jobs.Watch(watchCtx, h.pods) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-batches:
			case <-h.fleet.Finished():
				return
			}
		}
	}()
	go func() { defer wg.Done(); h.fleet.Run(ctx) }()
	t.Cleanup(func() {
		h.fleet.Stop()
		h.waitClosed("every agent gone after Stop", h.fleet.Done())
		cancel()
		h.waitClosed("the fleet's end", h.fleet.Finished())
		stopWatch()
		wg.Wait()
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.bad) > 0 {
			t.Errorf("transitions outside the table: %v", h.bad)
		}
		if t.Failed() {
			t.Logf("messages:\n%s", h.log.String())
		}
	})
	return h
}

// moved records a transition (fleet.onTransition, on the fleet's goroutine); from == to is a new agent.
func (h *harness) moved(node string, gen int, from, to state) {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := fmt.Sprintf("%s/%d", node, gen)
	h.paths[key] = append(h.paths[key], to.String())
	if from != to && !allowed(from, to) {
		h.bad = append(h.bad, key+": "+from.String()+" → "+to.String())
	}
}

// path is the states generation gen of node's agent went through, space-separated.
func (h *harness) path(node string, gen int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.paths[fmt.Sprintf("%s/%d", node, gen)], " ")
}

// reached waits until generation gen of node's agent is in state s (or went through it).
func (h *harness) reached(node string, gen int, s state) {
	h.t.Helper()
	testutil.WaitFor(h.t, fmt.Sprintf("%s/%d to reach %s (messages: %s)", node, gen, s, h.log.String()), func() bool {
		return strings.Contains(" "+h.path(node, gen)+" ", " "+s.String()+" ")
	})
}

// said waits until the messages hold want.
func (h *harness) said(want string) {
	h.t.Helper()
	testutil.WaitFor(h.t, fmt.Sprintf("the message %q (messages: %s)", want, h.log.String()), func() bool {
		return strings.Contains(h.log.String(), want)
	})
}

func (h *harness) waitClosed(what string, c <-chan struct{}) {
	h.t.Helper()
	select {
	case <-c:
	case <-time.After(testutil.WaitBound):
		h.t.Fatalf("waited %s for %s; paths %v\nmessages:\n%s", testutil.WaitBound, what, h.allPaths(), h.log.String())
	}
}

func (h *harness) allPaths() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for k, v := range h.paths {
		out[k] = strings.Join(v, " ")
	}
	return out
}

// stop stops the fleet and waits until every agent is gone.
func (h *harness) stop() {
	h.t.Helper()
	h.fleet.Stop()
	h.waitClosed("every agent gone after Stop", h.fleet.Done())
}

// serve is the transport's far end: the exec into the pod of a Job goes to that Job's serve, else to its
// scripted agent.
func (h *harness) serve(ctx context.Context, req transport.Request, stdio transport.Stdio) error {
	job := req.Pod[:max(strings.LastIndex(req.Pod, "-"), 0)] // the Job's pod: <job>-<suffix>
	h.mu.Lock()
	f := h.serves[job]
	h.mu.Unlock()
	if f == nil {
		f = h.agent(job).Serve
	}
	return f(ctx, req, stdio)
}

// agent is the scripted agent at the far end of the Job's exec (unless a serve was set for it).
func (h *harness) agent(job string) *testutil.Agent {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.agents[job]
	if a == nil {
		h.broken[job] = make(chan error, 1)
		a = &testutil.Agent{Break: h.broken[job]}
		h.agents[job] = a
	}
	return a
}

// breaks is where the stream of the Job's scripted agent can be broken (with the error sent).
func (h *harness) breaks(job string) chan<- error {
	h.agent(job)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.broken[job]
}

// setServe sets the far end of the Job's exec.
func (h *harness) setServe(job string, f serveFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.serves[job] = f
}

// ops waits until the Job's scripted agent received want (its commands, as testutil.Agent.Ops says them).
func (h *harness) ops(job, want string) {
	h.t.Helper()
	a := h.agent(job)
	testutil.WaitFor(h.t, fmt.Sprintf("the agent of %s to receive %q", job, want), func() bool { return a.Ops() == want })
}

// pod waits for the pod of the Job.
func (h *harness) pod(job string) *corev1.Pod { return testutil.AgentPod(h.t, h.client, agentNS, job) }

// podNow changes the Job's pod on the API server and hands the change to the fleet at once: once podNow
// returns, what the fleet does next comes after it.
func (h *harness) podNow(job string, change func(*corev1.Pod)) {
	h.t.Helper()
	p := testutil.UpdatePod(h.t, h.client, h.pod(job), change)
	h.pods <- lifecycle.Update{Pod: p}
}

// apply hands target changes to the fleet.
func (h *harness) apply(cs ...targets.Change) { h.changes <- cs }

func added(t targets.Target) targets.Change { return targets.Change{Kind: targets.Added, Target: t} }
func removed(t targets.Target) targets.Change {
	return targets.Change{Kind: targets.Removed, Target: t}
}

// notices plays an agent that says ready, then writes each notice, then waits for the stop (or says what
// last says, when set, and ends).
func notices(ns []event.Notice, last error) serveFunc {
	return func(ctx context.Context, _ transport.Request, stdio transport.Stdio) error {
		if err := testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeReady, Selection: event.SelectionCgroup}); err != nil {
			return err
		}
		for _, n := range ns {
			if err := testutil.WriteNotice(stdio.Stdout, n); err != nil {
				return err
			}
		}
		if last != nil {
			return last
		}
		stdin := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, stdio.Stdin); stdin <- err }()
		select {
		case err := <-stdin: // stdin ended: the stop
			if err != nil {
				return err
			}
			return testutil.WriteNotice(stdio.Stdout, event.Notice{Kind: event.NoticeExit})
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func jobCount(t *testing.T, c *fake.Clientset) int {
	t.Helper()
	list, err := c.BatchV1().Jobs(agentNS).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}
