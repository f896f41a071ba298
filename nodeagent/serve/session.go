//go:build linux

// Package serve runs one tracing session for the kubectl plugin over the exec stream: it reads protocol
// commands (JSON lines) from the plugin, traces the pods it names and writes their events and notices as JSON lines.
//
// A pod is selected in the kernel by its cgroup (package cgroups finds it from the pod's UID the moment the
// kubelet creates it, before any of its containers), so that every process of the pod is traced from its first
// call: pods.go. Where the node's cgroups cannot be read, the session falls back to the mount namespaces of the
// pod's running containers, found through the runtime, and says so in its ready notice. Each event is named
// after its container from the container's own cgroup (the Attributor, then one runtime lookup per container,
// cached): containers.go; the records of a container not named yet wait briefly in a bounded hold: hold.go.
//
// With OpStart's Stacks each event's stack is symbolized on the stack stage's goroutine (package stackstage)
// before its line is written; in counting mode the counter names each row's caller. The stats and exit notices
// then carry the symbol caches' state.
//
// The command stream is a dead-man switch (see package protocol): the session detaches everything and ends
// on EOF, on OpStop, when no command arrived for the heartbeat timeout, or when its context is cancelled
// (SIGTERM). Kernel access, decoding and container lookup are behind small interfaces so that the control
// logic is tested without root.
package serve

import (
	"context"
	"io"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/cgroups"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
)

// Tracer is the part of tracer.Tracer a session uses.
type Tracer interface {
	Select(calls []*syscalls.Syscall) error
	AddMountNS(nsID uint64, targetID uint32) error
	RemoveMountNS(nsID uint64) error
	SetCgroupHierarchy(controller string) error
	AddCgroup(cgroupID uint64, level int, targetID uint32) error
	RemoveCgroup(cgroupID uint64) error
	Read(ctx context.Context, fn func(rec *record.Record) bool) error
	Lost() uint64
	// Filtered counts the calls OpStart's incident filters dropped in the kernel (not a loss).
	Filtered() uint64
	Close() error
}

// Counter is the part of count.Mode a counting session uses besides the Tracer methods.
type Counter interface {
	SetTarget(targetID uint32, t *protocol.Target)
	RemoveTarget(targetID uint32)
	Snapshot(node, session string, now time.Time) (*event.Snapshot, error)
	// SymbolStats is the state of the symbol cache counting by caller uses (nil without OpStart's Stacks).
	SymbolStats() *event.SymbolStats
}

// CountTracer is counting mode's tracer: it counts in the kernel and hands Read no record.
type CountTracer interface {
	Tracer
	Counter
}

// Decoder is the part of decode.Decoder a session uses.
type Decoder interface {
	SetTarget(targetID uint32, t *protocol.Target)
	RemoveTarget(targetID uint32)
	AppendJSON(dst []byte, rec *record.Record) []byte
	// AppendJSONOpen is AppendJSON without the closing brace and newline, for the stack stage.
	AppendJSONOpen(dst []byte, rec *record.Record) []byte
}

// Resolver asks the container runtime: the host pid of a running container's init process, and what the
// runtime says of a container (its name in its pod, its run, how it ended) or sandbox. Its methods are called
// from several goroutines at once.
type Resolver interface {
	ContainerPID(ctx context.Context, containerID string) (int, error)
	Status(ctx context.Context, containerID string) (*cri.Status, error)
	Close() error
}

// Deps builds the session's collaborators once OpStart said what to do.
type Deps struct {
	// Syscalls resolves the names of OpStart (empty: every call) into table entries.
	Syscalls func(names []string) ([]*syscalls.Syscall, error)
	// NewTracer loads and attaches the probe as OpStart says: the bytes of read/write data to copy
	// (CaptureData), the incident filters and fd display (Filter), the calls' stacks (Stacks).
	NewTracer func(start *protocol.Start) (Tracer, error)
	// NewCounter loads counting mode (OpStart's Count) with a counter table of CountEntries (0: default),
	// OpStart's incident filters, counts per calling function with Stacks, timing the calls unless NoLatency.
	NewCounter func(start *protocol.Start) (CountTracer, error)
	// NewDecoder makes the event encoder for OpStart's node, session name and fd display.
	NewDecoder func(start *protocol.Start) Decoder
	// NewResolver opens the container runtime: criSocket is OpStart's (a host path; empty: auto-detect).
	NewResolver func(criSocket string) (Resolver, error)
	// MountNSID gives the id of a process's mount namespace, as the probe sees it.
	MountNSID func(pid int) (uint64, error)
	// Cgroups finds the node's cgroup hierarchy and its kubepods cgroups (cgroups.Detect). Nil, or an error:
	// pods are selected by the mount namespaces of their running containers.
	Cgroups func() (*cgroups.Hierarchy, error)
}

// Config is one session's wiring.
type Config struct {
	Deps
	Stdin  io.Reader // commands
	Stdout io.Writer // events and notices
	Stderr io.Writer // diagnostics for people (kubectl exec shows them)

	// HeartbeatTimeout ends the session when no command arrived for that long (default protocol.HeartbeatTimeout).
	HeartbeatTimeout time.Duration
	// FlushInterval bounds how long an event waits in the output buffer (default 50 ms).
	FlushInterval time.Duration
	// LostInterval is how often kernel drops are checked and reported (default 1 s).
	LostInterval time.Duration
	// StatsInterval is how often a stats notice says the agent is alive (default protocol.StatsInterval).
	StatsInterval time.Duration
	// ResolveTimeout bounds the lookup of one container (default 10 s, well under the heartbeat timeout).
	ResolveTimeout time.Duration
	// OutputBytes is the output buffer size (default 256 KiB).
	OutputBytes int
	// Now is the wall clock (default time.Now).
	Now func() time.Time

	// AbortGrace is how long the session may take to end on its own once the dead-man switch fired (stdin
	// EOF, heartbeat) before its output is aborted (default 3 s).
	AbortGrace time.Duration
	// HardStopAfter is how long after the abort HardStop is called if the session still has not ended
	// (default 5 s). HardStop should end the process: its exit detaches every probe.
	HardStopAfter time.Duration
	HardStop      func(why error)
}

const (
	// stderrBytes buffers diagnostics; a line that does not fit behind a stalled stderr is dropped.
	stderrBytes = 64 << 10
	// readerStopTimeout bounds the wait for the event reader after the session ended.
	readerStopTimeout = 2 * time.Second
)

func (c *Config) setDefaults() {
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = protocol.HeartbeatTimeout
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 50 * time.Millisecond
	}
	if c.LostInterval <= 0 {
		c.LostInterval = time.Second
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = protocol.StatsInterval
	}
	if c.ResolveTimeout <= 0 {
		c.ResolveTimeout = 10 * time.Second
	}
	if c.OutputBytes <= 0 {
		c.OutputBytes = 256 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AbortGrace <= 0 {
		c.AbortGrace = 3 * time.Second
	}
	if c.HardStopAfter <= 0 {
		c.HardStopAfter = 5 * time.Second
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
}
