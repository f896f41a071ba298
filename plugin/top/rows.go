// Package top shows counting mode live: per pod, container and system call (optionally per errno), calls and
// errors per second and p50/p99 latency of the last interval. Three displays: a refreshing terminal table
// (bubbletea; keys sort and filter, q or Ctrl-C ends the session), plain periodic tables for pipes and
// --no-ui, and one merged JSON snapshot line per interval (-o json).
package top

import (
	"sort"
	"strings"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/plugin/tally"
)

// Row is one line of the table.
type Row struct {
	Namespace, Pod, Container, Syscall string
	// Error is the errno of a row split by errno; otherwise the most frequent error of the row ("" if none).
	Error        string
	CallsPerSec  float64
	ErrorsPerSec float64
	P50, P99     time.Duration
	Calls        uint64 // in the interval
	Errors       uint64
	// Caller is the calling function (top --by caller: stack.Frame.Function), "" when not counted by caller
	// or unknown.
	Caller string
}

// Sort orders.
const (
	ByCalls  = "calls"
	ByErrors = "errors"
	ByP99    = "p99"
	ByName   = "name"
)

// Frame is what one refresh shows.
type Frame struct {
	Time     time.Time
	Interval time.Duration
	Rows     []Row
	// Status is a line about the session (agents, losses); it comes from the cluster and is escaped when shown.
	Status string
}

type rowKey struct{ ns, pod, container, syscall, errno, caller string }

type acc struct {
	stat   tally.Stat
	errors uint64
	byErr  map[string]uint64
}

// Rows turns an interval's counts into table rows: merged across nodes, per errno when split is set.
func Rows(in []tally.Row, interval time.Duration, split bool) []Row {
	m := map[rowKey]*acc{}
	for _, r := range in {
		k := rowKey{r.Namespace, r.Pod, r.Container, r.Syscall, "", ""}
		if r.Caller != (stack.Frame{}) {
			k.caller = r.Caller.Function()
		}
		if split {
			k.errno = r.Error
		}
		a, ok := m[k]
		if !ok {
			a = &acc{byErr: map[string]uint64{}}
			m[k] = a
		}
		a.stat.Add(&r.Stat)
		if r.Failed() {
			a.errors += r.Calls
			a.byErr[r.Error] += r.Calls
		}
	}
	secs := interval.Seconds()
	if secs <= 0 {
		secs = 1
	}
	out := make([]Row, 0, len(m))
	for k, a := range m {
		row := Row{Namespace: k.ns, Pod: k.pod, Container: k.container, Syscall: k.syscall, Error: k.errno,
			CallsPerSec: float64(a.stat.Calls) / secs, ErrorsPerSec: float64(a.errors) / secs,
			P50: time.Duration(tally.Quantile(&a.stat.Hist, 0.5)), P99: time.Duration(tally.Quantile(&a.stat.Hist, 0.99)),
			Calls: a.stat.Calls, Errors: a.errors, Caller: k.caller}
		if !split {
			row.Error = topError(a.byErr)
		}
		out = append(out, row)
	}
	SortRows(out, ByCalls)
	return out
}

func topError(m map[string]uint64) string {
	best, n := "", uint64(0)
	for e, c := range m {
		if c > n || (c == n && e < best) {
			best, n = e, c
		}
	}
	return best
}

// SortRows sorts in place by one of the sort orders (largest first; by name alphabetically).
func SortRows(rows []Row, by string) {
	name := func(r Row) string {
		return r.Namespace + "/" + r.Pod + "/" + r.Container + "/" + r.Syscall + "/" + r.Error + "/" + r.Caller
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch by {
		case ByErrors:
			if a.ErrorsPerSec != b.ErrorsPerSec {
				return a.ErrorsPerSec > b.ErrorsPerSec
			}
		case ByP99:
			if a.P99 != b.P99 {
				return a.P99 > b.P99
			}
		case ByName:
		default:
			if a.CallsPerSec != b.CallsPerSec {
				return a.CallsPerSec > b.CallsPerSec
			}
		}
		return name(a) < name(b)
	})
}

// Filter keeps the rows whose pod, container, system call, error or caller contains s (case-insensitive).
func Filter(rows []Row, s string) []Row {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return rows
	}
	var out []Row
	for _, r := range rows {
		hay := strings.ToLower(r.Namespace + "/" + r.Pod + " " + r.Container + " " + r.Syscall + " " + r.Error + " " + r.Caller)
		if strings.Contains(hay, s) {
			out = append(out, r)
		}
	}
	return out
}

// Snapshot merges an interval's counts into one snapshot (-o json): rows carry their node.
func Snapshot(in []tally.Row, from, to time.Time, overflow uint64) *event.Snapshot {
	s := &event.Snapshot{From: from.UnixNano(), To: to.UnixNano(), Rows: make([]event.Count, 0, len(in)), Overflow: overflow}
	for _, r := range in {
		c := event.Count{Syscall: event.Syscall{Name: r.Syscall, Class: r.Class, Group: r.Group}, Error: r.Error,
			Node: r.Node, Calls: r.Calls, TimeNs: r.TimeNs, Hist: event.TrimHist(append([]uint64(nil), r.Hist[:]...))}
		if r.Pod != "" || r.Namespace != "" || r.Container != "" {
			c.Container = &event.Container{Namespace: r.Namespace, Pod: r.Pod, Name: r.Container}
		}
		if r.Caller != (stack.Frame{}) {
			caller := r.Caller
			c.Caller = &caller
		}
		s.Rows = append(s.Rows, c)
	}
	return s
}
