//go:build linux

package agentcmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/nodeagent/cgroups"
	"github.com/swoll-dev/swoll/nodeagent/countprobe"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/decode"
	"github.com/swoll-dev/swoll/nodeagent/hold"
	"github.com/swoll-dev/swoll/nodeagent/nsid"
	"github.com/swoll-dev/swoll/nodeagent/serve"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
	"github.com/swoll-dev/swoll/nodeagent/wallclock"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
)

// hostFlags locate the host's files from inside an agent pod.
type hostFlags struct {
	cri      string
	hostRoot string
	proc     string
}

func (h *hostFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&h.cri, "cri", "", "CRI socket, as a path on the host (default: the first of the containerd, CRI-O and cri-dockerd sockets that exists)")
	cmd.Flags().StringVar(&h.hostRoot, "host-root", "/host", "where the host's file system is mounted; host paths (the CRI socket) are looked up under it first, then as they are")
	cmd.Flags().StringVar(&h.proc, "proc", "/proc", "the host's proc file system (containers are found through it when CRI is unavailable)")
}

func (h *hostFlags) resolver(socket string) (*cri.Resolver, error) {
	if socket == "" {
		socket = h.cri
	}
	return cri.NewResolver(cri.Options{Socket: socket, HostRoot: h.hostRoot, ProcRoot: h.proc})
}

func newSessionCommand(io streams) *cobra.Command {
	var host hostFlags
	var lockPath string
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Run one tracing session for the kubectl plugin (commands on stdin, events on stdout)",
		Long: `Run one tracing session for the kubectl plugin. The plugin writes protocol commands as JSON lines on
stdin (through "kubectl exec -i"); events and notices go to stdout as JSON lines, diagnostics to stderr.
The session detaches everything and exits when stdin closes, on "stop", when no command arrived for the
heartbeat timeout, and on SIGTERM. While it runs it holds a shared lock on --lock, which tells
"swoll-agent hold" that the pod is in use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			release, err := hold.Acquire(lockPath)
			if err != nil {
				_, _ = fmt.Fprintf(io.stderr, "swoll-agent: %v (the agent pod will not wait for this session)\n", err)
			} else {
				defer release()
			}
			if err := serve.Run(cmd.Context(), sessionConfig(io, &host)); err != nil {
				return &exitError{code: exitFailure} // reported already, on stderr and as a notice
			}
			return nil
		},
	}
	host.register(cmd)
	cmd.Flags().StringVar(&lockPath, "lock", hold.DefaultLockPath(), "lock file shared with \"swoll-agent hold\"")
	return cmd
}

// sessionConfig wires a session to the kernel, the container runtime and the decoder.
func sessionConfig(io streams, host *hostFlags) serve.Config {
	table := syscalls.Native()
	monoToWall := wallclock.MonoToWall()
	return serve.Config{
		Deps: serve.Deps{
			Syscalls: table.Resolve,
			NewTracer: func(start *protocol.Start) (serve.Tracer, error) {
				t, err := newTracer(tracer.Options{Arch: table.Arch(), CaptureData: start.CaptureData,
					Stacks: stacksOf(start.Stacks), Calls: start.Filter})
				if err != nil {
					return nil, err
				}
				return t, nil
			},
			NewCounter: func(start *protocol.Start) (serve.CountTracer, error) {
				m, err := newCountMode(table, countprobe.Options{Entries: start.CountEntries, ByCaller: start.Stacks > 0,
					Calls: start.Filter, NoLatency: start.NoLatency})
				if err != nil {
					return nil, err
				}
				return m, nil
			},
			NewDecoder: func(start *protocol.Start) serve.Decoder {
				return decode.New(decode.Options{Arch: table.Arch(), Node: start.Node, Session: start.Session,
					MonoToWall: monoToWall, Fds: start.Filter.Fds})
			},
			NewResolver: func(socket string) (serve.Resolver, error) {
				r, err := host.resolver(socket)
				if err != nil {
					return nil, err
				}
				return r, nil
			},
			MountNSID: func(pid int) (uint64, error) {
				id, _, err := nsid.MountNSID(pid)
				return id, err
			},
			Cgroups: func() (*cgroups.Hierarchy, error) {
				return cgroups.Detect(cgroups.Options{ProcRoot: host.proc})
			},
		},
		Stdin:  io.stdin,
		Stdout: io.stdout,
		Stderr: io.stderr,
		// The dead-man switch's last resort: the process's exit closes every BPF link and map, wherever a
		// goroutine is stuck. Nothing is printed: stdout and stderr may be what is stuck.
		HardStop: func(error) { os.Exit(exitFailure) },
	}
}

// stacksOf is the probe's stack settings for a session's protocol.Start.Stacks (or -k's count locally).
func stacksOf(stacks int) tracer.Stacks {
	if stacks <= 0 {
		return tracer.Stacks{}
	}
	return tracer.Stacks{Depth: tracer.DefaultStackDepth, Kernel: stacks >= protocol.StacksKernel}
}
