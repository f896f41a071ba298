package top

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/plugin/tally"
)

func rows() []tally.Row {
	r := func(node, pod, sc, errno string, calls uint64, bucket int) tally.Row {
		row := tally.Row{Key: tally.Key{Node: node, Namespace: "ns", Pod: pod, Container: "web", Syscall: sc, Error: errno},
			Stat: tally.Stat{Calls: calls, TimeNs: calls * 1000}}
		row.Hist[bucket] = calls
		return row
	}
	return []tally.Row{
		r("n1", "web-1", "openat", "ENOENT", 30, 10),
		r("n1", "web-1", "openat", "OK", 10, 12),
		r("n2", "web-2", "read", "OK", 100, 8),
		r("n2", "web-2\x1b[31m", "read", "EAGAIN", 4, 8),
	}
}

func TestRows(t *testing.T) {
	tests := []struct {
		name  string
		split bool
		want  map[string][2]float64 // pod/syscall/error -> calls/s, errors/s
	}{
		{"merged", false, map[string][2]float64{"web-1/openat/ENOENT": {20, 15}, "web-2/read/": {50, 0}, "web-2\x1b[31m/read/EAGAIN": {2, 2}}},
		{"per errno", true, map[string][2]float64{"web-1/openat/ENOENT": {15, 15}, "web-1/openat/OK": {5, 0}, "web-2/read/OK": {50, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string][2]float64{}
			for _, r := range Rows(rows(), 2*time.Second, tt.split) {
				got[r.Pod+"/"+r.Syscall+"/"+r.Error] = [2]float64{r.CallsPerSec, r.ErrorsPerSec}
				if r.P50 == 0 || r.P99 < r.P50 {
					t.Errorf("%+v: quantiles", r)
				}
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%q = %v, want %v (all %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestSortFilterAndPlain(t *testing.T) {
	r := Rows(rows(), time.Second, true)
	SortRows(r, ByErrors)
	if r[0].Error != "ENOENT" {
		t.Errorf("by errors: first %+v", r[0])
	}
	if f := Filter(r, "EAGAIN"); len(f) != 1 {
		t.Errorf("filter EAGAIN: %v", f)
	}
	var b bytes.Buffer
	if err := (&Plain{W: &b, MaxRows: 2}).Show(Frame{Time: time.Unix(0, 0), Interval: time.Second, Rows: r, Status: "ok\x1b[2J"}, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") || !strings.Contains(out, "(2 more rows)") || !strings.Contains(out, "CALLS/S") {
		t.Errorf("plain table:\n%s", out)
	}
}

func TestSnapshotKeepsTotals(t *testing.T) {
	s := Snapshot(rows(), time.Unix(1, 0), time.Unix(2, 0), 5)
	var calls uint64
	for _, c := range s.Rows {
		calls += c.Calls
		if c.Node == "" || c.Container == nil {
			t.Errorf("row without node or container: %+v", c)
		}
	}
	if calls != 144 || s.Overflow != 5 || s.To != 2e9 {
		t.Errorf("snapshot: %d calls, %+v", calls, s)
	}
	var b bytes.Buffer
	if err := (&JSON{W: &b}).Show(Frame{}, s); err != nil || !strings.HasPrefix(b.String(), event.SnapshotPrefix) {
		t.Errorf("json line %q: %v", b.String(), err)
	}
}

// By caller, rows split by the function that made the calls; the table gets a CALLER column ("?" for an
// unknown caller), and the merged snapshot keeps each row's caller.
func TestRowsByCaller(t *testing.T) {
	in := rows()[:2]
	in[0].Caller = stack.Frame{Symbol: "main.loadConfig", Module: "/app/server"}
	in = append(in, in[0])
	in[2].Caller = stack.Frame{Symbol: "main.serve", Module: "/app/server"}
	r := Rows(in, time.Second, false)
	got := map[string]float64{}
	for _, row := range r {
		got[row.Syscall+" "+row.Caller] = row.CallsPerSec
	}
	want := map[string]float64{"openat main.loadConfig (server)": 30, "openat main.serve (server)": 30, "openat ": 10}
	if len(got) != len(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q: %v calls/s, want %v (all %v)", k, got[k], v, got)
		}
	}
	if f := Filter(r, "loadconfig"); len(f) != 1 {
		t.Errorf("filter by caller: %v", f)
	}
	var b bytes.Buffer
	if err := (&Plain{W: &b}).Show(Frame{Time: time.Unix(0, 0), Interval: time.Second, Rows: r}, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasSuffix(lines[1], "ERROR             CALLER") || !strings.Contains(b.String(), "  main.loadConfig (server)\n") ||
		!strings.HasSuffix(lines[len(lines)-2], " ?") {
		t.Errorf("plain table:\n%s", b.String())
	}
	s := Snapshot(in, time.Unix(1, 0), time.Unix(2, 0), 0)
	if s.Rows[0].Caller == nil || s.Rows[0].Caller.Symbol != "main.loadConfig" || s.Rows[1].Caller != nil {
		t.Errorf("snapshot rows %+v", s.Rows)
	}
}
