//go:build linux

package symbolize

import "testing"

func TestSymtab(t *testing.T) {
	tab := newSymtab([]symbol{
		{addr: 0x1000, size: 0x10, name: "write", rank: rankDynsym + 1},    // weak alias
		{addr: 0x1000, size: 0x10, name: "__write", rank: rankDynsym},      // global: wins
		{addr: 0x1000, size: 0x10, name: "__libc_write", rank: rankDynsym}, // global, longer
		{addr: 0x1100, size: 0, name: "_start", rank: rankSymtab},          // no size: up to the next
		{addr: 0x1200, size: 0x20, name: "local_fn", rank: rankDynsym + 2},
		{addr: 0x1200, size: 0x20, name: "from_symtab", rank: rankSymtab + 2}, // a better source wins
		{addr: 0x1300, size: 0, name: "last", rank: rankSymtab},               // no size, last: up to the segment's end
	}, 0x1400)
	if tab.len() != 4 {
		t.Fatalf("%d symbols, want 4 (aliases folded)", tab.len())
	}
	tests := []struct {
		addr uint64
		want string
	}{
		{addr: 0x0fff, want: ""},
		{addr: 0x1000, want: "__write"},
		{addr: 0x100f, want: "__write"},
		{addr: 0x1010, want: ""}, // past the end of write: a stripped static function, not write+0x10
		{addr: 0x1100, want: "_start"},
		{addr: 0x11ff, want: "_start"},
		{addr: 0x1200, want: "from_symtab"},
		{addr: 0x1220, want: ""},
		{addr: 0x1300, want: "last"},
		{addr: 0x13ff, want: "last"},
		{addr: 0x1400, want: ""},
	}
	for _, tt := range tests {
		got := ""
		if i := tab.lookup(tt.addr); i >= 0 {
			got = tab.name(i)
		}
		if got != tt.want {
			t.Errorf("lookup(%#x) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if c := tab.cost(); c < int64(len("__write_startfrom_symtablast")) || c > 1024 {
		t.Errorf("cost %d bytes for 4 symbols", c)
	}
}

func TestSymtabEmpty(t *testing.T) {
	tab := newSymtab(nil, 0)
	if i := tab.lookup(0x1000); i != -1 {
		t.Errorf("lookup in an empty table = %d", i)
	}
}
