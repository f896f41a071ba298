package decode

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
)

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
	if c.shows != nil {
		n = c.shows(d, rec, n)
	}
	for i := range c.params[:n] {
		p := &c.params[i]
		if p.dec.omit != nil && p.dec.omit(p, rec) {
			continue
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
		if cp := &rec.Captures[i]; cp.Faulted && rec.Args[i] != 0 && !truncated && !p.dec.quiet {
			dst = append(dst, p.unreadKey...)
		}
		if p.fdKey != nil {
			dst = d.appendFdKey(dst, p, i, rec)
		}
	}
	return append(dst, '}')
}

// appendFdKey appends the description of the fd argument i (-y), or of the pair it points to.
func (d *Decoder) appendFdKey(dst []byte, p *param, i int, rec *record.Record) []byte {
	if !p.pair {
		if f := &rec.Fds[i]; f.Present {
			dst = append(dst, p.fdKey...)
			dst = d.appendFd(dst, f)
		}
		return dst
	}
	a, b := &rec.Fds[record.FdPair], &rec.Fds[record.FdPair+1]
	if !a.Present && !b.Present {
		return dst
	}
	dst = append(dst, p.fdKey...)
	for j, f := range [...]*record.Fd{a, b} {
		if j > 0 {
			dst = append(dst, ',')
		}
		if f.Present {
			dst = d.appendFd(dst, f)
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, ']')
}

// appendArg appends the value of argument i, as its type's argDecoder renders it, and whether what it
// shows was cut short.
func (d *Decoder) appendArg(dst []byte, p *param, i int, rec *record.Record) ([]byte, bool) {
	a := p.dec
	switch {
	case a.text != nil:
		dst = append(dst, '"')
		dst = a.text(dst, rec.Args[i])
		return append(dst, '"'), false
	case a.value != nil:
		return a.value(d, dst, p, rec, i), false
	case a.target != nil:
		v, c := rec.Args[i], &rec.Captures[i]
		if !captured(v, c) || !p.dir.Filled(rec.Ret) {
			return appendPointer(dst, v), false
		}
		return a.target(d, dst, p, rec, i), a.cut && c.Truncated
	}
	return a.whole(d, dst, p, rec, i)
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
			dst = appendOctal(dst, mode)
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
