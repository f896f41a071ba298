package decode

import (
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// ioctlSpec returns how ioctl request req's argument is shown (syscalls.IoctlArgs).
func (d *Decoder) ioctlSpec(req uint64) (syscalls.IoctlSpec, bool) {
	s, ok := d.ioctls[req&0xffffffff]
	return s, ok
}

// ioctlTakesArg says whether strace shows a third argument for the request.
func (d *Decoder) ioctlTakesArg(req uint64) bool {
	s, ok := d.ioctlSpec(req)
	return !ok || s.Kind != syscalls.IoctlNone
}

// appendIoctlArg renders ioctl's third argument v for request req, as strace does: the value itself, [N]
// for an int it points to, the struct a terminal request reads or fills, an address otherwise. What the
// kernel fills shows only when the call succeeded.
func (d *Decoder) appendIoctlArg(dst []byte, req, v uint64, c *record.Capture, ret int64) []byte {
	s, ok := d.ioctlSpec(req)
	if !ok {
		return appendPointer(dst, v)
	}
	switch s.Kind {
	case syscalls.IoctlValue:
		return strconv.AppendInt(dst, int64(int32(v)), 10)
	case syscalls.IoctlEnum:
		if tb := d.t.all.add(d.opts.Arch, s.Set); tb != nil {
			return tb.appendEnumJSON(dst, v, true)
		}
		return strconv.AppendInt(dst, int64(int32(v)), 10)
	}
	b := c.Data
	if !captured(v, c) || (s.Out && ret < 0) || len(b) < int(s.Size()) {
		return appendPointer(dst, v)
	}
	switch s.Kind {
	case syscalls.IoctlInt:
		return appendIntArray(dst, b, 1)
	case syscalls.IoctlModem:
		dst = append(dst, '"', '[')
		dst = d.t.modem.appendBits(dst, u32(b, 0))
		return append(dst, ']', '"')
	case syscalls.IoctlChar:
		return appendJSONString(dst, b[:1])
	case syscalls.IoctlWinsize:
		dst = appendUintField(append(dst, '{'), true, "ws_row", uint64(le.Uint16(b)))
		dst = appendUintField(dst, false, "ws_col", uint64(le.Uint16(b[2:])))
		dst = appendUintField(dst, false, "ws_xpixel", uint64(le.Uint16(b[4:])))
		dst = appendUintField(dst, false, "ws_ypixel", uint64(le.Uint16(b[6:])))
		return append(dst, '}')
	case syscalls.IoctlTermios, syscalls.IoctlTermios2:
		dst = d.appendTermios(dst, u32(b, 0), u32(b, 4), u32(b, 8), u32(b, 12), b[16], b[17:min(36, len(b))])
		if s.Kind == syscalls.IoctlTermios2 {
			dst = appendUintField(dst[:len(dst)-1], false, "c_ispeed", u32(b, 36))
			dst = appendUintField(dst, false, "c_ospeed", u32(b, 40))
			dst = append(dst, '}')
		}
		return dst
	case syscalls.IoctlTermio:
		u16 := func(off int) uint64 { return uint64(le.Uint16(b[off:])) }
		return d.appendTermios(dst, u16(0), u16(2), u16(4), u16(6), b[8], b[9:17])
	}
	return appendPointer(dst, v)
}

// appendTermios renders struct termios (or termio) as strace -v does: each flag word split by its masks,
// c_cc as bytes.
func (d *Decoder) appendTermios(dst []byte, iflag, oflag, cflag, lflag uint64, line byte, cc []byte) []byte {
	t := &d.t
	dst = appendKey(append(dst, '{'), true, "c_iflag")
	dst = t.termI.appendBitsJSON(dst, iflag)
	dst = appendKey(dst, false, "c_oflag")
	dst = append(dst, '"')
	for _, dly := range [...]struct {
		mask uint64
		tab  *table
	}{{t.nlDly, t.termNL}, {t.crDly, t.termCR}, {t.tabDly, t.termTab}, {t.bsDly, t.termBS}, {t.vtDly, t.termVT},
		{t.ffDly, t.termFF}} {
		dst = appendNameOrHex(dst, dly.tab, oflag&dly.mask)
		dst = append(dst, '|')
		oflag &^= dly.mask
	}
	dst = t.termO.appendBits(dst, oflag)
	dst = append(dst, '"')
	dst = appendKey(dst, false, "c_cflag")
	dst = append(dst, '"')
	dst = appendNameOrHex(dst, t.baud, cflag&t.cBaud)
	if ib := cflag & t.cIBaud; ib != 0 && t.ibShift != 0 {
		dst = append(dst, '|')
		dst = appendNameOrHex(dst, t.baud, ib>>t.ibShift)
		dst = append(dst, "<<IBSHIFT"...)
	}
	dst = append(dst, '|')
	dst = appendNameOrHex(dst, t.csize, cflag&t.cSize)
	if rest := cflag &^ (t.cBaud | t.cIBaud | t.cSize); rest != 0 {
		dst = append(dst, '|')
		dst = t.termC.appendBits(dst, rest)
	}
	dst = append(dst, '"')
	dst = appendKey(dst, false, "c_lflag")
	dst = t.termL.appendBitsJSON(dst, lflag)
	dst = appendUintField(dst, false, "c_line", uint64(line))
	dst = appendKey(dst, false, "c_cc")
	dst = appendJSONString(dst, cc)
	return append(dst, '}')
}

// appendNameOrHex renders v by its name in tb, or in hex.
func appendNameOrHex(dst []byte, tb *table, v uint64) []byte {
	if tb != nil {
		if n := tb.name(v); n != "" {
			return append(dst, n...)
		}
	}
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, v, 16)
}

// termTables are the tables and masks the termios decoder uses.
type termTables struct {
	termI, termO, termC, termL, baud, csize                  *table
	termNL, termCR, termTab, termBS, termVT, termFF, modem   *table
	nlDly, crDly, tabDly, bsDly, vtDly, ffDly, cBaud, cIBaud uint64
	cSize, ibShift                                           uint64
}

func newTermTables(arch syscalls.Arch, all tables) termTables {
	t := termTables{
		termI: all.add(arch, "term_iflags"), termO: all.add(arch, "term_oflags"), termC: all.add(arch, "term_cflags"),
		termL: all.add(arch, "term_lflags"), baud: all.add(arch, "baud"), csize: all.add(arch, "csize"),
		termNL: all.add(arch, "term_nldly"), termCR: all.add(arch, "term_crdly"), termTab: all.add(arch, "term_tabdly"),
		termBS: all.add(arch, "term_bsdly"), termVT: all.add(arch, "term_vtdly"), termFF: all.add(arch, "term_ffdly"),
		modem: all.add(arch, "modem"),
	}
	if masks := all.add(arch, "term_masks"); masks != nil {
		for _, f := range masks.flags {
			switch f.name {
			case "NLDLY":
				t.nlDly = f.mask
			case "CRDLY":
				t.crDly = f.mask
			case "TABDLY":
				t.tabDly = f.mask
			case "BSDLY":
				t.bsDly = f.mask
			case "VTDLY":
				t.vtDly = f.mask
			case "FFDLY":
				t.ffDly = f.mask
			case "CBAUD":
				t.cBaud = f.mask
			case "CIBAUD":
				t.cIBaud = f.mask
			case "CSIZE":
				t.cSize = f.mask
			case "IBSHIFT":
				t.ibShift = f.mask
			}
		}
	}
	return t
}
