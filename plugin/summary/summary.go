// Package summary prints an strace -c style table of counted system calls (calls, errors, total and average
// time, share of time; per system call), merged across every container and replica, followed by the errors by
// errno and the replicas that stand out from their siblings.
package summary

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/plugin/tally"
)

// Thresholds of the outlier check: a replica stands out when it holds at least minShare of a group's errors
// of one kind and at least spread times its share of the calls (and minErrors of them), or when its calls
// take spread times as long on average as its siblings' (over minCalls calls).
const (
	minShare  = 0.5
	spread    = 2.0
	minErrors = 10
	minCalls  = 100
)

// Line is one system call of the table (of one calling function, with BuildByCaller).
type Line struct {
	Syscall string
	// Caller is the calling function (stack.Frame.Function; "?" when unknown), with BuildByCaller.
	Caller  string
	Calls   uint64
	Errors  uint64
	TimeNs  uint64
	ByErrno map[string]uint64
	// Dropped counts the calls among Calls whose events the kernel dropped (tally.Losses.Dropped): counted
	// with their errors, not timed, so that the time per call is of the others.
	Dropped uint64
}

// Outlier is a replica that stands out among the pods of its workload.
type Outlier struct {
	Namespace, Workload, Pod, Container string
	Syscall                             string
	Error                               string // "" for a latency outlier
	// Share of the group's errors of this kind (or the ratio of its mean latency to its siblings').
	Value float64
	// CallShare is its share of the group's calls of that system call.
	CallShare float64
	Count     uint64
	// Total is the group's count of those errors (or of those calls).
	Total    uint64
	Replicas int
}

// Summary is the merged table and its outliers.
type Summary struct {
	Lines    []Line
	Total    Line
	Outliers []Outlier
	Pods     int
	byCaller bool
	// Outside, when set, adds the column "outside": how many calls of each system call a seccomp profile
	// would deny.
	Outside *Outside
}

// Outside is a seccomp profile as the summary's column sees it.
type Outside struct {
	// Profile names it in the note under the table.
	Profile string
	// Classify tells whether the profile denies a system call whatever its arguments (fails), or its
	// arguments decide (depends: counts do not carry them, so the column shows "?").
	Classify func(syscall string) (fails, depends bool)
}

// column is the "outside" cell of a line: the calls denied, "?" when arguments decide, blank otherwise.
func (o *Outside) column(l Line) string {
	fails, depends := o.Classify(l.Syscall)
	switch {
	case fails:
		return fmt.Sprint(l.Calls)
	case depends:
		return "?"
	}
	return ""
}

// Build merges rows into a summary: a line per system call.
func Build(rows []tally.Row) *Summary { return build(rows, false) }

// BuildByCaller merges rows into a summary with a line per system call and calling function (--by caller:
// which function makes these calls), from the rows' callers (tally.Key.Caller).
func BuildByCaller(rows []tally.Row) *Summary { return build(rows, true) }

func build(rows []tally.Row, byCaller bool) *Summary {
	s := &Summary{Total: Line{Syscall: "total"}, byCaller: byCaller}
	by := map[string]*Line{}
	pods := map[string]bool{}
	for _, r := range rows {
		key, caller := r.Syscall, ""
		if byCaller {
			caller = "?" // the process exited before its stack was read, or the call had no stack
			if r.Caller != (stack.Frame{}) {
				caller = r.Caller.Function()
			}
			key += "\x00" + caller
		}
		l, ok := by[key]
		if !ok {
			l = &Line{Syscall: r.Syscall, Caller: caller, ByErrno: map[string]uint64{}}
			by[key] = l
		}
		l.Calls += r.Calls
		l.TimeNs += r.TimeNs
		if r.Failed() {
			l.Errors += r.Calls
			l.ByErrno[r.Error] += r.Calls
		}
		if r.Pod != "" {
			pods[r.Namespace+"/"+r.Pod] = true
		}
	}
	for _, l := range by {
		s.Lines = append(s.Lines, *l)
		s.Total.Calls += l.Calls
		s.Total.Errors += l.Errors
		s.Total.TimeNs += l.TimeNs
	}
	sortLines(s.Lines)
	s.Pods = len(pods)
	s.Outliers = outliers(rows)
	return s
}

// sortLines orders the table as strace -c does: the most time first, then the most calls.
func sortLines(lines []Line) {
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.TimeNs != b.TimeNs {
			return a.TimeNs > b.TimeNs
		}
		if a.Calls != b.Calls {
			return a.Calls > b.Calls
		}
		if a.Syscall != b.Syscall {
			return a.Syscall < b.Syscall
		}
		return a.Caller < b.Caller
	})
}

