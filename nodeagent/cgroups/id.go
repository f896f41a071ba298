//go:build linux

package cgroups

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// fileIDKernfs is FILEID_KERNFS (include/linux/exportfs.h): a kernfs file handle, whose 8 bytes are the
// node's 64-bit id.
const fileIDKernfs = 0xfe

// ID returns the id of the cgroup whose directory is path: the kernfs node id, which is what
// bpf_get_current_cgroup_id() and bpf_get_current_ancestor_cgroup_id() return for the unified hierarchy and
// what cgrp->kn->id holds for any hierarchy. name_to_handle_at(2) gives it exactly (the kernfs file handle is
// the id); where it fails (a kernel without kernfs export support for that hierarchy) or the file system is
// not kernfs (the fake trees of unit tests), the inode number stands in, which on 64-bit kernels since 5.5 is
// the same id.
func ID(path string) (uint64, error) {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, path, 0)
	if err == nil && h.Type() == fileIDKernfs && h.Size() == 8 {
		return binary.NativeEndian.Uint64(h.Bytes()), nil
	}
	if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		return 0, fmt.Errorf("cgroup %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("cgroup %s: %w", path, err)
	}
	return st.Ino, nil
}
