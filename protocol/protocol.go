// Package protocol is the control channel from the plugin to a node agent: JSON lines written to the agent's
// stdin (through a pod exec). The agent answers on stdout with event lines and notices (package event).
//
// The channel doubles as a dead-man switch: the agent stops tracing, detaches its probes and exits when stdin
// reaches EOF, when it receives OpStop, or when no command (OpPing included) arrived for HeartbeatTimeout.
package protocol

import "time"

const (
	// HeartbeatInterval is how often the plugin sends OpPing.
	HeartbeatInterval = 5 * time.Second
	// HeartbeatTimeout is how long an agent waits for any command before it assumes the plugin is gone.
	HeartbeatTimeout = 20 * time.Second
	// StatsInterval is how often an agent writes a stats notice: the plugin's sign that the node is alive.
	StatsInterval = 5 * time.Second
)

// Op names a command.
type Op string

const (
	// OpStart must be the first command: it says what to trace. Start is set.
	OpStart Op = "start"
	// OpAdd adds a container to trace (or updates its metadata). Target is set.
	OpAdd Op = "add"
	// OpRemove stops tracing a container. ContainerID is set.
	OpRemove Op = "remove"
	// OpPing keeps the session alive.
	OpPing Op = "ping"
	// OpStop ends the session cleanly.
	OpStop Op = "stop"
)

// Command is one line on the agent's stdin.
type Command struct {
	Op          Op      `json:"op"`
	Start       *Start  `json:"start,omitempty"`
	Target      *Target `json:"target,omitempty"`
	ContainerID string  `json:"container_id,omitempty"`
}

// Start configures a session.
type Start struct {
	// Syscalls are names without "sys_"; empty means every system call.
	Syscalls []string `json:"syscalls,omitempty"`
	// Node is stamped on every event.
	Node string `json:"node"`
	// Session is stamped on every event and names the session in diagnostics.
	Session string `json:"session"`
	// CaptureData is how many bytes of the data that read, write, send and recv family calls transfer are
	// copied into events (0: none, the default, since they may hold secrets).
	CaptureData int `json:"capture_data,omitempty"`
	// MaxEvents stops the agent after that many events (0: no limit).
	MaxEvents uint64 `json:"max_events,omitempty"`
	// CRISocket overrides the auto-detected CRI endpoint: a host path (the agent looks it up under its
	// mount of the host first).
	CRISocket string `json:"cri_socket,omitempty"`
	// MaxRate caps the events per second this agent writes (0: no cap); events over it are dropped and
	// counted (notice "rate_limited"), apart from the kernel's drops.
	MaxRate uint64 `json:"max_rate,omitempty"`
	// MaxLabelBytes bounds the pod labels stamped on each event (0: DefaultMaxLabelBytes); labels that do
	// not fit are left out, and the target's notice says so.
	MaxLabelBytes int `json:"max_label_bytes,omitempty"`
	// Count selects counting mode: the agent counts calls in the kernel and writes a snapshot line (package
	// event) every CountIntervalMs (default 1000) instead of one event per call.
	Count           bool  `json:"count,omitempty"`
	CountIntervalMs int64 `json:"count_interval_ms,omitempty"`
	// CountEntries sizes the kernel's counter table (0: the agent's default for its number of CPUs).
	CountEntries int `json:"count_entries,omitempty"`
	// NoLatency counts calls without timing them (kubectl swoll top --latency=false): the agent reads no clock
	// per call and its snapshots say so (event.Snapshot.NoLatency). An agent before it times them anyway.
	NoLatency bool `json:"no_latency,omitempty"`
}

// DefaultMaxLabelBytes is the default bound on the label bytes (keys and values) stamped per event.
const DefaultMaxLabelBytes = 4096

// Target is one container to trace and the Kubernetes names to stamp on its events.
type Target struct {
	// ContainerID is the runtime's id, with or without the "containerd://" style prefix of the pod status.
	ContainerID string            `json:"container_id"`
	Pod         string            `json:"pod"`
	Namespace   string            `json:"namespace"`
	Container   string            `json:"container"`
	Image       string            `json:"image,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}
