// Package trace is `kubectl swoll trace`: its options (selection and session flags, which top shares),
// their validation, and the session it runs (or the recording it replays). A command's options are used by
// one goroutine: cobra's.
package trace

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/plugin/agentns"
	"github.com/swoll-dev/swoll/plugin/defaults"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/session"
	"github.com/swoll-dev/swoll/plugin/tally"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/tracefile"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
	"github.com/swoll-dev/swoll/wire"
)

const traceExample = `  # Every openat and connect of the pods labelled app=nginx, as JSON lines
  kubectl swoll trace -l app=nginx -s openat,connect | jq .

  # One pod, strace-like output, stop after 30 seconds
  kubectl swoll trace web-7d9f-abcde -n shop -s execve -o cli --duration 30s

  # Only the "app" container of running pods on one node, first 1000 events
  kubectl swoll trace -l tier=backend -c app --field-selector status.phase=Running --node worker-2 --max-events 1000

  # Whole system-call classes or groups
  kubectl swoll trace -l app=db -s class:FileSystem,group:Sockets

  # Who makes these calls: each one's stack, symbolized from the container's own binaries, as strace -k prints it
  kubectl swoll trace -l app=web -s connect -k -o cli

  # A seed-style Trace spec, read locally
  kubectl swoll trace -f trace.yaml

  # Only the calls that fail, with what their fds are
  kubectl swoll trace -l app=nginx --failed -yy -o cli

  # Who touches /etc/resolv.conf (its opens, and the reads and closes of its fds)
  kubectl swoll trace -l app=nginx -P /etc/resolv.conf -y

  # A crash-looping pod, or one not created yet: every run from its first call, with its exit status
  kubectl swoll trace -l app=worker -s execve,openat,exit_group --wait

  # Show the agent pods that would be created, create nothing
  kubectl swoll trace -l app=nginx --dry-run`

// Options holds `kubectl swoll trace`'s flags and what Complete derives from them.
type Options struct {
	genericiooptions.IOStreams
	configFlags *genericclioptions.ConfigFlags

	Pods          []string
	LabelSelector string
	FieldSelector string
	AllNamespaces bool
	Containers    []string
	Nodes         []string
	Syscalls      []string
	Output        string
	Duration      time.Duration
	MaxEvents     uint64
	CaptureData   int
	// Stacks is -k's count: 1 adds each call's user-space stack, 2 the kernel's too.
	Stacks int
	// By groups the summary (and top's rows) by the calling function as well: ByCaller, or "".
	By             string
	Image          string
	AgentNamespace string
	PullPolicy     string
	DryRun         bool
	Filename       string
	AgentDeadline  time.Duration
	AgentTimeout   time.Duration
	Privileged     bool
	CRISocket      string
	MaxRate        uint64
	MaxNodes       int
	// Calls are the incident filters and the fd display (--failed, -P, -y...): the agents decide them in the
	// kernel.
	Calls callfilter.Spec
	// Wait: a selection that matches no pod bound to a node yet waits for one instead of failing.
	Wait bool
	// Force is closed on a second interrupt (main's signal handling): teardown stops waiting for the agent
	// pods to go.
	Force <-chan struct{}
	// Summary prints an strace -c style summary at the end; MetricsAddr serves /metrics for the session;
	// Replay reads a recording instead of tracing (no cluster).
	Summary     bool
	MetricsAddr string
	Replay      string

	// set by Run: stdout's queue
	queue *output.Queue

	// set by Complete
	namespace string
	command   string
	changed   func(string) bool
}

// NewOptions returns options with their defaults.
func NewOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, force <-chan struct{}) *Options {
	return &Options{
		configFlags:  configFlags,
		IOStreams:    streams,
		Output:       output.JSON,
		Image:        defaults.Image(),
		PullPolicy:   string(defaults.PullPolicy),
		AgentTimeout: defaults.AgentTimeout,
		MaxNodes:     defaults.MaxNodes,
		MaxRate:      defaults.MaxRate,
		Force:        force,
		changed:      func(string) bool { return false },
	}
}

