//go:build linux

package symbolize

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// mapping is one executable mapping of a process (/proc/PID/maps), the only ones an instruction pointer lies in.
type mapping struct {
	start, end uint64 // [start, end) in the process
	pgoff      uint64 // file offset of start
	dev, ino   uint64 // the file's device (major<<32|minor as maps prints it) and inode; 0 for anonymous memory
	path       string // as the process sees it; "[vdso]", "" for anonymous memory

	// mod is the module the mapping was resolved to (nil before its first ip, or when it has no file: then
	// noFile is set). It may have been evicted since, which the lookup checks.
	mod    *module
	noFile bool
}

// mappingCost is what a mapping costs in the cache besides its path.
const mappingCost = 96

// parseMaps returns the executable mappings of a /proc/PID/maps text, sorted by address.
// A line is "start-end perms offset major:minor inode   path".
func parseMaps(b []byte) ([]mapping, error) {
	var maps []mapping
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		if len(line) == 0 {
			continue
		}
		f := fieldsN(line, 5)
		if len(f) < 5 {
			return nil, fmt.Errorf("maps line %q: too few fields", line)
		}
		if len(f[1]) < 3 || f[1][2] != 'x' {
			continue
		}
		var m mapping
		var err error
		dash := bytes.IndexByte(f[0], '-')
		colon := bytes.IndexByte(f[3], ':')
		if dash < 0 || colon < 0 {
			return nil, fmt.Errorf("maps line %q: bad range or device", line)
		}
		if m.start, err = parseHex(f[0][:dash]); err == nil {
			m.end, err = parseHex(f[0][dash+1:])
		}
		var major, minor uint64
		if err == nil {
			m.pgoff, err = parseHex(f[2])
		}
		if err == nil {
			major, err = parseHex(f[3][:colon])
		}
		if err == nil {
			minor, err = parseHex(f[3][colon+1:])
		}
		if err != nil {
			return nil, fmt.Errorf("maps line %q: %w", line, err)
		}
		m.dev = major<<32 | minor
		rest := f[4]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if m.ino, err = strconv.ParseUint(string(rest[:i]), 10, 64); err != nil {
			return nil, fmt.Errorf("maps line %q: inode: %w", line, err)
		}
		m.path = string(bytes.TrimLeft(rest[i:], " "))
		if m.end <= m.start {
			return nil, fmt.Errorf("maps line %q: empty range", line)
		}
		maps = append(maps, m)
	}
	sort.Slice(maps, func(i, j int) bool { return maps[i].start < maps[j].start })
	return maps, nil
}

// fieldsN splits line at runs of spaces into at most n fields; the last one holds the rest of the line.
func fieldsN(line []byte, n int) [][]byte {
	var f [][]byte
	for len(f) < n-1 {
		line = bytes.TrimLeft(line, " ")
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			if len(line) > 0 {
				f = append(f, line)
			}
			return f
		}
		f = append(f, line[:i])
		line = line[i+1:]
	}
	return append(f, bytes.TrimLeft(line, " "))
}

func parseHex(b []byte) (uint64, error) { return strconv.ParseUint(string(b), 16, 64) }

// find returns the mapping holding ip, or nil.
func find(maps []mapping, ip uint64) *mapping {
	i := sort.Search(len(maps), func(i int) bool { return maps[i].end > ip })
	if i < len(maps) && maps[i].start <= ip {
		return &maps[i]
	}
	return nil
}
