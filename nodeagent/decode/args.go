package decode

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

const atFdcwd = -100

// appendArgs appends the args object of rec. See event.Event.Args for the conventions.
func (d *Decoder) appendArgs(dst []byte, c *call, rec *record.Record) []byte {
	dst = append(dst, '{')
	if c == nil {
		for i := 0; i < record.MaxArgs; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"', 'a', 'r', 'g', byte('0'+i), '"', ':')
			dst = appendHexString(dst, rec.Args[i])
		}
		return append(dst, '}')
	}
	first := true
	n := len(c.params)
	switch c.limit {
	case limitFutex:
		n = min(n, futexArgs(rec.Args[1]))
	case limitFcntl:
		if !fcntlTakesArg(rec.Args[1]) {
			n = min(n, 2)
		}
	case limitPrctl:
		n = min(n, 1+prctlArgs(rec.Args[0]))
	case limitIoctl:
		if !d.ioctlTakesArg(rec.Args[1]) {
			n = min(n, 2)
		}
	case limitMremap:
		if rec.Args[3]&mremapFixed == 0 {
			n = min(n, 4)
		}
	case limitMknod:
		if m := n - 2; m >= 0 && !mknodTakesDev(rec.Args[m]) {
			n--
		}
	}
	for i := range c.params[:n] {
		p := &c.params[i]
		if p.typ == syscalls.ArgMode && p.related >= 0 && rec.Args[p.related]&(oCreat|oTmpfile) == 0 {
			continue // open's mode is garbage unless the call may create a file; strace leaves it out too
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, p.key...)
		var truncated bool
		dst, truncated = d.appendArg(dst, p, i, rec)
		if truncated {
			dst = append(dst, p.truncKey...)
		}
		if cp := &rec.Captures[i]; cp.Faulted && rec.Args[i] != 0 && !truncated && p.typ != syscalls.ArgPrctlArg {
			dst = append(dst, p.unreadKey...)
		}
	}
	return append(dst, '}')
}

// appendArg appends the value of argument i, and whether what it shows was cut short.
func (d *Decoder) appendArg(dst []byte, p *param, i int, rec *record.Record) ([]byte, bool) {
	v := rec.Args[i]
	switch p.typ {
	case syscalls.ArgInt:
		return strconv.AppendInt(dst, int64(int32(v)), 10), false
	case syscalls.ArgLong:
		return strconv.AppendInt(dst, int64(v), 10), false
	case syscalls.ArgUint, syscalls.ArgSize:
		return strconv.AppendUint(dst, v, 10), false
	case syscalls.ArgFd, syscalls.ArgPid:
		return strconv.AppendInt(dst, int64(int32(v)), 10), false
	case syscalls.ArgDirFd:
		if int32(v) == atFdcwd {
			return append(dst, `"AT_FDCWD"`...), false
		}
		return strconv.AppendInt(dst, int64(int32(v)), 10), false
	case syscalls.ArgPath, syscalls.ArgPathAtEntry, syscalls.ArgString, syscalls.ArgBufIn, syscalls.ArgBufOut,
		syscalls.ArgDataIn, syscalls.ArgDataOut, syscalls.ArgStringOut:
		c := &rec.Captures[i]
		out := p.typ == syscalls.ArgBufOut || p.typ == syscalls.ArgDataOut || p.typ == syscalls.ArgStringOut
		if !captured(v, c) || (out && rec.Ret < 0) {
			return appendPointer(dst, v), false
		}
		data := c.Data
		if p.typ == syscalls.ArgPath || p.typ == syscalls.ArgPathAtEntry || p.typ == syscalls.ArgString ||
			p.typ == syscalls.ArgStringOut {
			data = cString(data)
		}
		return appendJSONString(dst, data), c.Truncated
	case syscalls.ArgStrArray:
		c := &rec.Captures[i]
		if c.Faulted && v != 0 && c.Present && len(c.Data) > 0 {
			// An entry could not be read: show the strings before it, marked as incomplete.
			return appendStrArray(dst, c.Data), true
		}
		if !captured(v, c) {
			return appendPointer(dst, v), false
		}
		return appendStrArray(dst, c.Data), c.Truncated
	case syscalls.ArgSockaddrIn, syscalls.ArgSockaddrOut:
		c := &rec.Captures[i]
		if !captured(v, c) || (p.typ == syscalls.ArgSockaddrOut && rec.Ret < 0) {
			return appendPointer(dst, v), false
		}
		return appendSockaddr(dst, c.Data), c.Truncated
	case syscalls.ArgOpenHow:
		c := &rec.Captures[i]
		if !captured(v, c) {
			return appendPointer(dst, v), false
		}
		return d.appendOpenHow(dst, c.Data), c.Truncated
	case syscalls.ArgCloneArgs:
		c := &rec.Captures[i]
		if !captured(v, c) {
			return appendPointer(dst, v), false
		}
		return appendCloneArgs(dst, c.Data), c.Truncated
	}
	if out, ok := d.appendTyped(dst, p, i, rec); ok {
		return out, false
	}
	dst = append(dst, '"')
	switch p.typ {
	case syscalls.ArgOpenFlags:
		dst = appendOpenFlags(dst, v, d.flags.open)
	case syscalls.ArgMode:
		dst = appendMode(dst, v)
	case syscalls.ArgAccessMode:
		dst = appendAccessMode(dst, v)
	case syscalls.ArgSockDomain:
		dst = appendName(dst, v, addressFamilies[:])
	case syscalls.ArgSockType:
		dst = appendSockType(dst, v)
	case syscalls.ArgSockProto:
		if p.related < 0 {
			dst = dst[:len(dst)-1]
			return strconv.AppendInt(dst, int64(int32(v)), 10), false
		}
		switch rec.Args[p.related] {
		case afInet, afInet6:
			dst = appendName(dst, v, ipProtocols[:])
		case afNetlink:
			dst = appendName(dst, v, netlinkProtocols[:])
		default:
			dst = dst[:len(dst)-1]
			return strconv.AppendInt(dst, int64(int32(v)), 10), false
		}
	case syscalls.ArgSignal:
		dst = appendSignal(dst, uint64(uint32(v)))
	case syscalls.ArgCloneFlags:
		dst = appendCloneFlags(dst, v)
	case syscalls.ArgMountFlags:
		dst = appendMountFlags(dst, v)
	case syscalls.ArgPtraceRequest:
		if name, ok := d.flags.ptrace[v]; ok {
			dst = append(dst, name...)
		} else {
			dst = append(dst, '0', 'x')
			dst = strconv.AppendUint(dst, v, 16)
		}
	default: // ArgHex and anything newer than this decoder
		if v == 0 && p.typ == syscalls.ArgHex {
			return append(dst[:len(dst)-1], "null"...), false // as strace: NULL
		}
		dst = append(dst, '0', 'x')
		dst = strconv.AppendUint(dst, v, 16)
	}
	return append(dst, '"'), false
}

