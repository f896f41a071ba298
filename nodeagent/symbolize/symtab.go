//go:build linux

package symbolize

import (
	"sort"
	"strings"
)

// symtab is a module's function symbols, compact: sorted start addresses, sizes, and every name in one string,
// so that a lookup is one binary search and returns a substring (no allocation), and the table costs about
// 16 bytes a symbol plus its name.
type symtab struct {
	addrs []uint64 // start addresses (the module's link-time virtual addresses), ascending, distinct
	sizes []uint32 // 0: unknown, the symbol extends to the next one
	ends  []uint32 // names[ends[i-1]:ends[i]] is symbol i's name
	names string
	limit uint64 // end of the last symbol without a size: the end of the executable segment
}

// symbol is a candidate while a table is built.
type symbol struct {
	addr, size uint64
	name       string
	rank       int // lower wins among symbols at one address
}

// Ranks of the symbol sources, best first: a full symbol table beats the exported subset.
const (
	rankSymtab = iota * 8
	rankGo
	rankMiniDebug
	rankDynsym
)

// newSymtab builds a table from candidates (which it sorts). Among symbols at the same address the lowest
// rank wins, then a global over a weak over a local one (bind is folded into rank by the caller), then the
// shorter name (write over __libc_write would be arbitrary; a stable choice is what matters).
func newSymtab(cands []symbol, limit uint64) symtab {
	sort.Slice(cands, func(i, j int) bool {
		a, b := &cands[i], &cands[j]
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if len(a.name) != len(b.name) {
			return len(a.name) < len(b.name)
		}
		return a.name < b.name
	})
	n := 0
	size := 0
	for i := range cands {
		if i > 0 && cands[i].addr == cands[i-1].addr {
			continue
		}
		n++
		size += len(cands[i].name)
	}
	t := symtab{addrs: make([]uint64, 0, n), sizes: make([]uint32, 0, n), ends: make([]uint32, 0, n), limit: limit}
	var b strings.Builder
	b.Grow(size)
	for i := range cands {
		c := &cands[i]
		if i > 0 && c.addr == cands[i-1].addr {
			// an alias: keep the winner's size unless it has none
			if last := len(t.sizes) - 1; t.sizes[last] == 0 && c.size != 0 && c.size <= 1<<32-1 {
				t.sizes[last] = uint32(c.size)
			}
			continue
		}
		t.addrs = append(t.addrs, c.addr)
		sz := c.size
		if sz > 1<<32-1 {
			sz = 0
		}
		t.sizes = append(t.sizes, uint32(sz))
		b.WriteString(c.name)
		t.ends = append(t.ends, uint32(b.Len()))
	}
	t.names = b.String()
	return t
}

// lookup returns the index of the symbol covering addr, or -1.
func (t *symtab) lookup(addr uint64) int {
	i := sort.Search(len(t.addrs), func(i int) bool { return t.addrs[i] > addr }) - 1
	if i < 0 {
		return -1
	}
	if sz := t.sizes[i]; sz != 0 {
		if addr-t.addrs[i] >= uint64(sz) {
			return -1
		}
	} else if i == len(t.addrs)-1 && t.limit != 0 && addr >= t.limit {
		return -1
	}
	return i
}

func (t *symtab) name(i int) string {
	start := uint32(0)
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.names[start:t.ends[i]]
}

func (t *symtab) len() int { return len(t.addrs) }

// cost is the table's size in bytes.
func (t *symtab) cost() int64 {
	return int64(cap(t.addrs)*8 + cap(t.sizes)*4 + cap(t.ends)*4 + len(t.names))
}
