//go:build linux

package tracer

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"unsafe"
)

// fakeRing lays out a ring like the kernel's mapping, in plain memory: positions in their own words, the data
// twice in a row.
type fakeRing struct {
	r    *ringReader
	prod uint64 // where the next record goes
}

func newFakeRing(size int) *fakeRing {
	words := make([]uint64, 2) // aligned positions: consumer, producer
	data := make([]byte, 2*size)
	return &fakeRing{r: &ringReader{
		cons: unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 8),
		prod: unsafe.Slice((*byte)(unsafe.Pointer(&words[1])), 8),
		data: data,
		mask: uint64(size - 1),
		size: size,
	}}
}

// put appends a record with the given header flag bits and publishes it.
func (f *fakeRing) put(payload string, flags uint32) {
	var rec []byte
	rec = binary.LittleEndian.AppendUint32(rec, uint32(len(payload))|flags)
	rec = binary.LittleEndian.AppendUint32(rec, 0)
	rec = append(rec, payload...)
	for len(rec)%8 != 0 {
		rec = append(rec, 0)
	}
	size := uint64(f.r.size)
	for i, b := range rec {
		off := (f.prod + uint64(i)) & f.r.mask
		f.r.data[off], f.r.data[off+size] = b, b
	}
	f.prod += uint64(len(rec))
	*f.r.prodPos() = f.prod
}

func TestRingConsume(t *testing.T) {
	tests := []struct {
		name        string
		skip        int // bytes the ring has already been through: records wrap around its end
		records     []string
		flags       []uint32
		limit       int
		stopAt      string
		want        []string
		wantBusy    bool
		wantStopped bool
		wantLeft    int // records still to consume
	}{
		{name: "all", records: []string{"a", "bcdefghij"}, want: []string{"a", "bcdefghij"}},
		{name: "wraps", skip: 56, records: []string{"abcdefghijkl", "m"}, want: []string{"abcdefghijkl", "m"}},
		{name: "limit", records: []string{"a", "b", "c"}, limit: 2, want: []string{"a", "b"}, wantLeft: 1},
		{name: "stops at a busy record", records: []string{"a", "b"}, flags: []uint32{0, ringBusyBit},
			want: []string{"a"}, wantBusy: true, wantLeft: 1},
		{name: "skips discarded", records: []string{"a", "b", "c"}, flags: []uint32{0, ringDiscardBit, 0},
			want: []string{"a", "c"}},
		{name: "fn stops", records: []string{"a", "b", "c"}, stopAt: "b", want: []string{"a", "b"},
			wantStopped: true, wantLeft: 1},
		{name: "empty", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRing(64)
			f.prod = uint64(tt.skip)
			*f.r.consPos() = f.prod
			for i, rec := range tt.records {
				var flags uint32
				if i < len(tt.flags) {
					flags = tt.flags[i]
				}
				f.put(rec, flags)
			}
			limit := tt.limit
			if limit == 0 {
				limit = 100
			}
			var got []string
			n, busy, stopped, err := f.r.consume(limit, func(s []byte) bool {
				got = append(got, string(s))
				return string(s) != tt.stopAt
			})
			if err != nil {
				t.Fatalf("consume: %v", err)
			}
			if !slices.Equal(got, tt.want) || n != len(tt.want) {
				t.Errorf("consumed %q (n=%d), want %q", got, n, tt.want)
			}
			if busy != tt.wantBusy || stopped != tt.wantStopped {
				t.Errorf("busy=%v stopped=%v, want %v %v", busy, stopped, tt.wantBusy, tt.wantStopped)
			}
			// What is left is handed out by the next call, and only that: the position was published.
			var left int
			_, _, _, _ = f.r.consume(100, func([]byte) bool { left++; return true })
			if left != tt.wantLeft && !tt.wantBusy {
				t.Errorf("%d records left, want %d", left, tt.wantLeft)
			}
			if tt.wantBusy && left != 0 {
				t.Errorf("a busy record was handed out")
			}
		})
	}
}

func TestRingConsumeRejectsOverlongRecord(t *testing.T) {
	f := newFakeRing(64)
	f.put("a", 0)
	binary.LittleEndian.PutUint32(f.r.data[0:], 200) // longer than the ring
	_, _, _, err := f.r.consume(10, func([]byte) bool { return true })
	if !errors.Is(err, errRingCorrupt) {
		t.Fatalf("consume of an overlong record: err %v, want errRingCorrupt", err)
	}
}
