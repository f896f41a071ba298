//go:build linux

package symbolize

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
)

// Magic numbers of Go's pclntab header (runtime/symtab.go), newest first: Go 1.20+, 1.18-1.19, 1.16-1.17.
var pclntabMagics = []uint32{0xfffffff1, 0xfffffff0, 0xfffffffa}

// goSymbols reads the function table of a Go binary's pclntab, which even a stripped binary keeps (the
// runtime needs it for stack traces): the .gopclntab section, or the runtime.pclntab symbol, or, in a stripped
// binary whose linker put the table in .data.rel.ro (PIE, external linking), a header found by its magic.
// A file that is not a Go binary gives no symbols and no error.
func goSymbols(f *elf.File, symtab []elf.Symbol, maxBytes int64) ([]symbol, error) {
	data, addr, err := pclntab(f, symtab)
	if err != nil || data == nil {
		return nil, err
	}
	if maxBytes > 0 && int64(len(data)) > maxBytes*rawFactor {
		return nil, fmt.Errorf("pclntab of %d bytes: larger than the cache", len(data))
	}
	text, known := textStart(f, symtab, data, addr)
	table, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return nil, fmt.Errorf("pclntab: %w", err)
	}
	if len(table.Funcs) == 0 {
		return nil, fmt.Errorf("pclntab of %d bytes has no functions", len(data))
	}
	var shift uint64
	if !known {
		// entries counted from 0: a function both the ELF symbols and the pclntab name gives the start
		shift = anchor(f, symtab, table.Funcs)
	}
	syms := make([]symbol, 0, len(table.Funcs))
	for i := range table.Funcs {
		fn := &table.Funcs[i]
		if fn.Sym == nil || fn.End <= fn.Entry {
			continue
		}
		syms = append(syms, symbol{addr: fn.Entry + shift, size: fn.End - fn.Entry, name: fn.Name, rank: rankGo})
	}
	return syms, nil
}

