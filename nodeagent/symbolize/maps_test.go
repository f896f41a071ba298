//go:build linux

package symbolize

import (
	"strings"
	"testing"
)

func TestParseMaps(t *testing.T) {
	const maps = `55d0c1a00000-55d0c1a01000 r--p 00000000 fe:01 1234567                    /app/server
55d0c1a01000-55d0c1a02000 r-xp 00001000 fe:01 1234567                    /app/server
7f3c9a800000-7f3c9a828000 r--p 00000000 00:2a 42                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f3c9a828000-7f3c9a99d000 r-xp 00028000 00:2a 42                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f3c9aa00000-7f3c9aa01000 r-xp 00000000 00:2a 77                         /tmp/my lib.so (deleted)
7f3c9ab00000-7f3c9ab10000 rwxp 00000000 00:00 0 
7ffd2a1c0000-7ffd2a1e1000 rw-p 00000000 00:00 0                          [stack]
7ffd2a1f8000-7ffd2a1fa000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`
	got, err := parseMaps([]byte(maps))
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{
		{start: 0x55d0c1a01000, end: 0x55d0c1a02000, pgoff: 0x1000, dev: 0xfe<<32 | 1, ino: 1234567, path: "/app/server"},
		{start: 0x7f3c9a828000, end: 0x7f3c9a99d000, pgoff: 0x28000, dev: 0x2a, ino: 42, path: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{start: 0x7f3c9aa00000, end: 0x7f3c9aa01000, dev: 0x2a, ino: 77, path: "/tmp/my lib.so (deleted)"},
		{start: 0x7f3c9ab00000, end: 0x7f3c9ab10000},
		{start: 0x7ffd2a1f8000, end: 0x7ffd2a1fa000, path: "[vdso]"},
		{start: 0xffffffffff600000, end: 0xffffffffff601000, path: "[vsyscall]"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	finds := []struct {
		ip   uint64
		want string // path of the mapping, "-" for none
	}{
		{ip: 0x55d0c1a01000, want: "/app/server"},
		{ip: 0x55d0c1a01fff, want: "/app/server"},
		{ip: 0x55d0c1a02000, want: "-"},
		{ip: 0x55d0c1a00500, want: "-"}, // not executable
		{ip: 0x7f3c9a900000, want: "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		{ip: 0x7ffd2a1f8010, want: "[vdso]"},
		{ip: 0, want: "-"},
		{ip: ^uint64(0), want: "-"},
	}
	for _, f := range finds {
		m := find(got, f.ip)
		path := "-"
		if m != nil {
			path = m.path
		}
		if path != f.want {
			t.Errorf("find(%#x) = %q, want %q", f.ip, path, f.want)
		}
	}
}

func TestParseMapsErrors(t *testing.T) {
	tests := []string{
		"55d0c1a01000 r-xp 00001000 fe:01 1 /x",               // no range
		"55d0c1a01000-55d0c1a00000 r-xp 00001000 fe:01 1 /x",  // empty range
		"55d0c1a01000-55d0c1a02000 r-xp zz fe:01 1 /x",        // bad offset
		"55d0c1a01000-55d0c1a02000 r-xp 00001000 fe01 1 /x",   // bad device
		"55d0c1a01000-55d0c1a02000 r-xp 00001000 fe:01 x1 /x", // bad inode
		"55d0c1a01000-55d0c1a02000 r-xp",                      // cut short
	}
	for _, line := range tests {
		if _, err := parseMaps([]byte(line + "\n")); err == nil {
			t.Errorf("parseMaps(%q): no error", line)
		} else if !strings.Contains(err.Error(), "maps line") {
			t.Errorf("parseMaps(%q): error %q does not show the line", line, err)
		}
	}
}
