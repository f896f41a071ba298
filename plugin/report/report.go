// Package report renders counted system calls as one self-contained HTML page: a Sankey diagram of the flow
// namespace → pod → system call → result, the top system calls, and errors over time. The page embeds Apache
// ECharts (assets/, from the npm package pinned in hack/echarts.sh, with its license) and its data, so it
// opens with no network. `kubectl swoll report` writes it; --metrics-addr serves it live at /metrics/charts.
package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/swoll-dev/swoll/plugin/tally"
)

var (
	//go:embed assets/echarts.min.js
	echartsJS string
	//go:embed assets/LICENSE
	echartsLicense string
	//go:embed assets/VERSION
	echartsVersion string
	//go:embed page.html
	pageHTML string
	//go:embed page.js
	pageJS string
)

// Limits keep the page readable (and its size bounded) for big clusters: what is beyond them is merged into
// an "other" node or left out of the series.
const (
	maxPods     = 40
	maxSyscalls = 30
	maxErrnos   = 12
	maxTop      = 25
)

// Data is what the page draws; it is also the JSON of the live page's refreshes.
type Data struct {
	Title     string       `json:"title"`
	Generated int64        `json:"generated"` // Unix ms
	From      int64        `json:"from"`      // Unix ms of the first call counted
	To        int64        `json:"to"`
	Calls     uint64       `json:"calls"`
	Errors    uint64       `json:"errors"`
	Pods      int          `json:"pods"`
	Sankey    Sankey       `json:"sankey"`
	Top       []TopSyscall `json:"top"`
	Series    Series       `json:"series"`
	Losses    []Loss       `json:"losses,omitempty"`
}

// Sankey is the flow diagram: node names are unique across levels ("ns:", "pod:", "sys:" and "err:"
// prefixes, which the page does not show).
type Sankey struct {
	Nodes []SankeyNode `json:"nodes"`
	Links []SankeyLink `json:"links"`
}

// SankeyNode is one box of the diagram.
type SankeyNode struct {
	Name  string `json:"name"`
	Depth int    `json:"depth"`
}

// SankeyLink is one flow, in calls.
type SankeyLink struct {
	Source string `json:"source"`
	Target string `json:"target"`
	Value  uint64 `json:"value"`
}

// TopSyscall is one bar of the top system calls.
type TopSyscall struct {
	Syscall string  `json:"syscall"`
	Calls   uint64  `json:"calls"`
	Errors  uint64  `json:"errors"`
	Seconds float64 `json:"seconds"`
}

// Series is errors over time: Errors[errno][i] at Times[i].
type Series struct {
	Times  []int64             `json:"times"` // Unix ms
	Step   int64               `json:"step"`  // ms
	Calls  []uint64            `json:"calls"`
	Errors map[string][]uint64 `json:"errors"`
}

// Loss is what one node could not report.
type Loss struct {
	Node     string `json:"node"`
	Lost     uint64 `json:"lost"`
	Overflow uint64 `json:"overflow"`
}

// FromTable builds the page's data from a table.
func FromTable(t *tally.Table, title string) *Data {
	rows := t.Totals()
	first, last := t.Span()
	d := &Data{Title: title, Generated: time.Now().UnixMilli(), From: first / 1e6, To: last / 1e6}
	pods := map[string]uint64{}
	sys := map[string]*TopSyscall{}
	for _, r := range rows {
		d.Calls += r.Calls
		pods[podName(r.Key)] += r.Calls
		s, ok := sys[r.Syscall]
		if !ok {
			s = &TopSyscall{Syscall: r.Syscall}
			sys[r.Syscall] = s
		}
		s.Calls += r.Calls
		s.Seconds += float64(r.TimeNs) / 1e9
		if r.Failed() {
			d.Errors += r.Calls
			s.Errors += r.Calls
		}
	}
	d.Pods = len(pods)
	keepPods := topKeys(pods, maxPods)
	sysCalls := map[string]uint64{}
	for k, s := range sys {
		sysCalls[k] = s.Calls
		d.Top = append(d.Top, *s)
	}
	keepSys := topKeys(sysCalls, maxSyscalls)
	sort.Slice(d.Top, func(i, j int) bool {
		if d.Top[i].Calls != d.Top[j].Calls {
			return d.Top[i].Calls > d.Top[j].Calls
		}
		return d.Top[i].Syscall < d.Top[j].Syscall
	})
	if len(d.Top) > maxTop {
		d.Top = d.Top[:maxTop]
	}
	d.Sankey = sankey(rows, keepPods, keepSys)
	d.Series = series(t)
	for node, l := range t.Losses() {
		if l.Lost > 0 || l.Overflow > 0 {
			d.Losses = append(d.Losses, Loss{Node: node, Lost: l.Lost, Overflow: l.Overflow})
		}
	}
	sort.Slice(d.Losses, func(i, j int) bool { return d.Losses[i].Node < d.Losses[j].Node })
	return d
}

