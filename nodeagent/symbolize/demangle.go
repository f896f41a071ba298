//go:build linux

package symbolize

import (
	"strconv"
	"strings"

	"github.com/ianlancetaylor/demangle"
)

// demangleOpts: C++ names with their parameter types, as strace -k and addr2line -fC print them, Rust names
// (legacy and v0) without their hash; a name whose demangling would pass 4 KiB keeps its mangled form.
var demangleOpts = []demangle.Option{demangle.MaxLength(12)}

// mangled reports whether name may be an Itanium C++ ("_Z") or Rust v0 ("_R") symbol; legacy Rust names
// are Itanium-shaped.
func mangled(name string) bool {
	return len(name) > 2 && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')
}

// demangled returns name demangled, or name itself when it is not a mangled name the demangler understands.
func demangled(name string) string {
	if !mangled(name) {
		return name
	}
	s, err := demangle.ToString(legacyRustShim(name), demangleOpts...)
	if err != nil || s == "" {
		return name
	}
	return strings.Clone(s)
}

// symbolName returns the demangled name of symbol i, demangling it once; the cache pays for what it keeps.
func (s *Symbolizer) symbolName(m *module, i int) string {
	name := m.syms.name(i)
	if !mangled(name) {
		return name
	}
	if d, ok := m.demang[int32(i)]; ok {
		return d
	}
	d := demangled(name)
	if m.demang == nil {
		m.demang = make(map[int32]string)
	}
	m.demang[int32(i)] = d
	cost := int64(demangledEntryCost)
	if d != name {
		cost += int64(len(d))
	}
	s.grow(m, cost)
	return d
}

// demangledEntryCost is what one entry of a module's demangled names costs besides the name.
const demangledEntryCost = 48

// legacyRustShim works around the demangler's reading of legacy Rust names (Itanium-shaped, ending in a
// "17h<hash>E" identifier): it takes an underscore after an identifier's length for a separator, as v0 names
// have, and drops it, so that "28__rust_begin_short_backtrace" (in every Rust program's main thread) reads as
// "_rust_begin_short_backtrace". Each identifier starting with an underscore gets one more for it to drop.
// Other names are returned as they are.
func legacyRustShim(name string) string {
	body, ok := strings.CutPrefix(name, "_ZN")
	if !ok || !legacyRustHash(name) {
		return name
	}
	var b strings.Builder
	b.WriteString("_ZN")
	changed := false
	for len(body) > 0 && body[0] >= '1' && body[0] <= '9' {
		i := 0
		for i < len(body) && body[i] >= '0' && body[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(body[:i])
		if err != nil || n > len(body)-i {
			return name
		}
		id := body[i : i+n]
		if id[0] == '_' {
			b.WriteString(strconv.Itoa(n + 1))
			b.WriteByte('_')
			changed = true
		} else {
			b.WriteString(body[:i])
		}
		b.WriteString(id)
		body = body[i+n:]
	}
	if !changed {
		return name
	}
	b.WriteString(body)
	return b.String()
}

// legacyRustHash reports whether name ends (before an optional ".suffix") in a legacy Rust hash identifier.
func legacyRustHash(name string) bool {
	if i := strings.LastIndex(name, "E."); i > 0 {
		name = name[:i+1]
	}
	if len(name) < 23 || !strings.HasSuffix(name, "E") || name[len(name)-20:len(name)-17] != "17h" {
		return false
	}
	for _, c := range name[len(name)-17 : len(name)-1] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
