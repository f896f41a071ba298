// Package client runs swoll traces from a Go program: the same sessions as `kubectl swoll trace`, with the
// events delivered as typed values (event.Event) instead of JSON lines on stdout. Nothing is deployed ahead of
// time: like the plugin, a session starts one short-lived agent pod per node that runs a target, streams from it
// through the API server, and deletes it when the session ends.
//
//	cfg, _ := clientcmd.BuildConfigFromFlags("", kubeconfig)
//	err := client.Run(ctx, client.Options{
//		Config:        cfg,
//		Namespace:     "shop",
//		LabelSelector: "app=web",
//		Syscalls:      []string{"openat", "connect"},
//	}, client.Handler{
//		Event: func(ev *event.Event) error {
//			fmt.Println(ev.Container.Pod, ev.Syscall.Name, ev.Error)
//			return nil
//		},
//	})
//
// Run calls the handler from one goroutine, with events in time order across nodes; Start delivers the same on a
// channel. The schema of an event (field names, how arguments are decoded) is package event's; package render
// formats an event as strace does. The cluster-side requirements are the plugin's: the roles of deploy/rbac.yaml
// (agent Jobs and pods/exec in the agent namespace, list and watch of the traced pods), a Pod Security level of
// privileged for the agent namespace, and nodes with a BTF-enabled kernel, 5.10 or newer (see the README).
//
// This package is a thin layer over the plugin's engine (plugin/session): the options map one to one onto
// kubectl swoll trace's session flags, with the same defaults (package plugin/defaults holds them for both).
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/defaults"
	"github.com/swoll-dev/swoll/plugin/session"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/syscalls"
	"github.com/swoll-dev/swoll/wire"
)

const (
	// drainTimeout is how long, once the caller's context has ended, Start waits for its reader to take each
	// remaining message before it drops the rest (so that an abandoned channel cannot hold the teardown).
	drainTimeout = 2 * time.Second
)

// Options say what to trace and how; they mirror kubectl swoll trace's session flags, and a zero field takes
// the flag's default. Only Config is required.
type Options struct {
	// Config reaches the cluster: clientcmd.BuildConfigFromFlags, rest.InClusterConfig, ... Required.
	Config *rest.Config

	// Namespace to look for pods in ("default" when empty); AllNamespaces looks in every namespace.
	Namespace     string
	AllNamespaces bool
	// Pods are pod names; empty: every pod the selectors match.
	Pods []string
	// LabelSelector and FieldSelector select pods as kubectl does ("app=web", "status.phase=Running").
	LabelSelector string
	FieldSelector string
	// Containers narrows each pod to these containers; Nodes narrows to pods on these nodes.
	Containers []string
	Nodes      []string

	// Syscalls are names, class:NAME or group:NAME (see package syscalls); empty traces every system call.
	Syscalls []string
	// CaptureData is how many bytes of read/write data the agents copy into events (0: none).
	CaptureData int

	// Duration ends the session after tracing this long, counted from when the agents are ready (0: until ctx
	// ends). MaxEvents ends it after this many events across nodes (0: no limit).
	Duration  time.Duration
	MaxEvents uint64

	// AgentNamespace holds the agent pods; its Pod Security level must be privileged. Default: Namespace.
	AgentNamespace string
	// Image is the agent image. Default: the image this version of swoll ships (by digest in a build from
	// make dist, else by the module's release tag).
	Image      string
	PullPolicy corev1.PullPolicy // default IfNotPresent
	// AgentTimeout bounds an agent pod's start, image pull included (0: defaults.AgentTimeout, 2 minutes).
	AgentTimeout time.Duration
	// AgentDeadline is a hard limit on an agent pod's life (activeDeadlineSeconds). 0: Duration plus
	// defaults.DeadlineMargin, or defaults.UnboundedDeadline when Duration is 0.
	AgentDeadline time.Duration
	// Privileged runs the agents privileged instead of with only the capabilities they need (BPF, PERFMON,
	// SYS_PTRACE): a fallback for kernels before 5.8 or runtimes that refuse them.
	Privileged bool
	// CRISocket is the nodes' CRI socket (host path), when it is not where their runtime usually puts it nor on
	// swoll's allow-list. Empty: each node's own.
	CRISocket string
	// MaxNodes is the fan-out guard: a selection whose pods run on more nodes than this starts nothing and Run
	// fails. 0: defaults.MaxNodes (10); a negative value: no limit.
	MaxNodes int
	// MaxRate caps the events per second of each node; the agents drop what is over it and count it apart from
	// the kernel's drops (NoticeLost). 0: no cap.
	MaxRate uint64
	// Wait: a selection that matches no pod bound to a node yet waits for one (saying so on Stderr) instead of
	// failing; the pod is traced from its first call.
	Wait bool
	// DryRun, when set, receives the agent Jobs the session would create, as YAML; nothing is created and Run
	// returns without tracing.
	DryRun io.Writer

	// Log receives the messages kubectl swoll prints on stderr: progress, lost events, per-node news and the
	// closing summary. nil discards them.
	Log io.Writer
}

// Handler receives a session's output. Both functions are called from one goroutine, never at the same time.
type Handler struct {
	// Event receives each event, in time order across nodes (required). The event is the caller's to keep. A
	// non-nil error ends the session, which Run then returns.
	Event func(*event.Event) error
	// Notice receives the agents' notices (ready, lost events, targets attached or detached, exit) as they
	// arrive; nil ignores them.
	Notice func(*event.Notice)
}