// NewCommand builds `kubectl swoll trace` on o.
func NewCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace [POD...] [flags]",
		Short: "Trace the system calls of the selected pods' containers",
		Long: `Trace the system calls of the containers of the selected pods, like strace, across every node they run on.

Select pods by name, -l/--selector, --field-selector, or -f with a Trace spec; narrow with -c/--container and
--node. Events go to stdout as JSON lines (-o json, one object per system call, ready for jq) or as strace-like
lines (-o cli). Progress, lost-event warnings and a summary go to stderr.

For each node that runs a target, an agent (a Job of one hostPID pod with the BPF, PERFMON and SYS_PTRACE
capabilities; its namespace must admit Pod Security level privileged) is created in --agent-namespace; it is
deleted when the trace ends (Ctrl-C, --duration, --max-events). If kubectl swoll itself is killed, the agents
notice the closed connection and exit and their Jobs delete themselves, and activeDeadlineSeconds bounds their
life; 'kubectl swoll cleanup' removes anything left over. Pods, containers and nodes that appear while tracing are picked up.

Incident filters keep only some calls, as strace's -Z, -z, -e status= and -P do, decided in the kernel as each call
ends, so that what is not asked for never crosses the network (it is counted, and the summary says how much, apart
from what is lost): --failed (-Z), --succeeded (-z), --errno ENOENT,EACCES, --slower-than 1ms, -P PATH (a path
argument, or an fd argument's file, is PATH, in the container's view; repeatable), --path-under DIR, --comm NAME,
--container-pid PID. They combine with each other and with -s. -y shows what each fd is (its path, pipe:[ino],
socket:[ino], anon_inode:[eventfd]: "fd_file" in JSON, 3</etc/hosts> with -o cli); -yy adds socket addresses
(TCP:[10.0.0.1:80->10.0.0.2:4242]) and device numbers.`,
		Example: traceExample,
		RunE:    RunE(o),
	}
	f := cmd.Flags()
	o.AddSessionFlags(f)
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: json (one event per line, unchanged) or cli (strace-like)")
	f.Uint64Var(&o.MaxEvents, "max-events", 0, "Stop after this many events in total across nodes (0: no limit)")
	f.IntVar(&o.CaptureData, "capture-data", 0, "Show up to N bytes of the data read/write/send/recv calls transfer (0: none; it may hold secrets)")
	f.CountVarP(&o.Stacks, "stack-trace", "k", "Add each call's user-space stack, symbolized from the container's own binaries, as strace -k does; -kk adds the kernel's (the agents then get CAP_SYSLOG)")
	f.StringVar(&o.By, "by", "", "With --summary: also group by "+ByCaller+", the function that made the calls (from their stacks; implies -k)")
	f.BoolVar(&o.Summary, "summary", false, "At the end, print an strace -c style summary (calls, errors, time per system call, merged across pods) on stderr")
	f.StringVar(&o.MetricsAddr, "metrics-addr", "", "Serve Prometheus /metrics and the live chart page /metrics/charts on HOST:PORT for the life of the session")
	f.StringVar(&o.Replay, "replay", "", "Read a recording (what -o json wrote; - for stdin) instead of tracing: no cluster is contacted")
	return cmd
}

