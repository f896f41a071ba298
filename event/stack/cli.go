package stack

// This file is the text layout of a stack for -o cli. It belongs in package render (which owns every line a
// person reads) and lives here until the lead moves it there; it depends on nothing of render's.

import (
	"strconv"

	"github.com/swoll-dev/swoll/internal/termesc"
)

// Markers of the lines that are not frames of a module.
const (
	// UnknownLine stands for the module of an ip that lies in no mapping of the process.
	UnknownLine = "[unknown]"
	// TruncatedLine ends a stack that does not reach the thread's entry point.
	TruncatedLine = "[truncated]"
)

// AppendCLI appends frames in strace -k's layout, one line per frame under the call's line, innermost first,
// each starting with " > ":
//
//	> /usr/lib/x86_64-linux-gnu/libc.so.6(__write+0x10) [0xf8350]
//	> /app/server(outer+0x9) [0x115e]
//	> /app/server() [0x1071]
//	> [unknown] [0x7ffd2a1c0040]
//	> [truncated]
//
// The number in brackets is ip's offset in the module's file (what strace prints there, and what addr2line
// takes for shared libraries and PIEs); a frame with no symbol has empty parentheses, as in strace; a frame in
// no mapping shows "[unknown]" and its address in the process; a truncated stack ends with "[truncated]".
// Module paths and symbols come from the traced container and are escaped for the terminal.
//
// It is safe for concurrent use.
func AppendCLI(dst []byte, frames []Frame, truncated bool) []byte {
	for i := range frames {
		f := &frames[i]
		dst = append(dst, " > "...)
		if f.Module == "" {
			dst = append(dst, UnknownLine...)
			dst = appendHex(dst, " [", uint64(f.IP))
			dst = append(dst, "]\n"...)
			continue
		}
		dst = termesc.Append(dst, f.Module)
		dst = append(dst, '(')
		if f.Symbol != "" {
			dst = termesc.Append(dst, f.Symbol)
			dst = appendHex(dst, "+", f.Offset)
		}
		dst = appendHex(dst, ") [", f.ModuleOffset)
		dst = append(dst, "]\n"...)
	}
	if truncated {
		dst = append(dst, " > "+TruncatedLine+"\n"...)
	}
	return dst
}

func appendHex(dst []byte, prefix string, v uint64) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, "0x"...)
	return strconv.AppendUint(dst, v, 16)
}
