package event

import "bytes"

var finishKey = []byte(`"finish":`)

// FinishOf returns an event line's "finish" without decoding the line, for merging streams by time. It finds
// the first "finish" key: the agent writes only the syscall object and "start" before it, so no user-controlled
// text can fake it.
func FinishOf(line []byte) (int64, bool) {
	i := bytes.Index(line, finishKey)
	if i < 0 {
		return 0, false
	}
	i += len(finishKey)
	for i < len(line) && line[i] == ' ' {
		i++
	}
	neg := false
	if i < len(line) && line[i] == '-' {
		neg = true
		i++
	}
	var v int64
	n := 0
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9' && n < 19; i++ {
		v = v*10 + int64(line[i]-'0')
		n++
	}
	if n == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
