//go:build linux

package symbolize

import (
	"bytes"
	"container/list"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz"
)

// module is what the cache keeps of one ELF file (or the vDSO image): its executable segments, to turn a file
// offset into the link-time address its symbols use, and its function symbols. A module whose symbols could
// not be read (an unreadable file, a table over the budget) is kept too, empty, with the reason, so that its
// frames get offsets without the file being read again for every call.
type module struct {
	key     string // "build:<hex>" or "go:<id>" when the file has a build id, else "file:<dev>:<ino>:<mtime>:<size>"
	segs    []segment
	syms    symtab
	reason  string           // why syms is empty, for Stats and tests
	demang  map[int32]string // demangled names, filled on first use
	cost    int64
	elem    *list.Element // in the cache's LRU; nil once evicted
	aliases []string      // file identity keys leading here
}

// segment is one PT_LOAD segment: file offsets [off, off+filesz) hold link-time addresses [vaddr, ...).
type segment struct{ off, filesz, vaddr uint64 }

// moduleCost is what a module costs in the cache besides its tables.
const moduleCost = 256

// maxDebugData bounds what an .xz-compressed .gnu_debugdata section may inflate to.
const maxDebugData = 256 << 20

// vaddr turns an offset in the module's file into the link-time address symbols use.
func (m *module) vaddr(off uint64) (uint64, bool) {
	for i := range m.segs {
		s := &m.segs[i]
		if off >= s.off && off-s.off < s.filesz {
			return off - s.off + s.vaddr, true
		}
	}
	return 0, false
}

// evicted reports whether the cache dropped the module; a mapping holding it resolves its file again.
func (m *module) evicted() bool { return m.elem == nil }

// elfInfo is what the first, cheap look at a file gives: enough to find its module by build id.
type elfInfo struct {
	f    *elf.File
	key  string // build id key, "" when the file has none
	segs []segment
}

// openELF reads r's headers and build id.
func openELF(r io.ReaderAt) (*elfInfo, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("not an ELF file: %w", err)
	}
	info := &elfInfo{f: f, key: buildIDKey(f)}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
			info.segs = append(info.segs, segment{off: p.Off, filesz: p.Filesz, vaddr: p.Vaddr})
		}
	}
	if len(info.segs) == 0 {
		return nil, errors.New("ELF file without an executable segment")
	}
	return info, nil
}

// Note types and names of the build ids (elf.h's NT_GNU_BUILD_ID; Go's linker's ELF_NOTE_GOBUILDID_TAG).
const (
	ntGNUBuildID = 3
	ntGoBuildID  = 4
)

// buildIDKey returns the file's GNU build id, or its Go build id, as a cache key; "" when it has neither.
func buildIDKey(f *elf.File) string {
	var goID string
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE || s.Size > 1<<16 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		for len(data) >= 12 {
			namesz := f.ByteOrder.Uint32(data)
			descsz := f.ByteOrder.Uint32(data[4:])
			typ := f.ByteOrder.Uint32(data[8:])
			nameEnd := 12 + align4(uint64(namesz))
			descEnd := nameEnd + align4(uint64(descsz))
			if descEnd > uint64(len(data)) {
				break
			}
			name := string(bytes.TrimRight(data[12:12+namesz], "\x00"))
			desc := data[nameEnd : nameEnd+uint64(descsz)]
			switch {
			case typ == ntGNUBuildID && name == "GNU" && len(desc) > 0:
				return "build:" + hex.EncodeToString(desc)
			case typ == ntGoBuildID && name == "Go" && len(desc) > 0:
				goID = "go:" + string(desc)
			}
			data = data[descEnd:]
		}
	}
	return goID
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// loadSymbols reads every function symbol of the file: .symtab, .dynsym, the MiniDebugInfo of
// .gnu_debugdata and Go's pclntab. A source larger than maxBytes is skipped (its table could not be cached).
// It returns the candidates and the sources that failed, for the reason of an empty table.
func loadSymbols(f *elf.File, maxBytes int64) ([]symbol, error) {
	var cands []symbol
	var errs []error
	add := func(syms []elf.Symbol, rank int) {
		for i := range syms {
			s := &syms[i]
			typ := elf.ST_TYPE(s.Info)
			if typ != elf.STT_FUNC && typ != elf.STT_GNU_IFUNC || s.Value == 0 || s.Section == elf.SHN_UNDEF || s.Name == "" {
				continue
			}
			r := rank
			switch elf.ST_BIND(s.Info) {
			case elf.STB_WEAK:
				r++
			case elf.STB_LOCAL:
				r += 2
			}
			cands = append(cands, symbol{addr: s.Value, size: s.Size, name: s.Name, rank: r})
		}
	}
	var symtab []elf.Symbol
	if tooBig(f, elf.SHT_SYMTAB, maxBytes) {
		errs = append(errs, errors.New(".symtab: larger than the cache"))
	} else if syms, err := f.Symbols(); err == nil {
		symtab = syms
		add(syms, rankSymtab)
	} else if !errors.Is(err, elf.ErrNoSymbols) {
		errs = append(errs, fmt.Errorf(".symtab: %w", err))
	}
	if tooBig(f, elf.SHT_DYNSYM, maxBytes) {
		errs = append(errs, errors.New(".dynsym: larger than the cache"))
	} else if syms, err := f.DynamicSymbols(); err == nil {
		add(syms, rankDynsym)
	} else if !errors.Is(err, elf.ErrNoSymbols) {
		errs = append(errs, fmt.Errorf(".dynsym: %w", err))
	}
	if s := f.Section(".gnu_debugdata"); s != nil && s.Type != elf.SHT_NOBITS {
		syms, err := miniDebugInfo(s, maxBytes)
		if err != nil {
			errs = append(errs, fmt.Errorf(".gnu_debugdata: %w", err))
		}
		add(syms, rankMiniDebug)
	}
	gosyms, err := goSymbols(f, symtab, maxBytes)
	if err != nil {
		errs = append(errs, err) // it names the pclntab
	}
	cands = append(cands, gosyms...)
	return cands, errors.Join(errs...)
}

