// Package event is swoll's versioned event schema, shared by the node agent (which writes it) and the plugin
// (which reads, merges and prints it). It carries the field names of criticalstack/swoll's JSON so that tools
// written for it keep working.
//
// The agent writes one JSON object per line. A line is an Event (it has "syscall"), a Notice (it has "notice")
// or, in counting mode, a Snapshot (it has "snapshot"; see snapshot.go). The agent always writes the keys of an
// Event in the order of the struct below, so a reader can find "finish" with a byte scan before any
// user-controlled text (labels, args) appears (FinishOf).
//
// This package is the schema only; package render writes events as strace-style lines.
package event

import "encoding/json"

// SchemaVersion is bumped whenever a field changes meaning or disappears. Adding fields does not bump it.
const SchemaVersion = 1

// Event is one completed system call of one thread.
type Event struct {
	Syscall Syscall `json:"syscall"`
	// Start and Finish are wall-clock times (Unix nanoseconds) of syscall entry and exit. The agent converts
	// the kernel's monotonic clock so that streams from several nodes can be merged.
	Start  int64 `json:"start"`
	Finish int64 `json:"finish"`
	// Pid and Tid are as seen from the host; ContainerPid is the pid inside the container's pid namespace.
	Pid          int        `json:"pid"`
	Tid          int        `json:"tid"`
	ContainerPid int        `json:"container_pid"`
	UID          int        `json:"uid"`
	GID          int        `json:"gid"`
	Comm         string     `json:"comm"`
	Session      string     `json:"session"`
	Error        string     `json:"error"` // errno name ("ENOENT") or "OK"
	Return       int64      `json:"return"`
	PidNS        uint32     `json:"pid_ns"`
	UtsNS        uint32     `json:"uts_ns"`
	MountNS      uint32     `json:"mount_ns"`
	Container    *Container `json:"container,omitempty"`
	Node         string     `json:"node,omitempty"`
	// Args is keyed by the parameter names of the syscall's man page, in parameter order. Values:
	//   - integers, fds, pids, sizes: JSON numbers; dirfd -100 is "AT_FDCWD".
	//   - flag sets and symbolic names: strings, "O_RDONLY|O_CLOEXEC", "SIGTERM", "AF_INET"; bits without a
	//     name are appended in hex ("O_RDONLY|0x80000000"); an empty set is "0". Modes are octal strings
	//     ("0644", "01777"), as strace prints them; a mode with its file type (st_mode, mknod's mode) names
	//     the type and the set-ID and sticky bits ("S_IFDIR|S_ISVTX|0777"). open's mode is left out unless
	//     the flags hold O_CREAT or O_TMPFILE.
	//   - pointers without a decoding, and pointers whose memory could not be read: strings "0x7ffd1234";
	//     a NULL pointer whose target would have been decoded is null.
	//   - paths, strings and buffers: strings holding the captured bytes; bytes that are not UTF-8 become
	//     U+FFFD. When the value was longer than what the probe keeps, the value holds the captured prefix
	//     (nothing is appended to it) and the next key is "<name>_truncated": true (TruncatedSuffix).
	//   - argv: an array of strings, "argv_truncated": true when strings or entries are missing.
	//   - sockaddrs: objects, {"family":"AF_INET","port":80,"addr":"10.0.0.1"} (port in host order),
	//     AF_INET6 adds "flowinfo" and "scope_id" when non-zero, {"family":"AF_UNIX","path":"/run/x.sock"}
	//     ("@name" for abstract names), AF_NETLINK has "pid" and "groups", other families "data" in hex.
	//   - structs (openat2's how, clone3's cl_args): objects of their fields, decoded like arguments; how has
	//     "mode" only when the flags may create a file or it is non-zero, and "resolve" only when non-zero.
	// Syscalls without a table entry have "arg0".."arg5" in hex.
	Args json.RawMessage `json:"args"`
}

// UnreadableSuffix names the marker key that follows a pointer whose memory the probe could not read, at
// entry nor at exit (an unmapped address, or a page the kernel never touched): "pathname_unreadable": true.
// A pointer without the marker is one swoll does not follow. See Event.Args.
const UnreadableSuffix = "_unreadable"

