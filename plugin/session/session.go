// Package session runs one `kubectl swoll trace`: it checks before it creates anything, starts one agent pod
// per node that hosts targets, feeds each agent its targets as they come and go, merges their event streams
// to stdout, and tears everything down in layers when the session ends.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/merge"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/protocol"
)

// CRISocketAnnotation on a node names its CRI socket (a host path) when it is not a well-known one.
const CRISocketAnnotation = "swoll.dev/cri-socket"

// Config is everything a session needs; the command fills it from flags.
type Config struct {
	// Client makes the short requests (it carries --request-timeout).
	Client kubernetes.Interface
	// StreamClient and REST have no overall request timeout: they carry watches and the exec streams, which
	// live as long as the session. StreamClient defaults to Client.
	StreamClient kubernetes.Interface
	REST         *rest.Config
	Selection    targets.Selection
	// Syscalls as the user gave them (names, class:X, group:Y); empty traces every system call.
	Syscalls []string
	// CheckSyscalls validates Syscalls for one architecture and returns the names to send to agents of it.
	CheckSyscalls func(arch string, names []string) ([]string, error)
	Output        output.Writer
	Stderr        io.Writer
	MaxEvents     uint64
	Duration      time.Duration
	// Window is how long the merger may hold an event to put it in time order.
	Window         time.Duration
	AgentNamespace string
	Image          string
	PullPolicy     corev1.PullPolicy
	AgentDeadline  time.Duration
	AgentTimeout   time.Duration
	HoldWait       time.Duration
	DryRun         bool
	DryRunOut      io.Writer
	Command        string
	// Force is closed on a second interrupt: teardown stops waiting and deletes what it can at once.
	Force <-chan struct{}
	// SessionID is generated when empty.
	SessionID string
}

// Session is one running trace.
type Session struct {
	cfg Config
	id  string
	log *logger

	mu       sync.Mutex
	agents   map[string]*agent // by node
	streams  []*agent          // by stream id
	created  map[string]bool   // pod names created (or attempted)
	names    map[string]string // container id (without runtime prefix) -> namespace/pod/container
	initial  map[string]bool   // container ids (without runtime prefix) traced from the start
	nodes    map[string]nodeInfo
	readyAll bool
	start    time.Time

	batches     chan stream.Batch
	agentExited chan struct{}
	execCtx     context.Context
	execCancel  context.CancelFunc

	// merger side
	maxReached  chan struct{}
	maxOnce     sync.Once
	outFailed   chan error
	mergeStop   chan struct{}
	mergeDone   chan struct{}
	emitted     uint64
	received    map[int]uint64
	firstEvent  atomic.Int64
	requestedBy string
	// allReady is closed when every agent that did not fail is ready: --duration counts from there
	allReady chan struct{}
	stopping time.Time
	// tracing is set once agent pods may exist (before that, an interrupt leaves nothing to clean up)
	tracing bool
}

type nodeInfo struct {
	Arch      string
	CRISocket string
	// NotReady, when set, says why the node cannot run an agent now (its Ready condition is not True).
	NotReady string
}

// Run runs a session until ctx ends (interrupt), the duration or event limit is reached, or every agent ended.
func Run(ctx context.Context, cfg Config) error {
	if cfg.SessionID == "" {
		cfg.SessionID = agentpod.NewSessionID()
	}
	if cfg.Window <= 0 {
		cfg.Window = 250 * time.Millisecond
	}
	if cfg.StreamClient == nil {
		cfg.StreamClient = cfg.Client
	}
	if cfg.AgentTimeout <= 0 {
		cfg.AgentTimeout = 2 * time.Minute
	}
	s := &Session{
		cfg:         cfg,
		id:          cfg.SessionID,
		log:         &logger{w: cfg.Stderr, debug: os.Getenv("SWOLL_DEBUG") != ""},
		agents:      map[string]*agent{},
		created:     map[string]bool{},
		names:       map[string]string{},
		initial:     map[string]bool{},
		nodes:       map[string]nodeInfo{},
		batches:     make(chan stream.Batch, 256),
		agentExited: make(chan struct{}, 64),
		maxReached:  make(chan struct{}),
		outFailed:   make(chan error, 1),
		mergeStop:   make(chan struct{}),
		mergeDone:   make(chan struct{}),
		received:    map[int]uint64{},
		allReady:    make(chan struct{}),
	}
	err := s.run(ctx)
	if err != nil && ctx.Err() != nil && !s.tracing {
		return errors.New("interrupted before tracing started; nothing was created")
	}
	return err
}

