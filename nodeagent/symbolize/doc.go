//go:build linux

// Package symbolize turns the user-space stack of a traced call (the instruction pointers bpf_get_stack with
// BPF_F_USER_STACK gives, innermost first) into frames of the event schema (package event/stack): module,
// symbol and offset, read from the files the process itself maps, the container's own binaries, never the
// host's copies.
//
// # Where symbols come from
//
// /proc/PID/maps gives the executable mappings, and for each ip its file and offset. The file is read through
// /proc/PID/map_files (the very inode mapped, even deleted or replaced by an upgrade; needs CAP_SYS_ADMIN) or
// else /proc/PID/root/<path>, and its symbols come from, best first:
//   - .symtab, when the binary is not stripped;
//   - Go's pclntab (.gopclntab, runtime.pclntab, or found by its header in .data.rel.ro): every Go binary keeps
//     it, stripped (-ldflags=-s -w) or not, so Go frames always have names;
//   - .gnu_debugdata ("MiniDebugInfo", as Fedora, RHEL and CentOS ship their binaries): an xz-compressed ELF
//     whose .symtab holds the local functions .dynsym lacks;
//   - .dynsym, the exported functions of every shared library and of PIEs.
//
// A symbol covers [value, value+size); an ip past the end of the nearest symbol (a static function whose name
// was stripped) gets no symbol rather than the wrong one, and prints as module() [0xoffset]. strace -k (through
// libunwind) names such an ip after the nearest symbol before it, however far: for Debian's glibc it prints
// __libc_start_call_main as "__libc_init_first+0x8a", where this package prints "libc.so.6() [0x2724a]".
// C++ (Itanium) and Rust (legacy and v0) names are demangled with their parameter types, as strace -k and
// addr2line -fC print them. The vDSO is read from the process's memory. JIT code (anonymous executable
// memory: the JVM, V8, LuaJIT) has no module; its frames are bare addresses.
//
// # Which binaries give complete stacks
//
// The kernel walks a user stack by its frame pointers: it has no unwind tables at syscall entry. A stack is
// complete only where every function on it keeps a frame pointer:
//   - Go binaries (amd64 and arm64): the Go compiler always keeps them. Complete, down to runtime.goexit (a
//     goroutine) or runtime.mstart (the runtime's own threads).
//   - C, C++ and Rust code built with -fno-omit-frame-pointer (-C force-frame-pointers=yes for Rust), on a
//     distribution that builds its libraries the same way: Ubuntu 24.04 and later (amd64, arm64), Fedora 38
//     and later, Arch Linux since 2024. Complete, down to _start or the thread's clone3.
//   - Everything else: Debian and images based on it (distroless included), Alpine (musl), RHEL/UBI 9 and
//     older Ubuntu build their libc without frame pointers, and compilers omit them at -O2 by default. The
//     first frame, the syscall wrapper in libc, is always right; the wrapper does not set up a frame, so the
//     walk continues from its caller's frame pointer and the wrapper's direct caller is missing; past the
//     first function built without frame pointers the walk stops or, where that function used the register
//     for data, yields addresses in no mapping (bare frames). In practice: the first frame only.
//
// Complete reports whether a symbolized stack reaches a thread's entry point; the agent marks the others
// "stack_truncated", as it marks those the probe cut at its depth limit.
//
// # Cache
//
// Modules are cached by build id (GNU, or Go's when the linker wrote no GNU one), so one libc is read once for
// every container that maps it, and a file without a build id by its identity (device, inode, mtime, size);
// each process's mappings remember the module they resolved to. The cache is bounded in bytes (Config.Budget):
// symbol tables, demangled names and process maps are charged what they hold and the least recently used are
// dropped first; Stats gives its size, hits, misses and evictions for the agent's stats. A process's maps are
// read again when an ip falls outside every known mapping (dlopen) or its executable changed (exec; checked
// at most every Config.Recheck), and the agent calls Forget when a process exits.
//
// Go frames show the function an ip is in, not the functions inlined into it (the pclntab's inline tree is
// not read); a Go binary newer than the agent's Go may have a pclntab this package's Go cannot read, and then
// only its .symtab, if any.
package symbolize
