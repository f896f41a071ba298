// Package syscalls holds the system call tables of the architectures swoll supports (numbers, names, the
// seed's class and group, and each parameter's man-page name and type) and errno names. It is pure Go and
// shared by the plugin (to validate --syscalls) and the node agent (to program the probe and decode events).
package syscalls

// Arch is a Go GOARCH value: "amd64" or "arm64".
type Arch string

const (
	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
)

// Syscall describes one system call of one architecture.
type Syscall struct {
	Nr     int
	Name   string // without "sys_"
	Class  string
	Group  string
	Params []Param
	// RetFd: a successful call returns a file descriptor (open, socket, dup...): -y shows what it is.
	RetFd bool
	arch  Arch // the table's; where a captured struct's size differs (epoll_event)
}

// Param is one argument, in call order.
type Param struct {
	Name string  // as in the man page: "pathname", "flags", "dirfd"
	Type ArgType // how to capture and decode it
	// Set names the flag or value table (Flags) of an ArgFlags or ArgEnum parameter, and of the few other
	// types that take one (ArgSockOpt: none, the level picks it).
	Set string
}

// ArgType says how an argument is captured in the kernel and rendered: each is described once, by its
// ArgInfo (argtypes.go), and rendered by the node agent's decoder's table.
type ArgType uint8

const (
	ArgInt            ArgType = iota // C int: the low 32 bits, signed decimal
	ArgUint                          // unsigned decimal
	ArgHex                           // pointer or opaque value, rendered 0x...
	ArgFd                            // file descriptor (signed)
	ArgDirFd                         // like ArgFd, but AT_FDCWD by name
	ArgPath                          // NUL-terminated user string, up to PATH_MAX (4096), read at exit
	ArgString                        // NUL-terminated user string (not a path), up to 256 bytes
	ArgBufIn                         // user buffer written by the caller; length in the param named by Capture().LenArg
	ArgBufOut                        // user buffer filled by the kernel; length = return value
	ArgSockaddrIn                    // struct sockaddr given by the caller; length in the next param (socklen_t value)
	ArgSockaddrOut                   // struct sockaddr filled by the kernel; length in *next param (socklen_t *)
	ArgStrArray                      // NULL-terminated array of strings (argv), read at entry
	ArgPathAtEntry                   // path that must be read at entry (execve: the old mm is gone at exit)
	ArgOpenFlags                     // O_* flags
	ArgMode                          // permission bits (open, mkdir, chmod, umask): octal, the low 16 bits, as strace
	ArgAccessMode                    // F_OK or R_OK|W_OK|X_OK
	ArgSockDomain                    // AF_*
	ArgSockType                      // SOCK_* | SOCK_NONBLOCK | SOCK_CLOEXEC
	ArgSockProto                     // protocol number (IPPROTO_* where the domain makes it one)
	ArgSignal                        // SIG*
	ArgCloneFlags                    // CLONE_* flags plus the exit signal in the low byte
	ArgCloneArgs                     // struct clone_args * (clone3), captured as a buffer of size in the next param
	ArgMountFlags                    // MS_*
	ArgPtraceRequest                 // PTRACE_*
	ArgPid                           // pid_t
	ArgSize                          // size_t, decimal
	ArgOpenHow                       // struct open_how * (openat2), size in the next param
	ArgFlags                         // bits named by the flag table Param.Set
	ArgEnum                          // a value named by the value table Param.Set (decimal when unnamed)
	ArgAddr                          // an address the kernel does not follow for the caller (mmap's hint); hex as strace
	ArgUID                           // uid_t/gid_t: 32 bits, -1 as -1
	ArgFileMode                      // a mode with its file type (mknod): S_IFIFO|S_ISVTX|0644, the low 16 bits, as strace
	ArgFdPairOut                     // int[2] filled by the kernel (pipe, socketpair)
	ArgWaitStatusOut                 // int * filled with a wait status (wait4)
	ArgIntOut                        // int * filled by the kernel (getsockopt's optlen)
	ArgTimespec                      // const struct timespec *
	ArgTimespecOut                   // struct timespec * filled by the kernel
	ArgTimespecPair                  // const struct timespec[2] (utimensat)
	ArgTimeval                       // const struct timeval * (select)
	ArgItimerspec                    // const struct itimerspec *
	ArgSigset                        // const sigset_t *, length in the next param
	ArgSigsetOut                     // sigset_t * filled by the kernel
	ArgSigaction                     // const struct sigaction *
	ArgSigactionOut                  // struct sigaction * filled by the kernel
	ArgStatOut                       // struct stat * filled by the kernel
	ArgStatxOut                      // struct statx * filled by the kernel
	ArgPollFds                       // struct pollfd[nfds], nfds in the next param
	ArgEpollEvent                    // const struct epoll_event *
	ArgFdSet                         // fd_set * (select), nfds in the first param
	ArgCapHeader                     // cap_user_header_t
	ArgCapData                       // const cap_user_data_t (capset)
	ArgCapDataOut                    // cap_user_data_t filled by the kernel (capget)
	ArgRlimit                        // const struct rlimit *
	ArgRlimitOut                     // struct rlimit * filled by the kernel
	ArgUtsnameOut                    // struct utsname * filled by the kernel
	ArgSockLevel                     // SOL_* (the level of a socket option)
	ArgSockOptName                   // SO_*, TCP_*, IP_*, IPV6_*: named after the level in the param before
	ArgSockOptVal                    // setsockopt's optval, length in the next param: [int] when it is 4 bytes
	ArgSockOptValOut                 // getsockopt's optval, length in *next param
	ArgFutexOp                       // FUTEX_* command, _PRIVATE and |FUTEX_CLOCK_REALTIME
	ArgFcntlCmd                      // F_*; decides how the next param prints
	ArgFcntlArg                      // fcntl's third argument, per the command
	ArgIoctlReq                      // ioctl request, by name for common terminal and socket requests
	ArgMmapFlags                     // MAP_SHARED/MAP_PRIVATE plus MAP_* bits
	ArgPrctlOption                   // PR_*; arguments the option does not take are left out
	ArgPrctlArg                      // prctl's arg2..arg5, per the option
	ArgTimespecRem                   // struct timespec * the kernel fills when a sleep is interrupted
	ArgDataIn                        // data written (write, send): captured only with --capture-data
	ArgDataOut                       // data read (read, recv): captured only with --capture-data
	ArgDev                           // dev_t: makedev(major, minor)
	ArgStatxFlags                    // statx's AT_* flags, AT_STATX_SYNC_AS_STAT by name
	ArgStringOut                     // a NUL-terminated string the kernel writes, length = return value (getcwd)
	ArgMsghdr                        // const struct msghdr * (sendmsg): its fields, pointers as addresses
	ArgMsghdrOut                     // struct msghdr * the kernel updates (recvmsg)
	ArgLong                          // long, off_t, loff_t: 64 bits, signed decimal
	ArgIovec                         // const struct iovec[count], count in the next param: the data with --capture-data
	ArgIovecOut                      // struct iovec[count] the kernel fills (readv): the data, up to the return value
	ArgEpollEventsOut                // struct epoll_event[] the kernel fills: as many as the return value
	ArgIoctlArg                      // ioctl's argument, per the request: a struct, an int, a value, or an address

	// NumArgTypes counts the types: new ones go above it, with their ArgInfo.
	NumArgTypes
)

