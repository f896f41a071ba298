// Package record parses the raw records that the kernel probe (bpf/) writes into the ring buffer. It has no
// dependency on cilium/ebpf so that the parser can be fuzzed and benchmarked anywhere.
package record

// MaxArgs is the number of syscall arguments the kernel passes in registers.
const MaxArgs = 6

// Record is one completed system call as the probe saw it. Slices alias the ring-buffer sample they were
// parsed from and are valid only until the reader moves on: copy what you keep.
type Record struct {
	Nr       uint32
	TargetID uint32 // the id user space gave the container (or pid tree) this call matched; 0 in trace-all mode
	Ret      int64
	Args     [MaxArgs]uint64
	// Start and Finish are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) at entry and exit.
	Start, Finish uint64
	Pid, Tid      uint32 // host view (tgid, pid)
	NsPid         uint32 // tgid in the task's own pid namespace
	UID, GID      uint32
	PidNS         uint32 // namespace inode numbers
	UtsNS         uint32
	MntNS         uint32
	// Cgroup is the id of the task's own cgroup (a container's, whose name holds its id) in the hierarchy the
	// filter reads (tracer.Tracer.SetCgroupHierarchy; the unified one by default): its directory's inode
	// number. 0 when the probe could not read it.
	Cgroup uint64
	Comm   [16]byte
	// Captures holds what the probe copied from user memory for argument i, per the syscall's capture spec.
	Captures [MaxArgs]Capture
	// CapsDropped: some captures did not fit in the record (their arguments have no capture).
	CapsDropped bool
	// NoReturn: the call does not return (exit, exit_group); the record was written at entry, Ret is 0 and
	// Finish is the entry time.
	NoReturn bool
	// UserStack and KernelStack are the call's stacks, when the probe was loaded to take them (trace -k,
	// -kk; see bpf/stack.h).
	UserStack, KernelStack Stack
}

// Stack is a stack the probe took: instruction pointers, innermost first.
type Stack struct {
	// Truncated: the stack went on past the frames kept.
	Truncated bool
	// Data holds the ips, 8 bytes each, little-endian (aliasing the sample, like a capture's data).
	Data []byte
}

// Len is the number of frames.
func (s *Stack) Len() int { return len(s.Data) / 8 }

// IP is frame i's instruction pointer.
func (s *Stack) IP(i int) uint64 { return le.Uint64(s.Data[8*i:]) }

// AppendIPs appends the frames' instruction pointers to dst.
func (s *Stack) AppendIPs(dst []uint64) []uint64 {
	for i := 0; i+8 <= len(s.Data); i += 8 {
		dst = append(dst, le.Uint64(s.Data[i:]))
	}
	return dst
}

// Capture is user memory copied for one argument.
type Capture struct {
	Present   bool   // the probe tried to copy this argument
	Faulted   bool   // the copy failed (bad pointer): render the raw pointer
	Truncated bool   // the data was longer than what was kept
	Data      []byte // string without its NUL; StrArray: strings each followed by a NUL
}
