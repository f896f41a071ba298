package grid

import (
	"flag"
	"fmt"
	"testing"
)

func TestPick(t *testing.T) {
	names := []string{"a", "b", "c"}
	for _, c := range []struct {
		name   string
		short  bool
		offset int // where the rotation starts (OffsetEnv)
		names  []string
		keep   []string
		want   string // the picks of three calls in a row
	}{
		{"full", false, 0, names, nil, "[0 1 2] [0 1 2] [0 1 2]"},
		{"full ignores keep", false, 0, names, []string{"c"}, "[0 1 2] [0 1 2] [0 1 2]"},
		{"short rotates", true, 0, names, nil, "[0] [1] [2]"},
		{"short keeps", true, 0, names, []string{"c", "a"}, "[0 2] [0 2] [0 2]"},
		{"short keeps what this kernel has", true, 0, names, []string{"x", "b"}, "[1] [1] [1]"},
		{"short, none of keep here", true, 0, names, []string{"x"}, "[0] [0] [0]"},
		{"one variant", true, 0, []string{"a"}, nil, "[0] [0] [0]"},
		{"short rotates from an offset", true, 4, names, nil, "[1] [2] [0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			setShort(t, c.short)
			next = c.offset
			got := fmt.Sprint(Pick(t, c.names, c.keep...), Pick(t, c.names, c.keep...), Pick(t, c.names, c.keep...))
			if got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func setShort(t *testing.T, v bool) {
	old := flag.Lookup("test.short").Value.String()
	if err := flag.Set("test.short", fmt.Sprint(v)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("test.short", old) })
}
