// Package tally aggregates system-call counts: from the agents' snapshot lines (counting mode), from event
// lines (tracing mode, --summary and --metrics-addr) or from a recording. It is what the summary, the top
// view, the Prometheus exporter and the chart page read. A Table is safe for concurrent use.
package tally

import (
	"sort"
	"sync"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
)

// Key identifies one row: one system call with one result by one container.
type Key struct {
	Node      string
	Namespace string
	Pod       string
	Container string
	Syscall   string // without "sys_"
	Class     string
	Group     string
	Error     string // errno name or "OK"
	// Caller is the calling function (trace -k's stacks, top --by caller's rows; the zero Frame when unknown):
	// its symbol and module, or its module and offset when it has no symbol (FunctionOf).
	Caller stack.Frame
}

// FunctionOf is f with only what names its function: the symbol and module, the module and the offset
// in it when no symbol covers it, the address when it lies in no module. The call sites of one function then
// count in one row.
func FunctionOf(f *stack.Frame) stack.Frame {
	switch {
	case f == nil:
		return stack.Frame{}
	case f.Symbol != "":
		return stack.Frame{Symbol: f.Symbol, Module: f.Module}
	case f.Module != "":
		return stack.Frame{Module: f.Module, ModuleOffset: f.ModuleOffset}
	default:
		return stack.Frame{IP: f.IP}
	}
}

// Failed tells an error row from a success.
func (k Key) Failed() bool { return k.Error != "OK" && k.Error != "" }

// Stat is what a row counts.
type Stat struct {
	Calls  uint64
	TimeNs uint64
	Hist   [event.HistBuckets]uint64
}

// Add adds o to s.
func (s *Stat) Add(o *Stat) {
	s.Calls += o.Calls
	s.TimeNs += o.TimeNs
	for i, n := range o.Hist {
		s.Hist[i] += n
	}
}

func (s *Stat) addCount(c *event.Count) {
	s.Calls += c.Calls
	s.TimeNs += c.TimeNs
	for i, n := range c.Hist {
		if i < len(s.Hist) {
			s.Hist[i] += n
		}
	}
}

// Row is a key and its counts.
type Row struct {
	Key
	Stat
}

// Point is one step of the time series: the calls that finished in [Time, Time+Step) nanoseconds.
type Point struct {
	Time   int64
	Calls  uint64
	Errors map[string]uint64 // by errno name
}

const (
	// maxPoints bounds the time series: past it, the step doubles and neighbours merge.
	maxPoints = 720
	firstStep = int64(1e9)
)

// Table holds totals since it was made, the counts of the current interval (for rates), a time series of
// errors and the losses reported per node.
type Table struct {
	mu       sync.Mutex
	totals   map[Key]*Stat
	interval map[Key]*Stat
	series   map[int64]*Point // by Time
	step     int64
	lost     map[string]uint64 // events the kernel dropped, by node (tracing mode)
	dropped  map[string]*droppedCalls
	overflow map[string]uint64 // calls not counted because the kernel's table was full, by node
	filtered map[string]uint64 // calls the incident filters left out in the kernel, by node (totals)
	first    int64
	last     int64
}

// New returns an empty table.
func New() *Table {
	return &Table{
		totals:   map[Key]*Stat{},
		interval: map[Key]*Stat{},
		series:   map[int64]*Point{},
		step:     firstStep,
		lost:     map[string]uint64{},
		dropped:  map[string]*droppedCalls{},
		overflow: map[string]uint64{},
		filtered: map[string]uint64{},
	}
}

// droppedCalls are the calls whose events one node's kernel dropped: the totals its agents said, each since it
// started (event.Notice.DroppedCalls); an agent that replaced another starts again from 0 (its LostTotal is
// below the last one seen), so the calls its predecessors said are kept apart, in before.
type droppedCalls struct {
	before    map[string]*event.DroppedCall
	current   []event.DroppedCall
	lostTotal uint64
}

// update takes a lost notice's totals.
func (d *droppedCalls) update(n *event.Notice) {
	if n.LostTotal < d.lostTotal {
		addDropped(d.before, d.current)
		d.current = nil
	}
	d.lostTotal = n.LostTotal
	if n.DroppedCalls != nil {
		d.current = n.DroppedCalls
	}
}

