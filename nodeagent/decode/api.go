// Package decode turns raw probe records into swoll events: JSON lines for the plugin and strace-like lines
// for people. It is the agent's per-event hot path: it appends into caller-owned buffers and does not use
// encoding/json or allocate per event.
package decode

// API CONTRACT (stub written first so that the other agent packages compile against it; the
// implementation replaces the bodies, keeping the signatures).

import (
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
)

// Options configure a Decoder.
type Options struct {
	Arch    syscalls.Arch
	Node    string // stamped on every event
	Session string // stamped on every event
	// MonoToWall is added to the probe's CLOCK_MONOTONIC timestamps to get Unix nanoseconds.
	MonoToWall int64
}

// Decoder renders records. It is not safe for concurrent use.
type Decoder struct{}

// New makes a Decoder.
func New(opts Options) *Decoder { return &Decoder{} }

// SetTarget registers (or replaces) the container metadata stamped on records carrying targetID.
func (d *Decoder) SetTarget(targetID uint32, t *protocol.Target) {}

// RemoveTarget forgets targetID.
func (d *Decoder) RemoveTarget(targetID uint32) {}

// AppendJSON appends rec as one event JSON line (ending in '\n') in the key order of event.Event.
func (d *Decoder) AppendJSON(dst []byte, rec *record.Record) []byte { return dst }

// AppendCLI appends rec as one strace-like line (ending in '\n'):
// [comm/pid] (ENOENT) openat(dirfd=AT_FDCWD, pathname="/etc/x", flags=O_RDONLY|O_CLOEXEC) = -1 <12µs>
func (d *Decoder) AppendCLI(dst []byte, rec *record.Record) []byte { return dst }