// CaptureKind is what the kernel probe copies from user memory for an argument.
type CaptureKind uint8

const (
	CaptureNone     CaptureKind = iota
	CaptureString               // NUL-terminated string, up to Capture.Max bytes
	CaptureBuf                  // bytes; length from LenArg's value or from the return value (LenFromRet)
	CaptureSockaddr             // bytes; length from LenArg's value, or from the socklen_t LenArg points to (LenIsPtr)
	CaptureStrArray             // NULL-terminated char*[]; strings packed NUL-separated
	// CaptureIovec: an iovec array of LenArg's value entries, then (with Max) the data of each; see IovecLayout.
	CaptureIovec
	// CaptureMsghdr: a struct msghdr, its name, its control data, its iovec array and their data; see IovecLayout.
	CaptureMsghdr
)

// Capture tells the probe how to copy one argument.
type Capture struct {
	Kind       CaptureKind
	Max        uint16 // upper bound on captured bytes
	LenArg     int8   // index of the param holding the length, -1 if none
	LenFromRet bool   // the length is the syscall's return value (read/recv style buffers)
	LenIsPtr   bool   // LenArg is a pointer to the length (accept's addrlen)
	AtEntry    bool   // copy at syscall entry rather than exit (and again at exit if that failed)
	Fixed      bool   // the length is Max (a struct or an array of known size)
	Shift      uint8  // the length is LenArg's value times 1<<Shift (poll's nfds pollfds of 8 bytes)
	Elem       uint16 // with LenFromRet: the return value counts entries of Elem bytes (epoll_wait's events)
	Ioctl      bool   // the length is what the ioctl request (the param before) takes: IoctlArgs; none if unknown
	// Data: the bytes a read or write family call transfers, which may hold secrets. Max is 0; the
	// tracer copies them only when asked (--capture-data N), up to N bytes. For CaptureIovec and
	// CaptureMsghdr, Max bounds only the data: their structs are always copied.
	Data bool
}

// Typed says whether every parameter of s is decoded as strace decodes it by default: none is an opaque
// value (ArgHex) that strace would follow and swoll shows as a number. Calls without parameters count.
func (s *Syscall) Typed() bool {
	for _, p := range s.Params {
		if p.Type == ArgHex {
			return false
		}
	}
	return true
}
