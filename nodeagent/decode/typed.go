package decode

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// table is a flag or value table of package syscalls in the form the hot path uses.
type table struct {
	flags []flagName
	enum  bool
	zero  string
}

// tables holds the flag and value tables of one architecture by name.
type tables map[string]*table

func (t tables) add(arch syscalls.Arch, name string) *table {
	if tb, ok := t[name]; ok {
		return tb
	}
	fs := syscalls.Flags(arch, name)
	if fs == nil {
		fs = syscalls.Flags(syscalls.AMD64, name)
	}
	if fs == nil {
		return nil
	}
	tb := &table{enum: fs.Enum, zero: fs.Zero}
	for _, f := range fs.Flags {
		tb.flags = append(tb.flags, flagName{mask: f.Value, name: f.Name})
	}
	t[name] = tb
	return tb
}

// appendBits renders v as a flag word of tb ("A|B|0x40"), or tb's zero name for 0.
func (tb *table) appendBits(dst []byte, v uint64) []byte {
	if v == 0 && tb.zero != "" {
		return append(dst, tb.zero...)
	}
	return appendFlags(dst, v, tb.flags)
}

// name returns the name of value v, or "".
func (tb *table) name(v uint64) string {
	for _, f := range tb.flags {
		if f.mask == v {
			return f.name
		}
	}
	return ""
}

// appendEnumJSON renders v as a quoted name, or as a decimal number when the table has none for it.
func (tb *table) appendEnumJSON(dst []byte, v uint64, signed bool) []byte {
	if n := tb.name(v); n != "" {
		dst = append(dst, '"')
		dst = append(dst, n...)
		return append(dst, '"')
	}
	if signed {
		return strconv.AppendInt(dst, int64(int32(v)), 10)
	}
	return strconv.AppendUint(dst, v&0xffffffff, 10)
}

// appendBitsJSON renders a flag word as a JSON string.
func (tb *table) appendBitsJSON(dst []byte, v uint64) []byte {
	dst = append(dst, '"')
	dst = tb.appendBits(dst, v)
	return append(dst, '"')
}

var le = binary.LittleEndian

// u32 and u64 read little-endian fields, 0 past the end of b (a short capture).
func u32(b []byte, off int) uint64 {
	if off+4 > len(b) {
		return 0
	}
	return uint64(le.Uint32(b[off:]))
}

func u64(b []byte, off int) uint64 {
	if off+8 > len(b) {
		return 0
	}
	return le.Uint64(b[off:])
}

func appendKey(dst []byte, first bool, key string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

func appendIntField(dst []byte, first bool, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(dst, first, key), v, 10)
}

func appendUintField(dst []byte, first bool, key string, v uint64) []byte {
	return strconv.AppendUint(appendKey(dst, first, key), v, 10)
}

// appendTimespec renders {tv_sec, tv_nsec} (or tv_usec) from 16 bytes.
func appendTimespec(dst, b []byte, frac string) []byte {
	dst = appendIntField(append(dst, '{'), true, "tv_sec", int64(u64(b, 0)))
	dst = appendIntField(dst, false, frac, int64(u64(b, 8)))
	return append(dst, '}')
}

const (
	utimeNow  = 1<<30 - 1
	utimeOmit = 1<<30 - 2
)

// appendUtimes renders utimensat's two timespecs, UTIME_NOW and UTIME_OMIT by name.
func appendUtimes(dst, b []byte) []byte {
	dst = append(dst, '[')
	for i := 0; i < 2; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		t := b[min(16*i, len(b)):]
		switch ns := int64(u64(t, 8)); ns {
		case utimeNow: // as strace: the name alone, tv_sec is ignored
			dst = append(dst, `"UTIME_NOW"`...)
		case utimeOmit:
			dst = append(dst, `"UTIME_OMIT"`...)
		default:
			dst = appendTimespec(dst, t, "tv_nsec")
		}
	}
	return append(dst, ']')
}

