// Package session runs one `kubectl swoll trace`, wiring the engine's parts in the order the data flows:
// preflight (nothing is created before every check passed), targets (list, then watch), the fleet of agents,
// one per node that hosts targets (package fleet owns their state: each agent's Job and pod through package
// lifecycle, its stream through packages agent and transport, the targets routed to it as they come and go),
// the merge loop (time order, to a sink) and teardown (stop, delete, summary).
//
// It is also the engine's library entry point: Run takes a Config (clients, selection, a Sink for events and
// notices, a writer for messages) and a context from the caller, and returns when the session is over. Run may
// be called concurrently for independent sessions.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/audit"
	"github.com/swoll-dev/swoll/plugin/fleet"
	"github.com/swoll-dev/swoll/plugin/nodes"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/preflight"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

// DefaultAgentTimeout is how long an agent pod may take to start when Config.AgentTimeout is zero.
const DefaultAgentTimeout = 2 * time.Minute

// Config is everything a session needs; the command fills it from flags.
type Config struct {
	// Client makes the short requests (it carries --request-timeout).
	Client kubernetes.Interface
	// StreamClient and REST have no overall request timeout: they carry watches and the exec streams, which
	// live as long as the session. StreamClient defaults to Client.
	StreamClient kubernetes.Interface
	REST         *rest.Config
	// Transport connects to the agents; nil: pod exec through StreamClient and REST.
	Transport transport.Transport
	Selection targets.Selection
	// Syscalls as the user gave them (names, class:X, group:Y); empty traces every system call.
	Syscalls []string
	// CheckSyscalls validates Syscalls for one architecture and returns the names to send to agents of it.
	CheckSyscalls func(arch string, names []string) ([]string, error)
	// Sink receives the events in time order and the agents' notices, from one goroutine.
	Sink output.Sink
	// Stderr receives the messages for the person running the session.
	Stderr    io.Writer
	MaxEvents uint64
	// CaptureData is how many bytes of read/write data the agents copy (0: none).
	CaptureData int
	// Stacks asks the agents for the calls' stacks (protocol.Start.Stacks: StacksUser, StacksKernel; in
	// counting mode, counts per calling function); 0: none.
	Stacks int
	// Filter is the incident filters the agents decide in the kernel (--failed, --errno, -P...) and the fd
	// display (-y); the zero Spec keeps every call. Valid (callfilter.Spec.Validate).
	Filter   callfilter.Spec
	Duration time.Duration
	// Window is how long the merger may hold an event to put it in time order (merge.DefaultWindow when 0).
	Window         time.Duration
	AgentNamespace string
	Image          string
	PullPolicy     corev1.PullPolicy
	AgentDeadline  time.Duration
	// AgentTimeout bounds an agent pod's start (DefaultAgentTimeout when 0).
	AgentTimeout time.Duration
	HoldWait     time.Duration
	DryRun       bool
	DryRunOut    io.Writer
	Command      string
	// Privileged runs the agents privileged instead of with the capabilities they need (a fallback).
	Privileged bool
	// CRISocket, when set, is every node's CRI socket (host path) as the user gave it: it overrides the
	// nodes' annotations and the allow-list.
	CRISocket string
	// MaxRate caps each agent's events per second (0: no cap).
	MaxRate uint64
	// Framings are the framings of the event stream the agents may write, preferred first (package wire; the
	// start command's): empty, JSON lines.
	Framings []string
	// OutputDropped, when set, counts the events the output dropped because its reader was too slow (reported
	// apart from the kernel's and --max-rate's drops).
	OutputDropped func() uint64
	// MaxNodes is the fan-out guard: a session refuses to start agents on more nodes than this (0: no limit).
	MaxNodes int
	// Wait: a selection that matches no pod bound to a node yet waits for one (saying so) instead of failing.
	Wait bool
	// Force is closed on a second interrupt: teardown stops waiting and deletes what it can at once.
	Force <-chan struct{}
	// SessionID is generated when empty.
	SessionID string
	// Debug adds what the session sees of the API server to the messages (SWOLL_DEBUG).
	Debug bool
	// Count runs the agents in counting mode (kubectl swoll top): they count in the kernel and write a
	// snapshot line every CountInterval (0: the agent's default, 1 s) instead of events; Sink receives them when
	// it is an output.SnapshotSink. CountEntries sizes their counter tables (0: their default). NoLatency counts
	// without timing the calls (protocol.Start.NoLatency).
	Count         bool
	CountInterval time.Duration
	CountEntries  int
	NoLatency     bool
}

