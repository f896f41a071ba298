package tally

import (
	"math"
	"reflect"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
)

func ev(ns, pod, sc, errno string, start, finish int64) *event.Event {
	return &event.Event{Syscall: event.Syscall{Name: sc, Class: "FileSystem", Group: "Files"}, Error: errno,
		Start: start, Finish: finish, Node: "n1", Container: &event.Container{Namespace: ns, Pod: pod, Name: "web"}}
}

func TestEventsAndSnapshotsAddUp(t *testing.T) {
	tb := New()
	for i := range 1000 {
		tb.AddEvent(ev("shop", "web-1", "openat", "ENOENT", int64(i)*1e6, int64(i)*1e6+1500))
	}
	for i := range 500 {
		tb.AddEvent(ev("shop", "web-1", "openat", "OK", int64(i)*1e6, int64(i)*1e6+3000))
	}
	tb.AddSnapshot(&event.Snapshot{Node: "n2", From: 1, To: 2e9, Overflow: 7, Rows: []event.Count{
		{Syscall: event.Syscall{Name: "openat"}, Error: "ENOENT", Calls: 10, TimeNs: 100, Hist: []uint64{0, 0, 0, 10}},
		{Syscall: event.Syscall{Name: "openat"}, Error: "ENOENT", Calls: 5, TimeNs: 50, Hist: []uint64{0, 0, 0, 5},
			Container: &event.Container{Namespace: "shop", Pod: "web-2", Name: "web"}},
	}})
	tb.AddNotice(&event.Notice{Kind: event.NoticeLost, Node: "n1", Lost: 3})
	got := map[string]uint64{}
	var hist [event.HistBuckets]uint64
	for _, r := range tb.Totals() {
		got[r.Node+"/"+r.Pod+"/"+r.Syscall+"/"+r.Error] += r.Calls
		if r.Pod == "web-1" && r.Error == "ENOENT" {
			hist = r.Hist
			if r.TimeNs != 1000*1500 {
				t.Errorf("time %d, want %d", r.TimeNs, 1000*1500)
			}
		}
	}
	want := map[string]uint64{"n1/web-1/openat/ENOENT": 1000, "n1/web-1/openat/OK": 500, "n2//openat/ENOENT": 10, "n2/web-2/openat/ENOENT": 5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if hist[10] != 1000 { // 1500 ns is in [1024, 2048)
		t.Errorf("hist %v: want 1000 calls in bucket 10", hist)
	}
	l := tb.Losses()
	if l["n1"].Lost != 3 || l["n2"].Overflow != 7 {
		t.Errorf("losses %+v", l)
	}
	if n := len(tb.TakeInterval()); n != 4 {
		t.Errorf("interval rows %d, want 4", n)
	}
	if n := len(tb.TakeInterval()); n != 0 {
		t.Errorf("second interval has %d rows, want 0", n)
	}
	pts, step := tb.Series()
	var errs, calls uint64
	for _, p := range pts {
		errs += p.Errors["ENOENT"]
		calls += p.Calls
	}
	if errs != 1015 || calls != 1515 || step != 1e9 {
		t.Errorf("series: %d errors, %d calls, step %d", errs, calls, step)
	}
}

func TestSeriesStaysBounded(t *testing.T) {
	tb := New()
	for i := range int64(5000) {
		tb.AddEvent(ev("a", "p", "read", "EAGAIN", i*1e9, i*1e9+1))
	}
	pts, step := tb.Series()
	if len(pts) > maxPoints || step <= 1e9 {
		t.Fatalf("%d points of step %d", len(pts), step)
	}
	var n uint64
	for _, p := range pts {
		n += p.Errors["EAGAIN"]
	}
	if n != 5000 {
		t.Errorf("series holds %d errors, want 5000", n)
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name string
		hist map[int]uint64
		q    float64
		lo   float64
		hi   float64
	}{
		{"empty", nil, 0.5, 0, 0},
		{"one bucket", map[int]uint64{10: 100}, 0.5, 1024, 2048},
		{"p99 in the tail", map[int]uint64{10: 98, 20: 2}, 0.99, 1 << 20, 1 << 21},
		{"p50 below the tail", map[int]uint64{10: 98, 20: 2}, 0.5, 1024, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h [event.HistBuckets]uint64
			for i, n := range tt.hist {
				h[i] = n
			}
			got := Quantile(&h, tt.q)
			if got < tt.lo || got > tt.hi || math.IsNaN(got) {
				t.Errorf("Quantile = %v, want in [%v, %v]", got, tt.lo, tt.hi)
			}
		})
	}
}