// captured says whether the probe copied what pointer v points to.
func captured(v uint64, c *record.Capture) bool {
	return v != 0 && c.Present && !c.Faulted
}

// appendPointer renders a pointer whose target was not captured: null for NULL, else "0x...".
func appendPointer(dst []byte, v uint64) []byte {
	if v == 0 {
		return append(dst, "null"...)
	}
	return appendHexString(dst, v)
}

var nul = []byte{0}

// appendStrArray renders NUL-separated strings as a JSON array.
func appendStrArray(dst, data []byte) []byte {
	dst = append(dst, '[')
	for n := 0; len(data) > 0; n++ {
		s, rest, _ := bytes.Cut(data, nul)
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
		data = rest
	}
	return append(dst, ']')
}

// appendOpenHow renders openat2's struct open_how {u64 flags, mode, resolve} as strace does: mode only when
// the flags may create a file or it is set, resolve only when set.
func (d *Decoder) appendOpenHow(dst, b []byte) []byte {
	dst = append(dst, '{')
	if len(b) < 8 {
		return append(dst, '}')
	}
	flags := binary.LittleEndian.Uint64(b)
	dst = append(dst, `"flags":"`...)
	dst = appendOpenFlags(dst, flags, d.flags.open)
	dst = append(dst, '"')
	if len(b) >= 16 {
		if mode := binary.LittleEndian.Uint64(b[8:]); mode != 0 || flags&(oCreat|oTmpfile) != 0 {
			dst = append(dst, `,"mode":"`...)
			dst = appendMode(dst, mode)
			dst = append(dst, '"')
		}
	}
	if len(b) >= 24 {
		if resolve := binary.LittleEndian.Uint64(b[16:]); resolve != 0 {
			dst = append(dst, `,"resolve":"`...)
			dst = appendFlags(dst, resolve, resolveFlags)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

// cloneArgsFields are the u64 fields of clone3's struct clone_args, in order.
var cloneArgsFields = [...]string{
	"flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size", "tls", "set_tid",
	"set_tid_size", "cgroup",
}

// appendCloneArgs renders the fields of struct clone_args that were captured.
func appendCloneArgs(dst, b []byte) []byte {
	dst = append(dst, '{')
	for i, name := range cloneArgsFields {
		if len(b) < 8*(i+1) {
			break
		}
		v := binary.LittleEndian.Uint64(b[8*i:])
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		switch name {
		case "flags":
			dst = append(dst, '"')
			dst = appendFlags(dst, v, nsFlags)
			dst = append(dst, '"')
		case "exit_signal":
			dst = append(dst, '"')
			dst = appendSignal(dst, v)
			dst = append(dst, '"')
		case "stack_size", "set_tid_size", "cgroup":
			dst = strconv.AppendUint(dst, v, 10)
		default:
			dst = appendPointer(dst, v)
		}
	}
	return append(dst, '}')
}
