package decode

import (
	"bytes"
	"strconv"

	"github.com/swoll-dev/swoll/nodeagent/record"
)

// -y and -yy: what an fd was, as an object beside it (event.Event.Args' "<name>_file", "return_file"):
//
//	{"path":"/etc/hosts"}                              a file, by its path in the task's view
//	{"path":"/tmp/x","deleted":true}                   unlinked
//	{"path":"pipe:[123]"}                              a pipe, socket, anonymous inode... as /proc/PID/fd shows it
//	{"path":"/dev/null","device":"char 1:3"}           -yy: a device's type and numbers
//	{"path":"socket:[9]","socket":"TCP:[10.0.0.1:80->10.0.0.2:4242]","src":"10.0.0.1:80","dst":"10.0.0.2:4242"}
//	                                                   -yy: a socket as strace -yy shows it, and its addresses
//	"truncated":true                                   the path was longer than the probe keeps: its tail

// pseudoFiles says how /proc/PID/fd names a file of a pseudo file system (d_op->d_dname), by the file system's
// magic (include/uapi/linux/magic.h): from its inode number or its dentry name. A file system not listed is
// named as simple_dname does, "/" and its dentry name, and is unlinked (memfds, secretmem).
var pseudoFiles = map[uint32]func(dst []byte, f *record.Fd) []byte{
	0x50495045: func(dst []byte, f *record.Fd) []byte { return appendInoName(dst, "pipe:[", f.Ino) },   // PIPEFS_MAGIC
	0x534f434b: func(dst []byte, f *record.Fd) []byte { return appendInoName(dst, "socket:[", f.Ino) }, // SOCKFS_MAGIC
	0x09041934: func(dst []byte, f *record.Fd) []byte { return append(append(dst, "anon_inode:"...), f.Data...) },
	0x50494446: func(dst []byte, _ *record.Fd) []byte { return append(dst, "anon_inode:[pidfd]"...) }, // PIDFS_MAGIC
	0x6e736673: func(dst []byte, f *record.Fd) []byte { return appendInoName(dst, "nsfs:[", f.Ino) },  // NSFS_MAGIC
}

func appendInoName(dst []byte, prefix string, ino uint64) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendUint(dst, ino, 10)
	return append(dst, ']')
}

// fdPathText appends what /proc/PID/fd/N would name f, without " (deleted)"; and whether it is unlinked.
func fdPathText(dst []byte, f *record.Fd) ([]byte, bool) {
	switch f.Kind {
	case record.FdPath:
		return append(dst, f.Data...), f.Deleted
	case record.FdNamed:
		if name, ok := pseudoFiles[f.Magic]; ok {
			return name(dst, f), false
		}
		return append(append(dst, '/'), f.Data...), true
	}
	return appendInoName(dst, "socket:[", f.Ino), false // a socket with its details (-yy)
}

// Inode types (S_IFMT) of devices.
const (
	sIFCHR = 0o020000
	sIFBLK = 0o060000
)

// appendFd appends f's object; scratch is reused for the texts.
func (d *Decoder) appendFd(dst []byte, f *record.Fd) []byte {
	var deleted bool
	d.fdText, deleted = fdPathText(d.fdText[:0], f)
	dst = append(dst, `{"path":`...)
	dst = appendJSONString(dst, d.fdText)
	if deleted {
		dst = append(dst, `,"deleted":true`...)
	}
	if f.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if d.opts.Fds >= 2 && f.Kind == record.FdPath {
		switch f.Mode & sIFMT {
		case sIFCHR:
			dst = appendDevice(dst, "char ", f.Rdev)
		case sIFBLK:
			dst = appendDevice(dst, "block ", f.Rdev)
		}
	}
	if s, ok := f.Socket(); ok {
		dst = d.appendSocket(dst, f, &s)
	}
	return append(dst, '}')
}

func appendDevice(dst []byte, kind string, rdev uint32) []byte {
	dst = append(dst, `,"device":"`...)
	dst = append(dst, kind...)
	dst = strconv.AppendUint(dst, uint64(rdev>>20), 10)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(rdev&0xfffff), 10)
	return append(dst, '"')
}

// inetProtocols are the protocols strace -yy shows with their addresses (those sock_diag reports; strace's
// socketutils.c). Others show as -y shows them, socket:[ino].
var inetProtocols = map[string]bool{
	"TCP": true, "UDP": true, "UDPLITE": true, "DCCP": true, "SCTP": true, "L2TP/IP": true, "PING": true, "RAW": true,
	"TCPv6": true, "UDPv6": true, "UDPLITEv6": true, "DCCPv6": true, "SCTPv6": true, "L2TP/IPv6": true,
	"PINGv6": true, "RAWv6": true,
}