func TestHistBucket(t *testing.T) {
	for _, tt := range []struct {
		ns   int64
		want int
	}{{-5, 0}, {0, 0}, {1, 0}, {2, 1}, {3, 1}, {1023, 9}, {1024, 10}, {1 << 40, event.HistBuckets - 1}} {
		if got := event.HistBucket(tt.ns); got != tt.want {
			t.Errorf("HistBucket(%d) = %d, want %d", tt.ns, got, tt.want)
		}
	}
}

// An event's caller is the innermost frame of its own code (past libc), a snapshot row's the agent's; call
// sites of one function count in one row.
func TestCallerKeys(t *testing.T) {
	tb := New()
	libc := stack.Frame{IP: 0x7f0010, Symbol: "__write", Module: "/usr/lib/x86_64-linux-gnu/libc.so.6", ModuleOffset: 0x10}
	for _, ip := range []stack.Addr{0x401010, 0x401020} { // two call sites of flush
		e := ev("shop", "web-1", "write", "OK", 0, 10)
		e.Stack = []stack.Frame{libc, {IP: ip, Symbol: "flush", Offset: uint64(ip - 0x401000), Module: "/app/a", ModuleOffset: uint64(ip - 0x400000)}}
		tb.AddEvent(e)
	}
	tb.AddEvent(ev("shop", "web-1", "write", "OK", 0, 10)) // no stack
	tb.AddSnapshot(&event.Snapshot{Node: "n2", From: 1, To: 2, Rows: []event.Count{
		{Syscall: event.Syscall{Name: "write"}, Error: "OK", Calls: 7, Caller: &stack.Frame{IP: 0x401234, Symbol: "flush", Module: "/app/a"}},
	}})
	got := map[string]uint64{}
	for _, r := range tb.Totals() {
		got[r.Node+" "+r.Caller.Function()] += r.Calls
	}
	want := map[string]uint64{"n1 flush (a)": 2, "n1 0x0": 1, "n2 flush (a)": 7}
	if len(got) != len(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d (all %v)", k, got[k], v, got)
		}
	}
}

// What the incident filters left out is kept by node from the totals of notices and snapshots, apart from losses.
func TestFilteredByNode(t *testing.T) {
	tb := New()
	tb.AddNotice(&event.Notice{Kind: event.NoticeStats, Node: "a", FilteredTotal: 5})
	tb.AddNotice(&event.Notice{Kind: event.NoticeExit, Node: "a", FilteredTotal: 9, LostTotal: 3})
	tb.AddNotice(&event.Notice{Kind: event.NoticeStats, Node: "a", FilteredTotal: 7}) // an older total
	tb.AddNotice(&event.Notice{Kind: event.NoticeLost, Node: "b", Lost: 2, LostTotal: 2})
	tb.AddSnapshot(&event.Snapshot{Node: "c", Filtered: 4, FilteredTotal: 40})
	got := tb.Losses()
	want := map[string]Losses{"a": {Filtered: 9}, "b": {Lost: 2}, "c": {Filtered: 40}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Losses() = %+v, want %+v", got, want)
	}
}

func TestDroppedCallsAcrossAgents(t *testing.T) {
	openat := func(calls, enoent uint64) event.DroppedCall {
		return event.DroppedCall{Syscall: "openat", Calls: calls, Errors: map[string]uint64{"ENOENT": enoent}}
	}
	tests := []struct {
		name    string
		notices []event.Notice
		lost    uint64
		want    []event.DroppedCall
	}{
		{"totals since start: the last one holds", []event.Notice{
			{Lost: 5, LostTotal: 5, DroppedCalls: []event.DroppedCall{openat(5, 1)}},
			{Lost: 4, LostTotal: 9, DroppedCalls: []event.DroppedCall{openat(8, 2), {Syscall: "close", Calls: 1}}},
		}, 9, []event.DroppedCall{openat(8, 2), {Syscall: "close", Calls: 1}}},
		{"a replacement agent starts from 0: its predecessor's are kept", []event.Notice{
			{Lost: 6, LostTotal: 6, DroppedCalls: []event.DroppedCall{openat(6, 6)}},
			{Lost: 3, LostTotal: 3, DroppedCalls: []event.DroppedCall{openat(2, 1), {Syscall: "read", Calls: 1, Unfinished: 1}}},
		}, 9, []event.DroppedCall{openat(8, 7), {Syscall: "read", Calls: 1, Unfinished: 1}}},
		{"an agent that does not say which calls", []event.Notice{{Lost: 2, LostTotal: 2}}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New()
			for i := range tt.notices {
				n := tt.notices[i]
				n.Kind, n.Node = event.NoticeLost, "n1"
				tb.AddNotice(&n)
			}
			l := tb.Losses()["n1"]
			if l.Lost != tt.lost || !reflect.DeepEqual(l.Dropped, tt.want) {
				t.Errorf("losses %d %+v, want %d %+v", l.Lost, l.Dropped, tt.lost, tt.want)
			}
		})
	}
}
