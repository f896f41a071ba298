package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

type testCap struct {
	arg, flags byte
	data       string
}

// build lays a record out the way bpf/probe.c does.
func build(nr uint32, ret int64, caps ...testCap) []byte {
	b := make([]byte, HeaderSize)
	le.PutUint32(b[offNr:], nr)
	le.PutUint32(b[offTarget:], 7)
	le.PutUint64(b[offRet:], uint64(ret))
	for i := 0; i < MaxArgs; i++ {
		le.PutUint64(b[offArgs+8*i:], uint64(100+i))
	}
	le.PutUint64(b[offStart:], 1000)
	le.PutUint64(b[offFinish:], 2000)
	for i, v := range []uint32{11, 12, 13, 14, 15, 16, 17, 18} {
		le.PutUint32(b[offPid+4*i:], v)
	}
	le.PutUint64(b[offCgroup:], 0x1234_5678_9abc)
	copy(b[offComm:], "cat")
	le.PutUint16(b[offNCaps:], uint16(len(caps)))
	for _, c := range caps {
		b = append(b, c.arg, c.flags, 0, 0)
		binary.LittleEndian.PutUint16(b[len(b)-2:], uint16(len(c.data)))
		b = append(b, c.data...)
	}
	le.PutUint32(b[offSize:], uint32(len(b)))
	return b
}

