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

import (
	"encoding/json"

	"github.com/swoll-dev/swoll/event/stack"
)

// SchemaVersion is bumped whenever a field changes meaning or disappears. Adding fields does not bump it:
// SchemaRevision counts those additions within a version.
const SchemaVersion = 1

// SchemaRevision counts the additions to SchemaVersion; a field added in revision N is absent from lines
// written before it (by older agents and in older recordings):
//
//	1  the first schema
//	2  Container.RestartCount, the notice kinds container_started, container_ended and unattributed with their
//	   fields (PodUID, Pod, Namespace, Container, ContainerKind, RestartCount, ExitCode, Signal, OOMKilled,
//	   Reason, TracedFromNs, Dropped), and the ready notice's Selection
//	3  fd descriptions with -y/-yy: return_file, "<name>_file" and "<name>_files" in args (FdFile); the stats
//	   and exit notices' filtered_total and the snapshots' filtered and filtered_total (the incident filters);
//	   stacks: "stack", "stack_truncated" and "kernel_stack" of an Event (trace -k, -kk), "caller" of a Count
//	   (top --by caller) and "symbols" of a Notice; a stack frame's keys are package event/stack's and follow
//	   the same rule
//	4  the notices' dropped_calls (Notice.DroppedCalls: the calls whose events the kernel dropped, by call and
//	   errno), the snapshots' no_latency (top --latency=false) and the counts' pre_exec (Count.PreExec), and
//	   the ready notice's framing (the exec stream's framing, package wire)
const SchemaRevision = 4

// Event is one completed system call of one thread.
type Event struct {
	Syscall Syscall `json:"syscall"`
	// Start and Finish are wall-clock times (Unix nanoseconds) of syscall entry and exit. The agent converts
	// the kernel's monotonic clock so that streams from several nodes can be merged.
	Start  int64 `json:"start"`
	Finish int64 `json:"finish"`
	// Pid and Tid are as seen from the host; ContainerPid is the pid inside the container's pid namespace.
	Pid          int    `json:"pid"`
	Tid          int    `json:"tid"`
	ContainerPid int    `json:"container_pid"`
	UID          int    `json:"uid"`
	GID          int    `json:"gid"`
	Comm         string `json:"comm"`
	Session      string `json:"session"`
	Error        string `json:"error"` // errno name ("ENOENT") or "OK"
	Return       int64  `json:"return"`
	// ReturnFile describes the fd a call returned (open, socket, accept, dup...) when the session shows fds
	// (-y): an FdFile object. Added in schema revision 3.
	ReturnFile json.RawMessage `json:"return_file,omitempty"`
	PidNS      uint32          `json:"pid_ns"`
	UtsNS      uint32          `json:"uts_ns"`
	MountNS    uint32          `json:"mount_ns"`
	Container  *Container      `json:"container,omitempty"`
	Node       string          `json:"node,omitempty"`
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
	//   - with -y (schema revision 3): an fd or dirfd argument that names an open file has a sibling key
	//     "<name>_file" (FdFileSuffix) holding its FdFile object, what it was when the call began ("fd":3,
	//     "fd_file":{"path":"/etc/hosts"}; "dirfd":"AT_FDCWD","dirfd_file":{"path":"/srv"}, the working
	//     directory); an fd pair the call filled (pipe, socketpair) has "<name>_files" (FdFilesSuffix), an
	//     array of two FdFile objects (null for one that could not be found).
	// Syscalls without a table entry have "arg0".."arg5" in hex.
	Args json.RawMessage `json:"args"`
	// Stack is the user-space stack of the call, innermost first (trace -k): frames symbolized by the agent
	// from the container's own binaries, whose keys package event/stack documents. StackTruncated: the stack
	// does not reach the thread's entry point (the probe's depth was reached, or code without frame pointers
	// cut the walk short; see the README for which binaries give whole stacks). Both are left out without -k.
	Stack          []stack.Frame `json:"stack,omitempty"`
	StackTruncated bool          `json:"stack_truncated,omitempty"`
	// KernelStack is the kernel's stack of the call, innermost first (trace -kk): where the system call entered
	// the kernel, symbolized from the node's /proc/kallsyms.
	KernelStack []stack.Frame `json:"kernel_stack,omitempty"`
}

