//go:build linux && (amd64 || arm64)

package syscalls

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestNativeMatchesUnixConstants checks the native table against x/sys/unix's compiled
// constants, a second path to the same truth than the text parsing in xsys_test.go.
func TestNativeMatchesUnixConstants(t *testing.T) {
	tab := Native()
	for name, nr := range map[string]int{
		"read": unix.SYS_READ, "write": unix.SYS_WRITE, "openat": unix.SYS_OPENAT,
		"close": unix.SYS_CLOSE, "execve": unix.SYS_EXECVE, "execveat": unix.SYS_EXECVEAT,
		"clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3, "connect": unix.SYS_CONNECT,
		"accept4": unix.SYS_ACCEPT4, "bind": unix.SYS_BIND, "socket": unix.SYS_SOCKET,
		"mount": unix.SYS_MOUNT, "umount2": unix.SYS_UMOUNT2, "setns": unix.SYS_SETNS,
		"unshare": unix.SYS_UNSHARE, "ptrace": unix.SYS_PTRACE, "kill": unix.SYS_KILL,
		"openat2": unix.SYS_OPENAT2, "faccessat2": unix.SYS_FACCESSAT2,
		"newfstatat": unix.SYS_NEWFSTATAT, "statx": unix.SYS_STATX,
		"finit_module": unix.SYS_FINIT_MODULE, "init_module": unix.SYS_INIT_MODULE,
		"exit_group": unix.SYS_EXIT_GROUP, "getpid": unix.SYS_GETPID,
	} {
		s, ok := tab.ByName(name)
		if !ok || s.Nr != nr {
			t.Errorf("%s: table %v, unix.SYS_ constant %d", name, s, nr)
		}
	}
	for e, name := range map[unix.Errno]string{
		unix.ENOENT: "ENOENT", unix.EACCES: "EACCES", unix.EINTR: "EINTR", unix.EAGAIN: "EAGAIN",
		unix.ECONNREFUSED: "ECONNREFUSED", unix.EINPROGRESS: "EINPROGRESS", unix.ENOSYS: "ENOSYS",
		unix.EOPNOTSUPP: "EOPNOTSUPP", unix.EHWPOISON: "EHWPOISON",
	} {
		if got := ErrnoName(int(e)); got != name {
			t.Errorf("ErrnoName(%d) = %s, want %s", int(e), got, name)
		}
	}
}
