//go:build linux

package agentcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/countprobe"
	"github.com/swoll-dev/swoll/nodeagent/decode"
	"github.com/swoll-dev/swoll/nodeagent/lineout"
	"github.com/swoll-dev/swoll/nodeagent/nsid"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/nodeagent/stackstage"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
	"github.com/swoll-dev/swoll/nodeagent/wallclock"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
)

type traceFlags struct {
	host         hostFlags
	noContainers bool
	pid          int
	containers   []string
	syscalls     []string
	output       string
	duration     time.Duration
	maxEvents    uint64
	session      string
	captureData  int
	count        bool
	interval     time.Duration
	countEntries int
	stacks       int
	calls        callfilter.Spec
	latency      bool
}

func newTraceCommand(io streams) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace (--pid PID | --container-id ID... | --no-containers) [-s SYSCALLS]",
		Short: "Trace system calls on this machine",
		Long: `Trace system calls on this machine and print them on stdout until Ctrl-C, --duration or --max-events.

  --pid PID             that process and every process it starts from now on
  --container-id ID     a container (repeatable; full id or a unique prefix, "containerd://" allowed),
                        found through the CRI socket, or through /proc when there is none
  --no-containers       every process on the host

--output json writes one event per line (the schema kubectl swoll uses); cli writes strace-like lines.
The default is cli when stdout is a terminal and json otherwise. A summary goes to stderr at the end.

--count counts the calls in the kernel instead (per target, system call and result: calls, time and a
latency histogram) and writes one JSON snapshot line per --interval; no event per call leaves the kernel.

-k adds each call's user-space stack, symbolized from the traced process's own binaries, as strace -k does
(the "stack" key in JSON, " > " lines under the call in cli); -kk adds the kernel's stack. With --count, -k
counts per calling function as well (the "caller" of each row).

The incident filters keep only some calls, decided in the kernel at each call's exit (what they drop is
counted apart from what is lost), with --count too: --failed (-Z), --succeeded (-z), --errno, --slower-than,
-P/--path (as strace -P), --path-under, --comm, --container-pid. -y shows what each fd is (-yy: socket
addresses and device numbers too), as strace does.`,
		Example: `  swoll-agent trace --pid 1234 -s openat,connect
  swoll-agent trace --container-id containerd://3f1c2a -o json | jq .
  swoll-agent trace --no-containers -s execve --duration 10s
  swoll-agent trace --pid 1234 --count --interval 5s
  swoll-agent trace --pid 1234 -s openat -k -o cli
  swoll-agent trace --pid 1234 --failed -yy -o cli
  swoll-agent trace --no-containers -P /etc/resolv.conf -y`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrace(cmd.Context(), io, &f) },
	}
	f.host.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.noContainers, "no-containers", false, "trace every process on the host")
	fl.IntVar(&f.pid, "pid", 0, "trace this process and its descendants")
	fl.StringSliceVar(&f.containers, "container-id", nil, "trace this container (repeatable)")
	fl.StringSliceVarP(&f.syscalls, "syscalls", "s", nil, `system calls to trace, e.g. "openat,connect" or "class:Network" (default: all)`)
	fl.StringVarP(&f.output, "output", "o", "", "json or cli (default: cli on a terminal, json otherwise)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: until interrupted)")
	fl.Uint64Var(&f.maxEvents, "max-events", 0, "stop after this many events (0: no limit)")
	fl.StringVar(&f.session, "session", "", "session name stamped on JSON events")
	fl.IntVar(&f.captureData, "capture-data", 0, "copy up to N bytes of what read/write/send/recv calls transfer (0: none; it may hold secrets)")
	fl.BoolVar(&f.count, "count", false, "count calls in the kernel and write a snapshot per --interval instead of events")
	fl.CountVarP(&f.stacks, "stack-trace", "k", "add each call's user-space stack (-kk: and the kernel's); with --count, count per calling function")
	fl.DurationVar(&f.interval, "interval", countprobe.DefaultInterval, "with --count: how often to write a snapshot")
	fl.IntVar(&f.countEntries, "count-entries", 0, "with --count: size of the kernel's counter table (0: default for the number of CPUs)")
	fl.BoolVar(&f.latency, "latency", true, "with --count: time the calls (--latency=false counts them only, at less cost)")
	_ = fl.MarkHidden("count-entries")
	callfilter.AddFlags(fl, &f.calls)
	return cmd
}

// traceTarget is one container to trace, resolved before anything is loaded into the kernel.
type traceTarget struct {
	id   string
	nsID uint64
}