// FdFileSuffix and FdFilesSuffix name the args keys that describe an fd argument and an fd pair (see
// Event.Args): "fd_file", "pipefd_files".
const (
	FdFileSuffix  = "_file"
	FdFilesSuffix = "_files"
)

// FdFile is what an fd was (-y, -yy), as strace -y and -yy show it between < and >, in JSON:
//
//	{"path":"/etc/hosts"}                            a file, by its path in the traced task's view
//	{"path":"/tmp/x","deleted":true}                 unlinked (strace: "(deleted)")
//	{"path":"pipe:[1234]"}                           a pipe, socket, anonymous inode (anon_inode:[eventfd]),
//	                                                 memfd (/memfd:NAME, deleted), as /proc/PID/fd names it
//	{"path":"/dev/null","device":"char 1:3"}         -yy: a device's type and major:minor
//	{"path":"socket:[56]","socket":"TCP:[10.0.0.1:41234->10.0.0.9:5432]","src":"10.0.0.1:41234","dst":"10.0.0.9:5432"}
//	                                                 -yy: a socket as strace -yy shows it (TCP, UDP, their v6
//	                                                 forms and the other inet protocols with their addresses,
//	                                                 PROTO:[ino] while not bound; UNIX-STREAM:[ino->peer,"/path"];
//	                                                 NETLINK:[ROUTE:portid]); src and dst for inet sockets
//	"truncated":true                                 the path was longer than the probe keeps: its last 1024 bytes
type FdFile struct {
	Path      string `json:"path"`
	Deleted   bool   `json:"deleted,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	Device    string `json:"device,omitempty"`
	Socket    string `json:"socket,omitempty"`
	Src       string `json:"src,omitempty"`
	Dst       string `json:"dst,omitempty"`
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

// Container says where the call came from in Kubernetes terms. A call of a pod's process whose container is
// not known has the pod's names only (no ID, Name, RestartCount).
type Container struct {
	ID        string `json:"id,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Name      string `json:"name,omitempty"`
	Image     string `json:"image,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// RestartCount is the container's restart count during the run that made the call (as the pod status
	// counts it: 0 for its first run), so that a reader tells a crash-looping container's runs apart. Set
	// whenever Name is (revision 2).
	RestartCount *int              `json:"restart_count,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
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
	// DroppedCalls says which calls LostTotal's events were (kinds "lost" and "exit"), by system call, the
	// most dropped first: totals since start, so that the last notice of an agent holds them all. Their sum
	// may be less than LostTotal: the kernel keeps a few thousand calls and errnos apart, and a record the
	// agent could not read is of no call.
	DroppedCalls []DroppedCall `json:"dropped_calls,omitempty"`
	// Limited counts events dropped by the agent's rate cap since the previous rate_limited notice;
	// LimitedTotal since start (kinds "rate_limited" and "exit"). They are never counted in Lost.
	Limited      uint64 `json:"limited,omitempty"`
	LimitedTotal uint64 `json:"limited_total,omitempty"`
	// Events counts events written so far (kind "stats" and "exit").
	Events uint64 `json:"events,omitempty"`
	// FilteredTotal counts the calls the session's incident filters (--failed, --errno, -P...) dropped in the
	// kernel since start (kinds "stats" and "exit"). Never counted in Lost: they were not asked for.
	FilteredTotal uint64 `json:"filtered_total,omitempty"`
	// Symbols is the state of the agent's symbol caches in a session with stacks (kinds "stats" and "exit").
	Symbols *SymbolStats `json:"symbols,omitempty"`
	Message string       `json:"message,omitempty"`

	// Selection says how the agent selects the processes of its pods (kind "ready"): SelectionCgroup or
	// SelectionMountNS, with Message saying why or where.
	Selection string `json:"selection,omitempty"`
	// Framing names the framing of everything the agent writes after its ready notice (kind "ready"; package
	// wire); absent: JSON lines, one object per line like everything before it.
	Framing string `json:"framing,omitempty"`

	// The pod of pod and container notices (target_attached, target_detached and target_error of a pod;
	// container_started, container_ended, unattributed).
	PodUID    string `json:"pod_uid,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Container is the container's name and ContainerKind its list in the pod spec ("init", "regular",
	// "ephemeral") in container notices; ContainerID is its id (the run's).
	Container     string `json:"container,omitempty"`
	ContainerKind string `json:"container_kind,omitempty"`
	// RestartCount is the run's restart count (container notices): 0 for the first run.
	RestartCount *int `json:"restart_count,omitempty"`
	// ExitCode is the run's exit status as the runtime reports it (container_ended; absent when the runtime
	// could not say); Signal names the signal that ended it when the status is 128+N (Kubernetes' convention
	// for a killed process); OOMKilled is set when the kernel's OOM killer ended it; Reason is the runtime's
	// word ("Error", "Completed", "OOMKilled").
	ExitCode  *int   `json:"exit_code,omitempty"`
	Signal    string `json:"signal,omitempty"`
	OOMKilled bool   `json:"oom_killed,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// TracedFromNs is set when the run had started before the agent selected its pod (container_started): the
	// trace holds its calls from that many nanoseconds after its start on, not its first ones. Time is the
	// run's creation in container_started (before its first call) and its end in container_ended, when the
	// runtime says, so that the notices sort among the run's calls by time.
	TracedFromNs int64 `json:"traced_from_ns,omitempty"`
	// Dropped counts the events of a container the agent could not name in time and left out (kind
	// "unattributed": a -c selection could not tell whether it selects the container).
	Dropped uint64 `json:"dropped,omitempty"`
}