// Runner is a command's options: trace's and top's.
type Runner interface {
	Complete(c *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE completes, validates and runs o.
func RunE(o Runner) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if err := o.Complete(c, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(c.Context())
	}
}

// AddSessionFlags adds the selection and session flags that trace and top share.
func (o *Options) AddSessionFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.LabelSelector, "selector", "l", "", "Label selector of the pods to trace (e.g. -l app=nginx,tier!=cache)")
	f.StringVar(&o.FieldSelector, "field-selector", "", "Field selector of the pods to trace, evaluated by the API server (e.g. status.phase=Running,spec.nodeName=node-a)")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Look for pods in every namespace")
	f.StringSliceVarP(&o.Containers, "container", "c", nil, "Trace only these containers of each pod (repeatable, comma-separated)")
	f.StringSliceVar(&o.Nodes, "node", nil, "Trace only pods on these nodes (repeatable, comma-separated)")
	f.StringSliceVarP(&o.Syscalls, "syscalls", "s", nil, "System calls to trace: names, class:NAME or group:NAME (repeatable, comma-separated; default: all)")
	f.DurationVar(&o.Duration, "duration", 0, "Stop after tracing this long, counted from when the agents are ready (e.g. 30s, 5m; 0: until Ctrl-C)")
	f.StringVar(&o.Image, "image", o.Image, "Agent image")
	f.StringVar(&o.AgentNamespace, "agent-namespace", "", "Namespace for the agent pods, best one of their own; it must admit privileged pods (default: $"+agentns.EnvVar+", the kubeconfig context's "+agentns.Extension+" extension, else -n)")
	f.StringVar(&o.PullPolicy, "image-pull-policy", o.PullPolicy, "Agent image pull policy: Always, IfNotPresent or Never")
	f.BoolVar(&o.DryRun, "dry-run", false, "Print the agent pods as YAML and exit; nothing is created")
	f.StringVarP(&o.Filename, "filename", "f", "", "Read the selection and system calls from a Trace spec (YAML; - for stdin)")
	f.DurationVar(&o.AgentDeadline, "agent-deadline", 0, fmt.Sprintf("Hard limit on an agent pod's life (activeDeadlineSeconds; default: --duration + %s, or %s when unbounded)",
		shortDuration(defaults.DeadlineMargin), shortDuration(defaults.UnboundedDeadline)))
	f.DurationVar(&o.AgentTimeout, "agent-timeout", o.AgentTimeout, "How long an agent pod may take to start (image pull included)")
	f.BoolVar(&o.Privileged, "privileged", false, "Run the agents privileged instead of with only the capabilities they need (BPF, PERFMON, SYS_PTRACE): a fallback for kernels before 5.8 or runtimes that refuse them")
	f.StringVar(&o.CRISocket, "cri-socket", "", "The nodes' CRI socket (host path), when it is not where their runtime usually puts it nor on swoll's allow-list")
	f.IntVar(&o.MaxNodes, "max-nodes", o.MaxNodes, "Refuse a selection that would start agents on more nodes than this (0: no limit)")
	f.Uint64Var(&o.MaxRate, "max-rate", o.MaxRate, "Cap on the events per second of each node; events over it are dropped and counted apart from kernel drops (0: no cap)")
	callfilter.AddFlags(f, &o.Calls)
	f.BoolVar(&o.Wait, "wait", false, "When no pod matches yet, wait for one instead of failing: it is traced from its first call, from the moment it is bound to a node")
}

// Complete merges the Trace file with the flags (flags win) and fills in namespaces from the kubeconfig.
func (o *Options) Complete(c *cobra.Command, args []string) error {
	o.Pods = args
	if c != nil {
		o.changed = c.Flags().Changed
		o.command = commandLine(c, args)
	}
	ns, explicit, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	o.namespace = ns
	if o.Filename != "" {
		t, err := tracefile.Read(o.Filename)
		if err != nil {
			return err
		}
		if err := o.mergeTrace(t, explicit); err != nil {
			return err
		}
	}
	if o.AgentNamespace == "" {
		// set once: SWOLL_AGENT_NAMESPACE or the kubeconfig context's extension
		if o.AgentNamespace, err = agentns.FromFlags(o.configFlags); err != nil {
			return err
		}
	}
	if o.AgentNamespace == "" {
		// like kubectl debug: the namespace of the command (-n, the Trace file's, or the kubeconfig's)
		o.AgentNamespace = o.namespace
	}
	o.Calls.Normalize()
	o.Syscalls = splitList(o.Syscalls)
	o.Containers = splitList(o.Containers)
	o.Nodes = splitList(o.Nodes)
	return nil
}

