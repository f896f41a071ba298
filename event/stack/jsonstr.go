package stack

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Control characters and the characters that make a terminal act or
// reorder text are escaped, and bytes that are not UTF-8 become U+FFFD, so the result is valid JSON whatever a
// traced container names its files and functions.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			i++
			continue
		}
		size := 1
		var esc rune = -1
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', c)
		case c < 0x20:
			esc = rune(c)
		default:
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				esc = utf8.RuneError
			case terminalControl(r):
				esc = r
			default:
				i += size
				continue
			}
		}
		if esc >= 0 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', hexDigits[esc>>12&0xf], hexDigits[esc>>8&0xf], hexDigits[esc>>4&0xf], hexDigits[esc&0xf])
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// terminalControl: C1 controls, the line and paragraph separators, and the characters that reorder text
// (bidi embeddings, overrides, isolates, marks).
func terminalControl(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