// withDropped is s with the calls whose events were lost (losses' Dropped) counted in its lines and total,
// with their errors, and how many of each node's lost events are of no known call.
func (s *Summary) withDropped(losses map[string]tally.Losses) (*Summary, map[string]uint64) {
	unknown := map[string]uint64{}
	out := *s
	out.Lines = make([]Line, len(s.Lines))
	by := map[string]int{}
	for i, l := range s.Lines {
		l.ByErrno = maps.Clone(l.ByErrno)
		out.Lines[i] = l
		by[l.Syscall] = i
	}
	for node, loss := range losses {
		var known uint64
		for _, d := range loss.Dropped {
			i, ok := by[d.Syscall]
			if !ok {
				i = len(out.Lines)
				by[d.Syscall] = i
				out.Lines = append(out.Lines, Line{Syscall: d.Syscall, ByErrno: map[string]uint64{}})
			}
			l := &out.Lines[i]
			l.Calls += d.Calls
			l.Dropped += d.Calls
			out.Total.Calls += d.Calls
			out.Total.Dropped += d.Calls
			for e, n := range d.Errors {
				l.Errors += n
				l.ByErrno[e] += n
				out.Total.Errors += n
			}
			known += d.Calls
		}
		if loss.Lost > known {
			unknown[node] = loss.Lost - known
		}
	}
	sortLines(out.Lines)
	return &out, unknown
}

// Write prints the summary as strace -c does, then errors by errno, outliers and losses. The calls whose events
// were lost are in the table (losses' Dropped), counted and not timed; the lost events of no known call and the
// calls a counter table had no room for are said under it.
func (s *Summary) Write(w io.Writer, losses map[string]tally.Losses) error {
	s, unknown := s.withDropped(losses)
	var b strings.Builder
	rule := "------ ----------- ----------- --------- --------- ----------------\n"
	head := "% time     seconds  usecs/call     calls    errors syscall\n"
	outside := func(Line) string { return "" }
	if s.Outside != nil {
		rule = "------ ----------- ----------- --------- --------- --------- ----------------\n"
		head = "% time     seconds  usecs/call     calls    errors   outside syscall\n"
		outside = func(l Line) string { return fmt.Sprintf("%9s ", s.Outside.column(l)) }
	}
	if s.byCaller {
		rule = strings.TrimSuffix(rule, "\n") + " ----------------\n"
		head = strings.TrimSuffix(head, "\n") + "          caller\n"
	}
	b.WriteString(head)
	b.WriteString(rule)
	var denied uint64
	for _, l := range s.Lines {
		fmt.Fprintf(&b, "%6.2f %11.6f %11d %9d %9s %s%s\n", pct(l.TimeNs, s.Total.TimeNs), float64(l.TimeNs)/1e9,
			avgMicros(l.TimeNs, l.Calls-l.Dropped), l.Calls, blankZero(l.Errors), outside(l), s.label(&l))
		if s.Outside != nil {
			if fails, _ := s.Outside.Classify(l.Syscall); fails {
				denied += l.Calls
			}
		}
	}
	b.WriteString(rule)
	total := ""
	if s.Outside != nil {
		total = fmt.Sprintf("%9s ", blankZero(denied))
	}
	fmt.Fprintf(&b, "%6.2f %11.6f %11d %9d %9s %s%s\n", 100.0, float64(s.Total.TimeNs)/1e9,
		avgMicros(s.Total.TimeNs, s.Total.Calls-s.Total.Dropped), s.Total.Calls, blankZero(s.Total.Errors), total, "total")
	if s.Pods > 1 {
		fmt.Fprintf(&b, "(merged across %d pods)\n", s.Pods)
	}
	if s.Total.Dropped > 0 {
		fmt.Fprintf(&b, "(calls and errors include %d calls whose events were lost: counted in the kernel, not timed)\n",
			s.Total.Dropped)
	}
	if s.Outside != nil {
		fmt.Fprintf(&b, "(outside: calls %s would deny; ? where their arguments decide: kubectl swoll check seccomp decides those)\n",
			escape(s.Outside.Profile))
	}
	if s.Total.Errors > 0 {
		b.WriteString("\nerrors by errno:\n")
		for _, l := range s.Lines {
			if l.Errors == 0 {
				continue
			}
			fmt.Fprintf(&b, "  %-16s %s\n", s.label(&l), errnoList(l.ByErrno))
		}
	}
	if len(s.Outliers) > 0 {
		b.WriteString("\nreplicas that stand out:\n")
		for _, o := range s.Outliers {
			b.WriteString("  " + o.String() + "\n")
		}
	}
	nodes := make([]string, 0, len(losses))
	for n := range losses {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		l := losses[n]
		name := n
		if name == "" {
			name = "(unknown node)"
		}
		if l.Filtered > 0 {
			fmt.Fprintf(&b, "%s: %d calls filtered out in the kernel, as asked (not in the figures above)\n", escape(name), l.Filtered)
		}
		if unknown[n] > 0 || l.Overflow > 0 {
			fmt.Fprintf(&b, "warning: %s: %d events lost of no known call, %d calls not counted (counter table full): the figures above are short\n",
				escape(name), unknown[n], l.Overflow)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// label is a line's name: its system call, and its caller with BuildByCaller.
func (s *Summary) label(l *Line) string {
	if !s.byCaller {
		return escape(l.Syscall)
	}
	return fmt.Sprintf("%-16s %s", escape(l.Syscall), escape(l.Caller))
}

func (o Outlier) String() string {
	who := escape(o.Namespace + "/" + o.Pod)
	if o.Container != "" {
		who += " (" + escape(o.Container) + ")"
	}
	if o.Error == "" {
		return fmt.Sprintf("%s: %s calls take %.1fx as long on average as in the %d other replica(s) of %s (%d of %d calls)",
			who, escape(o.Syscall), o.Value, o.Replicas-1, escape(o.Workload), o.Count, o.Total)
	}
	return fmt.Sprintf("%s: %d of the %d %s %s errors of the %d replicas of %s (%.0f%%), with %.0f%% of their %s calls",
		who, o.Count, o.Total, escape(o.Syscall), escape(o.Error), o.Replicas, escape(o.Workload), 100*o.Value,
		100*o.CallShare, escape(o.Syscall))
}

func errnoList(m map[string]uint64) string {
	type kv struct {
		k string
		v uint64
	}
	var l []kv
	for k, v := range m {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].v != l[j].v {
			return l[i].v > l[j].v
		}
		return l[i].k < l[j].k
	})
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = fmt.Sprintf("%s %d", escape(e.k), e.v)
	}
	return strings.Join(parts, ", ")
}