// pclntab returns the bytes of the file's Go pclntab and their address, nil when it has none.
func pclntab(f *elf.File, symtab []elf.Symbol) ([]byte, uint64, error) {
	if s := f.Section(".gopclntab"); s != nil && s.Type != elf.SHT_NOBITS {
		data, err := s.Data()
		if err != nil {
			return nil, 0, fmt.Errorf(".gopclntab: %w", err)
		}
		return data, s.Addr, nil
	}
	if f.Section(".go.buildinfo") == nil && f.Section(".note.go.buildid") == nil {
		return nil, 0, nil // not a Go binary: no need to scan its data
	}
	var start, end uint64
	for _, s := range symtab {
		switch s.Name {
		case "runtime.pclntab":
			start = s.Value
		case "runtime.epclntab":
			end = s.Value
		}
	}
	if start != 0 && end > start {
		if data := read(f, start, end-start); data != nil {
			return data, start, nil
		}
	}
	for _, name := range []string{".data.rel.ro", ".rodata"} {
		s := f.Section(name)
		if s == nil || s.Type == elf.SHT_NOBITS {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		if i := findPclntab(data, f.ByteOrder); i >= 0 {
			return data[i:], s.Addr + uint64(i), nil
		}
	}
	return nil, 0, nil
}

// findPclntab returns the offset of a pclntab header in data, or -1: the magic, two zero bytes, the
// instruction size quantum (1, 2 or 4) and the pointer size (4 or 8), aligned to the pointer size.
func findPclntab(data []byte, order binary.ByteOrder) int {
	for _, magic := range pclntabMagics {
		var pat [4]byte
		order.PutUint32(pat[:], magic)
		for off := 0; ; {
			i := bytes.Index(data[off:], append(pat[:], 0, 0))
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if i+8 > len(data) {
				break
			}
			quantum, ptrSize := data[i+6], data[i+7]
			if (quantum == 1 || quantum == 2 || quantum == 4) && (ptrSize == 4 || ptrSize == 8) && i%int(ptrSize) == 0 {
				return i
			}
		}
	}
	return -1
}

// textStart returns the address the pclntab's function offsets count from (runtime.text), and whether it is
// known: the symbol when the binary has one, else the header's field (Go 1.18+; 0 where a linker left it to a
// relocation), else the text field of the runtime's module data, which points at the pclntab (found where the
// loader need not relocate it). An unknown start is 0: anchor finds it from the functions.
func textStart(f *elf.File, symtab []elf.Symbol, data []byte, addr uint64) (uint64, bool) {
	for _, s := range symtab {
		if s.Name == "runtime.text" {
			return s.Value, true
		}
	}
	if len(data) < 8 {
		return 0, false
	}
	magic := f.ByteOrder.Uint32(data)
	ptrSize := int(data[7])
	if magic != pclntabMagics[0] && magic != pclntabMagics[1] || ptrSize != 4 && ptrSize != 8 {
		return 0, true // before Go 1.18 entries are absolute addresses
	}
	if len(data) >= 8+3*ptrSize {
		if v := readUint(f.ByteOrder, data[8+2*ptrSize:], ptrSize); v != 0 {
			return v, true
		}
	}
	if v := moduledataText(f, addr, ptrSize); v != 0 {
		return v, true
	}
	return 0, false
}

// moduledataText finds runtime.firstmoduledata by its first field, the pclntab's address, and returns its text
// field: word 22 of the struct since Go 1.16 (pcHeader; funcnametab, cutab, filetab, pctab, pclntable and ftab
// slices; findfunctab, minpc, maxpc; text), checked against its minpc and an executable segment.
func moduledataText(f *elf.File, pclntabAddr uint64, ptrSize int) uint64 {
	const textWord, minpcWord = 22, 20
	if pclntabAddr == 0 {
		return 0
	}
	for _, s := range f.Sections {
		// linkers put it in .noptrdata, .data or a section of its own (.go.module)
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_WRITE == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		for i := 0; i+(textWord+1)*ptrSize <= len(data); i += ptrSize {
			if readUint(f.ByteOrder, data[i:], ptrSize) != pclntabAddr {
				continue
			}
			text := readUint(f.ByteOrder, data[i+textWord*ptrSize:], ptrSize)
			minpc := readUint(f.ByteOrder, data[i+minpcWord*ptrSize:], ptrSize)
			if text != 0 && minpc == text && executable(f, text) {
				return text
			}
		}
	}
	return 0
}

// anchor returns the address the functions' entries (counted from 0) start at: the difference between the
// address .symtab or .dynsym gives a function and its pclntab entry (a cgo binary exports crosscall2 and
// _cgo_topofstack), else the start of .text.
func anchor(f *elf.File, symtab []elf.Symbol, funcs []gosym.Func) uint64 {
	entry := make(map[string]uint64, len(funcs))
	for i := range funcs {
		if funcs[i].Sym != nil {
			entry[funcs[i].Name] = funcs[i].Entry
		}
	}
	dynsym, _ := f.DynamicSymbols()
	for _, syms := range [][]elf.Symbol{symtab, dynsym} {
		for _, s := range syms {
			if e, ok := entry[s.Name]; ok && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value >= e {
				return s.Value - e
			}
		}
	}
	if s := f.Section(".text"); s != nil {
		return s.Addr
	}
	return 0
}

// executable reports whether addr lies in an executable segment of f.
func executable(f *elf.File, addr uint64) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && addr >= p.Vaddr && addr-p.Vaddr < p.Memsz {
			return true
		}
	}
	return false
}

// read returns the file's bytes at link-time addresses [addr, addr+n), from the section holding them.
func read(f *elf.File, addr, n uint64) []byte {
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || addr < s.Addr || addr-s.Addr+n > s.Size {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil
		}
		return data[addr-s.Addr : addr-s.Addr+n]
	}
	return nil
}
