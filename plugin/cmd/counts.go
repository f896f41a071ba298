package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/counts"
	"github.com/swoll-dev/swoll/plugin/metrics"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/recording"
	"github.com/swoll-dev/swoll/plugin/summary"
)

// tableTap is the session's sink when counts are wanted: it counts the events, notices and snapshots it sees
// into a counts.Table and passes events and notices on to the output.
type tableTap struct {
	output.Sink
	table    *counts.Table
	overflow atomic.Uint64 // since takeOverflow
	ev       event.Event
}

func newTableTap(out output.Sink) *tableTap { return &tableTap{Sink: out, table: counts.New()} }

// takeOverflow returns the calls the agents could not count since the previous call.
func (t *tableTap) takeOverflow() uint64 { return t.overflow.Swap(0) }

// Event counts an event line (decoded only when --summary or --metrics-addr asked for counts) and writes it.
func (t *tableTap) Event(line []byte) error {
	t.ev = event.Event{}
	if json.Unmarshal(line, &t.ev) == nil {
		t.table.AddEvent(&t.ev)
	}
	return t.Sink.Event(line)
}

// Snapshot implements output.SnapshotSink.
func (t *tableTap) Snapshot(s *event.Snapshot) error {
	t.overflow.Add(s.Overflow)
	t.table.AddSnapshot(s)
	return nil
}

// Notice counts the losses a notice reports and passes it on.
func (t *tableTap) Notice(n *event.Notice) error {
	t.table.AddNotice(n)
	return t.Sink.Notice(n)
}

// serveMetrics starts --metrics-addr (when given); the returned function stops it.
func (o *TraceOptions) serveMetrics(tap *tableTap) (func(context.Context), error) {
	if o.MetricsAddr == "" {
		return func(context.Context) {}, nil
	}
	srv, err := metrics.Serve(o.MetricsAddr, tap.table, "kubectl swoll: "+o.describe())
	if err != nil {
		return nil, err
	}
	_, _ = fmt.Fprintf(o.streams.ErrOut, "swoll: serving http://%s/metrics and http://%s/metrics/charts\n", srv.Addr(), srv.Addr())
	return func(ctx context.Context) {
		if err := srv.Close(context.WithoutCancel(ctx)); err != nil {
			_, _ = fmt.Fprintf(o.streams.ErrOut, "swoll: stopping the metrics server: %v\n", err)
		}
	}, nil
}

// describe names the selection for page titles.
func (o *TraceOptions) describe() string {
	if o.Replay != "" {
		return o.Replay
	}
	sel := o.selection()
	return sel.Describe()
}

func (o *TraceOptions) printSummary(w io.Writer, tap *tableTap) {
	if tap == nil {
		return
	}
	if err := summary.Build(tap.table.Totals()).Write(w, tap.table.Losses()); err != nil {
		_, _ = fmt.Fprintf(o.streams.ErrOut, "swoll: writing the summary: %v\n", err)
	}
}

// validateReplay: a recording replaces the selection; session flags make no sense with it.
func (o *TraceOptions) validateReplay() error {
	if len(o.Pods) > 0 || o.LabelSelector != "" || o.FieldSelector != "" {
		return fmt.Errorf("--replay reads a recording: it cannot be combined with pod names or selectors")
	}
	switch o.Output {
	case output.JSON, output.CLI:
	default:
		return fmt.Errorf("invalid -o/--output %q: want json or cli", o.Output)
	}
	if o.Replay != "-" {
		if _, err := os.Stat(o.Replay); err != nil {
			return fmt.Errorf("--replay: %w", err)
		}
	}
	return nil
}

// replay writes a recording's events to out (as -o says), counts them for --summary and --metrics-addr, and
// contacts no cluster.
func (o *TraceOptions) replay(ctx context.Context, out output.Sink) error {
	tap := newTableTap(out)
	stopMetrics, err := o.serveMetrics(tap)
	if err != nil {
		return err
	}
	defer stopMetrics(ctx)
	var writeErr error
	var line []byte
	st, err := recording.ReadFile(o.Replay, o.streams.In, func(l *event.Line) {
		tap.table.AddLine(l)
		if l.Event == nil || writeErr != nil {
			return
		}
		line, writeErr = json.Marshal(l.Event)
		if writeErr == nil {
			writeErr = out.Event(line)
		}
	})
	if err != nil {
		return err
	}
	if ferr := out.Flush(); writeErr == nil {
		writeErr = ferr
	}
	if st.Bad > 0 {
		_, _ = fmt.Fprintf(o.streams.ErrOut, "swoll: %d line(s) of the recording are neither events, notices nor snapshots (first: %s)\n",
			st.Bad, st.FirstBad)
	}
	if o.Summary {
		o.printSummary(o.streams.ErrOut, tap)
	}
	if writeErr != nil && !errors.Is(writeErr, syscall.EPIPE) {
		return fmt.Errorf("writing events: %w", writeErr)
	}
	return nil
}