func podName(k tally.Key) string {
	if k.Pod == "" {
		if k.Node != "" {
			return "(host of " + k.Node + ")"
		}
		return "(no pod)"
	}
	return k.Namespace + "/" + k.Pod
}

func nsName(k tally.Key) string {
	if k.Namespace == "" {
		return "(no namespace)"
	}
	return k.Namespace
}

// topKeys returns the n keys with the largest values (ties by name).
func topKeys(m map[string]uint64, n int) map[string]bool {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := map[string]bool{}
	for i, k := range keys {
		if i == n {
			break
		}
		out[k] = true
	}
	return out
}

func sankey(rows []tally.Row, keepPods, keepSys map[string]bool) Sankey {
	type link struct{ src, dst string }
	flows := map[link]uint64{}
	depth := map[string]int{}
	add := func(src, dst string, d int, v uint64) {
		depth[src] = d
		depth[dst] = d + 1
		flows[link{src, dst}] += v
	}
	for _, r := range rows {
		if r.Calls == 0 {
			continue
		}
		pod := podName(r.Key)
		if !keepPods[pod] {
			pod = "(other pods)"
		}
		sc := r.Syscall
		if !keepSys[sc] {
			sc = "(other)"
		}
		ns := "ns:" + nsName(r.Key)
		p := "pod:" + pod
		s := "sys:" + sc
		e := "err:" + r.Error
		add(ns, p, 0, r.Calls)
		add(p, s, 1, r.Calls)
		add(s, e, 2, r.Calls)
	}
	var sk Sankey
	names := make([]string, 0, len(depth))
	for n := range depth {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sk.Nodes = append(sk.Nodes, SankeyNode{Name: n, Depth: depth[n]})
	}
	for l, v := range flows {
		sk.Links = append(sk.Links, SankeyLink{Source: l.src, Target: l.dst, Value: v})
	}
	sort.Slice(sk.Links, func(i, j int) bool {
		a, b := sk.Links[i], sk.Links[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Target < b.Target
	})
	return sk
}

func series(t *tally.Table) Series {
	pts, step := t.Series()
	s := Series{Step: step / 1e6, Errors: map[string][]uint64{}}
	totals := map[string]uint64{}
	for _, p := range pts {
		for e, n := range p.Errors {
			totals[e] += n
		}
	}
	keep := topKeys(totals, maxErrnos)
	for e := range keep {
		s.Errors[e] = make([]uint64, len(pts))
	}
	other := len(totals) > len(keep)
	if other {
		s.Errors["(other)"] = make([]uint64, len(pts))
	}
	for i, p := range pts {
		s.Times = append(s.Times, p.Time/1e6)
		s.Calls = append(s.Calls, p.Calls)
		for e, n := range p.Errors {
			if keep[e] {
				s.Errors[e][i] += n
			} else {
				s.Errors["(other)"][i] += n
			}
		}
	}
	return s
}

// Options change how the page is written.
type Options struct {
	// Live, when set, is the URL (relative to the page) of fresh Data that the page fetches every few seconds.
	Live string
}

var page = template.Must(template.New("page").Parse(pageHTML))

// Write writes the self-contained page.
func Write(w io.Writer, d *Data, opts Options) error {
	data, err := json.Marshal(d) // escapes <, > and &: safe inside a script element
	if err != nil {
		return fmt.Errorf("encoding the chart data: %w", err)
	}
	live, err := json.Marshal(opts.Live)
	if err != nil {
		return err
	}
	return page.Execute(w, map[string]any{
		"Title":          d.Title,
		"License":        template.HTML(strings.ReplaceAll(echartsLicense, "--", "- -")),
		"EChartsVersion": strings.TrimSpace(echartsVersion),
		"ECharts":        template.JS(echartsJS),
		"Data":           template.JS(data),
		"Live":           template.JS(live),
		"App":            template.JS(pageJS),
	})
}

// WriteData writes d as JSON (the live page's refresh).
func WriteData(w io.Writer, d *Data) error {
	return json.NewEncoder(w).Encode(d)
}