func (s *Session) run(ctx context.Context) error {
	cfg := &s.cfg
	sel := &cfg.Selection
	whoDone := make(chan struct{})
	go func() { defer close(whoDone); s.requestedBy = whoAmI(ctx, cfg.Client) }()

	// 1. preflight: nothing is created before every check passed
	if err := CheckAccess(ctx, cfg.Client, NeededAccess(sel.ListNamespace(), cfg.AgentNamespace, cfg.DryRun)); err != nil {
		return err
	}
	if !sel.AllNamespaces {
		if _, err := CheckNamespace(ctx, cfg.Client, sel.Namespace, "target"); err != nil {
			return err
		}
	}
	agentNS, err := CheckNamespace(ctx, cfg.Client, cfg.AgentNamespace, "agent")
	if err != nil {
		return err
	}

	// 2. targets
	src, err := targets.NewSource(cfg.Client, sel)
	if err != nil {
		return err
	}
	src.WatchClient = cfg.StreamClient
	res, err := src.Resolve(ctx)
	if err != nil {
		return err
	}
	if err := checkResolution(res, sel); err != nil {
		return err
	}
	byNode := targets.ByNode(res.Targets)
	nodes := targets.Nodes(byNode)
	s.lookupNodes(ctx, nodes)

	// 3. system calls, per architecture of the nodes involved
	starts := map[string]*protocol.Start{}
	for _, n := range nodes {
		st, err := s.startFor(n)
		if err != nil {
			return err
		}
		starts[n] = st
	}
	<-whoDone
	pods := make([]*corev1.Pod, 0, len(nodes))
	for _, n := range nodes {
		pods = append(pods, s.podFor(n))
	}
	if cfg.DryRun {
		return printPods(cfg.DryRunOut, pods)
	}

	// 4. admission
	if err := CheckPodSecurity(agentNS); err != nil {
		return err
	}
	if err := DryRunCreate(ctx, cfg.Client, pods[0]); err != nil {
		return err
	}
	return s.trace(ctx, src, res, byNode, pods, starts)
}

func checkResolution(res *targets.Resolution, sel *targets.Selection) error {
	if missing := targets.MissingPods(res.Pods, sel); len(missing) > 0 {
		where := "namespace " + sel.Namespace
		if sel.AllNamespaces {
			where = "any namespace"
		}
		noun := "pod"
		if len(missing) > 1 {
			noun = "pods"
		}
		return &PreflightError{Msg: fmt.Sprintf("%s %s not found in %s", noun, quoteAll(missing), where)}
	}
	if len(res.Pods) == 0 {
		return &PreflightError{Msg: "no pods match " + sel.Describe()}
	}
	if len(res.Targets) == 0 {
		what := "a running container"
		if len(sel.Containers) > 0 {
			what = "a running container named " + strings.Join(sel.Containers, " or ")
		}
		if len(sel.Nodes) > 0 {
			what += " on node " + strings.Join(sel.Nodes, " or ")
		}
		return &PreflightError{Msg: fmt.Sprintf("%d pod(s) match %s, but none has %s", len(res.Pods), sel.Describe(), what)}
	}
	return nil
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// lookupNodes reads the architecture and CRI socket annotation of each node, in parallel. Reading nodes is
// optional: without permission, syscalls are checked against amd64 and sockets are auto-detected.
func (s *Session) lookupNodes(ctx context.Context, nodes []string) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.lookupNode(ctx, n)
		}()
	}
	wg.Wait()
}

// lookupNode records a node's nodeInfo in s.nodes, once: a late agent's node may be known already.
func (s *Session) lookupNode(ctx context.Context, name string) {
	s.mu.Lock()
	_, known := s.nodes[name]
	s.mu.Unlock()
	if known {
		return
	}
	var info nodeInfo
	node, err := s.cfg.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		info.Arch = node.Status.NodeInfo.Architecture
		if info.Arch == "" {
			info.Arch = node.Labels["kubernetes.io/arch"]
		}
		info.CRISocket = node.Annotations[CRISocketAnnotation]
		info.NotReady = notReady(node)
	}
	s.mu.Lock()
	s.nodes[name] = info
	s.mu.Unlock()
}

