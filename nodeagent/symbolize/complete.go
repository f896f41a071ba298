//go:build linux

package symbolize

import "github.com/swoll-dev/swoll/event/stack"

// threadEntries are the functions a thread's stack starts in, by runtime: when a frame-pointer walk ends in
// one of them it reached the bottom of the stack.
var threadEntries = map[string]bool{
	// glibc: the main thread (_start calls __libc_start_main, which calls main through __libc_start_call_main)
	"_start": true, "__libc_start_main": true, "__libc_start_call_main": true,
	// glibc threads: clone3 (2.34+) or clone call start_thread
	"start_thread": true, "clone": true, "__clone": true, "clone3": true, "__clone3": true,
	// musl: the main thread and threads (start, start_c)
	"_start_c": true, "__libc_start_main_stage2": true, "start": true, "start_c": true, "__clone_thread": true,
	// Go: a goroutine's stack starts at goexit's return address, a thread's system stack in mstart or rt0_go
	"runtime.goexit": true, "runtime.mstart": true, "runtime.mstart0": true, "runtime.rt0_go": true,
}

// Complete reports whether the outermost of frames (innermost first) is a thread's entry point, so that the
// stack is whole; a stack that ends anywhere else was cut short by code without frame pointers (or by the
// probe's depth limit) and is marked truncated in the event.
func Complete(frames []stack.Frame) bool {
	return len(frames) > 0 && threadEntries[frames[len(frames)-1].Symbol]
}
