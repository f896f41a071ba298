// Package protocol is the control channel from the plugin to a node agent: JSON lines written to the agent's
// stdin (through a pod exec). The agent answers on stdout with event lines and notices (package event).
//
// The channel doubles as a dead-man switch: the agent stops tracing, detaches its probes and exits when stdin
// reaches EOF, when it receives OpStop, or when no command (OpPing included) arrived for HeartbeatTimeout.
//
// Targets are pods (OpPod), keyed by UID and sent as soon as the pod is bound to a node, before any of its
// containers exists: the agent selects the pod's cgroup in the kernel, so that every process of the pod is
// traced from its first call. Container ids reach the agent as updates of the pod (the same command again).
//
// The protocol is versioned (Version, carried by OpStart): an agent and a plugin of different versions refuse
// each other with one line that names both, rather than misreading each other's commands. An agent refuses a
// plugin of another version at OpStart (VersionMismatch); a plugin knows an agent of protocol 1, which ignores
// the version, by its ready notice, which does not say how it selects pods (event.Notice.Selection): ErrOldAgent.
package protocol

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/swoll-dev/swoll/callfilter"
)

// Version is this protocol's version. It changes whenever a command or a field changes meaning.
//
//   - 1: targets were running containers (OpAdd, OpRemove by container id); Start had no version.
//   - 2: Start.Version; targets are pods (OpPod, OpForget); container start and end notices; the ready notice
//     says how the node selects pods (event.Notice.Selection).
const Version = 2

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
	// OpStart must be the first command: it says what to trace. Start is set, with Start.Version.
	OpStart Op = "start"
	// OpPod adds a pod to trace, or updates it (labels, the containers its status lists, their ids and restart
	// counts). Pod is set.
	OpPod Op = "pod"
	// OpForget stops tracing a pod. PodUID is set.
	OpForget Op = "forget"
	// OpAdd adds one running container by id, without its pod (or updates its names), selected by its mount
	// namespace: a tool's or a test's way to trace a single container; the plugin sends pods. Target is set.
	OpAdd Op = "add"
	// OpRemove stops tracing a container added with OpAdd. ContainerID is set.
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
	Pod         *Pod    `json:"pod,omitempty"`
	PodUID      string  `json:"pod_uid,omitempty"`
	Target      *Target `json:"target,omitempty"`
	ContainerID string  `json:"container_id,omitempty"`
}

// Start configures a session.
type Start struct {
	// Version is the plugin's protocol version; the agent refuses any other than its own. A Start is always
	// written with this package's Version (MarshalJSON): it says what the writer was built with, not a setting.
	Version int `json:"version"`
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
	// Framings are the framings of the event stream the plugin reads, preferred first (package wire); the
	// agent writes the first it knows after its ready notice, which names it (event.Notice.Framing). Empty (a
	// plugin older than the binary framing): JSON lines. An agent that knows none of them refuses the session.
	Framings []string `json:"framings,omitempty"`
	// Count selects counting mode: the agent counts calls in the kernel and writes a snapshot line (package
	// event) every CountIntervalMs (default 1000) instead of one event per call.
	Count           bool  `json:"count,omitempty"`
	CountIntervalMs int64 `json:"count_interval_ms,omitempty"`
	// CountEntries sizes the kernel's counter table (0: the agent's default for its number of CPUs).
	CountEntries int `json:"count_entries,omitempty"`
	// Stacks asks for the stacks of the calls: StacksUser adds each call's user-space stack to its event
	// (trace -k), StacksKernel the kernel's too (-kk); in counting mode, StacksUser counts per calling function
	// as well (top --by caller). 0: none.
	Stacks int `json:"stacks,omitempty"`

	// Filter is the incident filters, decided in the kernel at each call's exit (--failed, --errno, -P...;
	// what they drop is counted apart from what is lost, notices' filtered_total), and the fd display (-y).
	// The zero Spec keeps every call, and is left out of the line.
	Filter callfilter.Spec `json:"filter,omitzero"`
	// NoLatency counts calls without timing them (kubectl swoll top --latency=false): the agent reads no clock
	// per call and its snapshots say so (event.Snapshot.NoLatency). An agent before it times them anyway.
	NoLatency bool `json:"no_latency,omitempty"`
}