// Run runs a session until ctx ends (interrupt), the duration or event limit is reached, or every agent ended.
func Run(ctx context.Context, cfg Config) error {
	if cfg.SessionID == "" {
		cfg.SessionID = agentpod.NewSessionID()
	}
	if cfg.StreamClient == nil {
		cfg.StreamClient = cfg.Client
	}
	if cfg.AgentTimeout <= 0 {
		cfg.AgentTimeout = DefaultAgentTimeout
	}
	if cfg.Transport == nil {
		cfg.Transport = &transport.Exec{Client: cfg.StreamClient, Config: cfg.REST}
	}
	s := &session{
		cfg:   &cfg,
		log:   userlog.New(cfg.Stderr, cfg.Debug),
		nodes: nodes.NewCache(cfg.Client),
	}
	tracing, err := s.run(ctx)
	if err != nil && ctx.Err() != nil && !tracing {
		return errors.New("interrupted before tracing started; nothing was created")
	}
	return err
}

// session is what the steps before tracing share.
type session struct {
	cfg         *Config
	log         *userlog.Logger
	nodes       *nodes.Cache
	requestedBy string
	warned      sync.Map // node -> true: its CRI socket annotation was reported
}

// run checks, resolves the targets and builds the agents' Jobs; it returns whether tracing started.
func (s *session) run(ctx context.Context) (bool, error) {
	cfg := s.cfg
	sel := &cfg.Selection
	whoDone := make(chan struct{})
	go func() { defer close(whoDone); s.requestedBy = preflight.WhoAmI(ctx, cfg.Client) }()
	defer func() { <-whoDone }()

	// 1. preflight: nothing is created before every check passed
	if err := preflight.CheckAccess(ctx, cfg.Client, preflight.NeededAccess(sel.ListNamespace(), cfg.AgentNamespace, cfg.DryRun, cfg.CaptureData > 0)); err != nil {
		return false, err
	}
	if !sel.AllNamespaces {
		if _, err := preflight.CheckNamespace(ctx, cfg.Client, sel.Namespace, "target"); err != nil {
			return false, err
		}
	}
	agentNS, err := preflight.CheckNamespace(ctx, cfg.Client, cfg.AgentNamespace, "agent")
	if err != nil {
		return false, err
	}

	// 2. targets
	src, err := targets.NewSource(cfg.Client, sel)
	if err != nil {
		return false, err
	}
	src.WatchClient = cfg.StreamClient
	res, err := src.Resolve(ctx)
	if err != nil {
		return false, err
	}
	if len(res.Targets) == 0 && cfg.Wait {
		s.log.Printf("waiting for a pod that matches %s to be bound to a node (--wait; Ctrl-C to stop)", sel.Describe())
		if res, err = src.Wait(ctx, res.ResourceVersion, func(err error) { s.log.Printf("%v (retrying)", err) }); err != nil {
			return false, fmt.Errorf("waiting for a pod: %w", err)
		}
	}
	if err := preflight.CheckResolution(res, sel); err != nil {
		return false, err
	}
	byNode := targets.ByNode(res.Targets)
	nodeNames := targets.Nodes(byNode)
	if err := preflight.CheckFanOut(sel, len(nodeNames), cfg.MaxNodes); err != nil {
		return false, err
	}
	s.nodes.Lookup(ctx, nodeNames...)

	// 3. system calls, per architecture of the nodes involved
	<-whoDone
	plans := make([]fleet.Plan, 0, len(nodeNames))
	jobs := make([]*batchv1.Job, 0, len(nodeNames))
	for _, n := range nodeNames {
		p, err := s.planFor(n, 1)
		if err != nil {
			return false, err
		}
		plans = append(plans, p)
		jobs = append(jobs, p.Job)
	}
	if cfg.DryRun {
		return false, agentpod.WriteYAML(cfg.DryRunOut, jobs)
	}

	// 4. admission
	if err := preflight.CheckPodSecurity(agentNS, sel.ListNamespace()); err != nil {
		return false, err
	}
	if err := preflight.DryRunCreate(ctx, cfg.Client, jobs[0]); err != nil {
		return false, err
	}
	return true, s.trace(ctx, src, res, plans)
}

