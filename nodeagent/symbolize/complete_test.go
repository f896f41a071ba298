//go:build linux

package symbolize

import (
	"reflect"
	"testing"
)

func TestTrimWalk(t *testing.T) {
	for _, tt := range []struct {
		in   []uint64
		want []uint64
		cut  bool
	}{
		{nil, nil, false},
		{[]uint64{0x7f0010, 0x401000}, []uint64{0x7f0010, 0x401000}, false},
		{[]uint64{0x7f0010, 0}, []uint64{0x7f0010}, true},
		{[]uint64{0x7f0010, 0x10, 0x401000}, []uint64{0x7f0010}, true},
		{[]uint64{0x47b5e1, 0x2f3a70747468006c}, []uint64{0x47b5e1}, true}, // "l\x00http:/": a string, not code
		{[]uint64{0x7ffff7dd1000, 0x00ff_ffff_ffff_f000}, []uint64{0x7ffff7dd1000, 0x00ff_ffff_ffff_f000}, false},
	} {
		got, cut := TrimWalk(tt.in)
		if !reflect.DeepEqual(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) || cut != tt.cut {
			t.Errorf("TrimWalk(%#x) = %#x, %v; want %#x, %v", tt.in, got, cut, tt.want, tt.cut)
		}
	}
}
