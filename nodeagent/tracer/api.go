//go:build linux

// Package tracer loads swoll's kernel probe (package bpf), programs its filters and reads the events it
// emits. It is the only package of the agent that talks to the kernel's BPF subsystem.
package tracer

// API CONTRACT (stub written first so that the other agent packages compile against it; the
// implementation replaces the bodies, keeping the signatures).

import (
	"context"
	"errors"

	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// ErrUnimplemented is returned by the stub.
var ErrUnimplemented = errors.New("tracer: not implemented yet")

// Options configure a Tracer.
type Options struct {
	// RingBytes is the ring buffer size (a power of two, multiple of the page size). 0: 16 MiB.
	RingBytes int
	// Arch selects the syscall table (default: the running GOARCH).
	Arch syscalls.Arch
}

// Tracer owns the loaded programs and maps. Close detaches everything.
type Tracer struct{}

// New loads and attaches the probe. Nothing is traced until Select and a target are set.
func New(opts Options) (*Tracer, error) { return nil, ErrUnimplemented }

// Select sets the syscalls to trace (nil or empty: all), with the per-argument capture specs from the table.
func (t *Tracer) Select(calls []*syscalls.Syscall) error { return ErrUnimplemented }

// AddMountNS traces every task whose mount namespace has the given unique id (see nsid.MountNSID), tagging
// its records with targetID (non-zero).
func (t *Tracer) AddMountNS(nsID uint64, targetID uint32) error { return ErrUnimplemented }

// RemoveMountNS stops tracing a mount namespace.
func (t *Tracer) RemoveMountNS(nsID uint64) error { return ErrUnimplemented }

// AddPid traces a process and, from now on, every process it forks (targetID non-zero).
func (t *Tracer) AddPid(pid uint32, targetID uint32) error { return ErrUnimplemented }

// TraceAll traces every task on the host (targetID 0 on records).
func (t *Tracer) TraceAll(on bool) error { return ErrUnimplemented }

// Read calls fn for every record until ctx is done or fn returns false. rec is reused between calls.
func (t *Tracer) Read(ctx context.Context, fn func(rec *record.Record) bool) error {
	return ErrUnimplemented
}

// Lost is the number of records the kernel dropped since New (summed over CPUs).
func (t *Tracer) Lost() uint64 { return 0 }

// Close detaches the programs and frees the maps.
func (t *Tracer) Close() error { return nil }
