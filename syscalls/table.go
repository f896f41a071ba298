package syscalls

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Table is the system call table of one architecture. It is immutable once built and safe for
// concurrent use; the *Syscall values it hands out are shared and must not be modified.
type Table struct {
	arch   Arch
	byNr   []*Syscall // indexed by number; nil where the number is unused
	all    []*Syscall // ascending by number
	byName map[string]*Syscall
}

// Arches lists the supported architectures.
var Arches = []Arch{AMD64, ARM64}

// The number tables (znumbers.go) are generated from golang.org/x/sys's unix/zsysnum_linux_*.go,
// so they list every call x/sys v0.50.0 knows: Linux 6.18 plus listns (470) and
// rseq_slice_yield (471), which arrived after it. Numbers a running kernel lacks are harmless:
// they simply never occur. The x32 range of x86_64 is not included.
//
//

var tables = map[Arch]func() *Table{
	AMD64: sync.OnceValue(func() *Table { return mustBuild(AMD64, amd64Names[:]) }),
	ARM64: sync.OnceValue(func() *Table { return mustBuild(ARM64, arm64Names[:]) }),
}

// ForArch returns the table of a (a GOARCH value such as a node's kubernetes.io/arch label).
func ForArch(a Arch) (*Table, error) {
	build, ok := tables[a]
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q (supported: amd64, arm64)", a)
	}
	return build(), nil
}

// Native returns the table of the architecture this binary was built for, or nil when that is
// neither amd64 nor arm64. Only the node agent should use it: the plugin runs on the user's
// machine and must use ForArch with the node's architecture instead.
func Native() *Table {
	t, err := ForArch(Arch(runtime.GOARCH))
	if err != nil {
		return nil
	}
	return t
}

// Arch returns the table's architecture.
func (t *Table) Arch() Arch { return t.arch }

// ByNr returns the system call numbered nr, or nil if the number is unused or out of range.
// It is a bounds check and a slice index, cheap enough for every traced event.
func (t *Table) ByNr(nr int) *Syscall {
	if uint(nr) >= uint(len(t.byNr)) {
		return nil
	}
	return t.byNr[nr]
}

// ByName looks a system call up by name, case-insensitively, with or without a "sys_" prefix.
func (t *Table) ByName(name string) (*Syscall, bool) {
	s, ok := t.byName[normalizeName(name)]
	return s, ok
}

// All returns every system call of the table in ascending number order.
func (t *Table) All() []*Syscall {
	return append([]*Syscall(nil), t.all...)
}

// Max returns the highest system call number in the table.
func (t *Table) Max() int { return len(t.byNr) - 1 }

func normalizeName(name string) string {
	name = strings.TrimSpace(name)
	if hasUpper(name) {
		name = strings.ToLower(name)
	}
	return strings.TrimPrefix(name, "sys_")
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// mustBuild assembles a table from the generated number list and the hand-written class and
// parameter data. Those are static, and the package tests check them for every architecture,
// so a failure here is a programming error rather than something a user can cause.
func mustBuild(arch Arch, names []string) *Table {
	t, err := build(arch, names)
	if err != nil {
		panic(fmt.Sprintf("syscalls: building the %s table: %v", arch, err))
	}
	return t
}

func build(arch Arch, names []string) (*Table, error) {
	classes, err := classIndex()
	if err != nil {
		return nil, err
	}
	t := &Table{
		arch:   arch,
		byNr:   make([]*Syscall, len(names)),
		byName: make(map[string]*Syscall, len(names)),
	}
	for nr, name := range names {
		if name == "" {
			continue
		}
		if _, dup := t.byName[name]; dup {
			return nil, fmt.Errorf("%s appears twice", name)
		}
		cg, ok := classes[name]
		if !ok {
			return nil, fmt.Errorf("%s has no class", name)
		}
		spec, ok := archParams[arch][name]
		if !ok {
			spec, ok = paramSpecs[name]
		}
		if !ok {
			return nil, fmt.Errorf("%s has no parameter list", name)
		}
		params, err := parseParams(spec)
		if err != nil {
			return nil, fmt.Errorf("parameters of %s: %w", name, err)
		}
		s := &Syscall{Nr: nr, Name: name, Class: cg.class, Group: cg.group, Params: params, RetFd: fdReturns[name],
			arch: arch}
		t.byNr[nr] = s
		t.all = append(t.all, s)
		t.byName[name] = s
	}
	return t, nil
}

func classIndex() (map[string]classGroup, error) {
	idx := map[string]classGroup{}
	for _, list := range [][]classGroup{seedClasses, addedClasses} {
		for _, cg := range list {
			for _, name := range strings.Fields(cg.names) {
				if prev, dup := idx[name]; dup {
					return nil, fmt.Errorf("%s is in both %s/%s and %s/%s", name, prev.class, prev.group, cg.class, cg.group)
				}
				idx[name] = classGroup{class: cg.class, group: cg.group}
			}
		}
	}
	return idx, nil
}

func parseParams(spec string) ([]Param, error) {
	fields := strings.Fields(spec)
	if len(fields) > 6 {
		return nil, fmt.Errorf("%d parameters; system calls take at most 6", len(fields))
	}
	params := make([]Param, 0, len(fields))
	for _, f := range fields {
		name, typ, ok := strings.Cut(f, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("malformed parameter %q (want name:type)", f)
		}
		var set string
		if kind, s, ok := strings.Cut(typ, "."); ok {
			typ, set = kind, s
		}
		at, ok := argTypeWords[typ]
		if !ok {
			return nil, fmt.Errorf("parameter %s: unknown type %q", name, typ)
		}
		if at.Info().Set != (set != "") {
			return nil, fmt.Errorf("parameter %s: bits and enum take a table name (bits.open), other types none", name)
		}
		if set != "" && flagSets[AMD64][set] == nil {
			return nil, fmt.Errorf("parameter %s: no flag table %q", name, set)
		}
		params = append(params, Param{Name: name, Type: at, Set: set})
	}
	return params, nil
}

// Capture returns how the probe copies the i-th parameter of s.
func (s *Syscall) Capture(i int) Capture {
	if i < 0 || i >= len(s.Params) {
		return Capture{Kind: CaptureNone, LenArg: -1}
	}
	return CaptureOf(s.arch, s.Params[i].Type, i, s.Params)
}

// Classes returns the class names in use, sorted.
func Classes() []string {
	return sortedKeys(func(cg classGroup) string { return cg.class })
}

// Groups returns the group names in use, sorted. Group names are unique across classes.
func Groups() []string {
	return sortedKeys(func(cg classGroup) string { return cg.group })
}

func sortedKeys(key func(classGroup) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]classGroup{seedClasses, addedClasses} {
		for _, cg := range list {
			if k := key(cg); !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
