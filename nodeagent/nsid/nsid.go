//go:build linux

// Package nsid gives the identity of a process's mount namespace: the 64-bit id the kernel never reuses
// (NS_GET_MNTNS_ID, Linux 6.8+), or its inode number on older kernels. The probe reads the same value from the
// task (see bpf/probe.c), so an id taken here matches the records of that namespace's tasks.
package nsid

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nsGetMntnsID is _IOR(0xb7, 0x5, __u64) from include/uapi/linux/nsfs.h.
const nsGetMntnsID = 2<<30 | 8<<16 | 0xb7<<8 | 0x5

// ErrNoUniqueID means the kernel does not give mount namespaces a unique id (before Linux 6.8).
var ErrNoUniqueID = errors.New("kernel has no NS_GET_MNTNS_ID")

// MountNSID returns the id of pid's mount namespace (0: the calling process): the unique id when the kernel
// has one, else the namespace inode number. byInode reports which one it is.
func MountNSID(pid int) (id uint64, byInode bool, err error) {
	path := "/proc/self/ns/mnt"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("opening mount namespace of pid %d: %w", pid, err)
	}
	defer func() { _ = f.Close() }()
	id, err = uniqueID(int(f.Fd()))
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, ErrNoUniqueID) {
		return 0, false, fmt.Errorf("mount namespace id of pid %d: %w", pid, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, false, fmt.Errorf("mount namespace inode of pid %d: %w", pid, err)
	}
	return st.Ino, true, nil
}

// HasUniqueIDs reports whether this kernel gives mount namespaces unique ids.
func HasUniqueIDs() bool {
	_, byInode, err := MountNSID(0)
	return err == nil && !byInode
}

func uniqueID(fd int) (uint64, error) {
	var id uint64
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetMntnsID, uintptr(unsafe.Pointer(&id)))
	switch errno {
	case 0:
		return id, nil
	case unix.ENOTTY, unix.EINVAL:
		return 0, ErrNoUniqueID
	default:
		return 0, errno
	}
}
