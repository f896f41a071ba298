// Package wire is the binary framing of an agent's event stream (the exec stream's stdout): the events in
// parts (package eventline), numbers as varints and the parts that repeat (the call's prefix, the thread's
// identity, the namespaces, the container) sent once per stream and then named by a small number.
//
// The framing is negotiated per session: the plugin's start command lists the framings it reads
// (protocol.Start.Framings, preferred first), the agent writes the first of them it knows (Choose) and says
// which in its ready notice (event.Notice.Framing). The ready notice and everything before it are JSON lines;
// everything after it is in the framing named. Binary and BinaryZstd differ in the writer only: the reader
// takes compressed frames in either. JSON lines (JSON) stay available: a plugin that offers nothing
// (an older one) gets them, and so does a counting session. A name carries the framing's version: a later,
// incompatible framing gets a new name, and an agent that knows none of the names offered refuses the session
// with one line (ErrNoFraming).
//
// After the ready notice, the stream is a sequence of frames, each written whole by one write of the agent:
//
//	frame:   kind (1 byte: frameRaw, frameZstd), uvarint length, payload (zstd-compressed for frameZstd)
//	payload: ops, each an op byte and its fields:
//	  opDefine kind, bytes        the next string of a table (its number is the table's count so far)
//	  opReset  kind               empties a table (the writer's table was full)
//	  opEvent  6 × uvarint ref    Prefix, Identity, Session, Error, Namespaces, Target: numbers in their tables
//	           varint             Start minus the previous event's Start
//	           varint, varint     Finish minus Start, Return
//	           3 × bytes          AfterReturn, Args, AfterArgs
//	  opLine   bytes              a JSON line without its newline (a notice)
//	bytes: uvarint length, the bytes
//
// The writer's state (Encoder) and the reader's (Decoder) follow each other op by op: each frame's ops are
// appended under the writer's lock in stream order, and nothing in a frame refers forward.
package wire

import (
	"errors"
	"fmt"
	"strings"
)

// The framings' names (protocol.Start.Framings, event.Notice.Framing).
const (
	// JSON is one JSON object per line (package event): the framing of agents before this package, and the
	// default.
	JSON = "json"
	// Binary is this package's framing, version 1.
	Binary = "swoll-binary/1"
	// BinaryZstd is Binary with frames compressed with zstd where that makes them smaller: 1.8 bytes per
	// getppid event on the wire instead of 16.5 (bench-e2e), for some 50 ns per event at the agent and 150 at
	// the plugin (BenchmarkFraming). Through a local API server both carry 500k events/s per node without a
	// loss in the kernel; across a network, or with paths in the arguments (6 bytes per openat instead of
	// 108), the bytes saved count: the default.
	BinaryZstd = "swoll-binary/1+zstd"
)

// Known are the framings this build reads and writes, preferred first.
var Known = []string{BinaryZstd, Binary, JSON}

// EnvVar, when set in the plugin's environment, names the only framing the plugin offers (a bench's or a
// test's way to measure one framing; unset, the plugin offers Known).
const EnvVar = "SWOLL_FRAMING"

// ErrNoFraming is the agent's answer to a start command that offers no framing it writes.
var ErrNoFraming = errors.New("the plugin reads no framing of event streams this agent writes")

// Choose is the framing an agent writes for a plugin that offered offered: the first it knows, JSON when
// nothing was offered (a plugin older than this package).
func Choose(offered []string) (string, error) {
	if len(offered) == 0 {
		return JSON, nil
	}
	for _, o := range offered {
		for _, k := range Known {
			if o == k {
				return o, nil
			}
		}
	}
	return "", fmt.Errorf("%w: it reads %s, this agent writes %s: use a plugin and an agent image of one release",
		ErrNoFraming, strings.Join(offered, ", "), strings.Join(Known, ", "))
}

// Offer is what a plugin offers: Known, or only the framing that env (EnvVar's value) names, which must be
// one of Known.
func Offer(env string) ([]string, error) {
	if env == "" {
		return Known, nil
	}
	for _, k := range Known {
		if env == k || (env == "binary" && k == Binary) || (env == "zstd" && k == BinaryZstd) {
			return []string{k}, nil
		}
	}
	return nil, fmt.Errorf("%s=%q: the framings are %s", EnvVar, env, strings.Join(Known, ", "))
}

// Reads reports whether this build reads framing (a ready notice's): "" is JSON lines.
func Reads(framing string) bool {
	return framing == "" || framing == JSON || IsBinary(framing)
}

// IsBinary reports whether framing is this package's (else JSON lines).
func IsBinary(framing string) bool { return framing == Binary || framing == BinaryZstd }

// Frame kinds.
const (
	frameRaw  byte = 1
	frameZstd byte = 2
)

// Ops.
const (
	opDefine byte = 1
	opReset  byte = 2
	opEvent  byte = 3
	opLine   byte = 4
)

// Tables of strings that repeat, one per part.
const (
	tabPrefix = iota
	tabIdentity
	tabSession
	tabError
	tabNamespaces
	tabTarget
	numTables
)

// MaxTable and MaxTableBytes bound each table: the writer empties a full table (opReset) before it adds to it,
// so that a long session with many threads holds at most this many strings, and bytes, per table at either end.
const (
	MaxTable      = 1 << 14
	MaxTableBytes = 8 << 20
)

// MaxFrame bounds a frame's payload, compressed and not (the agent writes at most its output buffer, 256 KiB
// by default, and one event, at once).
const MaxFrame = 4 << 20