// notReady explains why a node is not Ready ("" when it is, or when it does not say).
func notReady(node *corev1.Node) string {
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		msg := "node is not Ready"
		if c.Reason != "" {
			msg += " (" + c.Reason + ")"
		}
		if c.Message != "" {
			msg += ": " + c.Message
		}
		return msg
	}
	return ""
}

// startFor builds the OpStart of a node's agent, checking the system calls against the node's architecture.
func (s *Session) startFor(node string) (*protocol.Start, error) {
	s.mu.Lock()
	info := s.nodes[node]
	s.mu.Unlock()
	names := s.cfg.Syscalls
	if s.cfg.CheckSyscalls != nil && len(names) > 0 {
		arch := info.Arch
		if arch == "" {
			arch = "amd64"
		}
		resolved, err := s.cfg.CheckSyscalls(arch, names)
		if err != nil {
			if info.Arch == "" {
				return nil, err
			}
			return nil, fmt.Errorf("node %s (%s): %w", node, arch, err)
		}
		names = resolved
	}
	socket := info.CRISocket
	if strings.HasPrefix(socket, "/var/run/") {
		socket = strings.TrimPrefix(socket, "/var")
	}
	return &protocol.Start{
		Syscalls:  names,
		Node:      node,
		Session:   s.id,
		MaxEvents: s.cfg.MaxEvents,
		CRISocket: socket,
	}, nil
}

func (s *Session) podFor(node string) *corev1.Pod {
	s.mu.Lock()
	info := s.nodes[node]
	s.mu.Unlock()
	return agentpod.Build(agentpod.Params{
		Session:     s.id,
		Node:        node,
		Namespace:   s.cfg.AgentNamespace,
		Image:       s.cfg.Image,
		PullPolicy:  s.cfg.PullPolicy,
		Deadline:    s.cfg.AgentDeadline,
		HoldWait:    s.cfg.HoldWait,
		RequestedBy: s.requestedBy,
		CreatedAt:   time.Now(),
		Command:     s.cfg.Command,
		CRISocket:   info.CRISocket,
	})
}