// rawFactor bounds what a symbol source may weigh before it is parsed, as a multiple of the budget: the
// compact table is several times smaller than the raw data (a Go pclntab ~8 times: it holds line tables
// too), never rawFactor times; what is larger is not read at all.
const rawFactor = 16

// tooBig reports whether the symbol section of type typ and its string table are too large to be read.
func tooBig(f *elf.File, typ elf.SectionType, maxBytes int64) bool {
	s := f.SectionByType(typ)
	if s == nil {
		return false
	}
	size := s.Size
	if int(s.Link) < len(f.Sections) {
		size += f.Sections[s.Link].Size
	}
	return maxBytes > 0 && size > rawFactor*uint64(maxBytes)
}

// miniDebugInfo reads the symbols of a .gnu_debugdata section: an xz-compressed ELF file holding a .symtab
// with the functions that .dynsym lacks, as Fedora, RHEL and CentOS ship their binaries ("MiniDebugInfo").
func miniDebugInfo(s *elf.Section, maxBytes int64) ([]elf.Symbol, error) {
	limit := int64(maxDebugData)
	if maxBytes > 0 && rawFactor*maxBytes < limit {
		limit = rawFactor * maxBytes
	}
	zr, err := xz.NewReader(s.Open())
	if err != nil {
		return nil, fmt.Errorf("xz: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("xz: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("inflates to more than %d bytes", limit)
	}
	inner, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("inner ELF file: %w", err)
	}
	syms, err := inner.Symbols()
	if err != nil {
		return nil, fmt.Errorf("inner ELF file: %w", err)
	}
	return syms, nil
}

// buildModule makes the module of an opened file: its symbol table, or an empty one with the reason.
func buildModule(info *elfInfo, maxBytes int64) *module {
	m := &module{key: info.key, segs: info.segs}
	cands, err := loadSymbols(info.f, maxBytes)
	var limit uint64
	for _, s := range info.segs {
		limit = max(limit, s.vaddr+s.filesz)
	}
	m.syms = newSymtab(cands, limit)
	switch {
	case m.syms.len() == 0 && err != nil:
		m.reason = err.Error()
	case m.syms.len() == 0:
		m.reason = "no symbols"
	}
	m.cost = moduleCost + int64(len(m.segs))*24 + m.syms.cost()
	if maxBytes > 0 && m.cost > maxBytes {
		m.syms = symtab{}
		m.reason = fmt.Sprintf("symbol table of %d bytes larger than the cache", m.cost)
		m.cost = moduleCost + int64(len(m.segs))*24
	}
	return m
}

// readUint reads a pointer-sized unsigned integer.
func readUint(order binary.ByteOrder, b []byte, ptrSize int) uint64 {
	if ptrSize == 4 {
		return uint64(order.Uint32(b))
	}
	return order.Uint64(b)
}
