// Package stack is the part of swoll's event schema that carries a call's user-space stack (`trace -k`): the
// frames the agent symbolized from the traced container's own binaries (package nodeagent/symbolize), innermost
// first. It builds for every OS the plugin runs on.
//
// In an event the stack is the key "stack", an array of frames, and "stack_truncated": true follows it when the
// stack does not reach the thread's entry point (the probe's depth limit was hit, or the frame-pointer walk
// stopped early in code built without frame pointers):
//
//	"stack":[{"ip":"0x7f3c9a8f8350","symbol":"__write","offset":16,"module":"/usr/lib/x86_64-linux-gnu/libc.so.6","module_offset":1016656},
//	         {"ip":"0x55d0c1a0115e","symbol":"outer","offset":9,"module":"/app/server","module_offset":4446}],
//	"stack_truncated":true
//
// A frame's keys:
//   - "ip": the address in the process, a hex string (kernel addresses, with -kk, do not fit a JSON number
//     exactly, and the schema writes every address as a string, as it does pointer arguments).
//   - "symbol", "offset": the function containing ip (C++ and Rust names demangled, Go names as the runtime
//     prints them) and ip's distance from its start in bytes. Both are left out when no symbol covers ip, and
//     "offset" when it is 0.
//   - "module", "module_offset": the mapped file holding ip, by the path the process sees ("[vdso]" for the
//     kernel's vDSO, "[anon]" for anonymous executable memory: JIT code), and ip's offset in that file: what strace -k prints in brackets, and the address that
//     addr2line -e module and objdump take for shared libraries and position-independent executables. Both
//     are left out when ip is in no mapping (an address a broken frame-pointer chain made up), and
//     "module_offset" when it is 0.
//
// Every ip except the innermost is a return address (the instruction after a call), as in strace -k and
// backtrace(3); the symbol is the one of the call instruction before it.
//
// This package is the schema, with an allocation-free JSON writer for the agent's hot path (AppendJSON), the
// strace -k text layout for -o cli (AppendCLI, in cli.go, which belongs in package render), and Caller, the
// frame `--by caller` groups by.
package stack

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Key and TruncatedKey are the event keys of a stack and of its truncation mark.
const (
	Key          = "stack"
	TruncatedKey = "stack_truncated"
)

// Frame is one entry of a stack. The zero value of a field is "unknown".
type Frame struct {
	IP           Addr   `json:"ip"`
	Symbol       string `json:"symbol,omitempty"`
	Offset       uint64 `json:"offset,omitempty"`
	Module       string `json:"module,omitempty"`
	ModuleOffset uint64 `json:"module_offset,omitempty"`
}

// HasSymbol reports whether a symbol covers the frame's ip.
func (f *Frame) HasSymbol() bool { return f.Symbol != "" }

// HasModule reports whether ip lies in a mapping of the process.
func (f *Frame) HasModule() bool { return f.Module != "" }

// Addr is an address, written in JSON as a hex string ("0x7f3c9a8f8350").
type Addr uint64

// MarshalJSON writes a as a hex string.
func (a Addr) MarshalJSON() ([]byte, error) { return appendAddr(make([]byte, 0, 20), uint64(a)), nil }

var errAddr = errors.New(`stack: an address is a hex string ("0x7f3c9a8f8350")`)

// UnmarshalJSON reads a hex string; a JSON number is taken too, for hand-written input.
func (a *Addr) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' {
		v, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil {
			return errAddr
		}
		*a = Addr(v)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errAddr
	}
	if len(s) < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return errAddr
	}
	v, err := strconv.ParseUint(s[2:], 16, 64)
	if err != nil {
		return errAddr
	}
	*a = Addr(v)
	return nil
}

func appendAddr(dst []byte, v uint64) []byte {
	dst = append(dst, `"0x`...)
	dst = strconv.AppendUint(dst, v, 16)
	return append(dst, '"')
}

// AppendJSON appends frames as the JSON array of an event's "stack" (without the key), in the key order of
// Frame, without allocating. Module paths and symbols are escaped like every string of the schema: control
// characters and bytes that are not UTF-8 never reach the output raw.
func AppendJSON(dst []byte, frames []Frame) []byte {
	dst = append(dst, '[')
	for i := range frames {
		f := &frames[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"ip":`...)
		dst = appendAddr(dst, uint64(f.IP))
		if f.Symbol != "" {
			dst = append(dst, `,"symbol":`...)
			dst = appendString(dst, f.Symbol)
			if f.Offset != 0 {
				dst = append(dst, `,"offset":`...)
				dst = strconv.AppendUint(dst, f.Offset, 10)
			}
		}
		if f.Module != "" {
			dst = append(dst, `,"module":`...)
			dst = appendString(dst, f.Module)
			if f.ModuleOffset != 0 {
				dst = append(dst, `,"module_offset":`...)
				dst = strconv.AppendUint(dst, f.ModuleOffset, 10)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
