package decode

import (
	"strconv"

	"github.com/swoll-dev/swoll/syscalls"
)

// flag names one bit, or a group of bits that must all be set (O_SYNC is __O_SYNC|O_DSYNC), of a flag word.
type flagName struct {
	mask uint64
	name string
}

// appendFlags appends the names of the bits of v that set knows, joined by '|', in set order, then whatever
// is left as hex (strace's "O_RDONLY|0x80000000"). A zero word with no name is "0".
func appendFlags(dst []byte, v uint64, set []flagName) []byte {
	start := len(dst)
	for _, f := range set {
		if v&f.mask == f.mask && f.mask != 0 {
			if len(dst) > start {
				dst = append(dst, '|')
			}
			dst = append(dst, f.name...)
			v &^= f.mask
		}
	}
	return appendLeftover(dst, start, v)
}

func appendLeftover(dst []byte, start int, v uint64) []byte {
	if v == 0 {
		if len(dst) == start {
			dst = append(dst, '0')
		}
		return dst
	}
	if len(dst) > start {
		dst = append(dst, '|')
	}
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, v, 16)
}

// appendName appends the name of v from names (indexed by value), or v in decimal when it has none.
func appendName(dst []byte, v uint64, names []string) []byte {
	if v < uint64(len(names)) && names[v] != "" {
		return append(dst, names[v]...)
	}
	return strconv.AppendUint(dst, v, 10)
}

const (
	oCreat    = 0o100
	oTmpfile  = 0o20000000 // __O_TMPFILE; O_TMPFILE adds O_DIRECTORY
	oNonblock = 0o4000
	oCloexec  = 0o2000000
)

// openFlagSet returns the O_* bits of arch (they differ between architectures), from the generated table,
// in strace's order; the access mode (low two bits) is decoded separately.
func openFlagSet(arch syscalls.Arch) []flagName {
	return generated(arch, "open")
}

// generated returns a generated flag table of arch (amd64's when arch has none) as flagNames.
func generated(arch syscalls.Arch, name string) []flagName {
	fs := syscalls.Flags(arch, name)
	if fs == nil {
		fs = syscalls.Flags(syscalls.AMD64, name)
	}
	out := make([]flagName, len(fs.Flags))
	for i, f := range fs.Flags {
		out[i] = flagName{mask: f.Value, name: f.Name}
	}
	return out
}

// appendOpenFlags renders open(2) flags: the access mode always comes first, as strace prints it.
func appendOpenFlags(dst []byte, v uint64, set []flagName) []byte {
	switch v & 3 {
	case 0:
		dst = append(dst, "O_RDONLY"...)
	case 1:
		dst = append(dst, "O_WRONLY"...)
	case 2:
		dst = append(dst, "O_RDWR"...)
	default:
		dst = append(dst, "O_ACCMODE"...)
	}
	v &^= 3
	if v == 0 {
		return dst
	}
	dst = append(dst, '|')
	return appendFlags(dst, v, set)
}

// fileTypes are the S_IF* values of a mode's type field (S_IFMT).
var fileTypes = [...]flagName{
	{0o140000, "S_IFSOCK"}, {0o120000, "S_IFLNK"}, {0o100000, "S_IFREG"}, {0o60000, "S_IFBLK"},
	{0o40000, "S_IFDIR"}, {0o20000, "S_IFCHR"}, {0o10000, "S_IFIFO"},
}

// modeBits are the set-user-ID, set-group-ID and sticky bits, in strace's order.
var modeBits = [...]flagName{{0o4000, "S_ISUID"}, {0o2000, "S_ISGID"}, {0o1000, "S_ISVTX"}}

const sIFMT = 0o170000

