package event

import "bytes"

var (
	finishKey = []byte(`"finish":`)
	startKey  = []byte(`,"start":`)
)

// FinishOf returns an event line's "finish" without decoding the line, for merging streams by time. It reads
// the first "finish" key: the agent writes only the syscall object (names from its own table) and "start"
// before it, so no user-controlled text can fake it.
func FinishOf(line []byte) (int64, bool) {
	// Fast path for the agent's layout: {"syscall":{...},"start":N,"finish":N. A general search would stop at
	// every quote of the syscall object.
	if i := bytes.IndexByte(line, '}'); i >= 0 && bytes.HasPrefix(line[i+1:], startKey) {
		j := i + 1 + len(startKey)
		if j < len(line) && line[j] == '-' {
			j++
		}
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j < len(line) && line[j] == ',' && bytes.HasPrefix(line[j+1:], finishKey) {
			return parseInt(line[j+1+len(finishKey):])
		}
	}
	i := bytes.Index(line, finishKey)
	if i < 0 {
		return 0, false
	}
	return parseInt(line[i+len(finishKey):])
}

// parseInt reads the decimal integer b starts with, after spaces.
func parseInt(b []byte) (int64, bool) {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var v int64
	n := 0
	for ; n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9'; n++ {
		v = v*10 + int64(b[n]-'0')
	}
	if n == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