// merged is every agent's calls, by system call.
func (d *droppedCalls) merged() []event.DroppedCall {
	by := map[string]*event.DroppedCall{}
	for _, c := range d.before {
		addDropped(by, []event.DroppedCall{*c})
	}
	addDropped(by, d.current)
	if len(by) == 0 {
		return nil
	}
	out := make([]event.DroppedCall, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Calls != out[j].Calls {
			return out[i].Calls > out[j].Calls
		}
		return out[i].Syscall < out[j].Syscall
	})
	return out
}

// addDropped adds calls into by, copying (a notice's maps are not ours to change).
func addDropped(by map[string]*event.DroppedCall, calls []event.DroppedCall) {
	for _, c := range calls {
		t, ok := by[c.Syscall]
		if !ok {
			t = &event.DroppedCall{Syscall: c.Syscall}
			by[c.Syscall] = t
		}
		t.Calls += c.Calls
		t.Unfinished += c.Unfinished
		for e, n := range c.Errors {
			if t.Errors == nil {
				t.Errors = map[string]uint64{}
			}
			t.Errors[e] += n
		}
	}
}

// KeyOfEvent is the row an event counts in.
func KeyOfEvent(ev *event.Event) Key {
	k := Key{Node: ev.Node, Syscall: ev.Syscall.Name, Class: ev.Syscall.Class, Group: ev.Syscall.Group, Error: ev.Error}
	if c := ev.Container; c != nil {
		k.Namespace, k.Pod, k.Container = c.Namespace, c.Pod, c.Name
	}
	if i := stack.Caller(ev.Stack); i >= 0 {
		k.Caller = FunctionOf(&ev.Stack[i])
	}
	return k
}

// AddEvent counts one event.
func (t *Table) AddEvent(ev *event.Event) {
	k := KeyOfEvent(ev)
	d := max(ev.Finish-ev.Start, 0)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range []map[Key]*Stat{t.totals, t.interval} {
		s := stat(m, k)
		s.Calls++
		s.TimeNs += uint64(d)
		s.Hist[event.HistBucket(d)]++
	}
	t.addPoint(ev.Finish, 1, k)
	t.seen(ev.Finish)
}

// AddSnapshot adds a snapshot's rows (deltas) and its overflow.
func (t *Table) AddSnapshot(s *event.Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range s.Rows {
		c := &s.Rows[i]
		k := Key{Node: c.Node, Syscall: c.Syscall.Name, Class: c.Syscall.Class, Group: c.Syscall.Group, Error: c.Error}
		if k.Node == "" {
			k.Node = s.Node
		}
		if ct := c.Container; ct != nil {
			k.Namespace, k.Pod, k.Container = ct.Namespace, ct.Pod, ct.Name
		}
		k.Caller = FunctionOf(c.Caller)
		stat(t.totals, k).addCount(c)
		stat(t.interval, k).addCount(c)
		t.addPoint(s.To, c.Calls, k)
	}
	if s.Overflow > 0 {
		t.overflow[s.Node] += s.Overflow
	}
	if s.FilteredTotal > t.filtered[s.Node] {
		t.filtered[s.Node] = s.FilteredTotal
	}
	t.seen(s.From)
	t.seen(s.To)
}

// AddNotice records the losses a notice reports, and what the incident filters left out.
func (t *Table) AddNotice(n *event.Notice) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n.FilteredTotal > t.filtered[n.Node] {
		t.filtered[n.Node] = n.FilteredTotal
	}
	if n.Kind == event.NoticeLost {
		t.lost[n.Node] += n.Lost
	}
	if n.Kind != event.NoticeLost && n.Kind != event.NoticeExit {
		return // the notices that say which calls were dropped
	}
	d, ok := t.dropped[n.Node]
	if !ok {
		d = &droppedCalls{before: map[string]*event.DroppedCall{}}
		t.dropped[n.Node] = d
	}
	d.update(n)
}

// AddLine counts one line of a stream or recording, whatever its kind.
func (t *Table) AddLine(l *event.Line) {
	switch {
	case l.Snapshot != nil:
		t.AddSnapshot(l.Snapshot)
	case l.Notice != nil:
		t.AddNotice(l.Notice)
	case l.Event != nil:
		t.AddEvent(l.Event)
	}
}

func stat(m map[Key]*Stat, k Key) *Stat {
	s, ok := m[k]
	if !ok {
		s = &Stat{}
		m[k] = s
	}
	return s
}

func (t *Table) seen(ts int64) {
	if ts == 0 {
		return
	}
	if t.first == 0 || ts < t.first {
		t.first = ts
	}
	if ts > t.last {
		t.last = ts
	}
}