// appendSocket appends a socket's -yy text and addresses:
//
//	TCP:[ino]                     not bound (not in the kernel's tables strace asks)
//	TCP:[10.0.0.1:80]             bound, not connected
//	TCP:[10.0.0.1:80->10.0.0.2:4242], TCPv6:[[::1]:80->[::1]:4242]
//	UNIX-STREAM:[ino->peer,"/run/x.sock"], UNIX:[ino,@"abstract"]
//	NETLINK:[ROUTE:portid], NETLINK:[ino] not bound
func (d *Decoder) appendSocket(dst []byte, f *record.Fd, s *record.FdSocketInfo) []byte {
	t := d.fdText[:0]
	inet := (s.Family == afInet || s.Family == afInet6) && inetProtocols[string(s.Proto)]
	switch {
	case inet && s.SrcPort != 0:
		t = append(t, s.Proto...)
		t = append(t, ':', '[')
		src := len(t)
		t = appendHostPort(t, s.Family, s.Src[:], s.SrcPort)
		srcEnd := len(t)
		dstStart, dstEnd := 0, 0
		if s.DstPort != 0 || !allZero(addrOf(s.Family, s.Dst[:])) {
			t = append(t, '-', '>')
			dstStart = len(t)
			t = appendHostPort(t, s.Family, s.Dst[:], s.DstPort)
			dstEnd = len(t)
		}
		t = append(t, ']')
		dst = append(dst, `,"socket":`...)
		dst = appendJSONString(dst, t)
		dst = append(dst, `,"src":`...)
		dst = appendJSONString(dst, t[src:srcEnd])
		if dstEnd > 0 {
			dst = append(dst, `,"dst":`...)
			dst = appendJSONString(dst, t[dstStart:dstEnd])
		}
		d.fdText = t
		return dst
	case inet:
		t = appendProtoIno(t, s.Proto, f.Ino)
	case s.Family == afUnix:
		t = append(t, s.Proto...)
		t = append(t, ':', '[')
		t = strconv.AppendUint(t, f.Ino, 10)
		if s.Peer != 0 {
			t = append(t, '-', '>')
			t = strconv.AppendUint(t, uint64(s.Peer), 10)
		}
		if len(s.Path) > 0 {
			t = append(t, ',')
			p := s.Path
			if p[0] == 0 {
				t = append(t, '@')
				p = p[1:]
			}
			if i := bytes.IndexByte(p, 0); i >= 0 {
				p = p[:i]
			}
			t = appendCQuoted(t, p)
		}
		t = append(t, ']')
	case s.Family == afNetlink && s.PortID != 0:
		t = append(t, s.Proto...)
		t = append(t, ':', '[')
		if int(s.Protocol) < len(netlinkProtocols) && netlinkProtocols[s.Protocol] != "" {
			t = append(t, netlinkProtocols[s.Protocol][len("NETLINK_"):]...)
			t = append(t, ':')
			t = strconv.AppendUint(t, uint64(s.PortID), 10)
		} else {
			t = strconv.AppendUint(t, uint64(s.Protocol), 10)
		}
		t = append(t, ']')
	case s.Family == afNetlink:
		t = appendProtoIno(t, s.Proto, f.Ino)
	default:
		d.fdText = t
		return dst // as -y shows it: socket:[ino]
	}
	d.fdText = t
	dst = append(dst, `,"socket":`...)
	return appendJSONString(dst, t)
}

func appendProtoIno(t, proto []byte, ino uint64) []byte {
	t = append(t, proto...)
	return appendInoName(append(t, ':'), "[", ino)
}

func addrOf(family uint16, a []byte) []byte {
	if family == afInet {
		return a[:4]
	}
	return a[:16]
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// appendHostPort appends 10.0.0.1:80 or [::1]:80.
func appendHostPort(dst []byte, family uint16, a []byte, port uint16) []byte {
	if family == afInet {
		dst = appendIPv4(dst, a)
	} else {
		dst = append(dst, '[')
		dst = appendIPv6(dst, a)
		dst = append(dst, ']')
	}
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(port), 10)
}

// appendCQuoted appends b as a C string literal as strace quotes one: "..." with \", \\, \n, \t... and
// octal escapes for other bytes that are not printable ASCII.
func appendCQuoted(dst, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\v':
			dst = append(dst, '\\', 'v')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			if c < ' ' || c > '~' {
				dst = append(dst, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
			} else {
				dst = append(dst, c)
			}
		}
	}
	return append(dst, '"')
}