// mergeTrace applies a Trace spec: each of its fields is used unless the matching flag was given.
func (o *Options) mergeTrace(t *tracefile.Trace, namespaceExplicit bool) error {
	if t.Metadata.Namespace != "" && !namespaceExplicit {
		o.namespace = t.Metadata.Namespace
	}
	if !o.changed("selector") {
		s, err := t.LabelSelector()
		if err != nil {
			return err
		}
		o.LabelSelector = s
	}
	if !o.changed("field-selector") {
		o.FieldSelector = t.FieldSelector()
	}
	if !o.changed("syscalls") {
		o.Syscalls = t.Spec.Syscalls
	}
	if !o.changed("node") && len(t.Spec.HostSelector) > 0 {
		o.Nodes = t.Spec.HostSelector
	}
	if !o.changed("duration") && t.Duration() > 0 {
		o.Duration = t.Duration()
	}
	if !o.changed("stack-trace") && t.Stacks() > 0 {
		o.Stacks = t.Stacks()
	}
	o.mergeFilter(t.Filter())
	return nil
}

// mergeFilter applies a Trace spec's filters: each is used unless its flag was given.
func (o *Options) mergeFilter(f callfilter.Spec) {
	c := &o.Calls
	for _, m := range []struct {
		flag string
		set  func()
	}{
		{callfilter.FlagFailed, func() { c.Failed = f.Failed }},
		{callfilter.FlagSucceeded, func() { c.Succeeded = f.Succeeded }},
		{callfilter.FlagErrno, func() { c.Errnos = f.Errnos }},
		{callfilter.FlagSlowerThan, func() { c.SlowerThan = f.SlowerThan }},
		{callfilter.FlagPath, func() { c.Paths = f.Paths }},
		{callfilter.FlagPathUnder, func() { c.PathsUnder = f.PathsUnder }},
		{callfilter.FlagComm, func() { c.Comms = f.Comms }},
		{callfilter.FlagContainerPid, func() { c.Pids = f.Pids }},
		{callfilter.FlagDecodeFds, func() { c.Fds = f.Fds }},
	} {
		if !o.changed(m.flag) {
			m.set()
		}
	}
}

