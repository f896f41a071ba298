// Package kallsyms symbolizes kernel addresses (the kernel stacks of `trace -kk`) from the node's
// /proc/kallsyms: the functions of the running kernel's image and of its loaded modules, at the addresses
// this boot placed them (KASLR included).
//
// The file shows real addresses only to a reader the kernel trusts: with kernel.kptr_restrict=1 (the usual
// setting) one with CAP_SYSLOG, with 0 also one that perf trusts (kernel.perf_event_paranoid <= 1), with 2
// nobody. Otherwise every address reads 0: Load then returns an empty table whose Restricted is true, and
// kernel frames keep their bare addresses. The agent pod is given CAP_SYSLOG for -kk.
//
// Only text symbols are kept (types t, T, w, W): about 120,000 on a distribution kernel, 5-7 MB, read once per
// agent when the first kernel stack needs it. A Table is read-only after Parse and safe for concurrent use.
package kallsyms

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/swoll-dev/swoll/event/stack"
)

// Path is the kernel's symbol table.
const Path = "/proc/kallsyms"

// Table is the kernel's text symbols by address.
type Table struct {
	addrs    []uint64
	ends     []uint32 // symbol i's name is names[ends[i-1]:ends[i]]
	mods     []uint16 // index in modNames
	names    string
	modNames []string // 0: stack.KernelModule; then "[kernel:NAME]"
	// restricted: the file showed no address (kptr_restrict, no CAP_SYSLOG)
	restricted bool
}

// Load reads the table at path (Path for the running kernel's).
func Load(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's symbols: %w", err)
	}
	defer func() { _ = f.Close() }()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's symbols from %s: %w", path, err)
	}
	return t, nil
}

type sym struct {
	addr       uint64
	start, end uint32
	mod        uint16
}

// Parse reads a table in /proc/kallsyms's format: "ADDRESS TYPE NAME [MODULE]" per line.
func Parse(r io.Reader) (*Table, error) {
	t := &Table{modNames: []string{stack.KernelModule}}
	modIndex := map[string]uint16{}
	var names []byte
	var syms []sym
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lines, zero := 0, 0
	for sc.Scan() {
		line := sc.Bytes()
		f := bytes.Fields(line)
		if len(f) < 3 || len(f[1]) != 1 {
			continue
		}
		lines++
		switch f[1][0] {
		case 't', 'T', 'w', 'W':
		default:
			continue
		}
		addr, err := strconv.ParseUint(string(f[0]), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		if addr == 0 {
			zero++
			continue
		}
		var mod uint16
		if len(f) >= 4 {
			m := string(bytes.Trim(f[3], "[]"))
			i, ok := modIndex[m]
			if !ok {
				if len(t.modNames) > 0xffff {
					return nil, fmt.Errorf("more than %d modules", 0xffff)
				}
				i = uint16(len(t.modNames))
				modIndex[m] = i
				t.modNames = append(t.modNames, "[kernel:"+m+"]")
			}
			mod = i
		}
		start := uint32(len(names))
		names = append(names, f[2]...)
		syms = append(syms, sym{addr: addr, start: start, end: uint32(len(names)), mod: mod})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(syms) == 0 && zero > 0 {
		t.restricted = true
	}
	// by address; of symbols at one address, the first listed
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	syms = slices.CompactFunc(syms, func(a, b sym) bool { return a.addr == b.addr })
	// names in address order: a symbol's name starts where the previous one's ends
	b := make([]byte, 0, len(names))
	t.addrs = make([]uint64, len(syms))
	t.ends = make([]uint32, len(syms))
	t.mods = make([]uint16, len(syms))
	for i, s := range syms {
		b = append(b, names[s.start:s.end]...)
		t.addrs[i], t.ends[i], t.mods[i] = s.addr, uint32(len(b)), s.mod
	}
	t.names = string(b)
	return t, nil
}

// Restricted reports whether the file hid its addresses (see the package doc): the table is empty.
func (t *Table) Restricted() bool { return t.restricted }

// Len is the number of symbols.
func (t *Table) Len() int { return len(t.addrs) }

// Bytes is the memory the table holds.
func (t *Table) Bytes() int64 {
	return int64(len(t.names)) + int64(len(t.addrs))*(8+4+2) + int64(len(t.modNames))*32
}

func (t *Table) name(i int) string {
	start := uint32(0)
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.names[start:t.ends[i]]
}

// Symbolize appends one frame per kernel address of ips (a kernel stack, innermost first: return addresses,
// each looked up at ip-1 as for user stacks) to dst. A symbol covers its address up to the next symbol's; an
// address before the first symbol, or any address of a restricted table, gets module stack.KernelModule and
// no symbol. It allocates nothing when dst has room.
func (t *Table) Symbolize(dst []stack.Frame, ips []uint64) []stack.Frame {
	for _, ip := range ips {
		f := stack.Frame{IP: stack.Addr(ip), Module: stack.KernelModule}
		if i := t.lookup(ip - 1); ip > 0 && i >= 0 {
			f.Symbol = t.name(i)
			f.Offset = ip - t.addrs[i]
			f.Module = t.modNames[t.mods[i]]
		}
		dst = append(dst, f)
	}
	return dst
}

// TrimTracing drops the innermost frames that belong to the tracing machinery rather than to the call: the
// BPF program that took the stack (module "[kernel:bpf]") and the tracepoint's plumbing (bpf_trace_run*,
// __bpf_trace_*, __traceiter_*, trace_* stubs). It returns the rest of frames.
func TrimTracing(frames []stack.Frame) []stack.Frame {
	for len(frames) > 0 && tracing(&frames[0]) {
		frames = frames[1:]
	}
	return frames
}

func tracing(f *stack.Frame) bool {
	if f.Module == "[kernel:bpf]" {
		return true
	}
	for _, p := range [...]string{"bpf_trace_run", "__bpf_trace_", "__traceiter_", "trace_sys_", "__bpf_prog_", "bpf_prog_"} {
		if strings.HasPrefix(f.Symbol, p) {
			return true
		}
	}
	return false
}

// lookup returns the index of the last symbol at or below addr, or -1.
func (t *Table) lookup(addr uint64) int {
	i := sort.Search(len(t.addrs), func(i int) bool { return t.addrs[i] > addr })
	return i - 1
}
