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
	data, err := pclntab(f, symtab)
	if err != nil || data == nil {
		return nil, err
	}
	if maxBytes > 0 && int64(len(data)) > maxBytes*4 {
		return nil, fmt.Errorf("pclntab of %d bytes too large for the cache", len(data))
	}
	lt := gosym.NewLineTable(data, textStart(f, symtab, data))
	table, err := gosym.NewTable(nil, lt)
	if err != nil {
		return nil, fmt.Errorf("pclntab: %w", err)
	}
	if len(table.Funcs) == 0 {
		return nil, fmt.Errorf("pclntab of %d bytes has no functions", len(data))
	}
	syms := make([]symbol, 0, len(table.Funcs))
	for i := range table.Funcs {
		fn := &table.Funcs[i]
		if fn.Sym == nil || fn.End <= fn.Entry {
			continue
		}
		syms = append(syms, symbol{addr: fn.Entry, size: fn.End - fn.Entry, name: fn.Sym.Name, rank: rankGo})
	}
	return syms, nil
}

// pclntab returns the bytes of the file's Go pclntab, nil when it has none.
func pclntab(f *elf.File, symtab []elf.Symbol) ([]byte, error) {
	if s := f.Section(".gopclntab"); s != nil && s.Type != elf.SHT_NOBITS {
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf(".gopclntab: %w", err)
		}
		return data, nil
	}
	if f.Section(".go.buildinfo") == nil && f.Section(".note.go.buildid") == nil {
		return nil, nil // not a Go binary: no need to scan its data
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
			return data, nil
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
			return data[i:], nil
		}
	}
	return nil, nil
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

// textStart returns the address the pclntab's function offsets count from (runtime.text): the symbol when the
// binary has one, else the header's field (Go 1.18+; it is 0 only where the loader relocates it, in a PIE),
// else the start of .text.
func textStart(f *elf.File, symtab []elf.Symbol, data []byte) uint64 {
	for _, s := range symtab {
		if s.Name == "runtime.text" {
			return s.Value
		}
	}
	if len(data) >= 8 {
		magic := f.ByteOrder.Uint32(data)
		ptrSize := int(data[7])
		if (magic == pclntabMagics[0] || magic == pclntabMagics[1]) && (ptrSize == 4 || ptrSize == 8) && len(data) >= 8+3*ptrSize {
			if v := readUint(f.ByteOrder, data[8+2*ptrSize:], ptrSize); v != 0 {
				return v
			}
		}
	}
	if s := f.Section(".text"); s != nil {
		return s.Addr
	}
	return 0
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
