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
	// Fds holds what the fds of the call were, with -y: Fds[i] for argument i (an fd or dirfd, as the call
	// began), Fds[FdRet] for the returned fd, Fds[FdPair], Fds[FdPair+1] for the two a pipe or socketpair
	// made (as the call ended).
	Fds [FdSlots]Fd
	// CapsDropped: some captures did not fit in the record (their arguments have no capture).
	CapsDropped bool
	// NoReturn: the call does not return (exit, exit_group); the record was written at entry, Ret is 0 and
	// Finish is the entry time.
	NoReturn bool
}

// Capture is user memory copied for one argument.
type Capture struct {
	Present   bool   // the probe tried to copy this argument
	Faulted   bool   // the copy failed (bad pointer): render the raw pointer
	Truncated bool   // the data was longer than what was kept
	Data      []byte // string without its NUL; StrArray: strings each followed by a NUL
}

// Fd slots in Record.Fds besides the arguments' (0..MaxArgs-1).
const (
	FdRet   = MaxArgs     // the returned fd
	FdPair  = MaxArgs + 1 // the pair an fd-pair argument points to: FdPair and FdPair+1
	FdSlots = MaxArgs + 3
)

// MaxFdPathBytes is the most of an fd's path the probe keeps (bpf/fdpath.h's FD_PATH_MAX): a longer path keeps
// its last MaxFdPathBytes bytes and is marked Truncated.
const MaxFdPathBytes = 1024

// FdKind says what an Fd's Data holds (bpf/fdpath.h's enum fd_kind).
type FdKind uint8

const (
	// FdPath: a file of the task's file system tree; Data is its path from the task's root ("/etc/hosts").
	FdPath FdKind = 1
	// FdNamed: a file of a pseudo file system (pipes, sockets, anonymous inodes, memfds); Data is its dentry
	// name ("[eventfd]", "memfd:x", "" for a pipe), which the file system's Magic says how to show.
	FdNamed FdKind = 2
	// FdSocket: a socket with its details (-yy); Data is FdSocket's encoding (Socket reads it).
	FdSocket FdKind = 3
)

// Fd is what one file descriptor was, as the probe found it (bpf/fdpath.h). Data aliases the record.
type Fd struct {
	Present   bool
	Kind      FdKind
	Deleted   bool // unlinked (strace: "(deleted)")
	Truncated bool // the path is longer than MaxFdPathBytes or deeper than the walk goes: Data is its tail
	Magic     uint32
	Ino       uint64
	Mode      uint32 // the inode's mode: its file type in Mode & 0170000
	Rdev      uint32 // a device's number in the kernel's encoding: major << 20 | minor
	Data      []byte
}

// FdSocketInfo is a socket's details (bpf/fdpath.h's struct fd_sock).
type FdSocketInfo struct {
	Family, Type, Protocol uint16
	SrcPort, DstPort       uint16
	Peer                   uint32 // AF_UNIX: the peer's inode number (0: none)
	PortID                 uint32 // AF_NETLINK
	Src, Dst               [16]byte
	Proto                  []byte // the protocol's name in the kernel: TCP, UDPv6, UNIX-STREAM, NETLINK...
	Path                   []byte // AF_UNIX: the bound address's sun_path (a leading NUL: abstract)
}

const (
	fdInfoSize = 24
	fdSockSize = 68
	fdDeleted  = 1
	fdTrunc    = 2
)

// Socket reads the details of an FdSocket. Slices alias the record.
func (f *Fd) Socket() (FdSocketInfo, bool) {
	b := f.Data
	if f.Kind != FdSocket || len(b) < fdSockSize {
		return FdSocketInfo{}, false
	}
	s := FdSocketInfo{
		Family: le.Uint16(b[0:]), Type: le.Uint16(b[2:]), Protocol: le.Uint16(b[4:]),
		SrcPort: le.Uint16(b[6:]), DstPort: le.Uint16(b[8:]), Peer: le.Uint32(b[12:]), PortID: le.Uint32(b[16:]),
	}
	copy(s.Src[:], b[20:36])
	copy(s.Dst[:], b[36:52])
	s.Proto = cString(b[52:fdSockSize])
	if n := int(le.Uint16(b[10:])); n > 0 && fdSockSize+n <= len(b) {
		s.Path = b[fdSockSize : fdSockSize+n : fdSockSize+n]
	}
	return s, true
}

func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i:i]
		}
	}
	return b
}