// Run traces until ctx ends, Duration has passed, MaxEvents have arrived or every agent has ended. It removes
// the agent pods before it returns, also when ctx was cancelled; nothing is created when the options, the
// caller's permissions or the selection are wrong (the error says which, in the line kubectl swoll prints). The
// error wraps its cause: apierrors.IsForbidden(err) holds when the caller lacks a permission, whether the API
// server refused a request or its access review did before anything was created, and errors.As finds the
// API server's status.
func Run(ctx context.Context, opts Options, h Handler) error {
	if h.Event == nil {
		return errors.New("client: Handler.Event is nil")
	}
	cfg, err := opts.session()
	if err != nil {
		return err
	}
	cfg.Sink = &sink{h: h}
	return session.Run(ctx, cfg)
}

// Message is one item of a Session's channel: exactly one of Event and Notice is set.
type Message struct {
	Event  *event.Event
	Notice *event.Notice
}

// Session is a trace whose output arrives on a channel (see Start).
type Session struct {
	// C delivers the events (in time order) and notices; it is closed when the session is over.
	C    <-chan Message
	done chan struct{}
	err  error
}

// Start runs Run in the background and delivers its output on the returned Session's channel. Read C until it is
// closed, then call Wait; to stop early, cancel ctx and keep reading (the events still in flight follow). A
// reader that stops reading slows the session down to its pace: the agents then drop events (NoticeLost).
func Start(ctx context.Context, opts Options) *Session {
	c := make(chan Message)
	s := &Session{C: c, done: make(chan struct{})}
	send := func(m Message) error {
		select {
		case c <- m:
			return nil
		case <-ctx.Done():
		}
		// the caller stopped the session: give a reader still reading the tail, an abandoned channel no hold
		t := time.NewTimer(drainTimeout)
		defer t.Stop()
		select {
		case c <- m:
			return nil
		case <-t.C:
			return fmt.Errorf("client: nobody read the session's channel for %s after the context ended", drainTimeout)
		}
	}
	go func() {
		defer close(s.done)
		defer close(c)
		s.err = Run(ctx, opts, Handler{
			Event:  func(ev *event.Event) error { return send(Message{Event: ev}) },
			Notice: func(n *event.Notice) { _ = send(Message{Notice: n}) },
		})
	}()
	return s
}

// Wait waits until the session is over and returns Run's error.
func (s *Session) Wait() error {
	<-s.done
	return s.err
}

// session turns the options into the engine's configuration, with the plugin's defaults.
func (o *Options) session() (session.Config, error) {
	if o.Config == nil {
		return session.Config{}, errors.New("client: Options.Config is nil (a rest.Config from clientcmd or rest.InClusterConfig)")
	}
	ns := o.Namespace
	if ns == "" {
		ns = corev1.NamespaceDefault
	}
	cfg := session.Config{
		Selection: targets.Selection{
			Namespace: ns, AllNamespaces: o.AllNamespaces, Pods: o.Pods,
			LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector,
			Containers: o.Containers, Nodes: o.Nodes,
		},
		Syscalls:       o.Syscalls,
		CheckSyscalls:  syscalls.ResolveNames,
		Stderr:         o.Log,
		MaxEvents:      o.MaxEvents,
		CaptureData:    o.CaptureData,
		Duration:       o.Duration,
		AgentNamespace: o.AgentNamespace,
		Image:          o.Image,
		PullPolicy:     o.PullPolicy,
		AgentDeadline:  defaults.AgentDeadline(o.AgentDeadline, o.Duration),
		AgentTimeout:   o.AgentTimeout,
		DryRun:         o.DryRun != nil,
		DryRunOut:      o.DryRun,
		Command:        "go: " + filepath.Base(os.Args[0]),
		Privileged:     o.Privileged,
		CRISocket:      o.CRISocket,
		MaxRate:        o.MaxRate,
		Framings:       wire.Known, // the binary framing where the agent writes it
		MaxNodes:       o.MaxNodes,
		Wait:           o.Wait,
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.AgentNamespace == "" {
		cfg.AgentNamespace = ns
	}
	if cfg.Image == "" {
		cfg.Image = defaults.Image()
	}
	if cfg.PullPolicy == "" {
		cfg.PullPolicy = defaults.PullPolicy
	}
	if cfg.AgentTimeout == 0 {
		cfg.AgentTimeout = defaults.AgentTimeout
	}
	switch {
	case cfg.MaxNodes == 0:
		cfg.MaxNodes = defaults.MaxNodes
	case cfg.MaxNodes < 0:
		cfg.MaxNodes = 0 // the engine's "no limit"
	}
	var err error
	if cfg.Client, err = kubernetes.NewForConfig(o.Config); err != nil {
		return session.Config{}, fmt.Errorf("client: %w", err)
	}
	// watches and exec streams live as long as the session: no overall request timeout for them
	cfg.REST = rest.CopyConfig(o.Config)
	cfg.REST.Timeout = 0
	if cfg.StreamClient, err = kubernetes.NewForConfig(cfg.REST); err != nil {
		return session.Config{}, fmt.Errorf("client: %w", err)
	}
	return cfg, nil
}

// sink decodes the engine's event lines into typed events for a Handler.
type sink struct{ h Handler }

func (s *sink) Event(line []byte) error {
	ev := new(event.Event)
	if err := json.Unmarshal(line, ev); err != nil {
		return fmt.Errorf("client: decoding an event: %w", err)
	}
	return s.h.Event(ev)
}

func (s *sink) Notice(n *event.Notice) error {
	if s.h.Notice != nil {
		c := *n
		s.h.Notice(&c)
	}
	return nil
}

func (s *sink) Flush() error { return nil }