func splitList(in []string) []string {
	var out []string
	for _, v := range in {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Validate checks the options without contacting the cluster.
func (o *Options) Validate() error {
	if err := o.validateBy(); err != nil {
		return err
	}
	if o.Replay != "" {
		return o.validateReplay()
	}
	if len(o.Pods) == 0 && o.LabelSelector == "" && o.FieldSelector == "" {
		return fmt.Errorf("say which pods to trace: POD names, -l/--selector, --field-selector or -f FILE")
	}
	if o.AllNamespaces && len(o.Pods) > 0 {
		return fmt.Errorf("pod names cannot be combined with --all-namespaces: pod names are looked up in one namespace (-n)")
	}
	if _, err := labels.Parse(o.LabelSelector); err != nil {
		return fmt.Errorf("invalid -l/--selector %q: %w", o.LabelSelector, err)
	}
	if _, err := fields.ParseSelector(o.FieldSelector); err != nil {
		return fmt.Errorf("invalid --field-selector %q: %w", o.FieldSelector, err)
	}
	switch o.Output {
	case output.JSON, output.CLI:
	default:
		return fmt.Errorf("invalid -o/--output %q: want json or cli", o.Output)
	}
	switch corev1.PullPolicy(o.PullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("invalid --image-pull-policy %q: want Always, IfNotPresent or Never", o.PullPolicy)
	}
	if o.Duration < 0 {
		return fmt.Errorf("invalid --duration %s: must not be negative", o.Duration)
	}
	if o.CaptureData < 0 || o.CaptureData > syscalls.MaxDataBytes {
		return fmt.Errorf("invalid --capture-data %d: want 0 to %d bytes", o.CaptureData, syscalls.MaxDataBytes)
	}
	if o.Stacks > protocol.StacksKernel {
		return fmt.Errorf("invalid -k: -k adds the user-space stack and -kk the kernel's, no more")
	}

	if o.AgentDeadline < 0 {
		return fmt.Errorf("invalid --agent-deadline %s: must not be negative", o.AgentDeadline)
	}
	if o.AgentDeadline > 0 && o.AgentDeadline < time.Second {
		return fmt.Errorf("invalid --agent-deadline %s: must be at least 1s", o.AgentDeadline)
	}
	if o.AgentDeadline > 0 && o.Duration > 0 && o.AgentDeadline <= o.Duration {
		return fmt.Errorf("--agent-deadline %s must be longer than --duration %s (the agents would be killed first)", o.AgentDeadline, o.Duration)
	}
	if o.MaxNodes < 0 {
		return fmt.Errorf("invalid --max-nodes %d: must not be negative", o.MaxNodes)
	}
	if o.AgentTimeout <= 0 {
		return fmt.Errorf("invalid --agent-timeout %s: must be positive", o.AgentTimeout)
	}
	if strings.TrimSpace(o.Image) == "" {
		return fmt.Errorf("--image must not be empty")
	}
	for _, p := range o.Pods {
		if strings.Contains(p, "/") {
			return fmt.Errorf("invalid pod name %q: give pod names only (use -n for the namespace)", p)
		}
	}
	if err := checkSyscallsAnyArch(o.Syscalls); err != nil {
		return fmt.Errorf("invalid -s/--syscalls: %w", err)
	}
	if err := o.Calls.Validate(); err != nil {
		return fmt.Errorf("invalid filter: %w", err)
	}
	return nil
}

// shortDuration is d as a flag's help says it: 5m rather than 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// selection is the target selection the options describe.
func (o *Options) selection() targets.Selection {
	return targets.Selection{
		Namespace:     o.namespace,
		AllNamespaces: o.AllNamespaces,
		Pods:          o.Pods,
		LabelSelector: o.LabelSelector,
		FieldSelector: o.FieldSelector,
		Containers:    o.Containers,
		Nodes:         o.Nodes,
	}
}

// Run traces until ctx ends (the first interrupt), or a limit is reached; Force cuts the teardown short.
func (o *Options) Run(ctx context.Context) error {
	// stdout through a queue: a slow reader costs dropped (and counted) events, never stalled agents
	o.queue = output.NewQueue(o.Out, 0)
	defer o.closeQueue()
	out, err := output.New(o.Output, o.queue, o.Output == output.CLI && IsTerminal(o.Out))
	if err != nil {
		return err
	}
	if o.Replay != "" {
		return o.replay(ctx, out)
	}
	var tap *tally.Tap
	var sink output.Sink
	sink = out
	if o.Summary || o.MetricsAddr != "" {
		tap = tally.NewTap(out)
		sink = tap
	}
	stopMetrics, err := o.ServeMetrics(tap)
	if err != nil {
		return err
	}
	err = o.RunSession(ctx, sink, SessionMode{})
	stopMetrics(ctx)
	if o.Summary {
		o.PrintSummary(o.ErrOut, tap)
	}
	return err
}

// SessionMode is what top changes in a session: counting instead of events, and where progress goes.
type SessionMode struct {
	Count         bool
	CountInterval time.Duration
	CountEntries  int
	NoLatency     bool      // count without timing the calls (top --latency=false)
	Stderr        io.Writer // nil: the options' ErrOut
	// Syscalls and CheckSyscalls, when CheckSyscalls is set, replace -s and its check: the names to trace
	// for an agent of each architecture (check seccomp traces what its profile does not let run).
	Syscalls      []string
	CheckSyscalls func(arch string, names []string) ([]string, error)
}

// RunSession runs a live session on the cluster, its events and snapshots to sink.
func (o *Options) RunSession(ctx context.Context, sink output.Sink, mode SessionMode) error {
	cfg := o.SessionConfig(sink, mode)
	framings, err := wire.Offer(os.Getenv(wire.EnvVar)) // wire.Known unless a bench or a test names one
	if err != nil {
		return err
	}
	cfg.Framings = framings
	restConfig, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("reading kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	// --request-timeout bounds each short request, but must not cut the session's watches and exec streams
	streamConfig := rest.CopyConfig(restConfig)
	streamConfig.Timeout = 0
	streamClient, err := kubernetes.NewForConfig(streamConfig)
	if err != nil {
		return fmt.Errorf("creating a Kubernetes client: %w", err)
	}
	cfg.Client, cfg.StreamClient, cfg.REST = client, streamClient, streamConfig
	return session.Run(ctx, cfg)
}

// SessionConfig is the session the completed options describe, without its clients (RunSession adds them from
// the kubeconfig).
func (o *Options) SessionConfig(sink output.Sink, mode SessionMode) session.Config {
	stderr := o.ErrOut
	if mode.Stderr != nil {
		stderr = mode.Stderr
	}
	names, check := o.Syscalls, resolveSyscalls
	if mode.CheckSyscalls != nil {
		names, check = mode.Syscalls, mode.CheckSyscalls
	}
	return session.Config{
		Selection:      o.selection(),
		Syscalls:       names,
		CheckSyscalls:  check,
		Sink:           sink,
		Stderr:         stderr,
		MaxEvents:      o.MaxEvents,
		CaptureData:    o.CaptureData,
		Stacks:         o.stacks(mode.Count),
		Filter:         o.Calls,
		Duration:       o.Duration,
		AgentNamespace: o.AgentNamespace,
		Image:          o.Image,
		PullPolicy:     corev1.PullPolicy(o.PullPolicy),
		AgentDeadline:  defaults.AgentDeadline(o.AgentDeadline, o.Duration),
		AgentTimeout:   o.AgentTimeout,
		DryRun:         o.DryRun,
		DryRunOut:      o.Out,
		Command:        o.command,
		Privileged:     o.Privileged,
		CRISocket:      o.CRISocket,
		MaxRate:        o.MaxRate,
		Framings:       wire.Known,
		MaxNodes:       o.MaxNodes,
		Wait:           o.Wait,
		Force:          o.Force,
		Debug:          os.Getenv("SWOLL_DEBUG") != "",
		Count:          mode.Count,
		CountInterval:  mode.CountInterval,
		CountEntries:   mode.CountEntries,
		NoLatency:      mode.NoLatency,
		OutputDropped:  o.outputDropped(),
	}
}

// outputDrainTimeout bounds the wait for a slow reader to take the last of the output at exit.
const outputDrainTimeout = 5 * time.Second

// outputDropped reads the count of events stdout's queue dropped (nil without a queue: top).
func (o *Options) outputDropped() func() uint64 {
	if o.queue == nil {
		return nil
	}
	return o.queue.Dropped
}

// closeQueue lets the reader take what is left of the output (bounded), and says what it did not take.
func (o *Options) closeQueue() {
	before := o.queue.Dropped()
	_ = o.queue.Close(outputDrainTimeout) // a closed reader was reported by the session
	if d := o.queue.Dropped() - before; d > 0 {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: %d more events dropped at exit: the reader of stdout did not take them within %s\n", d, outputDrainTimeout)
	}
}

// IsTerminal reports whether w is a character device (a terminal), and colour is not switched off (NO_COLOR).
func IsTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// commandLine is the trace's command line for the agents' annotation: its arguments and its own flags only.
// Connection flags (--token, --password, --kubeconfig, --server, ...) are kubectl's and never leave the
// user's machine.
func commandLine(c *cobra.Command, args []string) string {
	parts := []string{"kubectl", "swoll", c.Name()}
	parts = append(parts, args...)
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+v)
			}
			return
		}
		parts = append(parts, "--"+f.Name+"="+f.Value.String())
	})
	return strings.Join(parts, " ")
}

// AddConfigFlags adds kubectl's connection flags (--kubeconfig, --context, -n, --as, --request-timeout...),
// minus the -s shorthand of --server: here -s is --syscalls, as in strace.
func AddConfigFlags(flags *pflag.FlagSet, configFlags *genericclioptions.ConfigFlags) {
	tmp := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	configFlags.AddFlags(tmp)
	tmp.VisitAll(func(f *pflag.Flag) {
		if f.Name == "server" {
			f.Shorthand = ""
		}
		flags.AddFlag(f)
	})
}
