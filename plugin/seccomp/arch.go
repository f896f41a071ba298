package seccomp

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/swoll-dev/swoll/syscalls"
)

// scmpArches names each architecture swoll traces as libseccomp does, in the order a profile lists them.
var scmpArches = []struct {
	arch syscalls.Arch
	scmp specs.Arch
}{
	{syscalls.AMD64, specs.ArchX86_64},
	{syscalls.ARM64, specs.ArchAARCH64},
}

// ScmpArch is libseccomp's name of a Go architecture ("" for one swoll does not trace).
func ScmpArch(a syscalls.Arch) specs.Arch {
	for _, p := range scmpArches {
		if p.arch == a {
			return p.scmp
		}
	}
	return ""
}

// profileArches is what a learned profile's architectures say: both 64-bit ABIs swoll traces. 32-bit calls
// (SCMP_ARCH_X86, SCMP_ARCH_ARM) are not traced, so a learned profile leaves their ABIs out: the kernel's
// answer to a call from an architecture the filter does not list is to kill the thread.
func profileArches() []specs.Arch {
	out := make([]specs.Arch, len(scmpArches))
	for i, p := range scmpArches {
		out[i] = p.scmp
	}
	return out
}

// crossArch returns the names a profile lists for a call seen on arch: the call itself, and on every other
// architecture the same name where that table has it, else the call that does its job there ("open" seen
// on amd64 adds "openat" for arm64, which has no open). A call that exists on one architecture only and has
// no counterpart (amd64's arch_prctl) is listed by its name alone: the runtime ignores a name its
// architecture does not know. Names are the tables' (the kernel's, which libseccomp uses too).
func crossArch(arch syscalls.Arch, name string) []string {
	out := []string{name}
	for _, a := range syscalls.Arches {
		if a == arch {
			continue
		}
		t, err := syscalls.ForArch(a)
		if err != nil {
			continue
		}
		if _, ok := t.ByName(name); ok {
			continue // the same name serves both
		}
		if r, ok := syscalls.Replacement(name); ok {
			if _, ok := t.ByName(r); ok {
				out = append(out, r)
			}
		}
	}
	return out
}

// knownOn returns the architectures whose table has name.
func knownOn(name string) []syscalls.Arch {
	var out []syscalls.Arch
	for _, a := range syscalls.Arches {
		if t, err := syscalls.ForArch(a); err == nil {
			if _, ok := t.ByName(name); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// sortedKeys returns a set's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