func pct(a, total uint64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(a) / float64(total)
}

func avgMicros(ns, calls uint64) uint64 {
	if calls == 0 {
		return 0
	}
	return ns / calls / 1000
}

func blankZero(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

// escape keeps terminal control bytes that came from the cluster out of the output.
func escape(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// Escape is escape for other packages' terminal output.
func Escape(s string) string { return escape(s) }

// replica hash suffixes: a ReplicaSet's pod-template-hash then the pod's own, a DaemonSet's or Job's pod
// suffix, a StatefulSet's ordinal.
var (
	podSuffix = regexp.MustCompile(`-([a-z0-9]{5}|[0-9]+)$`)
	rsSuffix  = regexp.MustCompile(`-[a-z0-9]{6,10}$`)
)

// Workload guesses the workload a pod belongs to from its name ("web-7d9f8c6b5-abcde" -> "web").
func Workload(pod string) string {
	w := podSuffix.ReplaceAllString(pod, "")
	if w == pod {
		return pod
	}
	if r := rsSuffix.ReplaceAllString(w, ""); r != "" {
		w = r
	}
	return w
}

type groupKey struct{ ns, workload, container, syscall string }

type podStat struct {
	calls, timeNs uint64
	errors        map[string]uint64
}

func outliers(rows []tally.Row) []Outlier {
	groups := map[groupKey]map[string]*podStat{}
	for _, r := range rows {
		if r.Pod == "" {
			continue
		}
		g := groupKey{r.Namespace, Workload(r.Pod), r.Container, r.Syscall}
		m, ok := groups[g]
		if !ok {
			m = map[string]*podStat{}
			groups[g] = m
		}
		p, ok := m[r.Pod]
		if !ok {
			p = &podStat{errors: map[string]uint64{}}
			m[r.Pod] = p
		}
		p.calls += r.Calls
		p.timeNs += r.TimeNs
		if r.Failed() {
			p.errors[r.Error] += r.Calls
		}
	}
	var out []Outlier
	for g, pods := range groups {
		if len(pods) < 2 {
			continue
		}
		var calls, timeNs uint64
		errs := map[string]uint64{}
		for _, p := range pods {
			calls += p.calls
			timeNs += p.timeNs
			for e, n := range p.errors {
				errs[e] += n
			}
		}
		for name, p := range pods {
			base := Outlier{Namespace: g.ns, Workload: g.workload, Pod: name, Container: g.container, Syscall: g.syscall,
				Replicas: len(pods), CallShare: float64(p.calls) / float64(max(calls, 1))}
			for e, n := range p.errors {
				share := float64(n) / float64(errs[e])
				if n >= minErrors && share >= minShare && share >= spread*base.CallShare {
					o := base
					o.Error, o.Value, o.Count, o.Total = e, share, n, errs[e]
					out = append(out, o)
				}
			}
			others := calls - p.calls
			if p.calls >= minCalls && others >= minCalls {
				mine := float64(p.timeNs) / float64(p.calls)
				rest := float64(timeNs-p.timeNs) / float64(others)
				if rest > 0 && mine >= spread*2*rest {
					o := base
					o.Value, o.Count, o.Total = mine/rest, p.calls, calls
					out = append(out, o)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Pod+out[i].Syscall+out[i].Error < out[j].Pod+out[j].Syscall+out[j].Error
	})
	return out
}
