package stack

import "strings"

// systemLibraries are the libraries whose frames are a system call's plumbing rather than the code that made
// it, by the file name's start (a version follows after "-" or "."): the C libraries and dynamic loaders of
// glibc and musl.
var systemLibraries = []string{"libc", "libpthread", "librt", "libdl", "ld-linux", "ld-musl", "ld64"}

// goStdlib are the first path elements of the Go standard library's packages; golang.org/x/sys is plumbing
// too (unix.Syscall).
var goStdlib = map[string]bool{
	"archive": true, "bufio": true, "bytes": true, "cmp": true, "compress": true, "container": true,
	"context": true, "crypto": true, "database": true, "debug": true, "embed": true, "encoding": true,
	"errors": true, "expvar": true, "flag": true, "fmt": true, "go": true, "hash": true, "html": true,
	"image": true, "index": true, "internal": true, "io": true, "iter": true, "log": true, "maps": true,
	"math": true, "mime": true, "net": true, "os": true, "path": true, "plugin": true, "reflect": true,
	"regexp": true, "runtime": true, "slices": true, "sort": true, "strconv": true, "strings": true,
	"structs": true, "sync": true, "syscall": true, "testing": true, "text": true, "time": true,
	"unicode": true, "unique": true, "unsafe": true, "vendor": true, "weak": true,
}

// Caller returns the index of the innermost frame of the code that made the call (what `--by caller` groups
// by), or -1 when every frame is plumbing. Plumbing is a frame in the C library or the dynamic loader
// (systemLibraries), in the vDSO, or a Go function of the standard library ("os.(*File).Read",
// "internal/poll.(*FD).Read", "golang.org/x/sys/unix.Syscall"). A frame in no module counts as the caller's
// (a frame-pointer walk that went astray ends there anyway).
//
// It is safe for concurrent use.
func Caller(frames []Frame) int {
	for i := range frames {
		if !plumbing(&frames[i]) {
			return i
		}
	}
	return -1
}

func plumbing(f *Frame) bool {
	if f.Module == "[vdso]" {
		return true
	}
	base := f.Module[strings.LastIndexByte(f.Module, '/')+1:]
	for _, lib := range systemLibraries {
		if rest, ok := strings.CutPrefix(base, lib); ok && (rest == "" || rest[0] == '.' || rest[0] == '-') {
			return true
		}
	}
	return goStdlibFunc(f.Symbol)
}

// goStdlibFunc reports whether sym names a Go function of the standard library. A C, C++ or Rust name rarely
// starts with a standard package's name followed by "." or "/" (a C function named like one, with a
// compiler's ".cold" or ".isra.0" suffix, would pass for plumbing).
func goStdlibFunc(sym string) bool {
	i := strings.IndexAny(sym, "./")
	if i <= 0 {
		return false
	}
	return goStdlib[sym[:i]] || strings.HasPrefix(sym, "golang.org/x/sys/")
}