// appendMode renders a mode with its file type (struct stat's st_mode, mknod's mode) as strace's
// print_symbolic_mode_t does: the type and the set-ID and sticky bits by name, then the permission bits in
// octal: "S_IFDIR|S_ISVTX|0777", "S_IFREG|0644", "S_ISUID|0755", "0644". A type strace has no name for prints
// the whole mode in octal.
func appendMode(dst []byte, v uint64) []byte {
	typ, special := v&sIFMT, v&0o7000
	name := ""
	if typ != 0 {
		for _, f := range fileTypes {
			if f.mask == typ {
				name = f.name
				break
			}
		}
	}
	if (typ != 0 && name == "") || (typ == 0 && special == 0) {
		return appendOctal(dst, v)
	}
	if name != "" {
		dst = append(dst, name...)
		dst = append(dst, '|')
	}
	for _, f := range modeBits {
		if special&f.mask != 0 {
			dst = append(dst, f.name...)
			dst = append(dst, '|')
		}
	}
	return appendOctal(dst, v&^(typ|special))
}

// appendOctal renders v as strace's "%#03o" (its print_numeric_umode_t: open's, chmod's, mkdir's mode,
// umask's mask): 0644, 02775, 0100644, 007, 000.
func appendOctal(dst []byte, v uint64) []byte {
	switch {
	case v == 0:
		return append(dst, '0', '0', '0')
	case v < 0o10:
		dst = append(dst, '0', '0')
	default:
		dst = append(dst, '0')
	}
	return strconv.AppendUint(dst, v, 8)
}