// appendItimerspec renders {it_interval, it_value}.
func appendItimerspec(dst, b []byte) []byte {
	dst = appendKey(append(dst, '{'), true, "it_interval")
	dst = appendTimespec(dst, b, "tv_nsec")
	dst = appendKey(dst, false, "it_value")
	dst = appendTimespec(dst, b[min(16, len(b)):], "tv_nsec")
	return append(dst, '}')
}

// appendSigset renders a signal mask as strace does, as a string: "[INT TERM]", "~[KILL STOP]" when more
// than half the signals are in it, "[]" for none. Real-time signals from 34 (glibc's SIGRTMIN) are RTMIN,
// RT_1...
func appendSigset(dst []byte, mask uint64, nsig int) []byte {
	dst = append(dst, '"')
	if nsig < 64 {
		mask &= 1<<uint(nsig) - 1
	}
	if bits.OnesCount64(mask) > nsig/2 {
		dst = append(dst, '~')
		mask = ^mask
		if nsig < 64 {
			mask &= 1<<uint(nsig) - 1
		}
	}
	dst = append(dst, '[')
	first := true
	for mask != 0 {
		i := bits.TrailingZeros64(mask)
		mask &^= 1 << uint(i)
		if !first {
			dst = append(dst, ' ')
		}
		first = false
		dst = appendSigName(dst, uint64(i+1))
	}
	return append(dst, ']', '"')
}

// appendSigName renders a signal without its SIG prefix, as strace does inside masks.
func appendSigName(dst []byte, sig uint64) []byte {
	switch {
	case sig < uint64(len(signalNames)) && signalNames[sig] != "":
		return append(dst, signalNames[sig][3:]...)
	case sig == 34:
		return append(dst, "RTMIN"...)
	case sig > 34 && sig <= 64:
		dst = append(dst, "RT_"...)
		return strconv.AppendUint(dst, sig-34, 10)
	}
	return strconv.AppendUint(dst, sig, 10)
}

const saRestorer = 0x04000000

// appendSigaction renders the kernel's struct sigaction {handler, flags, restorer, mask}.
func (d *Decoder) appendSigaction(dst, b []byte) []byte {
	handler, flags, restorer, mask := u64(b, 0), u64(b, 8), u64(b, 16), u64(b, 24)
	dst = appendKey(append(dst, '{'), true, "sa_handler")
	switch handler {
	case 0:
		dst = append(dst, `"SIG_DFL"`...)
	case 1:
		dst = append(dst, `"SIG_IGN"`...)
	default:
		dst = appendHexString(dst, handler)
	}
	dst = appendKey(dst, false, "sa_mask")
	dst = appendSigset(dst, mask, 64)
	dst = appendKey(dst, false, "sa_flags")
	dst = d.t.saFlags.appendBitsJSON(dst, flags)
	if flags&saRestorer != 0 {
		dst = appendKey(dst, false, "sa_restorer")
		dst = appendHexString(dst, restorer)
	}
	return append(dst, '}')
}