// planFor plans a node's agent of a generation (> 1: a replacement): its start command, with the system calls
// checked against the node's architecture, and its Job.
func (s *session) planFor(node string, generation int) (fleet.Plan, error) {
	start, err := s.startFor(node)
	if err != nil {
		return fleet.Plan{}, err
	}
	return fleet.Plan{Node: node, Start: start, Job: s.jobFor(node, generation), NotReady: s.nodes.Get(node).NotReady}, nil
}

// startFor builds the OpStart of a node's agent, checking the system calls against the node's architecture.
func (s *session) startFor(node string) (*protocol.Start, error) {
	info := s.nodes.Get(node)
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
	return &protocol.Start{
		Syscalls:    names,
		Node:        node,
		Session:     s.cfg.SessionID,
		MaxEvents:   s.cfg.MaxEvents,
		CaptureData: s.cfg.CaptureData,
		MaxRate:     s.cfg.MaxRate,
		Framings:    s.cfg.Framings,
		CRISocket:   s.criSocket(node),
		Count:       s.cfg.Count,
		// rounded up to a millisecond, so that a small interval is not taken for the default
		CountIntervalMs: (s.cfg.CountInterval + time.Millisecond - 1).Milliseconds(),
		CountEntries:    s.cfg.CountEntries,
		Stacks:          s.cfg.Stacks,
		Filter:          s.cfg.Filter,
		NoLatency:       s.cfg.NoLatency,
	}, nil
}

// criSocket is the CRI socket the node's agent mounts: the user's --cri-socket, else the node's annotation
// when it names a socket on agentpod's allow-list, else the default of the node's runtime. A refused
// annotation is reported (once per node: the answer is the same for the start command and the pod).
func (s *session) criSocket(node string) string {
	info := s.nodes.Get(node)
	socket, warning := agentpod.ChooseCRISocket(s.cfg.CRISocket, info.CRISocket, info.Runtime)
	if warning != "" {
		if _, seen := s.warned.LoadOrStore(node, true); !seen {
			s.log.Printf("node %s: %s", node, warning)
		}
	}
	return socket
}

// jobFor builds the Job of a node's agent; generation > 1 is a replacement.
func (s *session) jobFor(node string, generation int) *batchv1.Job {
	return agentpod.Build(agentpod.Params{
		Generation:    generation,
		Session:       s.cfg.SessionID,
		Node:          node,
		Namespace:     s.cfg.AgentNamespace,
		Image:         s.cfg.Image,
		PullPolicy:    s.cfg.PullPolicy,
		Deadline:      s.cfg.AgentDeadline,
		HoldWait:      s.cfg.HoldWait,
		RequestedBy:   s.requestedBy,
		RequestedFrom: audit.Host(),
		Syscalls:      s.cfg.Syscalls,
		CaptureData:   s.cfg.CaptureData,
		CreatedAt:     time.Now(),
		Command:       s.cfg.Command,
		CRISocket:     s.criSocket(node),
		Privileged:    s.cfg.Privileged,
		KernelVersion: s.nodes.Get(node).Kernel,
		KernelStacks:  s.cfg.Stacks >= protocol.StacksKernel,
	})
}
