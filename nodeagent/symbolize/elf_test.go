//go:build linux

package symbolize

import (
	"debug/elf"
	"debug/gosym"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// nmSym is one function of nm's listing.
type nmSym struct {
	addr, size uint64
	name       string
}

// nmFuncs lists the defined functions of path with their sizes, by address (nm -S --defined-only; -C
// demangles, -D reads .dynsym).
func nmFuncs(t *testing.T, path string, flags ...string) map[uint64][]nmSym {
	t.Helper()
	out := run(t, "nm", append([]string{"-S", "--defined-only"}, append(flags, path)...)...)
	funcs := map[uint64][]nmSym{}
	for _, l := range strings.Split(out, "\n") {
		// "0000000000001139 000000000000001c t inner", names with spaces (C++) after the third field
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 || !strings.ContainsAny(f[2], "tTwW") {
			continue
		}
		addr, err1 := strconv.ParseUint(f[0], 16, 64)
		size, err2 := strconv.ParseUint(f[1], 16, 64)
		if err1 != nil || err2 != nil || size == 0 {
			continue
		}
		name := f[3]
		if i := strings.Index(name, "@"); i > 0 && slices.Contains(flags, "-D") {
			name = name[:i] // a symbol version (nm -D): "__vdso_time@@LINUX_2.6"
		}
		funcs[addr] = append(funcs[addr], nmSym{addr: addr, size: size, name: name})
	}
	return funcs
}

// fedoraMiniDebugInfo does to bin what Fedora's find-debuginfo does to every binary it ships: the function
// symbols that .dynsym lacks go into a symbol-only ELF file, compressed with xz into a .gnu_debugdata section
// of the fully stripped binary.
func fedoraMiniDebugInfo(t *testing.T, bin, out string) error {
	t.Helper()
	dir := t.TempDir()
	dyn := map[string]bool{}
	for _, l := range strings.Split(run(t, "nm", "-D", "--format=posix", "--defined-only", bin), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			dyn[f[0]] = true
		}
	}
	var keep []string
	for _, l := range strings.Split(run(t, "nm", "--format=posix", "--defined-only", bin), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[1] == "T" || f[1] == "t") && !dyn[f[0]] {
			keep = append(keep, f[0])
		}
	}
	keepFile := filepath.Join(dir, "keep_symbols")
	if err := os.WriteFile(keepFile, []byte(strings.Join(keep, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	debug, mini := filepath.Join(dir, "debug"), filepath.Join(dir, "mini_debuginfo")
	for _, c := range [][]string{
		{"cp", bin, out},
		{"objcopy", "--only-keep-debug", out, debug},
		{"objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section", ".comment", "--keep-symbols=" + keepFile, debug, mini},
		{"strip", "--strip-all", "-R", ".comment", out},
		{"xz", "-f", mini},
		{"objcopy", "--add-section", ".gnu_debugdata=" + mini + ".xz", out},
	} {
		if err := runEnv(nil, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// TestCSymbols compares the symbols of the test program, built as distributions ship binaries, with nm's for
// known addresses: the first byte after a function's entry, its middle and its last byte, looked up as return
// addresses are.
func TestCSymbols(t *testing.T) {
	tools(t, "gcc", "nm", "strip", "objcopy", "xz", "addr2line")
	ref := cProgram(t) // -g, not stripped
	refFuncs := nmFuncs(t, ref)
	funcs := map[string]nmSym{}
	for _, syms := range refFuncs {
		for _, s := range syms {
			funcs[s.name] = s
		}
	}
	variants := []struct {
		name  string
		build func(out string) error
		// named are the functions whose names the variant keeps; the others must get no symbol
		named []string
	}{
		{name: "with -g", build: func(out string) error { return runEnv(nil, "cp", ref, out) },
			named: []string{"blocked_here", "middle", "main"}},
		{name: "without -g", build: func(out string) error {
			return runEnv(nil, "gcc", "-O1", "-fno-omit-frame-pointer", "-o", out, "testdata/prog.c", "-ldl")
		}, named: []string{"blocked_here", "middle", "main"}},
		{name: "stripped", build: func(out string) error {
			if err := runEnv(nil, "cp", ref, out); err != nil {
				return err
			}
			return runEnv(nil, "strip", out)
		}},
		{name: "stripped with MiniDebugInfo", build: func(out string) error { return fedoraMiniDebugInfo(t, ref, out) },
			named: []string{"blocked_here", "middle", "main"}},
	}
	s := New(Config{})
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			bin := buildOnce(t, "prog-"+strings.ReplaceAll(v.name, " ", "-"), v.build)
			m := fileModule(t, bin)
			if v.name == "stripped with MiniDebugInfo" {
				if f, err := elf.Open(bin); err != nil || f.Section(".gnu_debugdata") == nil || f.Section(".symtab") != nil {
					t.Fatalf("%s: want .gnu_debugdata and no .symtab (err %v)", bin, err)
				}
			}
			named := map[string]bool{}
			for _, n := range v.named {
				named[n] = true
			}
			for _, fn := range []string{"blocked_here", "middle", "main"} {
				ref, ok := funcs[fn]
				if !ok {
					t.Fatalf("nm %s lists no %s", bin, fn)
				}
				for _, off := range []uint64{1, ref.size / 2, ref.size} {
					got, gotOff := symbolAtVaddr(s, m, ref.addr+off)
					want, wantOff := fn, off
					if !named[fn] {
						want, wantOff = "", 0
					}
					if got != want || gotOff != wantOff {
						t.Errorf("%s+%#x: got %q+%#x, want %q+%#x", fn, off, got, gotOff, want, wantOff)
					}
				}
			}
		})
	}

	t.Run("addr2line agrees", func(t *testing.T) {
		m := fileModule(t, ref)
		var args []string
		var want []string
		for _, syms := range refFuncs {
			for _, sym := range syms[:1] {
				args = append(args, "0x"+strconv.FormatUint(sym.addr+sym.size/2, 16))
				got, _ := symbolAtVaddr(s, m, sym.addr+sym.size/2+1)
				want = append(want, got)
			}
		}
		out := strings.Split(strings.TrimSpace(run(t, "addr2line", append([]string{"-f", "-e", ref}, args...)...)), "\n")
		if len(out) != 2*len(args) {
			t.Fatalf("addr2line printed %d lines for %d addresses", len(out), len(args))
		}
		for i := range args {
			if fn := out[2*i]; fn != want[i] && fn != "??" {
				t.Errorf("%s: addr2line says %s, symbolize %s", args[i], fn, want[i])
			}
		}
	})
}

// TestSharedLibrarySymbols: a stripped shared library names what it exports and nothing else.
func TestSharedLibrarySymbols(t *testing.T) {
	tools(t, "gcc", "nm", "strip")
	lib := cLibrary(t)
	unstripped := buildOnce(t, "lib-unstripped.so", func(out string) error {
		return runEnv(nil, "gcc", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC", "-o", out, "testdata/lib.c")
	})
	funcs := map[string]nmSym{}
	for _, syms := range nmFuncs(t, unstripped) {
		for _, s := range syms {
			funcs[s.name] = s
		}
	}
	s := New(Config{})
	m := fileModule(t, lib)
	tests := []struct{ fn, want string }{
		{fn: "lib_func", want: "lib_func"},
		{fn: "lib_static", want: ""},
	}
	for _, tt := range tests {
		ref, ok := funcs[tt.fn]
		if !ok {
			t.Fatalf("nm lists no %s", tt.fn)
		}
		if got, _ := symbolAtVaddr(s, m, ref.addr+1); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.fn, got, tt.want)
		}
	}
}

// TestCPlusPlusSymbols compares every sized function of a C++ program (its own and the standard library's
// instantiations) with nm -C.
func TestCPlusPlusSymbols(t *testing.T) {
	tools(t, "g++", "nm")
	bin := buildOnce(t, "widget", func(out string) error {
		return runEnv(nil, "g++", "-O1", "-g", "-fno-omit-frame-pointer", "-o", out, "testdata/widget.cc")
	})
	compareNM(t, bin, []string{"ns::Widget::poke(int, std::vector<int, std::allocator<int> > const&) const",
		"ns::Widget::operator+(ns::Widget const&) const", "int ns::twice<int>(int)", "double ns::twice<double>(double)",
		"ns::(anonymous namespace)::hidden(std::map<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, int, std::less<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, std::allocator<std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const, int> > >&)",
		"main::{lambda(int)#1}::operator()(int) const"})
}

// TestRustSymbols compares a Rust program's functions, legacy and v0 mangling, with nm -C. rustc is not part
// of the project's dependencies: the demangling table test covers Rust where it is missing.
func TestRustSymbols(t *testing.T) {
	rustc, err := exec.LookPath("rustc")
	if err != nil {
		t.Skip("no rustc; TestDemangle covers Rust names")
	}
	tools(t, "nm")
	src := filepath.Join(t.TempDir(), "w.rs")
	if err := os.WriteFile(src, []byte(`mod inner {
    pub struct S;
    impl S { #[inline(never)] pub fn poke(&self, x: u32) -> u32 { x + 1 } }
    #[inline(never)] pub fn generic<T: Into<u64>>(v: T) -> u64 { v.into() * 2 }
}
fn main() { let s = inner::S; std::process::exit((s.poke(3) as u64 + inner::generic(4u32)) as i32); }
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mangling      []string
		poke, generic string
	}{
		{mangling: nil, poke: "w::inner::S::poke", generic: "w::inner::generic"}, // legacy: rustc's default
		{mangling: []string{"-C", "symbol-mangling-version=v0"}, poke: "<w::inner::S>::poke", generic: "w::inner::generic::<u32>"},
	} {
		t.Run(strings.Join(tt.mangling, " "), func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "w")
			run(t, rustc, append(append([]string{"-C", "opt-level=0"}, tt.mangling...), "-o", bin, src)...)
			compareNM(t, bin, []string{tt.poke, tt.generic})
		})
	}
}

// compareNM checks that every sized function nm -C lists in bin gets one of nm's names for its address, and
// that the names in mustHave are among them.
func compareNM(t *testing.T, bin string, mustHave []string) {
	t.Helper()
	s := New(Config{})
	m := fileModule(t, bin)
	seen := map[string]bool{}
	n := 0
	addrs := nmFuncs(t, bin, "-C")
	keys := make([]uint64, 0, len(addrs))
	for a := range addrs {
		keys = append(keys, a)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	raw := nmFuncs(t, bin)
	exempt := 0
	for _, a := range keys {
		syms := addrs[a]
		got, off := symbolAtVaddr(s, m, a+1)
		ok := false
		for _, sym := range syms {
			ok = ok || got == sym.name
		}
		if !ok && off == 1 && v0LeadingZeroBug(raw[a]) {
			exempt++
			continue
		}
		if !ok || off != 1 {
			t.Errorf("%#x: got %q+%#x, nm -C says %q", a, got, off, syms[0].name)
		}
		seen[got] = true
		n++
	}
	if exempt > 0 {
		t.Logf("%d names exempt as the demangler's leading-zero bug", exempt)
	}
	if exempt*50 > n {
		t.Errorf("%d of %d names exempt as the demangler's leading-zero bug: more than it explains", exempt, n)
	}
	for _, name := range mustHave {
		if !seen[name] {
			t.Errorf("no function named %q", name)
		}
	}
	t.Logf("%d functions of %s compared with nm -C", n, filepath.Base(bin))
}

// v0LeadingZeroBug reports whether one of syms is a Rust v0 name that github.com/ianlancetaylor/demangle
// misreads: it reads a decimal number's digits greedily where the grammar says "0" is a whole number, so a
// closure with an empty name ("0") followed by a digit (a nested closure, "00") shifts what follows: a
// disambiguator lands on the wrong closure or a generic argument is lost. The names stay readable.
func v0LeadingZeroBug(syms []nmSym) bool {
	for _, s := range syms {
		if strings.HasPrefix(s.name, "_R") && strings.Contains(s.name, "00") {
			return true
		}
	}
	return false
}

// objdumpTEXT matches a function header of go tool objdump: "TEXT main.leaf(SB) file" (the file is absent
// in stripped binaries with -trimpath).
var objdumpTEXT = regexp.MustCompile(`^TEXT (\S+)\(SB\)`)

// TestGoSymbols compares the functions of a stripped Go binary (-ldflags=-s -w) with go tool objdump: every
// instruction of the program's own functions and of a few of the runtime's.
func TestGoSymbols(t *testing.T) {
	bin := goProgram(t, "goprog", []string{"CGO_ENABLED=0"}, "")
	// go tool objdump needs the symbols -s drops: it reads the same build without -s -w, whose code is the same
	ref := buildOnce(t, "goprog-unstripped", func(out string) error {
		return runEnv([]string{"GOFLAGS=", "CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", out, "./testdata/goprog")
	})
	if f, err := elf.Open(bin); err != nil || f.Section(".symtab") != nil {
		t.Fatalf("%s: want a binary without .symtab (err %v)", bin, err)
	}
	if a, b := sectionBytes(t, bin, ".text"), sectionBytes(t, ref, ".text"); a != b {
		t.Fatal("the stripped and unstripped builds differ in .text: their addresses cannot be compared")
	}
	out := run(t, "go", "tool", "objdump", "-s", `^(main\.|runtime\.goexit$|runtime\.main$)`, ref)
	s := New(Config{})
	m := fileModule(t, bin)
	fn := ""
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if sub := objdumpTEXT.FindStringSubmatch(l); sub != nil {
			fn = sub[1]
			continue
		}
		// "  main.go:14\t\t0x49a2e0\t\t493b6610\t\tCMPQ SP, 0x10(R14)"
		f := strings.Fields(l)
		if len(f) < 3 || fn == "" {
			continue
		}
		addr, err := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
		if err != nil {
			continue
		}
		if got, _ := symbolAtVaddr(s, m, addr+1); got != fn {
			t.Errorf("%#x: got %q, go tool objdump says %q", addr, got, fn)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("compared only %d instructions: go tool objdump printed\n%s", n, out)
	}
	t.Logf("%d instructions compared with go tool objdump", n)
}

// sectionBytes returns a section's address and bytes, as a string to compare.
func sectionBytes(t *testing.T, path, name string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	s := f.Section(name)
	if s == nil {
		t.Fatalf("%s has no %s", path, name)
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(s.Addr, 16) + ":" + string(data)
}

// TestGoTextStart: in a stripped, externally linked Go binary the pclntab's header leaves runtime.text to a
// relocation (0 in the file) and C code precedes Go's in .text; the module data and the functions cgo exports
// both give the start, and agree.
func TestGoTextStart(t *testing.T) {
	tools(t, "gcc")
	bin := goProgram(t, "goprog-external-linking", []string{"CGO_ENABLED=1"}, "-linkmode=external")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	data, addr, err := pclntab(f, nil)
	if err != nil || data == nil {
		t.Fatalf("no pclntab: %v", err)
	}
	if v := readUint(f.ByteOrder, data[8+2*8:], 8); v != 0 {
		t.Logf("the header holds runtime.text (%#x): the fallbacks below are not needed by this linker", v)
	}
	fromModuledata := moduledataText(f, addr, 8)
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, 0))
	if err != nil {
		t.Fatal(err)
	}
	fromAnchor := anchor(f, nil, table.Funcs)
	if fromModuledata == 0 || fromModuledata != fromAnchor {
		t.Errorf("runtime.text: %#x from the module data, %#x from the exported functions", fromModuledata, fromAnchor)
	}
	if text := f.Section(".text"); text != nil && text.Addr == fromAnchor {
		t.Logf(".text starts with Go's code: the test does not tell the methods from the section's start")
	}
}