// Syscall names one system call. Name has no "sys_" prefix. Nr is a number of Arch's system call table
// (Go's names: "amd64", "arm64"; the node's architecture).
type Syscall struct {
	Nr    int    `json:"nr"`
	Name  string `json:"name"`
	Class string `json:"class"`
	Group string `json:"group"`
	Arch  string `json:"arch,omitempty"`
}

// Container says where the call came from in Kubernetes terms.
type Container struct {
	ID        string            `json:"id,omitempty"`
	Pod       string            `json:"pod,omitempty"`
	Name      string            `json:"name,omitempty"`
	Image     string            `json:"image,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Line is what one line of an agent's stream decodes into: exactly one of the three is set.
type Line struct {
	*Event
	Notice   *Notice   `json:"notice,omitempty"`
	Snapshot *Snapshot `json:"snapshot,omitempty"`
}

// TruncatedSuffix names the marker key that follows an argument whose captured value was cut short:
// "pathname_truncated": true. See Event.Args.
const TruncatedSuffix = "_truncated"

// NoticePrefix starts every notice line, so that readers can tell notices from events without decoding.
const NoticePrefix = `{"notice":`

// Notice is a record about the stream itself rather than a system call.
type Notice struct {
	Kind NoticeKind `json:"kind"`
	Node string     `json:"node,omitempty"`
	// Time is wall-clock Unix nanoseconds.
	Time int64 `json:"time,omitempty"`
	// ContainerID is set for target notices.
	ContainerID string `json:"container_id,omitempty"`
	// Lost counts events dropped in the kernel since the previous lost notice (kind "lost"); LostTotal since start.
	Lost      uint64 `json:"lost,omitempty"`
	LostTotal uint64 `json:"lost_total,omitempty"`
	// Dropped says which calls LostTotal's events were (kinds "lost" and "exit"), by system call, the most
	// dropped first: totals since start, so that the last notice of an agent holds them all. Their sum may be
	// less than LostTotal: the kernel keeps a few thousand calls and errnos apart, and a record the agent could
	// not read is of no call.
	Dropped []DroppedCall `json:"dropped,omitempty"`
	// Limited counts events dropped by the agent's rate cap since the previous rate_limited notice;
	// LimitedTotal since start (kinds "rate_limited" and "exit"). They are never counted in Lost.
	Limited      uint64 `json:"limited,omitempty"`
	LimitedTotal uint64 `json:"limited_total,omitempty"`
	// Events counts events written so far (kind "stats" and "exit").
	Events  uint64 `json:"events,omitempty"`
	Message string `json:"message,omitempty"`
}

// DroppedCall counts the calls of one system call whose events the kernel dropped (Notice.Dropped).
type DroppedCall struct {
	// Syscall is the call's name ("syscall_<nr>" for a number the agent's table does not name).
	Syscall string `json:"syscall"`
	Calls   uint64 `json:"calls"`
	// Errors counts those that failed, by errno name ("ENOENT"). The others succeeded, but for Unfinished.
	Errors map[string]uint64 `json:"errors,omitempty"`
	// Unfinished counts those dropped at their entry (no room for the call's state), before they returned.
	Unfinished uint64 `json:"unfinished,omitempty"`
}

// NoticeKind tells what a notice reports.
type NoticeKind string

const (
	// NoticeReady: the agent's probes are attached and it is filtering for the targets it was given.
	NoticeReady NoticeKind = "ready"
	// NoticeTargetAttached: a container was resolved to its kernel identity and is now traced.
	NoticeTargetAttached NoticeKind = "target_attached"
	// NoticeTargetDetached: a container is no longer traced (removed by the plugin, or it exited).
	NoticeTargetDetached NoticeKind = "target_detached"
	// NoticeTargetError: a container could not be traced; Message says why.
	NoticeTargetError NoticeKind = "target_error"
	// NoticeLost: the kernel dropped events because the ring buffer was full.
	NoticeLost NoticeKind = "lost"
	// NoticeStats: the agent is alive; Events counts what it wrote so far. Sent every few seconds, so that a
	// reader can tell a quiet node from a silent one.
	NoticeStats NoticeKind = "stats"
	// NoticeRateLimited: the agent dropped events over its rate cap (OpStart's max_rate).
	NoticeRateLimited NoticeKind = "rate_limited"
	// NoticeError: a fatal agent error; the agent exits after writing it.
	NoticeError NoticeKind = "error"
	// NoticeExit: the agent is done; Events and LostTotal hold the totals.
	NoticeExit NoticeKind = "exit"
)