// appendStat renders struct stat. amd64 and arm64 differ in the order of st_mode and st_nlink and in the
// widths of st_nlink and st_blksize; the rest lines up.
func (d *Decoder) appendStat(dst, b []byte) []byte {
	var mode, nlink, uid, gid, rdev, blksize uint64
	if d.opts.Arch == syscalls.ARM64 {
		mode, nlink, uid, gid, rdev, blksize = u32(b, 16), u32(b, 20), u32(b, 24), u32(b, 28), u64(b, 32), u32(b, 56)
	} else {
		nlink, mode, uid, gid, rdev, blksize = u64(b, 16), u32(b, 24), u32(b, 28), u32(b, 32), u64(b, 40), u64(b, 56)
	}
	dst = appendUintField(append(dst, '{'), true, "st_dev", u64(b, 0))
	dst = appendUintField(dst, false, "st_ino", u64(b, 8))
	dst = appendKey(dst, false, "st_mode")
	dst = append(dst, '"')
	dst = appendMode(dst, mode)
	dst = append(dst, '"')
	dst = appendUintField(dst, false, "st_nlink", nlink)
	dst = appendUintField(dst, false, "st_uid", uid)
	dst = appendUintField(dst, false, "st_gid", gid)
	if t := mode & 0o170000; t == 0o20000 || t == 0o60000 {
		dst = appendKey(dst, false, "st_rdev")
		dst = appendMakedev(dst, rdev)
	} else {
		dst = appendIntField(dst, false, "st_size", int64(u64(b, 48)))
	}
	dst = appendUintField(dst, false, "st_blksize", blksize)
	dst = appendIntField(dst, false, "st_blocks", int64(u64(b, 64)))
	dst = appendIntField(dst, false, "st_atime", int64(u64(b, 72)))
	dst = appendIntField(dst, false, "st_mtime", int64(u64(b, 88)))
	dst = appendIntField(dst, false, "st_ctime", int64(u64(b, 104)))
	return append(dst, '}')
}

// appendMakedev renders a device number as strace does: "makedev(0x1, 0x3)".
func appendMakedev(dst []byte, dev uint64) []byte {
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	return appendMajorMinor(dst, major, minor)
}

func appendMajorMinor(dst []byte, major, minor uint64) []byte {
	dst = append(dst, `"makedev(0x`...)
	dst = strconv.AppendUint(dst, major, 16)
	dst = append(dst, ", 0x"...)
	dst = strconv.AppendUint(dst, minor, 16)
	return append(dst, ')', '"')
}

// appendStatx renders struct statx.
func (d *Decoder) appendStatx(dst, b []byte) []byte {
	dst = appendKey(append(dst, '{'), true, "stx_mask")
	dst = d.t.statxMask.appendBitsJSON(dst, u32(b, 0))
	dst = appendUintField(dst, false, "stx_blksize", u32(b, 4))
	dst = appendKey(dst, false, "stx_attributes")
	dst = d.t.statxAttrs.appendBitsJSON(dst, u64(b, 8))
	dst = appendUintField(dst, false, "stx_nlink", u32(b, 16))
	dst = appendUintField(dst, false, "stx_uid", u32(b, 20))
	dst = appendUintField(dst, false, "stx_gid", u32(b, 24))
	dst = appendKey(dst, false, "stx_mode")
	dst = append(dst, '"')
	mode := u32(b, 28) & 0xffff
	dst = appendMode(dst, mode)
	dst = append(dst, '"')
	dst = appendUintField(dst, false, "stx_ino", u64(b, 32))
	if t := mode & 0o170000; t == 0o20000 || t == 0o60000 {
		dst = appendKey(dst, false, "stx_rdev")
		dst = appendMajorMinor(dst, u32(b, 128), u32(b, 132))
	} else {
		dst = appendUintField(dst, false, "stx_size", u64(b, 40))
	}
	dst = appendUintField(dst, false, "stx_blocks", u64(b, 48))
	dst = appendIntField(dst, false, "stx_mtime", int64(u64(b, 112)))
	return append(dst, '}')
}

