//go:build linux

package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf/link"

	"github.com/swoll-dev/swoll/bpf"
)

// Features are the optional kernel features the probe uses where the kernel has them (package bpf chooses the
// programs' variants from them). Each has a fallback that writes the same records.
type Features = bpf.Features

// The features (see package bpf).
const (
	TpBTF       = bpf.TpBTF
	TaskStorage = bpf.TaskStorage
	Loop        = bpf.Loop
	PtRegs      = bpf.PtRegs
)

// ProbeFeatures reports which optional features this kernel has (probed once per process).
func ProbeFeatures() Features { return bpf.KernelFeatures() }

// kernelMountID is the filter key of a mount namespace the caller identifies by nsid.MountNSID: that id
// when the kernel gives unique ids, else the probe's id of the namespace with that inode number, which a
// later namespace reusing the inode does not share. Called with t.mu held.
func (t *Tracer) kernelMountID(nsID uint64) (uint64, error) {
	if !t.byInode {
		return nsID, nil
	}
	ids, err := t.mntIDs()
	if err != nil {
		return 0, err
	}
	id, ok := ids[nsID]
	if !ok {
		return 0, fmt.Errorf("adding mount namespace %d: no task lives in it", nsID)
	}
	if old, ok := t.kernelIDs[nsID]; ok && old != id {
		// The namespace that had this inode is gone: its entry can never match again.
		if err := t.mntTargets.Delete(old); err == nil {
			t.mnts--
		}
	}
	t.kernelIDs[nsID] = id
	return id, nil
}

// mntIDs runs the probe's task iterator: mount namespace inode -> the probe's id, for every task.
func (t *Tracer) mntIDs() (map[uint64]uint64, error) {
	it, err := link.AttachIter(link.IterOptions{Program: t.mntIter})
	if err != nil {
		return nil, fmt.Errorf("attaching the mount namespace iterator: %w", err)
	}
	defer func() { _ = it.Close() }()
	rd, err := it.Open()
	if err != nil {
		return nil, fmt.Errorf("opening the mount namespace iterator: %w", err)
	}
	defer func() { _ = rd.Close() }()
	data, err := io.ReadAll(rd)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the mount namespace iterator: %w", err)
	}
	const pairSize = 16 // struct mnt_ns_pair
	ids := make(map[uint64]uint64)
	for ; len(data) >= pairSize; data = data[pairSize:] {
		ids[binary.NativeEndian.Uint64(data)] = binary.NativeEndian.Uint64(data[8:])
	}
	return ids, nil
}
