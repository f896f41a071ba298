// Package termesc makes text from the cluster or from traced processes safe to print on a terminal: control
// characters (C0, DEL, C1), bidirectional-text controls and bytes that are not UTF-8 are shown as escapes
// (\x1b, \u202e) instead of being interpreted.
package termesc

import (
	"strconv"
	"unicode/utf8"
)

// Append appends s to dst with every unsafe character escaped. Tabs are kept; a newline is escaped (a
// caller that prints lines adds its own).
func Append(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if c == '\t' {
			dst = append(dst, c)
			i++
			continue
		}
		if c == '\\' {
			dst = append(dst, '\\', '\\')
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			dst = appendHex(dst, 'x', uint32(c), 2)
		case r < 0x20 || r == 0x7f:
			dst = appendHex(dst, 'x', uint32(r), 2)
		case unsafeRune(r):
			dst = appendHex(dst, 'u', uint32(r), 4)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// String returns s with every unsafe character escaped.
func String(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f || c == '\\' {
			return string(Append(make([]byte, 0, len(s)+16), s))
		}
	}
	return s
}

// unsafeRune: C1 controls and the characters that reorder text (bidi embeddings, overrides, isolates, marks).
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func appendHex(dst []byte, kind byte, v uint32, width int) []byte {
	dst = append(dst, '\\', kind)
	h := strconv.FormatUint(uint64(v), 16)
	for n := len(h); n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, h...)
}