// appendPollFds renders struct pollfd[n] (events at entry; revents are the kernel's and not captured).
func (d *Decoder) appendPollFds(dst, b []byte, n uint64) ([]byte, bool) {
	dst = append(dst, '[')
	cut := false
	for i := uint64(0); i < n; i++ {
		off := int(i) * 8
		if off+8 > len(b) {
			cut = true
			break
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendIntField(append(dst, '{'), true, "fd", int64(int32(u32(b, off))))
		dst = appendKey(dst, false, "events")
		dst = d.t.pollEvents.appendBitsJSON(dst, u32(b, off+4)&0xffff)
		dst = append(dst, '}')
	}
	return append(dst, ']'), cut
}

// appendEpollEvent renders struct epoll_event: packed (data at 4) on x86_64, data at 8 on arm64.
func (d *Decoder) appendEpollEvent(dst, b []byte) []byte {
	data := u64(b, 4)
	if d.opts.Arch == syscalls.ARM64 {
		data = u64(b, 8)
	}
	dst = appendKey(append(dst, '{'), true, "events")
	dst = d.t.epollEvents.appendBitsJSON(dst, u32(b, 0))
	dst = appendKey(dst, false, "data")
	dst = appendUintField(append(dst, '{'), true, "u32", data&0xffffffff)
	dst = appendUintField(dst, false, "u64", data)
	return append(dst, '}', '}')
}

// appendFdSet renders the descriptors below nfds that an fd_set holds, as numbers.
func appendFdSet(dst, b []byte, nfds int64) []byte {
	dst = append(dst, '[')
	first := true
	for fd := int64(0); fd < nfds && fd/8 < int64(len(b)); fd++ {
		if b[fd/8]&(1<<uint(fd%8)) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = strconv.AppendInt(dst, fd, 10)
	}
	return append(dst, ']')
}

// appendCapHeader renders struct __user_cap_header_struct {version, pid}.
func (d *Decoder) appendCapHeader(dst, b []byte) []byte {
	dst = appendKey(append(dst, '{'), true, "version")
	dst = d.t.capVersion.appendEnumJSON(dst, u32(b, 0), false)
	dst = appendIntField(dst, false, "pid", int64(int32(u32(b, 4))))
	return append(dst, '}')
}

// appendCapData renders two struct __user_cap_data_struct as 64-bit masks: "1<<CAP_CHOWN|1<<CAP_KILL".
func (d *Decoder) appendCapData(dst, b []byte) []byte {
	dst = append(dst, '{')
	for i, key := range [...]string{"effective", "permitted", "inheritable"} {
		dst = appendKey(dst, i == 0, key)
		mask := u32(b, 4*i) | u32(b, 12+4*i)<<32
		dst = append(dst, '"')
		if mask == 0 {
			dst = append(dst, '0')
		}
		for j := 0; mask != 0; j++ {
			c := bits.TrailingZeros64(mask)
			mask &^= 1 << uint(c)
			if j > 0 {
				dst = append(dst, '|')
			}
			dst = append(dst, "1<<"...)
			if n := d.t.caps.name(uint64(c)); n != "" {
				dst = append(dst, n...)
			} else {
				dst = strconv.AppendInt(dst, int64(c), 10)
			}
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendRlimit renders struct rlimit, RLIM64_INFINITY by name.
func appendRlimit(dst, b []byte) []byte {
	for i, key := range [...]string{"rlim_cur", "rlim_max"} {
		if i == 0 {
			dst = append(dst, '{')
		}
		dst = appendKey(dst, i == 0, key)
		if v := u64(b, 8*i); v == ^uint64(0) {
			dst = append(dst, `"RLIM64_INFINITY"`...)
		} else {
			dst = strconv.AppendUint(dst, v, 10)
		}
	}
	return append(dst, '}')
}

// appendUtsname renders struct utsname's six 65-byte strings.
func appendUtsname(dst, b []byte) []byte {
	for i, key := range [...]string{"sysname", "nodename", "release", "version", "machine", "domainname"} {
		if i == 0 {
			dst = append(dst, '{')
		}
		dst = appendKey(dst, i == 0, key)
		f := b[min(65*i, len(b)):min(65*(i+1), len(b))]
		dst = appendJSONString(dst, cString(f))
	}
	return append(dst, '}')
}

// appendWaitStatus renders a wait status as strace does: "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]".
func appendWaitStatus(dst []byte, s uint64) []byte {
	dst = append(dst, `"[{`...)
	switch {
	case s&0x7f == 0:
		dst = append(dst, "WIFEXITED(s) && WEXITSTATUS(s) == "...)
		dst = strconv.AppendUint(dst, (s>>8)&0xff, 10)
	case s&0xff == 0x7f:
		dst = append(dst, "WIFSTOPPED(s) && WSTOPSIG(s) == "...)
		dst = appendSignal(dst, (s>>8)&0xff)
		if s>>16 != 0 {
			dst = append(dst, " && s >> 16 == "...)
			dst = strconv.AppendUint(dst, s>>16, 10)
		}
	case s == 0xffff:
		dst = append(dst, "WIFCONTINUED(s)"...)
	default:
		dst = append(dst, "WIFSIGNALED(s) && WTERMSIG(s) == "...)
		dst = appendSignal(dst, s&0x7f)
		if s&0x80 != 0 {
			dst = append(dst, " && WCOREDUMP(s)"...)
		}
	}
	return append(dst, `}]"`...)
}

// appendIntArray renders n 32-bit signed integers: [3,4].
func appendIntArray(dst, b []byte, n int) []byte {
	dst = append(dst, '[')
	for i := 0; i < n && 4*i+4 <= len(b); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(int32(u32(b, 4*i))), 10)
	}
	return append(dst, ']')
}

// sockopt levels whose option names swoll knows.
const (
	solSocket = 1
	solIP     = 0
	solTCP    = 6
	solIPv6   = 41
)

func (d *Decoder) optNames(level uint64) *table {
	switch level {
	case solSocket:
		return d.t.so
	case solTCP:
		return d.t.tcp
	case solIP:
		return d.t.ip
	case solIPv6:
		return d.t.ipv6
	}
	return nil
}

// appendOptVal renders a socket option value: [N] for an int, the bytes otherwise.
func appendOptVal(dst, b []byte) []byte {
	if len(b) == 4 {
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(int32(le.Uint32(b))), 10)
		return append(dst, ']')
	}
	return appendJSONString(dst, b)
}

// Futex commands (the low bits of futex_op) and modifiers.
const (
	futexWait      = 0
	futexWake      = 1
	futexPrivate   = 128
	futexClockRT   = 256
	futexCmdMask   = 127
	futexUnlockPI  = 7
	futexTrylockPI = 8
	futexLockPI    = 6
	futexLockPI2   = 13
	futexRequeue   = 3
)

// appendFutexOp renders futex_op as strace does: FUTEX_WAIT_PRIVATE, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME.
func (d *Decoder) appendFutexOp(dst []byte, v uint64) []byte {
	dst = append(dst, '"')
	cmd := v & futexCmdMask
	if n := d.t.futex.name(cmd); n != "" {
		dst = append(dst, n...)
		if v&futexPrivate != 0 {
			dst = append(dst, "_PRIVATE"...)
		}
		v &^= futexCmdMask | futexPrivate
		if v&futexClockRT != 0 {
			dst = append(dst, "|FUTEX_CLOCK_REALTIME"...)
			v &^= futexClockRT
		}
		if v != 0 {
			dst = append(dst, '|', '0', 'x')
			dst = strconv.AppendUint(dst, v, 16)
		}
	} else {
		dst = append(dst, '0', 'x')
		dst = strconv.AppendUint(dst, v, 16)
	}
	return append(dst, '"')
}

// futexArgs is how many arguments strace shows for a futex command.
func futexArgs(op uint64) int {
	switch op & futexCmdMask {
	case futexWake:
		return 3
	case futexWait, futexLockPI, futexLockPI2:
		return 4
	case futexUnlockPI, futexTrylockPI:
		return 2
	case futexRequeue:
		return 5
	}
	return 6
}

// fcntl commands whose argument strace does not show, and those whose argument is a flag word or a name.
const (
	fGetfd     = 1
	fSetfd     = 2
	fGetfl     = 3
	fSetfl     = 4
	fGetown    = 9
	fSetsig    = 10
	fGetsig    = 11
	fGetlease  = 1025
	fSetlease  = 1024
	fGetpipeSz = 1032
	fGetSeals  = 1034
	fAddSeals  = 1033
	fGetlk     = 5
	fSetlk     = 6
	fSetlkw    = 7
	fOfdGetlk  = 36
	fOfdSetlk  = 37
	fOfdSetlkw = 38
	fGetownEx  = 16
	fSetownEx  = 15
)

func fcntlTakesArg(cmd uint64) bool {
	switch cmd {
	case fGetfd, fGetfl, fGetown, fGetsig, fGetlease, fGetpipeSz, fGetSeals:
		return false
	}
	return true
}

// appendFcntlArg renders fcntl's third argument per the command.
func (d *Decoder) appendFcntlArg(dst []byte, cmd, v uint64) []byte {
	switch cmd {
	case fSetfd:
		return d.t.fdFlags.appendBitsJSON(dst, v)
	case fSetfl:
		dst = append(dst, '"')
		dst = appendOpenFlags(dst, v, d.flags.open)
		return append(dst, '"')
	case fSetsig:
		return appendSignalJSON(dst, v)
	case fSetlease:
		return d.t.lease.appendEnumJSON(dst, v, true)
	case fAddSeals:
		return d.t.seals.appendBitsJSON(dst, v)
	case fGetlk, fSetlk, fSetlkw, fOfdGetlk, fOfdSetlk, fOfdSetlkw, fGetownEx, fSetownEx:
		return appendPointer(dst, v)
	}
	return strconv.AppendInt(dst, int64(int32(v)), 10)
}

// prctl options and how many of arg2..arg5 strace shows for them (the rest: all four).
const (
	prSetPdeathsig = 1
	prGetPdeathsig = 2
	prGetDumpable  = 3
	prSetDumpable  = 4
	prGetKeepcaps  = 7
	prSetKeepcaps  = 8
	prSetName      = 15
	prGetName      = 16
	prGetSeccomp   = 21
	prCapbsetRead  = 23
	prCapbsetDrop  = 24
	prGetTimerslk  = 30
	prSetTimerslk  = 29
	prSetSubreaper = 36
	prGetSubreaper = 37
	prSetNoNewPriv = 38
	prGetNoNewPriv = 39
)

func prctlArgs(option uint64) int {
	switch option {
	case prGetDumpable, prGetKeepcaps, prGetSeccomp, prGetTimerslk:
		return 0
	case prSetPdeathsig, prGetPdeathsig, prSetDumpable, prSetKeepcaps, prSetName, prGetName, prCapbsetRead,
		prCapbsetDrop, prSetTimerslk, prSetSubreaper, prGetSubreaper:
		return 1
	}
	return 4
}

// appendPrctlArg renders argument i (1 for arg2) of prctl for option.
func (d *Decoder) appendPrctlArg(dst []byte, option uint64, i int, rec *record.Record, ret int64) []byte {
	v := rec.Args[i]
	if i == 1 {
		switch option {
		case prSetName, prGetName:
			c := &rec.Captures[i]
			if captured(v, c) && (option == prSetName || ret >= 0) {
				return appendJSONString(dst, cString(c.Data))
			}
			return appendPointer(dst, v)
		case prSetPdeathsig:
			return appendSignalJSON(dst, v)
		case prCapbsetRead, prCapbsetDrop:
			return d.t.caps.appendEnumJSON(dst, v, false)
		case prSetDumpable:
			if v < uint64(len(suidDump)) {
				dst = append(dst, '"')
				dst = append(dst, suidDump[v]...)
				return append(dst, '"')
			}
			return strconv.AppendUint(dst, v, 10)
		case prSetKeepcaps, prSetTimerslk, prSetSubreaper, prSetNoNewPriv:
			return strconv.AppendUint(dst, v, 10)
		case prGetPdeathsig, prGetSubreaper:
			return appendPointer(dst, v)
		}
	}
	return strconv.AppendUint(dst, v, 10)
}

// mremapFixed is MREMAP_FIXED: mremap's fifth argument counts only with it.
const mremapFixed = 2

// suidDump names PR_SET_DUMPABLE's values.
var suidDump = [...]string{"SUID_DUMP_DISABLE", "SUID_DUMP_USER", "SUID_DUMP_ROOT"}

// mknodTakesDev says whether mknod's dev matters: only for character and block devices, as strace shows it.
func mknodTakesDev(mode uint64) bool {
	t := mode & 0o170000
	return t == 0o20000 || t == 0o60000
}

// statxSyncAsStat is statx's default synchronisation, AT_STATX_SYNC_AS_STAT (0), which strace names first
// unless a sync flag is set.
const statxSyncMask = 0x6000

func (d *Decoder) appendStatxFlags(dst []byte, v uint64) []byte {
	dst = append(dst, '"')
	if v&statxSyncMask == 0 {
		dst = append(dst, "AT_STATX_SYNC_AS_STAT"...)
		if v == 0 {
			return append(dst, '"')
		}
		dst = append(dst, '|')
	}
	dst = appendFlags(dst, v, atFlags)
	return append(dst, '"')
}

// appendSignalJSON renders a signal argument that 0 leaves unset: 0, or the quoted name.
func appendSignalJSON(dst []byte, v uint64) []byte {
	if v == 0 {
		return append(dst, '0')
	}
	dst = append(dst, '"')
	dst = appendSignal(dst, v)
	return append(dst, '"')
}

// appendMmapFlags renders mmap's flags: the mapping type, then MAP_* bits.
func (d *Decoder) appendMmapFlags(dst []byte, v uint64) []byte {
	dst = append(dst, '"')
	if n := d.t.mmapType.name(v & 0xf); n != "" {
		dst = append(dst, n...)
	} else {
		dst = append(dst, '0', 'x')
		dst = strconv.AppendUint(dst, v&0xf, 16)
	}
	if v &^= 0xf; v != 0 {
		dst = append(dst, '|')
		dst = appendFlags(dst, v, d.t.mmap.flags)
	}
	return append(dst, '"')
}

// appendIoctlReq renders an ioctl request by name, or in hex.
func (d *Decoder) appendIoctlReq(dst []byte, v uint64) []byte {
	if n := d.t.ioctl.name(v & 0xffffffff); n != "" {
		dst = append(dst, '"')
		dst = append(dst, n...)
		return append(dst, '"')
	}
	return appendHexString(dst, v)
}

// decTables are the tables the struct and command decoders use, and every table an ArgFlags or ArgEnum
// parameter names.
type decTables struct {
	all                                                     tables
	saFlags, statxMask, statxAttrs, pollEvents, epollEvents *table
	capVersion, caps, so, tcp, ip, ipv6, sol, futex         *table
	fdFlags, lease, seals, mmapType, mmap, ioctl, prctl     *table
	msg, scm, fcntlCmd                                      *table
	termTables
}

func newDecTables(arch syscalls.Arch) decTables {
	all := tables{}
	return decTables{
		all: all, saFlags: all.add(arch, "sa_flags"), statxMask: all.add(arch, "statx_mask"),
		statxAttrs: all.add(arch, "statx_attrs"), pollEvents: all.add(arch, "poll_events"),
		epollEvents: all.add(arch, "epoll_events"), capVersion: all.add(arch, "cap_version"),
		caps: all.add(arch, "cap"), so: all.add(arch, "so"), tcp: all.add(arch, "tcp"), ip: all.add(arch, "ip"),
		ipv6: all.add(arch, "ipv6"), sol: all.add(arch, "sol"), futex: all.add(arch, "futex_cmd"),
		fdFlags: all.add(arch, "fd_flags"), lease: all.add(arch, "lease"), seals: all.add(arch, "seals"),
		mmapType: all.add(arch, "mmap_type"), mmap: all.add(arch, "mmap"), ioctl: all.add(arch, "ioctl"),
		prctl: all.add(arch, "prctl"), msg: all.add(arch, "msg"), scm: all.add(arch, "scm"),
		fcntlCmd:   all.add(arch, "fcntl_cmd"),
		termTables: newTermTables(arch, all),
	}
}