func runTrace(ctx context.Context, io streams, f *traceFlags) error {
	output, err := f.validate(io)
	if err != nil {
		return usageErr(err)
	}
	table := syscalls.Native()
	calls, err := table.Resolve(f.syscalls)
	if err != nil {
		return usageErr(err)
	}
	// Everything that can fail on user input is checked before the probe is attached.
	if f.pid != 0 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(f.pid)); err != nil {
			return failure(fmt.Errorf("no process with pid %d", f.pid))
		}
	}
	targets, err := f.resolveContainers(ctx)
	if err != nil {
		return failure(err)
	}

	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	node, _ := os.Hostname()
	if f.count {
		return runCount(ctx, io, f, table, calls, targets, node)
	}

	t, err := newTracer(tracer.Options{Arch: table.Arch(), CaptureData: f.captureData, Stacks: stacksOf(f.stacks),
		Calls: f.calls})
	if err != nil {
		return failure(err)
	}
	defer func() { _ = t.Close() }()
	if err := t.Select(calls); err != nil {
		return failure(fmt.Errorf("selecting system calls: %w", err))
	}
	_, _ = fmt.Fprintf(io.stderr, "swoll-agent: attached to %s\n", t.Attached())
	dec := decode.New(decode.Options{Arch: table.Arch(), Node: node, Session: f.session, MonoToWall: wallclock.MonoToWall(),
		Fds: f.calls.Fds})
	if err := f.attach(t, targets, dec.SetTarget); err != nil {
		return failure(err)
	}

	_, _ = fmt.Fprintf(io.stderr, "swoll-agent: tracing (%s)\n", t.AttachType())
	out := lineout.New(io.stdout, 256<<10, 50*time.Millisecond)
	appendLine := dec.AppendJSON
	if output == "cli" {
		appendLine = dec.AppendCLI
	}
	var stage *stackstage.Stage
	if f.stacks > 0 {
		// lines are closed by the stage, with their stacks
		format := stackstage.JSON
		appendLine = dec.AppendJSONOpen
		if output == "cli" {
			format = stackstage.CLI
			appendLine = dec.AppendCLI
		}
		stage = stackstage.New(stackstage.Config{Out: out, Format: format, Logf: func(format string, args ...any) {
			_, _ = fmt.Fprintf(io.stderr, "swoll-agent: "+format+"\n", args...)
		}})
	}
	stacks := ""
	if f.stacks > 0 {
		stacks = ", with stacks"
	}
	_, _ = fmt.Fprintf(io.stderr, "swoll-agent: tracing (%s%s)\n", t.AttachType(), stacks)
	var events atomic.Uint64
	var writeErr error
	began := time.Now()
	readErr := t.Read(ctx, func(rec *record.Record) bool {
		if stage != nil {
			slot := stage.Take()
			writeErr = stage.Submit(slot, appendLine(slot.Line(), rec), rec)
		} else {
			out.Lock()
			writeErr = out.WriteLocked(appendLine(out.AvailableBuffer(), rec))
			out.Unlock()
		}
		if writeErr != nil {
			return false
		}
		n := events.Add(1)
		return f.maxEvents == 0 || n < f.maxEvents
	})
	if stage != nil {
		stage.Close()
		if writeErr == nil {
			writeErr = stage.Err()
		}
		st := stage.Stats()
		_, _ = fmt.Fprintf(io.stderr, "swoll-agent: symbols: %d modules, %d processes, %d KiB of %d KiB (kernel %d KiB), %d hits, %d misses\n",
			st.Modules, st.Processes, st.Bytes>>10, st.Budget>>10, st.KernelBytes>>10, st.Hits, st.Misses)
	}
	elapsed := time.Since(began)
	if err := out.Close(); err != nil && writeErr == nil {
		writeErr = err
	}
	filtered := ""
	if f.calls.Filters() {
		filtered = fmt.Sprintf("; %d calls filtered out (%s)", t.Filtered(), f.calls.String())
	}
	_, _ = fmt.Fprintf(io.stderr, "swoll-agent: %d events, %d lost in %s%s\n", events.Load(), t.Lost(),
		elapsed.Round(time.Millisecond), filtered)
	switch {
	case writeErr != nil && errors.Is(writeErr, unix.EPIPE):
		return nil // the reader of our output (head, jq) is done
	case writeErr != nil:
		return failure(fmt.Errorf("writing events: %w", writeErr))
	case readErr != nil && !errors.Is(readErr, context.Canceled) && !errors.Is(readErr, context.DeadlineExceeded):
		return failure(readErr)
	}
	return nil
}

// filter is what both modes attach targets to.
type filter interface {
	TraceAll(on bool) error
	AddPid(pid uint32, targetID uint32) error
	AddMountNS(nsID uint64, targetID uint32) error
}