func (t *Table) addPoint(ts int64, calls uint64, k Key) {
	if ts == 0 || calls == 0 {
		return
	}
	at := ts - ts%t.step
	p, ok := t.series[at]
	if !ok {
		p = &Point{Time: at, Errors: map[string]uint64{}}
		t.series[at] = p
		if len(t.series) > maxPoints {
			t.coarsen()
			p = nil
		}
	}
	if p == nil {
		t.addPoint(ts, calls, k)
		return
	}
	p.Calls += calls
	if k.Failed() {
		p.Errors[k.Error] += calls
	}
}

// coarsen doubles the step, merging neighbouring points.
func (t *Table) coarsen() {
	t.step *= 2
	old := t.series
	t.series = make(map[int64]*Point, len(old)/2+1)
	for _, p := range old {
		at := p.Time - p.Time%t.step
		q, ok := t.series[at]
		if !ok {
			q = &Point{Time: at, Errors: map[string]uint64{}}
			t.series[at] = q
		}
		q.Calls += p.Calls
		for e, n := range p.Errors {
			q.Errors[e] += n
		}
	}
}

// Totals returns every row counted since the table was made, most calls first.
func (t *Table) Totals() []Row {
	t.mu.Lock()
	defer t.mu.Unlock()
	return rows(t.totals)
}

// TakeInterval returns the rows counted since the previous call and starts a new interval.
func (t *Table) TakeInterval() []Row {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := rows(t.interval)
	t.interval = map[Key]*Stat{}
	return r
}

func rows(m map[Key]*Stat) []Row {
	out := make([]Row, 0, len(m))
	for k, s := range m {
		out = append(out, Row{Key: k, Stat: *s})
	}
	SortRows(out)
	return out
}

// SortRows orders rows by calls, most first, then by key, so that output is stable.
func SortRows(r []Row) {
	sort.Slice(r, func(i, j int) bool {
		if r[i].Calls != r[j].Calls {
			return r[i].Calls > r[j].Calls
		}
		return r[i].less(r[j].Key)
	})
}

func (k Key) less(o Key) bool {
	a := [...]string{k.Namespace, k.Pod, k.Container, k.Syscall, k.Error, k.Node, k.Caller.Function()}
	b := [...]string{o.Namespace, o.Pod, o.Container, o.Syscall, o.Error, o.Node, o.Caller.Function()}
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Series returns the time series of calls and errors, oldest first, and its step in nanoseconds.
func (t *Table) Series() ([]Point, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Point, 0, len(t.series))
	for _, p := range t.series {
		q := Point{Time: p.Time, Calls: p.Calls, Errors: make(map[string]uint64, len(p.Errors))}
		for e, n := range p.Errors {
			q.Errors[e] = n
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out, t.step
}

// Losses are the calls a node could not report: events its kernel dropped (tracing) and calls its counter
// table had no room for (counting); and, not a loss, the calls the session's incident filters left out.
type Losses struct {
	Lost     uint64
	Overflow uint64
	Filtered uint64
	// Dropped says which calls Lost's events were, the most dropped first, as far as the node's agents said
	// (event.Notice.DroppedCalls): their sum may be less than Lost.
	Dropped []event.DroppedCall
}

// Losses returns the losses by node.
func (t *Table) Losses() map[string]Losses {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]Losses{}
	for n, v := range t.lost {
		l := out[n]
		l.Lost = v
		if d := t.dropped[n]; d != nil {
			l.Dropped = d.merged()
		}
		out[n] = l
	}
	for n, v := range t.overflow {
		l := out[n]
		l.Overflow = v
		out[n] = l
	}
	for n, v := range t.filtered {
		l := out[n]
		l.Filtered = v
		out[n] = l
	}
	return out
}

// Span returns the earliest and latest wall-clock times (Unix ns) seen, 0 when nothing was counted.
func (t *Table) Span() (first, last int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first, t.last
}

// Quantile estimates the q-quantile (0..1) of a latency histogram in nanoseconds, interpolating inside the
// power-of-two bucket it falls in; 0 for an empty histogram.
func Quantile(h *[event.HistBuckets]uint64, q float64) float64 {
	var total uint64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum float64
	for i, n := range h {
		if n == 0 {
			continue
		}
		if cum+float64(n) >= rank {
			lo := float64(uint64(1) << i)
			if i == 0 {
				lo = 0
			}
			hi := float64(uint64(1) << (i + 1))
			return lo + (hi-lo)*(rank-cum)/float64(n)
		}
		cum += float64(n)
	}
	return float64(uint64(1) << event.HistBuckets)
}
