//go:build linux

package tracer

import (
	"bytes"
	"os"
	"strconv"
)

// descendants lists the processes below pid, from /proc (each /proc/P/stat names its parent).
func descendants(pid uint32) []uint32 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[uint32][]uint32{}
	for _, e := range entries {
		p, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if pp, ok := parentOf(stat); ok {
			children[pp] = append(children[pp], uint32(p))
		}
	}
	var out []uint32
	queue := []uint32{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf reads the ppid field of /proc/P/stat: "pid (comm) state ppid ...", where comm may hold spaces
// and parentheses, hence the last ')'.
func parentOf(stat []byte) (uint32, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	pp, err := strconv.ParseUint(string(fields[1]), 10, 32)
	return uint32(pp), err == nil
}
