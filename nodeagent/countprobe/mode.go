//go:build linux

package countprobe

import (
	"context"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// Filter is the part of tracer.Tracer (loaded with FilterOnly) that counting mode uses.
type Filter interface {
	AddMountNS(nsID uint64, targetID uint32) error
	RemoveMountNS(nsID uint64) error
	AddPid(pid uint32, targetID uint32) error
	TraceAll(on bool) error
	SetCgroupHierarchy(controller string) error
	AddCgroup(cgroupID uint64, level int, targetID uint32) error
	RemoveCgroup(cgroupID uint64) error
	TrackPreExec(on bool) error
	FilterMaps() map[string]*ebpf.Map
	Features() bpf.Features
	Close() error
}

// Mode is counting mode as the agent's session drives it: the tracer's filter, and a Counter sharing it. It
// has the methods of a tracing session's tracer; Read hands out no record (counts leave through Snapshot).
type Mode struct {
	*Counter
	filter Filter
}

// NewMode loads a Counter on f's filter, in the variant f was loaded in, and has the filter keep which
// processes are pre-exec.
func NewMode(f Filter, opts Options) (*Mode, error) {
	opts.Filter = f.FilterMaps()
	opts.Without |= bpf.AllFeatures &^ f.Features()
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := f.TrackPreExec(true); err != nil {
		_ = c.Close()
		return nil, err
	}
	return &Mode{Counter: c, filter: f}, nil
}

// AddMountNS counts the tasks of a mount namespace as targetID.
func (m *Mode) AddMountNS(nsID uint64, targetID uint32) error {
	return m.filter.AddMountNS(nsID, targetID)
}

// RemoveMountNS stops counting a mount namespace.
func (m *Mode) RemoveMountNS(nsID uint64) error { return m.filter.RemoveMountNS(nsID) }

// AddPid counts a process and its descendants as targetID.
func (m *Mode) AddPid(pid, targetID uint32) error { return m.filter.AddPid(pid, targetID) }

// SetCgroupHierarchy chooses the hierarchy of cgroup targets (tracer.Tracer.SetCgroupHierarchy).
func (m *Mode) SetCgroupHierarchy(controller string) error {
	return m.filter.SetCgroupHierarchy(controller)
}

// AddCgroup counts the tasks of a cgroup and the cgroups below it (a pod's) as targetID.
func (m *Mode) AddCgroup(cgroupID uint64, level int, targetID uint32) error {
	return m.filter.AddCgroup(cgroupID, level, targetID)
}

// RemoveCgroup stops counting a cgroup.
func (m *Mode) RemoveCgroup(cgroupID uint64) error { return m.filter.RemoveCgroup(cgroupID) }

// TraceAll counts every task on the host (target 0).
func (m *Mode) TraceAll(on bool) error { return m.filter.TraceAll(on) }

// Select sets the system calls to count (empty: all).
func (m *Mode) Select(calls []*syscalls.Syscall) error { return m.Counter.Select(calls) }

// Read waits for ctx: counting mode has no records.
func (m *Mode) Read(ctx context.Context, _ func(rec *record.Record) bool) error {
	<-ctx.Done()
	return nil
}

// Filtered is the number of calls the incident filters kept from being counted (snapshots say it too).
func (m *Mode) Filtered() uint64 {
	n, err := bpf.Filtered(m.filtered)
	if err != nil {
		return 0
	}
	return n
}

// Lost is 0: what counting mode cannot count is a snapshot's Overflow.
func (m *Mode) Lost() uint64 { return 0 }

// Close detaches the counter, then the filter.
func (m *Mode) Close() error {
	err := m.Counter.Close()
	if ferr := m.filter.Close(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("closing the filter: %w", ferr))
	}
	return err
}
