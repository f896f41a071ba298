package decode

import (
	"encoding/binary"
	"strconv"
)

// appendSockaddr renders a struct sockaddr as a JSON object: {"family":"AF_INET","port":80,"addr":"10.0.0.1"}
// (ports in host order), AF_INET6 with the address in RFC 5952 form, AF_UNIX with its path ("@name" when
// abstract), AF_NETLINK with pid and groups, anything else with its bytes in hex.
func appendSockaddr(dst, b []byte) []byte {
	if len(b) < 2 {
		dst = append(dst, `{"data":"`...)
		dst = appendHexBytes(dst, b)
		return append(dst, '"', '}')
	}
	family := binary.LittleEndian.Uint16(b)
	dst = append(dst, `{"family":"`...)
	dst = appendName(dst, uint64(family), addressFamilies[:])
	dst = append(dst, '"')
	switch {
	case family == afInet && len(b) >= 8:
		dst = append(dst, `,"port":`...)
		dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(b[2:])), 10)
		dst = append(dst, `,"addr":"`...)
		dst = appendIPv4(dst, b[4:8])
		dst = append(dst, '"')
	case family == afInet6 && len(b) >= 24:
		dst = append(dst, `,"port":`...)
		dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(b[2:])), 10)
		dst = append(dst, `,"addr":"`...)
		dst = appendIPv6(dst, b[8:24])
		dst = append(dst, '"')
		if flow := binary.BigEndian.Uint32(b[4:]); flow != 0 {
			dst = append(dst, `,"flowinfo":`...)
			dst = strconv.AppendUint(dst, uint64(flow), 10)
		}
		if len(b) >= 28 {
			if scope := binary.LittleEndian.Uint32(b[24:]); scope != 0 {
				dst = append(dst, `,"scope_id":`...)
				dst = strconv.AppendUint(dst, uint64(scope), 10)
			}
		}
	case family == afUnix:
		path := b[2:]
		switch {
		case len(path) == 0: // unnamed (socketpair, autobind)
		case path[0] == 0: // abstract: the name is every byte of the address, NULs included
			dst = append(dst, `,"path":"@`...)
			dst = appendJSONStringBody(dst, path[1:])
			dst = append(dst, '"')
		default:
			dst = append(dst, `,"path":`...)
			dst = appendJSONString(dst, cString(path))
		}
	case family == afNetlink && len(b) >= 12:
		dst = append(dst, `,"pid":`...)
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[4:])), 10)
		dst = append(dst, `,"groups":`...)
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[8:])), 10)
	default:
		dst = append(dst, `,"data":"`...)
		dst = appendHexBytes(dst, b[2:])
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

func appendIPv4(dst, a []byte) []byte {
	for i, c := range a[:4] {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return dst
}

// appendIPv6 renders a 16-byte address per RFC 5952: lowercase, no leading zeros, the longest run (first on a
// tie) of two or more zero groups as "::", and IPv4-mapped addresses as ::ffff:a.b.c.d.
func appendIPv6(dst, a []byte) []byte {
	var g [8]uint16
	for i := range g {
		g[i] = binary.BigEndian.Uint16(a[2*i:])
	}
	if g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff {
		dst = append(dst, "::ffff:"...)
		return appendIPv4(dst, a[12:16])
	}
	bestStart, bestLen := -1, 1
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestStart, bestLen = i, j-i
		}
		i = j
	}
	for i := 0; i < 8; i++ {
		if i == bestStart {
			dst = append(dst, ':', ':')
			i += bestLen - 1
			continue
		}
		if i > 0 && i != bestStart+bestLen {
			dst = append(dst, ':')
		}
		dst = strconv.AppendUint(dst, uint64(g[i]), 16)
	}
	return dst
}