// attach sets the filter's targets: ids 1 for --pid, 2... for containers.
func (f *traceFlags) attach(t filter, targets []traceTarget, setTarget func(uint32, *protocol.Target)) error {
	var err error
	switch {
	case f.noContainers:
		err = t.TraceAll(true)
	case f.pid != 0:
		err = t.AddPid(uint32(f.pid), 1)
	}
	if err != nil {
		return err
	}
	for i, tg := range targets {
		id := uint32(i + 2)
		setTarget(id, &protocol.Target{ContainerID: tg.id})
		if err := t.AddMountNS(tg.nsID, id); err != nil {
			return fmt.Errorf("tracing container %s: %w", tg.id, err)
		}
	}
	return nil
}

// runCount is --count: a snapshot line per interval, and one at the end.
func runCount(ctx context.Context, io streams, f *traceFlags, table *syscalls.Table, calls []*syscalls.Syscall,
	targets []traceTarget, node string) error {
	m, err := newCountMode(table, countprobe.Options{Entries: f.countEntries, ByCaller: f.stacks > 0, Calls: f.calls,
		NoLatency: !f.latency})
	if err != nil {
		return failure(err)
	}
	defer func() { _ = m.Close() }()
	if err := m.Select(calls); err != nil {
		return failure(fmt.Errorf("selecting system calls: %w", err))
	}
	if err := f.attach(m, targets, m.SetTarget); err != nil {
		return failure(err)
	}
	_, _ = fmt.Fprintf(io.stderr, "swoll-agent: counting (%s), attached to %s\n", m.AttachType(), m.Attached())
	tick := time.NewTicker(max(f.interval, 10*time.Millisecond))
	defer tick.Stop()
	enc := json.NewEncoder(io.stdout)
	var calls64, overflow, filtered uint64
	began := time.Now()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
		}
		snap, err := m.Snapshot(node, f.session, time.Now())
		if err != nil {
			return failure(err)
		}
		for _, r := range snap.Rows {
			calls64 += r.Calls
		}
		overflow = snap.OverflowTotal
		filtered = snap.FilteredTotal
		if err := enc.Encode(event.Line{Snapshot: snap}); err != nil {
			if errors.Is(err, unix.EPIPE) {
				return nil
			}
			return failure(fmt.Errorf("writing snapshots: %w", err))
		}
	}
	_, _ = fmt.Fprintf(io.stderr, "swoll-agent: %d calls counted, %d not counted (counter table full) in %s\n",
		calls64, overflow, time.Since(began).Round(time.Millisecond))
	if f.calls.Filters() {
		_, _ = fmt.Fprintf(io.stderr, "swoll-agent: %d calls filtered out (%s)\n", filtered, f.calls.String())
	}
	return nil
}

// validate checks the flags' combination and picks the output format.
func (f *traceFlags) validate(io streams) (output string, err error) {
	switch {
	case f.noContainers && (f.pid != 0 || len(f.containers) > 0):
		return "", errors.New("--no-containers traces everything: it cannot be combined with --pid or --container-id")
	case !f.noContainers && f.pid == 0 && len(f.containers) == 0:
		return "", errors.New("nothing to trace: give --pid, --container-id or --no-containers")
	case f.pid < 0:
		return "", fmt.Errorf("--pid %d: not a process id", f.pid)
	case f.captureData < 0 || f.captureData > syscalls.MaxDataBytes:
		return "", fmt.Errorf("--capture-data %d: want 0 to %d bytes", f.captureData, syscalls.MaxDataBytes)
	case f.stacks > protocol.StacksKernel:
		return "", errors.New("-k: the user-space stack; -kk: the kernel's too; no more")
	case !f.latency && !f.count:
		return "", errors.New("--latency=false is for --count: events always say how long their call took")
	}
	f.calls.Normalize()
	if err := f.calls.Validate(); err != nil {
		return "", err
	}
	switch f.output {
	case "json", "cli":
		return f.output, nil
	case "":
		if isTerminal(io.stdout) {
			return "cli", nil
		}
		return "json", nil
	default:
		return "", fmt.Errorf("--output %q: want json or cli", f.output)
	}
}

func (f *traceFlags) resolveContainers(ctx context.Context) ([]traceTarget, error) {
	if len(f.containers) == 0 {
		return nil, nil
	}
	r, err := f.host.resolver("")
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	targets := make([]traceTarget, 0, len(f.containers))
	for _, id := range f.containers {
		pid, err := r.ContainerPID(ctx, id)
		if err != nil {
			return nil, err
		}
		ns, _, err := nsid.MountNSID(pid)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", id, err)
		}
		targets = append(targets, traceTarget{id: id, nsID: ns})
	}
	return targets, nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