func printPods(w io.Writer, pods []*corev1.Pod) error {
	for i, p := range pods {
		b, err := yaml.Marshal(p)
		if err != nil {
			return fmt.Errorf("rendering agent pod: %w", err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// whoAmI names the user for the pods' annotations: the API server's view when it can tell, else the local user.
func whoAmI(ctx context.Context, client kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err == nil && r.Status.UserInfo.Username != "" {
		return r.Status.UserInfo.Username
	}
	for _, v := range []string{"USER", "USERNAME"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "unknown"
}

// trace is the live part of a session.
func (s *Session) trace(ctx context.Context, src *targets.Source, res *targets.Resolution, byNode map[string][]targets.Target,
	pods []*corev1.Pod, starts map[string]*protocol.Start) error {
	s.tracing = true
	s.start = time.Now()
	s.execCtx, s.execCancel = context.WithCancel(context.Background())
	defer s.execCancel()
	watchCtx, stopWatches := context.WithCancel(context.Background())
	defer stopWatches()

	for _, t := range res.Targets {
		s.names[stripRuntime(t.ContainerID)] = t.Namespace + "/" + t.Pod + "/" + t.Container
		s.initial[stripRuntime(t.ContainerID)] = true
	}
	nodeCount := len(pods)
	s.log.printf("session %s: tracing %d container(s) in %d pod(s) on %d node(s); starting %d agent(s) in namespace %s",
		s.id, len(res.Targets), countPods(res.Targets), nodeCount, nodeCount, s.cfg.AgentNamespace)

	go s.watchAgentPods(watchCtx)
	go s.watchAgentEvents(watchCtx)
	go s.mergeLoop()
	nodes := targets.Nodes(byNode)
	for i, p := range pods {
		node := nodes[i]
		a := s.addAgent(node, p, starts[node])
		for _, t := range byNode[node] {
			a.enqueue(protocol.Command{Op: protocol.OpAdd, Target: &t.Target})
		}
		go a.run(s.execCtx)
	}

	changes := make(chan []targets.Change, 64)
	go src.Watch(watchCtx, res.ResourceVersion, changes, func(err error) { s.log.printf("%v (retrying)", err) })

	// --duration is tracing time: it starts when the agents are ready, not while images are pulled
	var deadline <-chan time.Time
	allReady := s.allReady
	reason := ""
	var outErr error
	for reason == "" {
		select {
		case <-ctx.Done():
			reason = "interrupted"
		case <-allReady:
			allReady = nil
			if s.cfg.Duration > 0 {
				t := time.NewTimer(s.cfg.Duration)
				defer t.Stop()
				deadline = t.C
			}
		case <-deadline:
			reason = fmt.Sprintf("--duration %s reached", s.cfg.Duration)
		case <-s.maxReached:
			reason = fmt.Sprintf("--max-events %d reached", s.cfg.MaxEvents)
		case outErr = <-s.outFailed:
			reason = "output closed"
		case cs := <-changes:
			s.apply(cs)
		case <-s.agentExited:
			if s.allAgentsDone() {
				reason = "every agent ended"
			}
		}
	}
	err := s.teardown(reason, stopWatches)
	if outErr != nil && !isBrokenPipe(outErr) {
		return fmt.Errorf("writing events: %w", outErr)
	}
	return err
}

func countPods(ts []targets.Target) int {
	seen := map[string]bool{}
	for _, t := range ts {
		seen[t.Namespace+"/"+t.Pod] = true
	}
	return len(seen)
}

func (s *Session) addAgent(node string, pod *corev1.Pod, start *protocol.Start) *agent {
	a := s.newAgent(node, pod, start)
	s.mu.Lock()
	a.id = len(s.streams)
	s.streams = append(s.streams, a)
	s.agents[node] = a
	s.mu.Unlock()
	return a
}

// apply routes target changes to agents, starting an agent on a node that had none.
func (s *Session) apply(cs []targets.Change) {
	for _, c := range cs {
		t := c.Target
		s.mu.Lock()
		s.names[stripRuntime(t.ContainerID)] = t.Namespace + "/" + t.Pod + "/" + t.Container
		a := s.agents[t.Node]
		s.mu.Unlock()
		switch c.Kind {
		case targets.Added:
			if a == nil {
				var err error
				a, err = s.startLateAgent(t.Node)
				if err != nil {
					s.log.printf("%s: cannot trace %s/%s there: %v", t.Node, t.Namespace, t.Pod, err)
					continue
				}
			}
			a.enqueue(protocol.Command{Op: protocol.OpAdd, Target: &t.Target})
		case targets.Removed:
			if a != nil {
				a.enqueue(protocol.Command{Op: protocol.OpRemove, ContainerID: t.ContainerID})
			}
		}
	}
}

// startLateAgent starts an agent on a node that gained targets during the session.
func (s *Session) startLateAgent(node string) (*agent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.lookupNode(ctx, node)
	start, err := s.startFor(node)
	if err != nil {
		return nil, err
	}
	a := s.addAgent(node, s.podFor(node), start)
	s.log.printf("%s: new node with targets; starting an agent", node)
	go a.run(s.execCtx)
	return a, nil
}

func (s *Session) markCreated(name string) {
	s.mu.Lock()
	s.created[name] = true
	s.mu.Unlock()
}

func (s *Session) targetName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.names[stripRuntime(id)]; ok {
		return n
	}
	return "container " + shortID(id)
}

func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

func shortID(id string) string {
	id = stripRuntime(id)
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (s *Session) isInitial(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initial[stripRuntime(id)]
}

func (s *Session) isReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyAll
}

// progress reports one agent's state change with the overall count.
func (s *Session) progress(a *agent, phrase string) {
	s.mu.Lock()
	ready, total := s.readyCounts()
	quiet := s.readyAll
	s.mu.Unlock()
	if quiet && phrase != "pod created" {
		s.log.printf("%s: %s", a.node, phrase)
		return
	}
	if !quiet {
		s.log.printf("agents ready %d/%d; %s: %s", ready, total, a.node, phrase)
	}
}

// readyCounts counts agents that reported ready, and those that have not failed (mu held).
func (s *Session) readyCounts() (ready, total int) {
	for _, a := range s.streams {
		a.mu.Lock()
		if a.ready {
			ready++
		}
		if a.failure == "" || a.ready {
			total++
		}
		a.mu.Unlock()
	}
	return ready, total
}

func (s *Session) agentReady(a *agent) {
	s.mu.Lock()
	ready, total := s.readyCounts()
	first := !s.readyAll && ready == total
	if first {
		s.readyAll = true
		close(s.allReady)
	}
	s.mu.Unlock()
	elapsed := time.Since(s.start).Round(10 * time.Millisecond)
	switch {
	case first:
		s.log.printf("agents ready %d/%d after %s; tracing (Ctrl-C to stop)", ready, total, elapsed)
	case s.isReady():
		s.log.printf("%s: agent ready after %s", a.node, time.Since(a.started).Round(10*time.Millisecond))
	default:
		s.log.printf("agents ready %d/%d; %s: ready after %s", ready, total, a.node, elapsed)
	}
}

func (s *Session) agentFinished() {
	s.mu.Lock()
	// a failed agent no longer counts toward readiness: the others may now all be ready
	ready, total := s.readyCounts()
	nowReady := !s.readyAll && total > 0 && ready == total
	if nowReady {
		s.readyAll = true
		close(s.allReady)
	}
	s.mu.Unlock()
	if nowReady {
		s.log.printf("agents ready %d/%d; tracing (Ctrl-C to stop)", ready, total)
	}
	select {
	case s.agentExited <- struct{}{}:
	default:
	}
}

func (s *Session) allAgentsDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.streams {
		select {
		case <-a.done:
		default:
			return false
		}
	}
	return true
}

// lastLogLine fetches the last line the agent container logged (why it exited).
func (s *Session) lastLogLine(pod *corev1.Pod) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tail := int64(5)
	b, err := s.cfg.Client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
		Container: agentpod.ContainerName, TailLines: &tail,
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return lastLine(string(b))
}

// mergeLoop owns the merger and the output writer.
func (s *Session) mergeLoop() {
	defer close(s.mergeDone)
	m := merge.New(int64(s.cfg.Window))
	flush := time.NewTicker(50 * time.Millisecond)
	defer flush.Stop()
	stopped := false // after --max-events or an output error nothing more is written
	outputFailed := func(err error) {
		stopped = true
		select {
		case s.outFailed <- err:
		default:
		}
	}
	emit := func(e *merge.Entry) bool {
		if stopped {
			return false
		}
		if err := s.cfg.Output.Event(e.Line); err != nil {
			outputFailed(err)
			return false
		}
		s.emitted++
		if s.emitted == 1 {
			s.firstEvent.Store(time.Now().UnixNano())
		}
		if s.cfg.MaxEvents > 0 && s.emitted >= s.cfg.MaxEvents {
			stopped = true
			s.maxOnce.Do(func() { close(s.maxReached) })
		}
		return true
	}
	handle := func(b stream.Batch) {
		s.received[b.Stream] += uint64(len(b.Items))
		if b.EOF {
			m.RemoveStream(b.Stream)
		} else {
			m.AddStream(b.Stream)
		}
		if stopped {
			return
		}
		now := stream.Now()
		for _, it := range b.Items {
			m.Push(b.Stream, it.Finish, it.Line, now)
		}
	}
	for {
		select {
		case b := <-s.batches:
			handle(b)
			m.Ready(stream.Now(), emit)
		case <-flush.C:
			m.Ready(stream.Now(), emit)
			if err := s.cfg.Output.Flush(); err != nil && !stopped {
				outputFailed(err)
			}
		case <-s.mergeStop:
		drain:
			for {
				select {
				case b := <-s.batches:
					handle(b)
				default:
					break drain
				}
			}
			m.Drain(emit)
			if err := s.cfg.Output.Flush(); err != nil && !stopped {
				outputFailed(err)
			}
			return
		}
	}
}

// teardown ends the session in layers: stop the agents through their control channel (they detach and
// exit), cut the exec streams if they linger, delete the pods and wait until they are gone, then summarise.
func (s *Session) teardown(reason string, stopWatches context.CancelFunc) error {
	s.stopping = time.Now()
	s.mu.Lock()
	agents := append([]*agent(nil), s.streams...)
	s.mu.Unlock()
	for _, a := range agents {
		a.stop()
	}
	forced := false
	waitAll := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		for _, a := range agents {
			select {
			case <-a.done:
			case <-t.C:
				return false
			case <-s.cfg.Force:
				forced = true
				return false
			}
		}
		return true
	}
	if !waitAll(1500 * time.Millisecond) {
		s.execCancel()
		if !forced {
			waitAll(500 * time.Millisecond)
		}
	}
	stopWatches()

	deleted := make(chan error, 1)
	go func() { deleted <- s.deleteAgentPods(forced) }()
	close(s.mergeStop)
	select {
	case <-s.mergeDone:
	case <-time.After(2 * time.Second):
	}
	var delErr error
	select {
	case delErr = <-deleted:
	case <-s.cfg.Force:
		// do not wait for the pods to go, but do make sure the deletions were sent before exiting
		n := s.forceDelete()
		s.log.printf("forced exit: deletion of %d agent pod(s) requested without waiting; `kubectl swoll cleanup -n %s` removes leftovers",
			n, s.cfg.AgentNamespace)
		return errors.New("interrupted twice")
	}
	s.summary(reason)
	if delErr != nil {
		return delErr
	}
	return s.failures()
}

func (s *Session) deleteAgentPods(forced bool) error {
	s.mu.Lock()
	n := len(s.created)
	s.mu.Unlock()
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	grace := int64(1)
	if forced {
		grace = 0
	}
	_, err := DeleteAndWait(ctx, s.cfg.Client, s.cfg.AgentNamespace, agentpod.SessionSelector(s.id), grace, s.cfg.Force)
	if err != nil {
		return fmt.Errorf("removing agent pods (run `kubectl swoll cleanup`): %w", err)
	}
	return nil
}

// forceDelete asks for every agent pod of the session to be deleted at once (grace 0), bounded in time.
func (s *Session) forceDelete() int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	list, err := s.cfg.Client.CoreV1().Pods(s.cfg.AgentNamespace).List(ctx, metav1.ListOptions{LabelSelector: agentpod.SessionSelector(s.id)})
	if err != nil {
		return 0
	}
	zero := int64(0)
	var wg sync.WaitGroup
	for _, p := range list.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}()
	}
	wg.Wait()
	return len(list.Items)
}