var accessModeFlags = []flagName{{4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"}}

func appendAccessMode(dst []byte, v uint64) []byte {
	if v == 0 {
		return append(dst, "F_OK"...)
	}
	return appendFlags(dst, v, accessModeFlags)
}

var (
	atFlags      = generated(syscalls.AMD64, "at")
	sockFlags    = []flagName{{oNonblock, "SOCK_NONBLOCK"}, {oCloexec, "SOCK_CLOEXEC"}}
	resolveFlags = generated(syscalls.AMD64, "resolve")
)

// cloneFlags are the CLONE_* bits above the exit-signal byte.
var cloneFlags = []flagName{
	{0x100, "CLONE_VM"}, {0x200, "CLONE_FS"}, {0x400, "CLONE_FILES"}, {0x800, "CLONE_SIGHAND"},
	{0x1000, "CLONE_PIDFD"}, {0x2000, "CLONE_PTRACE"}, {0x4000, "CLONE_VFORK"}, {0x8000, "CLONE_PARENT"},
	{0x10000, "CLONE_THREAD"}, {0x20000, "CLONE_NEWNS"}, {0x40000, "CLONE_SYSVSEM"}, {0x80000, "CLONE_SETTLS"},
	{0x100000, "CLONE_PARENT_SETTID"}, {0x200000, "CLONE_CHILD_CLEARTID"}, {0x400000, "CLONE_DETACHED"},
	{0x800000, "CLONE_UNTRACED"}, {0x1000000, "CLONE_CHILD_SETTID"}, {0x2000000, "CLONE_NEWCGROUP"},
	{0x4000000, "CLONE_NEWUTS"}, {0x8000000, "CLONE_NEWIPC"}, {0x10000000, "CLONE_NEWUSER"},
	{0x20000000, "CLONE_NEWPID"}, {0x40000000, "CLONE_NEWNET"}, {0x80000000, "CLONE_IO"},
	{0x100000000, "CLONE_CLEAR_SIGHAND"}, {0x200000000, "CLONE_INTO_CGROUP"},
}

// nsFlags are clone3's flags: clone flags, where 0x80 is CLONE_NEWTIME rather than a signal.
var nsFlags = append([]flagName{{0x80, "CLONE_NEWTIME"}}, cloneFlags...)

// appendCloneFlags renders clone(2) flags with the exit signal of the low byte: "CLONE_VM|CLONE_FS|SIGCHLD".
func appendCloneFlags(dst []byte, v uint64) []byte {
	start := len(dst)
	sig := v & 0xff
	for _, f := range cloneFlags {
		if v&f.mask != 0 {
			if len(dst) > start {
				dst = append(dst, '|')
			}
			dst = append(dst, f.name...)
			v &^= f.mask
		}
	}
	v &^= 0xff
	if sig != 0 {
		if len(dst) > start {
			dst = append(dst, '|')
		}
		dst = appendSignal(dst, sig)
	}
	return appendLeftover(dst, start, v)
}

var mountFlags = []flagName{
	{1, "MS_RDONLY"}, {2, "MS_NOSUID"}, {4, "MS_NODEV"}, {8, "MS_NOEXEC"}, {16, "MS_SYNCHRONOUS"},
	{32, "MS_REMOUNT"}, {64, "MS_MANDLOCK"}, {128, "MS_DIRSYNC"}, {256, "MS_NOSYMFOLLOW"}, {1024, "MS_NOATIME"},
	{2048, "MS_NODIRATIME"}, {4096, "MS_BIND"}, {8192, "MS_MOVE"}, {16384, "MS_REC"}, {32768, "MS_SILENT"},
	{1 << 16, "MS_POSIXACL"}, {1 << 17, "MS_UNBINDABLE"}, {1 << 18, "MS_PRIVATE"}, {1 << 19, "MS_SLAVE"},
	{1 << 20, "MS_SHARED"}, {1 << 21, "MS_RELATIME"}, {1 << 22, "MS_KERNMOUNT"}, {1 << 23, "MS_I_VERSION"},
	{1 << 24, "MS_STRICTATIME"}, {1 << 25, "MS_LAZYTIME"}, {1 << 26, "MS_SUBMOUNT"}, {1 << 27, "MS_NOREMOTELOCK"},
	{1 << 28, "MS_NOSEC"}, {1 << 29, "MS_BORN"}, {1 << 30, "MS_ACTIVE"}, {1 << 31, "MS_NOUSER"},
}

const (
	msMgcVal = 0xc0ed0000
	msMgcMsk = 0xffff0000
)

// appendMountFlags renders mount(2) flags; the obsolete magic number in the high half is named, not decoded.
func appendMountFlags(dst []byte, v uint64) []byte {
	start := len(dst)
	if v&msMgcMsk == msMgcVal {
		dst = append(dst, "MS_MGC_VAL"...)
		v &^= msMgcMsk
		if v == 0 {
			return dst
		}
		dst = append(dst, '|')
		start = len(dst)
	}
	return appendFlags(dst[:start], v, mountFlags)
}

var signalNames = [...]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
	9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
	16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
	23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
	30: "SIGPWR", 31: "SIGSYS",
}

const sigRTMin, sigRTMax = 32, 64

// appendSignal renders a signal number by name (the kernel's numbering: SIGRTMIN is 32), or in decimal.
func appendSignal(dst []byte, v uint64) []byte {
	switch {
	case v < uint64(len(signalNames)) && signalNames[v] != "":
		return append(dst, signalNames[v]...)
	case v == sigRTMin:
		return append(dst, "SIGRTMIN"...)
	case v > sigRTMin && v <= sigRTMax:
		dst = append(dst, "SIGRTMIN+"...)
		return strconv.AppendUint(dst, v-sigRTMin, 10)
	}
	return strconv.AppendUint(dst, v, 10)
}

var addressFamilies = [...]string{
	"AF_UNSPEC", "AF_UNIX", "AF_INET", "AF_AX25", "AF_IPX", "AF_APPLETALK", "AF_NETROM", "AF_BRIDGE",
	"AF_ATMPVC", "AF_X25", "AF_INET6", "AF_ROSE", "AF_DECnet", "AF_NETBEUI", "AF_SECURITY", "AF_KEY",
	"AF_NETLINK", "AF_PACKET", "AF_ASH", "AF_ECONET", "AF_ATMSVC", "AF_RDS", "AF_SNA", "AF_IRDA", "AF_PPPOX",
	"AF_WANPIPE", "AF_LLC", "AF_IB", "AF_MPLS", "AF_CAN", "AF_TIPC", "AF_BLUETOOTH", "AF_IUCV", "AF_RXRPC",
	"AF_ISDN", "AF_PHONET", "AF_IEEE802154", "AF_CAIF", "AF_ALG", "AF_NFC", "AF_VSOCK", "AF_KCM",
	"AF_QIPCRTR", "AF_SMC", "AF_XDP", "AF_MCTP",
}

const (
	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
)

var sockTypes = [...]string{
	1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET", 6: "SOCK_DCCP",
	10: "SOCK_PACKET",
}

// appendSockType renders socket(2)'s type: the kind in the low nibble plus SOCK_NONBLOCK|SOCK_CLOEXEC.
func appendSockType(dst []byte, v uint64) []byte {
	dst = appendName(dst, v&0xf, sockTypes[:])
	v &^= 0xf
	for _, f := range sockFlags {
		if v&f.mask != 0 {
			dst = append(dst, '|')
			dst = append(dst, f.name...)
			v &^= f.mask
		}
	}
	if v != 0 {
		dst = append(dst, '|', '0', 'x')
		dst = strconv.AppendUint(dst, v, 16)
	}
	return dst
}

var ipProtocols = [...]string{
	0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 2: "IPPROTO_IGMP", 4: "IPPROTO_IPIP", 6: "IPPROTO_TCP", 8: "IPPROTO_EGP",
	12: "IPPROTO_PUP", 17: "IPPROTO_UDP", 22: "IPPROTO_IDP", 29: "IPPROTO_TP", 33: "IPPROTO_DCCP",
	41: "IPPROTO_IPV6", 46: "IPPROTO_RSVP", 47: "IPPROTO_GRE", 50: "IPPROTO_ESP", 51: "IPPROTO_AH",
	58: "IPPROTO_ICMPV6", 92: "IPPROTO_MTP", 94: "IPPROTO_BEETPH", 98: "IPPROTO_ENCAP", 103: "IPPROTO_PIM",
	108: "IPPROTO_COMP", 115: "IPPROTO_L2TP", 132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE", 137: "IPPROTO_MPLS",
	143: "IPPROTO_ETHERNET", 255: "IPPROTO_RAW", 262: "IPPROTO_MPTCP",
}

var netlinkProtocols = [...]string{
	"NETLINK_ROUTE", "NETLINK_UNUSED", "NETLINK_USERSOCK", "NETLINK_FIREWALL", "NETLINK_SOCK_DIAG",
	"NETLINK_NFLOG", "NETLINK_XFRM", "NETLINK_SELINUX", "NETLINK_ISCSI", "NETLINK_AUDIT",
	"NETLINK_FIB_LOOKUP", "NETLINK_CONNECTOR", "NETLINK_NETFILTER", "NETLINK_IP6_FW", "NETLINK_DNRTMSG",
	"NETLINK_KOBJECT_UEVENT", "NETLINK_GENERIC", "", "NETLINK_SCSITRANSPORT", "NETLINK_ECRYPTFS",
	"NETLINK_RDMA", "NETLINK_CRYPTO", "NETLINK_SMC",
}

// ptraceRequests returns the PTRACE_* names of an architecture, indexed by request for the low numbers.
func ptraceRequests(arch syscalls.Arch) map[uint64]string {
	m := map[uint64]string{
		0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
		4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT", 8: "PTRACE_KILL",
		9: "PTRACE_SINGLESTEP", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH", 24: "PTRACE_SYSCALL",
		0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
		0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
		0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
		0x4209: "PTRACE_PEEKSIGINFO", 0x420a: "PTRACE_GETSIGMASK", 0x420b: "PTRACE_SETSIGMASK",
		0x420c: "PTRACE_SECCOMP_GET_FILTER", 0x420d: "PTRACE_SECCOMP_GET_METADATA",
		0x420e: "PTRACE_GET_SYSCALL_INFO", 0x420f: "PTRACE_GET_RSEQ_CONFIGURATION",
		0x4210: "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", 0x4211: "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG",
	}
	switch arch {
	case syscalls.ARM64:
		m[33] = "PTRACE_PEEKMTETAGS"
		m[34] = "PTRACE_POKEMTETAGS"
	default:
		for k, v := range map[uint64]string{
			12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS", 14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS",
			18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 25: "PTRACE_GET_THREAD_AREA",
			26: "PTRACE_SET_THREAD_AREA", 30: "PTRACE_ARCH_PRCTL", 31: "PTRACE_SYSEMU",
			32: "PTRACE_SYSEMU_SINGLESTEP", 33: "PTRACE_SINGLEBLOCK",
		} {
			m[k] = v
		}
	}
	return m
}
