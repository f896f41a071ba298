package decode

import (
	"bytes"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/render"
	"github.com/swoll-dev/swoll/syscalls"
)

func typicalOpenat(tb testing.TB) *record.Record {
	r := mk(tb, syscalls.AMD64, "openat", 3, uint64(0xffffffffffffff9c), ptr, 0o2000000, 0).
		cap(1, "/usr/share/zoneinfo/Europe/Berlin").target(targetID).r()
	return r
}

func TestAppendJSONDoesNotAllocate(t *testing.T) {
	for _, arch := range syscalls.Arches {
		d := New(testOptions(arch))
		d.SetTarget(targetID, testTarget())
		buf := make([]byte, 0, 64<<10)
		for _, c := range goldenCases(t, arch) {
			if c.name == "restart" || c.name == "unknown_nr" {
				continue // kernel-internal errno and unknown numbers may format a name on the fly
			}
			allocs := testing.AllocsPerRun(100, func() { buf = d.AppendJSON(buf[:0], c.rec) })
			if allocs != 0 {
				t.Errorf("%s/%s: %v allocations per event, want 0", arch, c.name, allocs)
			}
		}
	}
}

func TestAppendCLIDoesNotAllocate(t *testing.T) {
	d := New(testOptions(syscalls.AMD64))
	d.SetTarget(targetID, testTarget())
	rec := typicalOpenat(t)
	buf := make([]byte, 0, 4096)
	buf = d.AppendCLI(buf[:0], rec)
	if allocs := testing.AllocsPerRun(100, func() { buf = d.AppendCLI(buf[:0], rec) }); allocs != 0 {
		t.Errorf("%v allocations per CLI line, want 0", allocs)
	}
}

