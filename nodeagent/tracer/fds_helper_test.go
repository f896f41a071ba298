//go:build linux

package tracer

import (
	"golang.org/x/sys/unix"
)

// fdPaths are the files the helper's "fds" action opens (see fdKinds).
const (
	fdsDeleted = "/tmp/swoll-fds-deleted"
	fdsUnix    = "/tmp/swoll-fds.sock"
	fdsTCPPort = 45871
)

// fdKinds makes one fd of each kind -y describes, and a call on it (a write or a close): a file, a device, a
// pipe, an eventfd, a memfd, an unlinked file, a unix socket pair, a bound unix socket, TCP over IPv4 (a
// listener and a connection), UDP over IPv6 and a netlink socket, then a read on a closed fd.
func fdKinds() {
	if fd, err := unix.Open("/dev/null", unix.O_WRONLY, 0); err == nil {
		_, _ = unix.Write(fd, []byte("x"))
		_ = unix.Close(fd)
	}
	var p [2]int
	if unix.Pipe2(p[:], 0) == nil {
		_, _ = unix.Write(p[1], []byte("x"))
		_ = unix.Close(p[0])
		_ = unix.Close(p[1])
	}
	if fd, err := unix.Eventfd(0, 0); err == nil {
		_ = unix.Close(fd)
	}
	if fd, err := unix.MemfdCreate("swoll-memfd", 0); err == nil {
		_, _ = unix.Write(fd, []byte("x"))
		_ = unix.Close(fd)
	}
	if fd, err := unix.Open(fdsDeleted, unix.O_CREAT|unix.O_RDWR, 0o600); err == nil {
		_ = unix.Unlink(fdsDeleted)
		_, _ = unix.Write(fd, []byte("x"))
		_ = unix.Close(fd)
	}
	if sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0); err == nil {
		_, _ = unix.Write(sp[0], []byte("x"))
		_ = unix.Close(sp[0])
		_ = unix.Close(sp[1])
	}
	_ = unix.Unlink(fdsUnix)
	if fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0); err == nil {
		_ = unix.Bind(fd, &unix.SockaddrUnix{Name: fdsUnix})
		_ = unix.Listen(fd, 1)
		_ = unix.Close(fd)
		_ = unix.Unlink(fdsUnix)
	}
	if l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); err == nil {
		_ = unix.SetsockoptInt(l, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		_ = unix.Bind(l, &unix.SockaddrInet4{Port: fdsTCPPort, Addr: [4]byte{127, 0, 0, 1}})
		_ = unix.Listen(l, 1)
		if c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); err == nil {
			_ = unix.Connect(c, &unix.SockaddrInet4{Port: fdsTCPPort, Addr: [4]byte{127, 0, 0, 1}})
			_, _ = unix.Write(c, []byte("x"))
			_ = unix.Close(c)
		}
		_ = unix.Close(l)
	}
	if u, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0); err == nil {
		_ = unix.Connect(u, &unix.SockaddrInet6{Port: fdsTCPPort, Addr: [16]byte{15: 1}})
		_, _ = unix.Write(u, []byte("x"))
		_ = unix.Close(u)
	}
	if n, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE); err == nil {
		_ = unix.Bind(n, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		_ = unix.Close(n)
	}
	_, _ = unix.Read(999, make([]byte, 1))
}

// fdRenamed are the names of fdRename's file.
const (
	fdRenamedA = "/tmp/swoll-fds-a"
	fdRenamedB = "/tmp/swoll-fds-b"
)

// fdRename: an fsync on a file, the file renamed, an fsync on the same fd again.
func fdRename() {
	fd, err := unix.Open(fdRenamedA, unix.O_CREAT|unix.O_RDWR, 0o600)
	if err != nil {
		return
	}
	_ = unix.Fsync(fd)
	_ = unix.Rename(fdRenamedA, fdRenamedB)
	_ = unix.Fsync(fd)
	_ = unix.Close(fd)
	_ = unix.Unlink(fdRenamedB)
}
