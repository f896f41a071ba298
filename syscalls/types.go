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
}

// Param is one argument, in call order.
type Param struct {
	Name string  // as in the man page: "pathname", "flags", "dirfd"
	Type ArgType // how to capture and decode it
}

// ArgType says how an argument is captured in the kernel and rendered.
type ArgType uint8

const (
	ArgInt           ArgType = iota // signed decimal
	ArgUint                         // unsigned decimal
	ArgHex                          // pointer or opaque value, rendered 0x...
	ArgFd                           // file descriptor (signed)
	ArgDirFd                        // like ArgFd, but AT_FDCWD by name
	ArgPath                         // NUL-terminated user string, up to PATH_MAX (4096), read at exit
	ArgString                       // NUL-terminated user string (not a path), up to 256 bytes
	ArgBufIn                        // user buffer written by the caller; length in the param named by Capture().LenArg
	ArgBufOut                       // user buffer filled by the kernel; length = return value
	ArgSockaddrIn                   // struct sockaddr given by the caller; length in the next param (socklen_t value)
	ArgSockaddrOut                  // struct sockaddr filled by the kernel; length in *next param (socklen_t *)
	ArgStrArray                     // NULL-terminated array of strings (argv), read at entry
	ArgPathAtEntry                  // path that must be read at entry (execve: the old mm is gone at exit)
	ArgOpenFlags                    // O_* flags
	ArgMode                         // file mode, octal (0644), with S_IF* type bits by name when present
	ArgAccessMode                   // F_OK or R_OK|W_OK|X_OK
	ArgAtFlags                      // AT_* flags
	ArgRenameFlags                  // RENAME_* flags
	ArgSockDomain                   // AF_*
	ArgSockType                     // SOCK_* | SOCK_NONBLOCK | SOCK_CLOEXEC
	ArgSockProto                    // protocol number (IPPROTO_* where the domain makes it one)
	ArgSockFlags                    // SOCK_NONBLOCK|SOCK_CLOEXEC (accept4)
	ArgSignal                       // SIG*
	ArgCloneFlags                   // CLONE_* flags plus the exit signal in the low byte
	ArgCloneArgs                    // struct clone_args * (clone3), captured as a buffer of size in the next param
	ArgNsType                       // CLONE_NEW* (setns nstype, unshare flags)
	ArgMountFlags                   // MS_*
	ArgUmountFlags                  // MNT_* / UMOUNT_*
	ArgPtraceRequest                // PTRACE_*
	ArgPid                          // pid_t
	ArgSize                         // size_t, decimal
	ArgOpenHow                      // struct open_how * (openat2), size in the next param
	ArgModuleFlags                  // MODULE_INIT_* (finit_module)
	ArgExecveatFlags                // AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW
)

// CaptureKind is what the kernel probe copies from user memory for an argument.
type CaptureKind uint8

const (
	CaptureNone     CaptureKind = iota
	CaptureString               // NUL-terminated string, up to Capture.Max bytes
	CaptureBuf                  // bytes; length from LenArg's value or from the return value (LenFromRet)
	CaptureSockaddr             // bytes; length from LenArg's value, or from the socklen_t LenArg points to (LenIsPtr)
	CaptureStrArray             // NULL-terminated char*[]; strings packed NUL-separated
)

// Capture tells the probe how to copy one argument.
type Capture struct {
	Kind       CaptureKind
	Max        uint16 // upper bound on captured bytes
	LenArg     int8   // index of the param holding the length, -1 if none
	LenFromRet bool   // the length is the syscall's return value (read/recv style buffers)
	LenIsPtr   bool   // LenArg is a pointer to the length (accept's addrlen)
	AtEntry    bool   // copy at syscall entry rather than exit
}