func TestSetTargetReplacesAndRemoves(t *testing.T) {
	d := New(testOptions(syscalls.AMD64))
	rec := typicalOpenat(t)
	var e struct {
		Container *struct{ Pod string } `json:"container"`
		Node      string                `json:"node"`
	}
	decodeLine := func() {
		t.Helper()
		e.Container = nil
		if err := json.Unmarshal(d.AppendJSON(nil, rec), &e); err != nil {
			t.Fatal(err)
		}
	}
	decodeLine()
	if e.Container != nil || e.Node != "node-1" {
		t.Fatalf("unknown target: container %+v node %q", e.Container, e.Node)
	}
	tg := testTarget()
	d.SetTarget(targetID, tg)
	tg.Pod = "changed-after-set" // the decoder must have copied what it stamps
	decodeLine()
	if e.Container == nil || e.Container.Pod != "web-7d9f" {
		t.Fatalf("container %+v, want pod web-7d9f", e.Container)
	}
	d.SetTarget(targetID, tg)
	decodeLine()
	if e.Container.Pod != "changed-after-set" {
		t.Fatalf("replaced target: pod %q", e.Container.Pod)
	}
	d.RemoveTarget(targetID)
	decodeLine()
	if e.Container != nil {
		t.Fatalf("removed target still stamped: %+v", e.Container)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	benchmarkJSON(b, []*record.Record{typicalOpenat(b)})
}

// benchmarkJSON renders recs in turn, one event per iteration.
func benchmarkJSON(b *testing.B, recs []*record.Record) {
	d := New(testOptions(syscalls.AMD64))
	d.SetTarget(targetID, testTarget())
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		buf = d.AppendJSON(buf[:0], recs[i])
		if i++; i == len(recs) {
			i = 0
		}
	}
	cpu := cpuTime() - cpu0
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// On a shared machine the wall clock counts the time other processes held the CPU; the CPU time this
	// process used is what one core's throughput is.
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// commonCalls is a mix of the calls a busy service makes most, with what the probe captures for each.
func commonCalls(tb testing.TB) []*record.Record {
	u := func(v int64) uint64 { return uint64(v) }
	return []*record.Record{
		typicalOpenat(tb),
		mk(tb, syscalls.AMD64, "read", 512, 7, ptr, 4096).target(targetID).r(),
		mk(tb, syscalls.AMD64, "write", 64, 1, ptr, 64).target(targetID).r(),
		mk(tb, syscalls.AMD64, "close", 0, 7).target(targetID).r(),
		mk(tb, syscalls.AMD64, "fstat", 0, 7, ptr).cap(1, statBuf(syscalls.AMD64, 0o100644, 4242)).target(targetID).r(),
		mk(tb, syscalls.AMD64, "mmap", 0x7f0000001000, 0, 8192, 3, 0x22, u(-1), 0).target(targetID).r(),
		mk(tb, syscalls.AMD64, "futex", 0, ptr, 128, 2, 0, 0, 0).target(targetID).r(),
		mk(tb, syscalls.AMD64, "epoll_wait", 1, 5, ptr, 128, 1000).cap(1, epollEvents(syscalls.AMD64, 1, 5)).target(targetID).r(),
		mk(tb, syscalls.AMD64, "clock_gettime", 0, 1, ptr).cap(1, u64s(12, 34)).target(targetID).r(),
		mk(tb, syscalls.AMD64, "rt_sigprocmask", 0, 0, ptr, ptr+8, 8).cap(1, u64s(1<<14)).cap(2, u64s(0)).target(targetID).r(),
		mk(tb, syscalls.AMD64, "connect", -115, 3, ptr, 16).cap(1, sockaddrIn(443, 10, 0, 0, 1)).target(targetID).r(),
		mk(tb, syscalls.AMD64, "sendto", 5, 3, ptr, 5, 0x4000, 0, 0).target(targetID).r(),
	}
}

// BenchmarkAppendJSONCommon renders the mix of commonCalls, one event per iteration.
func BenchmarkAppendJSONCommon(b *testing.B) {
	benchmarkJSON(b, commonCalls(b))
}

func BenchmarkAppendCLI(b *testing.B) {
	d := New(testOptions(syscalls.AMD64))
	d.SetTarget(targetID, testTarget())
	rec := typicalOpenat(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.AppendCLI(buf[:0], rec)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// FuzzAppendJSON: whatever the probe hands over, the line is one valid JSON object that decodes into an
// event.Event, and the CLI rendering of it does not panic.
func FuzzAppendJSON(f *testing.F) {
	f.Add(uint32(257), int64(-2), uint64(0xffffffffffffff9c), uint64(1), uint64(0o2000000), uint64(0o644), uint64(0), uint64(0),
		[]byte("/etc/\xff\x00x"), uint8(0x0f), []byte("curl\xfe"))
	f.Add(uint32(42), int64(0), uint64(3), uint64(1), uint64(16), uint64(0), uint64(0), uint64(0),
		[]byte("\x0a\x00\x01\xbb\x00\x00\x00\x00\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00"), uint8(0x3f), []byte("x"))
	f.Add(uint32(59), int64(0), uint64(1), uint64(1), uint64(1), uint64(0), uint64(0), uint64(0),
		[]byte("a\x00b\x00\"\\\n"), uint8(0x3f), []byte{})
	f.Add(uint32(435), int64(0), uint64(1), uint64(88), uint64(1), uint64(0), uint64(0), uint64(0),
		[]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"), uint8(0x15), []byte{})
	decoders := map[syscalls.Arch]*Decoder{}
	for _, arch := range syscalls.Arches {
		d := New(testOptions(arch))
		d.SetTarget(targetID, testTarget())
		decoders[arch] = d
	}
	f.Fuzz(func(t *testing.T, nr uint32, ret int64, a0, a1, a2, a3, a4, a5 uint64, data []byte, capMask uint8, comm []byte) {
		rec := &record.Record{Nr: nr % 600, Ret: ret, Args: [6]uint64{a0, a1, a2, a3, a4, a5}, TargetID: uint32(capMask>>6) + targetID - 1}
		copy(rec.Comm[:], comm)
		for i := range rec.Captures {
			if capMask&(1<<i) != 0 {
				rec.Captures[i] = record.Capture{Present: true, Data: data, Truncated: ret&1 == 1, Faulted: ret&2 == 2 && i == 5}
			}
		}
		for arch, d := range decoders {
			line := d.AppendJSON(nil, rec)
			checkJSONLine(t, string(arch), line)
			var e event.Event
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatal(err)
			}
			if agent, plugin := d.AppendCLI(nil, rec), render.AppendEvent(nil, &e); !bytes.Equal(agent, plugin) {
				t.Fatalf("%s: agent and plugin CLI lines differ:\nagent  %q\nplugin %q\nfrom %s", arch, agent, plugin, line)
			}
		}
	})
}

func TestNamespacesFollowEachRecord(t *testing.T) {
	d := New(testOptions(syscalls.AMD64))
	a, b := typicalOpenat(t), typicalOpenat(t)
	b.PidNS, b.UtsNS, b.MntNS = 1, 2, 3
	for i, rec := range []*record.Record{a, b, b, a, b} {
		var e event.Event
		if err := json.Unmarshal(d.AppendJSON(nil, rec), &e); err != nil {
			t.Fatal(err)
		}
		if e.PidNS != rec.PidNS || e.UtsNS != rec.UtsNS || e.MountNS != rec.MntNS {
			t.Errorf("event %d: namespaces %d/%d/%d, want %d/%d/%d", i, e.PidNS, e.UtsNS, e.MountNS, rec.PidNS, rec.UtsNS, rec.MntNS)
		}
	}
}

func TestJSONEscapesTerminalControls(t *testing.T) {
	got := string(appendJSONString(nil, []byte("a\u009b2Jb\u202egnp\u2066x\u2069 ü✓\xff")))
	want := `"a\u009b2Jb\u202egnp\u2066x\u2069 ü✓\ufffd"`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