// SymbolStats is what an agent holds to symbolize stacks (trace -k, top --by caller): the symbol tables of
// the binaries and libraries its targets map, the processes' maps, and with -kk the kernel's symbols.
type SymbolStats struct {
	// Bytes is the memory held; Budget bounds the part taken by binaries and processes (the least recently
	// used go first), to which the kernel's table (KernelBytes, read once) adds.
	Bytes       int64 `json:"bytes"`
	Budget      int64 `json:"budget"`
	KernelBytes int64 `json:"kernel_bytes,omitempty"`
	Modules     int64 `json:"modules"`   // binaries and libraries whose symbols are held
	Processes   int64 `json:"processes"` // processes whose maps are held
	// Hits and Misses count frames answered from what was held, or after reading a file; Evictions what the
	// budget dropped.
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	Evictions uint64 `json:"evictions,omitempty"`
}

// DroppedCall counts the calls of one system call whose events the kernel dropped (Notice.DroppedCalls).
type DroppedCall struct {
	// Syscall is the call's name ("syscall_<nr>" for a number the agent's table does not name).
	Syscall string `json:"syscall"`
	Calls   uint64 `json:"calls"`
	// Errors counts those that failed, by errno name ("ENOENT"). The others succeeded, but for Unfinished.
	Errors map[string]uint64 `json:"errors,omitempty"`
	// Unfinished counts those dropped at their entry (no room for the call's state), before they returned.
	Unfinished uint64 `json:"unfinished,omitempty"`
}

// How an agent selects the processes of the pods it traces (Notice.Selection).
const (
	// SelectionCgroup: by the pod's cgroup, in the kernel, from the pod's first call.
	SelectionCgroup = "cgroup"
	// SelectionMountNS: by the mount namespaces of running containers, found through the runtime (the
	// fallback where the node's cgroups cannot be read): a container is traced from when it was found.
	SelectionMountNS = "mount_namespace"
)

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
	// NoticeContainerStarted: a run of a traced pod's container started (or was found running: TracedFromNs
	// says how late its trace began). It names the container, its kind and its restart count.
	NoticeContainerStarted NoticeKind = "container_started"
	// NoticeContainerEnded: a run ended: ExitCode, Signal, OOMKilled, Reason, RestartCount.
	NoticeContainerEnded NoticeKind = "container_ended"
	// NoticeUnattributed: events of a container the agent could not name in time were left out (Dropped).
	NoticeUnattributed NoticeKind = "unattributed"
)