// Values of Start.Stacks.
const (
	StacksUser   = 1
	StacksKernel = 2
)

// MarshalJSON writes s with Version.
func (s Start) MarshalJSON() ([]byte, error) {
	type plain Start // without this method
	p := plain(s)
	p.Version = Version
	return json.Marshal(p)
}

// DefaultMaxLabelBytes is the default bound on the label bytes (keys and values) stamped per event.
const DefaultMaxLabelBytes = 4096

// Pod is one pod to trace, as the plugin knows it: from the moment it is bound to the agent's node (Pending,
// ContainerCreating and CrashLoopBackOff included) until it is gone or no longer selected.
type Pod struct {
	// UID keys the pod: a pod recreated under the same name is another pod. Its cgroup is named after it.
	UID       string            `json:"uid"`
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
	// QoS is the pod's class as its status says ("Guaranteed", "Burstable", "BestEffort"; "" before the
	// kubelet set it): for messages, the agent finds the pod's cgroup in every class.
	QoS string `json:"qos,omitempty"`
	// Containers are the pod's containers: every one its spec names, with the id, restart count and state its
	// status gives so far.
	Containers []Container `json:"containers,omitempty"`
	// Select names the containers to trace (-c); empty traces every container of the pod, the ones that start
	// later included. The pod's sandbox is never traced.
	Select []string `json:"select,omitempty"`
}

// Selects reports whether the pod's selection takes the container named name.
func (p *Pod) Selects(name string) bool {
	if len(p.Select) == 0 {
		return true
	}
	for _, s := range p.Select {
		if s == name {
			return true
		}
	}
	return false
}

// Container finds one of the pod's containers by name, nil when the pod has none of that name.
func (p *Pod) Container(name string) *Container {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}

// ContainerKind says which list of the pod spec a container is in.
type ContainerKind string

// The kinds of containers.
const (
	KindInit      ContainerKind = "init"
	KindRegular   ContainerKind = "regular"
	KindEphemeral ContainerKind = "ephemeral"
)

// Container is one container of a pod, as the pod's spec and status say.
type Container struct {
	Name  string        `json:"name"`
	Kind  ContainerKind `json:"kind"`
	Image string        `json:"image,omitempty"`
	// ID is the runtime's id of the container's current (or last) run, with or without the "containerd://"
	// style prefix of the pod status; empty until the kubelet reported one.
	ID string `json:"id,omitempty"`
	// RestartCount is the status's restart count.
	RestartCount int `json:"restart_count,omitempty"`
	// Running: the status says the run of ID is running (the mount namespace fallback traces only those).
	Running bool `json:"running,omitempty"`
}

// Target is one container and the Kubernetes names stamped on its events (package decode), which OpAdd sends.
type Target struct {
	// ContainerID is the runtime's id, with or without the "containerd://" style prefix of the pod status.
	ContainerID string            `json:"container_id"`
	Pod         string            `json:"pod"`
	Namespace   string            `json:"namespace"`
	Container   string            `json:"container"`
	Image       string            `json:"image,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// RestartCount is the container's restart count, when known (a run of a named container).
	RestartCount *int `json:"restart_count,omitempty"`
}

// VersionMismatch is the agent's one line for a plugin of another protocol version (0: a plugin of protocol 1,
// whose Start has no version).
func VersionMismatch(plugin int) error {
	if plugin == 0 {
		plugin = 1
	}
	return fmt.Errorf("this agent speaks protocol %d and the plugin protocol %d: %s", Version, plugin, sameRelease)
}

// ErrOldAgent is the plugin's one line for an agent of protocol 1 (its ready notice does not say how it
// selects pods).
var ErrOldAgent = fmt.Errorf("the agent image speaks protocol 1 and this plugin protocol %d: %s", Version, sameRelease)

const sameRelease = "use a plugin and an agent image of one release (kubectl swoll version names the image the plugin runs)"
