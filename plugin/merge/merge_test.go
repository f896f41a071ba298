package merge

import (
	"math/rand"
	"reflect"
	"sort"
	"strconv"
	"testing"
)

const ms = int64(1e6)

type push struct {
	stream int
	finish int64
	now    int64
}

func collect(m *Merger, now int64) []int64 {
	var out []int64
	m.Ready(now, func(e *Entry) bool {
		out = append(out, e.Finish)
		return true
	})
	return out
}

func TestReadyRules(t *testing.T) {
	tests := []struct {
		name    string
		streams []int
		pushes  []push
		now     int64
		want    []int64
	}{
		{
			name:    "one stream: everything it has passed is released at once",
			streams: []int{0},
			pushes:  []push{{0, 30, 0}, {0, 10, 0}, {0, 20, 0}},
			now:     0,
			want:    []int64{10, 20, 30},
		},
		{
			name:    "two streams: held until the slower one passes",
			streams: []int{0, 1},
			pushes:  []push{{0, 10, 0}, {0, 20, 0}, {0, 40, 0}, {1, 25, 0}},
			now:     0,
			want:    []int64{10, 20, 25}, // 40 waits: stream 1 has only reached 25
		},
		{
			name:    "an idle stream holds back at most the wall window",
			streams: []int{0, 1},
			pushes:  []push{{0, 10, 0}, {0, 20, 0}},
			now:     300 * ms,
			want:    []int64{10, 20},
		},
		{
			name:    "an idle stream within the wall window holds back",
			streams: []int{0, 1},
			pushes:  []push{{0, 10, 0}},
			now:     100 * ms,
			want:    nil,
		},
		{
			name:    "event-time window bounds what is held",
			streams: []int{0, 1},
			pushes:  []push{{0, 1 * ms, 0}, {0, 100 * ms, 0}, {0, 400 * ms, 0}},
			now:     0,
			want:    []int64{1 * ms, 100 * ms}, // both >= 250ms older than the newest
		},
		{
			name:    "a removed stream holds nothing back",
			streams: []int{0},
			pushes:  []push{{0, 10, 0}, {0, 5, 0}},
			now:     0,
			want:    []int64{5, 10},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(250 * ms)
			for _, s := range tc.streams {
				m.AddStream(s)
			}
			for _, p := range tc.pushes {
				m.Push(p.stream, p.finish, nil, p.now)
			}
			got := collect(m, tc.now)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("released %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRemoveStreamReleases(t *testing.T) {
	m := New(250 * ms)
	m.AddStream(0)
	m.AddStream(1)
	m.Push(0, 50, nil, 0)
	if got := collect(m, 0); got != nil {
		t.Fatalf("released %v while stream 1 is silent", got)
	}
	m.RemoveStream(1)
	if got := collect(m, 0); !reflect.DeepEqual(got, []int64{50}) {
		t.Fatalf("after stream 1 ended: %v", got)
	}
}

func TestEmitCanStop(t *testing.T) {
	m := New(250 * ms)
	m.AddStream(0)
	for i := int64(1); i <= 5; i++ {
		m.Push(0, i, nil, 0)
	}
	n := 0
	m.Ready(0, func(*Entry) bool { n++; return n < 2 })
	if n != 2 || m.Len() != 3 {
		t.Fatalf("emitted %d, %d left; want 2 and 3", n, m.Len())
	}
	var rest []int64
	m.Drain(func(e *Entry) bool { rest = append(rest, e.Finish); return true })
	if !reflect.DeepEqual(rest, []int64{3, 4, 5}) {
		t.Fatalf("drain: %v", rest)
	}
}

func TestEqualTimesKeepArrivalOrder(t *testing.T) {
	m := New(250 * ms)
	m.AddStream(0)
	for i := 0; i < 50; i++ {
		m.Push(0, 7, []byte(strconv.Itoa(i)), 0)
	}
	i := 0
	m.Drain(func(e *Entry) bool {
		if string(e.Line) != strconv.Itoa(i) {
			t.Fatalf("entry %d came out as %s", i, e.Line)
		}
		i++
		return true
	})
}

// TestPropertyOrdered: events of several streams, each stream in finish order and each event arriving less
// than half a window after it finished (transport delay), pushed in arrival order and released at random
// moments, come out complete and globally in time order.
func TestPropertyOrdered(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	window := 250 * ms
	for round := 0; round < 300; round++ {
		nStreams := 1 + rng.Intn(4)
		type ev struct {
			stream          int
			finish, arrival int64
		}
		var all []ev
		for s := 0; s < nStreams; s++ {
			n := rng.Intn(300)
			finish, arrival := int64(0), int64(0)
			for i := 0; i < n; i++ {
				finish += int64(rng.Intn(3 * int(ms)))
				a := finish + int64(rng.Intn(int(window/2)))
				if a > arrival {
					arrival = a
				}
				all = append(all, ev{s, finish, arrival})
			}
		}
		sort.SliceStable(all, func(a, b int) bool { return all[a].arrival < all[b].arrival })
		m := New(window)
		for s := 0; s < nStreams; s++ {
			m.AddStream(s)
		}
		var out []int64
		emit := func(e *Entry) bool { out = append(out, e.Finish); return true }
		for _, e := range all {
			m.Push(e.stream, e.finish, nil, e.arrival)
			if rng.Intn(5) == 0 {
				m.Ready(e.arrival, emit)
			}
		}
		for s := 0; s < nStreams; s++ {
			m.RemoveStream(s)
		}
		m.Ready(0, emit)
		if m.Len() != 0 {
			t.Fatalf("round %d: %d entries left after every stream ended", round, m.Len())
		}
		if len(out) != len(all) {
			t.Fatalf("round %d: %d events out, %d in", round, len(out), len(all))
		}
		if !sort.SliceIsSorted(out, func(a, b int) bool { return out[a] < out[b] }) {
			t.Fatalf("round %d: output not in time order", round)
		}
	}
}

func BenchmarkPushReady(b *testing.B) {
	m := New(250 * ms)
	m.AddStream(0)
	m.AddStream(1)
	line := []byte(`{"syscall":{}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t := int64(i) * 10000
		m.Push(i&1, t, line, t)
		if i%64 == 0 {
			m.Ready(t, func(*Entry) bool { return true })
		}
	}
}
