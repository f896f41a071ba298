//go:build linux

package tracer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"github.com/swoll-dev/swoll/bpf"
)

// Features are the optional kernel features the probe uses where the kernel has them. Each has a fallback
// that writes the same records (bpf/probe.c).
type Features uint8

const (
	// TaskStorage: per-call state in task-local storage (Linux 5.11), found by the task; else in hashes keyed
	// by the task's address, deleted when the task exits (20-25% more per traced call).
	TaskStorage Features = 1 << iota
	// Loop: bpf_loop (5.17) walks execve's argv; else a bounded loop the verifier unrolls.
	Loop
)

// String lists the features, "+"-separated ("none" for none).
func (f Features) String() string {
	var names []string
	if f&TaskStorage != 0 {
		names = append(names, "task_storage")
	}
	if f&Loop != 0 {
		names = append(names, "bpf_loop")
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

var probeOnce = sync.OnceValue(func() Features {
	var f Features
	// bpf_get_current_task_btf came with task storage (5.11); the probe needs both.
	if features.HaveMapType(ebpf.TaskStorage) == nil &&
		features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnGetCurrentTaskBtf) == nil {
		f |= TaskStorage
	}
	// The bpf_loop variant also uses task storage: it is the newest kernels' path.
	if f&TaskStorage != 0 && features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnLoop) == nil {
		f |= Loop
	}
	return f
})

// ProbeFeatures reports which optional features this kernel has (probed once per process).
func ProbeFeatures() Features { return probeOnce() }

// probeVariant names the programs to load (program name -> tracepoint) for an attach type ("btf" or "raw")
// and feature set, and the maps only the other variants use.
func probeVariant(prefix string, f Features) (map[string]string, []string) {
	enter, exit := "", ""
	unused := []string{bpf.ProbeMapCallsByTask, bpf.ProbeMapStashesByTask}
	switch {
	case f&TaskStorage != 0 && f&Loop != 0:
	case f&TaskStorage != 0:
		enter = "_ts"
	default:
		enter, exit = "_hash", "_hash"
		unused = []string{bpf.ProbeMapCalls, bpf.ProbeMapEntryStashes}
	}
	return map[string]string{
		prefix + "_sys_enter" + enter: "sys_enter",
		prefix + "_sys_exit" + exit:   "sys_exit",
		prefix + "_exit" + exit:       "sched_process_exit",
		prefix + "_exec" + exit:       "sched_process_exec",
		prefix + "_fork":              "sched_process_fork",
	}, unused
}

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
