package decode

import (
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// segments walks a CaptureIovec or CaptureMsghdr capture: little-endian uint16 lengths, each followed by that
// many bytes (syscalls.IovecLayout).
type segments struct{ b []byte }

// next returns the next segment; unreadable when the probe could not read its memory, ok false at the end.
func (s *segments) next() (data []byte, unreadable, ok bool) {
	if len(s.b) < 2 {
		return nil, false, false
	}
	n := int(le.Uint16(s.b))
	s.b = s.b[2:]
	if n == syscalls.SegUnreadable {
		return nil, true, true
	}
	if n > len(s.b) { // cut short: what there is
		n = len(s.b)
	}
	data, s.b = s.b[:n], s.b[n:]
	return data, false, true
}

// iovecSize is sizeof(struct iovec) on 64-bit architectures.
const iovecSize = 16

// appendIovecs renders an iovec array as strace does: [{"iov_base":"data","iov_len":5}]. arr holds the
// copied struct iovecs; their data follow in segs when the data was captured (--capture-data), one segment
// per iovec, else each iov_base is an address. cut: the array or the data was cut short.
func appendIovecs(dst, arr []byte, segs *segments) []byte {
	dst = append(dst, '[')
	withData := len(segs.b) > 0
	for i := 0; i+iovecSize <= len(arr); i += iovecSize {
		if i > 0 {
			dst = append(dst, ',')
		}
		base, n := u64(arr, i), u64(arr, i+8)
		dst = appendKey(append(dst, '{'), true, "iov_base")
		data, unreadable, ok := segs.next()
		if withData && ok && !unreadable && base != 0 {
			dst = appendJSONString(dst, data)
		} else {
			dst = appendPointer(dst, base)
		}
		dst = appendUintField(dst, false, "iov_len", n)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendIovArg renders readv's and writev's iov argument v from a CaptureIovec capture.
func appendIovArg(dst []byte, v uint64, c *record.Capture) []byte {
	segs := segments{b: c.Data}
	arr, unreadable, ok := segs.next()
	if !ok || unreadable {
		return appendPointer(dst, v)
	}
	return appendIovecs(dst, arr, &segs)
}

// msghdr field offsets (struct user_msghdr on 64-bit architectures).
const (
	msgNameOff       = 0
	msgNamelenOff    = 8
	msgIovOff        = 16
	msgIovlenOff     = 24
	msgControlOff    = 32
	msgControllenOff = 40
	msgFlagsOff      = 48
)

// appendMsghdrSegs renders a CaptureMsghdr capture (syscalls.IovecLayout): struct msghdr with its name as a
// sockaddr, its iovecs with their data, and its control messages, as strace does.
func (d *Decoder) appendMsghdrSegs(dst, data []byte) []byte {
	segs := segments{b: data}
	m, _, _ := segs.next()
	name, nameBad, _ := segs.next()
	control, controlBad, _ := segs.next()
	iov, iovBad, iovOK := segs.next()

	dst = appendKey(append(dst, '{'), true, "msg_name")
	namePtr, namelen := u64(m, msgNameOff), u32(m, msgNamelenOff)
	if namePtr != 0 && namelen > 0 && !nameBad && len(name) > 0 {
		dst = appendSockaddr(dst, name)
	} else {
		dst = appendPointer(dst, namePtr)
	}
	dst = appendUintField(dst, false, "msg_namelen", namelen)
	dst = appendKey(dst, false, "msg_iov")
	if iovPtr := u64(m, msgIovOff); iovPtr != 0 && iovOK && !iovBad {
		dst = appendIovecs(dst, iov, &segs)
	} else {
		dst = appendPointer(dst, iovPtr)
	}
	dst = appendUintField(dst, false, "msg_iovlen", u64(m, msgIovlenOff))
	dst = appendKey(dst, false, "msg_control")
	ctlPtr, ctlLen := u64(m, msgControlOff), u64(m, msgControllenOff)
	if ctlPtr != 0 && ctlLen > 0 && !controlBad {
		dst = d.appendCmsgs(dst, control)
	} else {
		dst = appendPointer(dst, ctlPtr)
	}
	dst = appendUintField(dst, false, "msg_controllen", ctlLen)
	dst = appendKey(dst, false, "msg_flags")
	dst = d.t.msg.appendBitsJSON(dst, u32(m, msgFlagsOff))
	return append(dst, '}')
}

// Control messages (struct cmsghdr {size_t len; int level; int type;} and its data, 8-byte aligned).
const (
	cmsgHdrSize    = 16
	scmRights      = 1
	scmCredentials = 2
)

// appendCmsgs renders the control messages in b: [{"cmsg_len":20,"cmsg_level":"SOL_SOCKET",
// "cmsg_type":"SCM_RIGHTS","cmsg_data":[3]}]. A message whose length runs past b shows the bytes there are.
func (d *Decoder) appendCmsgs(dst, b []byte) []byte {
	dst = append(dst, '[')
	for first := true; len(b) >= cmsgHdrSize; first = false {
		n, level, typ := u64(b, 0), u32(b, 8), u32(b, 12)
		if !first {
			dst = append(dst, ',')
		}
		dst = appendUintField(append(dst, '{'), true, "cmsg_len", n)
		dst = appendKey(dst, false, "cmsg_level")
		dst = d.t.sol.appendEnumJSON(dst, level, true)
		dst = appendKey(dst, false, "cmsg_type")
		var names *table
		if level == solSocket {
			names = d.t.scm
		} else {
			names = d.optNames(level)
		}
		if names != nil {
			dst = names.appendEnumJSON(dst, typ, true)
		} else {
			dst = strconv.AppendInt(dst, int64(int32(typ)), 10)
		}
		if n < cmsgHdrSize {
			dst = append(dst, '}')
			break // strace stops at a malformed header too
		}
		end := min(n, uint64(len(b)))
		body := b[cmsgHdrSize:end]
		dst = appendKey(dst, false, "cmsg_data")
		switch {
		case level == solSocket && typ == scmRights:
			dst = appendIntArray(dst, body, len(body)/4)
		case level == solSocket && typ == scmCredentials && len(body) >= 12:
			dst = appendIntField(append(dst, '{'), true, "pid", int64(int32(u32(body, 0))))
			dst = appendUintField(dst, false, "uid", u32(body, 4))
			dst = appendUintField(dst, false, "gid", u32(body, 8))
			dst = append(dst, '}')
		default:
			dst = appendJSONString(dst, body)
		}
		dst = append(dst, '}')
		next := (n + 7) &^ 7
		if next >= uint64(len(b)) {
			break
		}
		b = b[next:]
	}
	return append(dst, ']')
}

// appendEpollEvents renders the n struct epoll_event the kernel wrote (epoll_wait's return value).
func (d *Decoder) appendEpollEvents(dst, b []byte, n int64) []byte {
	size := int(syscalls.EpollEventSize(d.opts.Arch))
	dst = append(dst, '[')
	for i := 0; int64(i) < n && (i+1)*size <= len(b); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = d.appendEpollEvent(dst, b[i*size:(i+1)*size])
	}
	return append(dst, ']')
}
