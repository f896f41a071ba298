package event

import (
	"math/bits"

	"github.com/swoll-dev/swoll/event/stack"
)

// SnapshotPrefix starts every snapshot line, so that readers can tell snapshots from events and notices
// without decoding.
const SnapshotPrefix = `{"snapshot":`

// HistBuckets is the number of latency buckets of Count.Hist.
const HistBuckets = 32

// Snapshot counts system calls over an interval instead of reporting each one. In counting mode (`kubectl
// swoll top`, `swoll-agent trace --count`) the agent aggregates in the kernel and writes one snapshot line,
// {"snapshot":{...}}, per interval (once a second by default) and no event line; `kubectl swoll top -o json`
// writes the merged snapshot of every node once per interval. A file of event, notice and snapshot lines is a
// recording: `kubectl swoll report`, `top --replay` and `trace --summary --replay` read one.
//
// Rows are deltas: each counts the calls that finished in (From, To], so that summing the rows of successive
// snapshots gives totals, and merging nodes is adding their rows.
type Snapshot struct {
	// Node is the agent's node; empty in a snapshot merged across nodes (its rows carry theirs).
	Node    string `json:"node,omitempty"`
	Session string `json:"session,omitempty"`
	// From and To are wall-clock Unix nanoseconds.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Rows has one entry per container, system call and result that had calls in the interval.
	Rows []Count `json:"rows"`
	// Overflow counts the calls of the interval that no row holds because the kernel's table of counters was
	// full (a new container, syscall and result could not get a counter). Never silent: the plugin warns.
	Overflow uint64 `json:"overflow,omitempty"`
	// OverflowTotal is Overflow summed since the session started.
	OverflowTotal uint64 `json:"overflow_total,omitempty"`
	// Filtered counts the calls of the interval the session's incident filters (--failed, --errno, -P...)
	// left out, in the kernel; FilteredTotal since the session started. Not a loss: they were not asked for.
	Filtered      uint64 `json:"filtered,omitempty"`
	FilteredTotal uint64 `json:"filtered_total,omitempty"`
	// NoLatency: the calls were counted without timing them (`--latency=false`): the rows' TimeNs is 0 and
	// they have no Hist, which says nothing of how long the calls took.
	NoLatency bool `json:"no_latency,omitempty"`
}

// Count is one row of a Snapshot: the calls of one system call with one result by one container.
type Count struct {
	Syscall Syscall `json:"syscall"`
	// Error is the errno name ("ENOENT") or "OK", as in Event.Error.
	Error     string     `json:"error"`
	Container *Container `json:"container,omitempty"`
	// Node is set on the rows of a merged snapshot.
	Node string `json:"node,omitempty"`
	// Caller is the calling function (stack.Caller: the innermost frame past the C library and Go's standard
	// library), with top --by caller: the rows then count per caller too, merging the call sites of one
	// function (its frame is the first call site's). Left out without --by caller, and when the caller is
	// unknown (the process exited before its stack was symbolized, or it made no frame of its own).
	Caller *stack.Frame `json:"caller,omitempty"`
	// PreExec: the calls were made by processes that had not yet called execve since they joined the
	// container: the container runtime's setup of it (mount, pivot_root, sethostname, ... in runc's or crun's
	// init), or a process entering it (kubectl exec) before it runs its program. execve and execveat are
	// never pre-exec: they start the program. The other rows count what the container's programs call.
	PreExec bool   `json:"pre_exec,omitempty"`
	Calls   uint64 `json:"calls"`
	// TimeNs is the calls' summed duration, entry to exit, in nanoseconds.
	TimeNs uint64 `json:"time_ns"`
	// Hist is the calls' latency distribution in powers of two: Hist[i] counts the calls that took
	// [2^i, 2^(i+1)) ns (Hist[0] also those under 1 ns, the last bucket everything longer). Trailing empty
	// buckets are left out; at most HistBuckets.
	Hist []uint64 `json:"hist,omitempty"`
}

// HistBucket is the Hist index of a duration in nanoseconds (the kernel computes the same).
func HistBucket(ns int64) int {
	if ns <= 1 {
		return 0
	}
	return min(bits.Len64(uint64(ns))-1, HistBuckets-1)
}

// TrimHist drops trailing empty buckets.
func TrimHist(h []uint64) []uint64 {
	n := len(h)
	for n > 0 && h[n-1] == 0 {
		n--
	}
	return h[:n]
}
