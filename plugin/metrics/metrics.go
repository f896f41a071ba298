// Package metrics serves a session's counts for the life of the session (--metrics-addr): /metrics in the
// Prometheus text format, with the seed's metric names and labels, and /metrics/charts, the live chart page of
// package report.
//
// The seed's counter, swoll_node_metrics_syscall_count, breaks Prometheus' naming rules (counters want a
// _total suffix, _count belongs to histograms); it is kept for the seed's queries and dashboards. Every other
// name follows the rules.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/report"
	"github.com/swoll-dev/swoll/plugin/tally"
)

// Metric names.
const (
	CountName    = "swoll_node_metrics_syscall_count"
	DurationName = "swoll_node_metrics_syscall_duration_seconds"
	LostName     = "swoll_node_metrics_lost_events_total"
)

// labels of the seed, in its order.
var labels = []string{"syscall", "err", "namespace", "pod", "container", "class", "group"}

// bucketPowers are the histogram's upper bounds, as powers of two nanoseconds (1 µs to 1 s, every other
// power): exact sums of the kernel's log2 buckets.
var bucketPowers = []int{10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}

// shutdownTimeout bounds how long a scrape in flight may hold up the end of a session.
const shutdownTimeout = 2 * time.Second

// Collector turns a tally.Table into metrics at each scrape.
type Collector struct {
	table    *tally.Table
	count    *prometheus.Desc
	duration *prometheus.Desc
	lost     *prometheus.Desc
}

// NewCollector returns a collector of t.
func NewCollector(t *tally.Table) *Collector {
	return &Collector{
		table: t,
		count: prometheus.NewDesc(CountName,
			"System calls made by traced containers, by system call, result (err: OK or the errno name) and container.",
			labels, nil),
		duration: prometheus.NewDesc(DurationName,
			"Time from entry to exit of the system calls of traced containers, with the labels of "+CountName+".",
			labels, nil),
		lost: prometheus.NewDesc(LostName,
			"Calls a node could not report: events dropped because its ring buffer was full (reason ring_full) or calls not counted because its kernel counter table was full (reason counter_table_full).",
			[]string{"node", "reason"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.duration
	ch <- c.lost
}

type labelSet [7]string

// Collect implements prometheus.Collector. Rows of one container from several nodes (a pod moves only by
// being recreated, but a recording may hold anything) are added up: the labels have no node.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	merged := map[labelSet]*tally.Stat{}
	var order []labelSet
	for _, r := range c.table.Totals() {
		l := labelSet{"sys_" + r.Syscall, r.Error, r.Namespace, r.Pod, r.Container, r.Class, r.Group}
		s, ok := merged[l]
		if !ok {
			s = &tally.Stat{}
			merged[l] = s
			order = append(order, l)
		}
		s.Add(&r.Stat)
	}
	for _, l := range order {
		s := merged[l]
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.CounterValue, float64(s.Calls), l[:]...)
		ch <- prometheus.MustNewConstHistogram(c.duration, s.Calls, float64(s.TimeNs)/1e9, Buckets(&s.Hist), l[:]...)
	}
	for node, l := range c.table.Losses() {
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(l.Lost), node, "ring_full")
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(l.Overflow), node, "counter_table_full")
	}
}

// Buckets converts a log2 histogram to cumulative Prometheus buckets (upper bounds in seconds).
func Buckets(h *[event.HistBuckets]uint64) map[float64]uint64 {
	out := make(map[float64]uint64, len(bucketPowers))
	var cum uint64
	next := 0
	for _, p := range bucketPowers {
		for ; next < p && next < len(h); next++ {
			cum += h[next]
		}
		out[float64(uint64(1)<<p)/1e9] = cum
	}
	return out
}

// Handler serves /metrics and /metrics/charts (with its data at /metrics/charts/data.json) for t.
func Handler(t *tally.Table, title string) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(t)); err != nil {
		return nil, fmt.Errorf("registering the collector: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /metrics/charts", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = report.Write(w, report.FromTable(t, title), report.Options{Live: "charts/data.json"})
	})
	mux.HandleFunc("GET /metrics/charts/data.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = report.WriteData(w, report.FromTable(t, title))
	})
	return mux, nil
}

// Server is a running metrics endpoint.
type Server struct {
	srv  *http.Server
	addr string
	done chan error
}

// Serve listens on addr (HOST:PORT; port 0 picks one) at once, so that a bad address fails before the session
// starts, and serves in the background until Close.
func Serve(addr string, t *tally.Table, title string) (*Server, error) {
	h, err := Handler(t, title)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server, letting scrapes in flight finish for a moment.
func (s *Server) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