func (s *Session) summary(reason string) {
	s.mu.Lock()
	agents := append([]*agent(nil), s.streams...)
	s.mu.Unlock()
	elapsed := time.Since(s.start).Round(10 * time.Millisecond)
	first := ""
	if f := s.firstEvent.Load(); f != 0 {
		first = fmt.Sprintf("; first event after %s", time.Duration(f-s.start.UnixNano()).Round(10*time.Millisecond))
	}
	s.log.printf("session %s ended (%s) after %s: %d events written%s; cleaned up in %s", s.id, reason, elapsed, s.emitted, first,
		time.Since(s.stopping).Round(10*time.Millisecond))
	sort.Slice(agents, func(i, j int) bool { return agents[i].node < agents[j].node })
	for _, a := range agents {
		a.mu.Lock()
		lost := a.lost
		state := ""
		if a.failure != "" {
			state = "; agent failed (see above)"
		}
		a.mu.Unlock()
		s.log.printf("  %s: %d events, %d lost%s", a.node, s.received[a.id], lost, state)
	}
}

// failures is an error when any agent failed, so that the exit status says the trace was incomplete.
func (s *Session) failures() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	failed := 0
	for _, a := range s.streams {
		a.mu.Lock()
		if a.failure != "" {
			failed++
		}
		a.mu.Unlock()
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d agents failed (see above)", failed, len(s.streams))
}

func isBrokenPipe(err error) bool {
	return err != nil && (errors.Is(err, io.ErrClosedPipe) || strings.Contains(err.Error(), "broken pipe"))
}