func TestParse(t *testing.T) {
	b := build(257, -2, testCap{1, 0, "/etc/hostname"}, testCap{3, capFaulted | capTruncated, ""})
	b = append(b, 0, 0, 0, 0) // ring padding after the record
	var r Record
	r.Captures[5].Present = true // stale state from a previous record must be cleared
	if err := Parse(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Nr != 257 || r.TargetID != 7 || r.Ret != -2 || r.Args[5] != 105 || r.Start != 1000 || r.Finish != 2000 {
		t.Errorf("header fields: %+v", r)
	}
	if r.Pid != 11 || r.Tid != 12 || r.NsPid != 13 || r.UID != 14 || r.GID != 15 || r.PidNS != 16 ||
		r.UtsNS != 17 || r.MntNS != 18 || r.Cgroup != 0x1234_5678_9abc {
		t.Errorf("ids: %+v", r)
	}
	if got := r.CommString(); got != "cat" {
		t.Errorf("comm %q", got)
	}
	if c := r.Captures[1]; !c.Present || c.Faulted || c.Truncated || string(c.Data) != "/etc/hostname" {
		t.Errorf("capture 1: %+v", c)
	}
	if c := r.Captures[3]; !c.Present || !c.Faulted || !c.Truncated || len(c.Data) != 0 {
		t.Errorf("capture 3: %+v", c)
	}
	for _, i := range []int{0, 2, 4, 5} {
		if r.Captures[i].Present {
			t.Errorf("capture %d present", i)
		}
	}
}

// ips lays out instruction pointers as a stack capture's data.
func ips(v ...uint64) string {
	b := make([]byte, 0, 8*len(v))
	for _, ip := range v {
		b = le.AppendUint64(b, ip)
	}
	return string(b)
}

func TestParseStacks(t *testing.T) {
	tests := []struct {
		name       string
		caps       []testCap
		user, kern []uint64
		userTrunc  bool
	}{
		{name: "none", caps: []testCap{{1, 0, "/etc/hostname"}}},
		{name: "user", caps: []testCap{{capArgUserStack, 0, ips(0x7f0010, 0x401000)}, {1, 0, "/x"}},
			user: []uint64{0x7f0010, 0x401000}},
		{name: "user cut and kernel", caps: []testCap{{capArgUserStack, capTruncated, ips(1, 2, 3)},
			{capArgKernelStack, 0, ips(0xffffffff81000010)}},
			user: []uint64{1, 2, 3}, userTrunc: true, kern: []uint64{0xffffffff81000010}},
		{name: "a partial word is dropped", caps: []testCap{{capArgUserStack, 0, ips(9) + "abc"}}, user: []uint64{9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			r.UserStack = Stack{Truncated: true, Data: []byte(ips(42))} // stale, from a previous record
			if err := Parse(build(0, 0, tt.caps...), &r); err != nil {
				t.Fatal(err)
			}
			if got := r.UserStack.AppendIPs(nil); !equal(got, tt.user) || r.UserStack.Truncated != tt.userTrunc {
				t.Errorf("user stack %#x (truncated %v), want %#x (%v)", got, r.UserStack.Truncated, tt.user, tt.userTrunc)
			}
			if got := r.KernelStack.AppendIPs(nil); !equal(got, tt.kern) {
				t.Errorf("kernel stack %#x, want %#x", got, tt.kern)
			}
			if r.UserStack.Len() != len(tt.user) {
				t.Errorf("Len %d, want %d", r.UserStack.Len(), len(tt.user))
			}
		})
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseRejects(t *testing.T) {
	good := build(1, 0, testCap{0, 0, "abc"})
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"short header", good[:HeaderSize-1], ErrShort},
		{"truncated sample", good[:len(good)-1], ErrSize},
		{"size below header", func() []byte {
			b := bytes.Clone(good)
			le.PutUint32(b[offSize:], 3)
			return b
		}(), ErrSize},
		{"capture past end", func() []byte {
			b := bytes.Clone(good)
			le.PutUint16(b[HeaderSize+2:], 4)
			return b
		}(), ErrCapture},
		{"more captures than bytes", func() []byte {
			b := bytes.Clone(good)
			le.PutUint16(b[offNCaps:], 2)
			return b
		}(), ErrCapture},
		{"argument out of range", func() []byte {
			b := bytes.Clone(good)
			b[HeaderSize] = MaxArgs
			return b
		}(), ErrCaptureArg},
		{"argument between the call's and the stacks'", func() []byte {
			b := bytes.Clone(good)
			b[HeaderSize] = capArgUserStack - 1
			return b
		}(), ErrCaptureArg},
		{"argument past the stacks'", func() []byte {
			b := bytes.Clone(good)
			b[HeaderSize] = capArgKernelStack + 1
			return b
		}(), ErrCaptureArg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			if err := Parse(tt.b, &r); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	b := build(257, 3, testCap{1, 0, "/etc/hostname"})
	var r Record
	if n := testing.AllocsPerRun(100, func() { _ = Parse(b, &r) }); n != 0 {
		t.Fatalf("Parse allocates %.0f times per call", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(build(1, 0))
	f.Add(build(257, -2, testCap{1, 0, "/etc/hostname"}, testCap{3, 3, ""}))
	f.Add(build(59, 0, testCap{0, 0, "/bin/sh"}, testCap{1, 2, "sh\x00-c\x00"}))
	f.Add(build(0, 0, testCap{capArgUserStack, capTruncated, ips(1, 2)}, testCap{capArgKernelStack, 0, ips(3)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := Parse(b, &r); err != nil {
			return
		}
		for i, c := range r.Captures {
			if !c.Present && c.Data != nil {
				t.Fatalf("capture %d has data but is not present", i)
			}
			if len(c.Data) > len(b) {
				t.Fatalf("capture %d longer than the sample", i)
			}
		}
		for _, st := range []Stack{r.UserStack, r.KernelStack} {
			if len(st.Data)%8 != 0 || len(st.Data) > len(b) {
				t.Fatalf("stack of %d bytes from a sample of %d", len(st.Data), len(b))
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	sample := build(257, 3, testCap{1, 0, "/etc/hostname"})
	var r Record
	b.ReportAllocs()
	b.SetBytes(int64(len(sample)))
	for b.Loop() {
		if err := Parse(sample, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// A record with -y's fd descriptions and -k's stacks: the last fd slot (the pair's second fd) and the stacks'
// capture numbers are apart, and each lands in its own field.
func TestParseStacksBesideFds(t *testing.T) {
	fd := string(make([]byte, fdInfoSize)) + "pipe:[7]"
	last := fdSlotBase + FdSlots - 1
	var r Record
	err := Parse(build(0, 0, testCap{uint8(last), 0, fd}, testCap{capArgUserStack, 0, ips(0x401000)},
		testCap{capArgKernelStack, 0, ips(0xffffffff81000010)}), &r)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Fds[FdSlots-1]; !f.Present || string(f.Data) != "pipe:[7]" {
		t.Errorf("fd slot %d: %+v", last, f)
	}
	if got := r.UserStack.AppendIPs(nil); !equal(got, []uint64{0x401000}) {
		t.Errorf("user stack %#x", got)
	}
	if got := r.KernelStack.AppendIPs(nil); !equal(got, []uint64{0xffffffff81000010}) {
		t.Errorf("kernel stack %#x", got)
	}
}
