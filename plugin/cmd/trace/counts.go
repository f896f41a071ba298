package trace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/metrics"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/recording"
	"github.com/swoll-dev/swoll/plugin/summary"
	"github.com/swoll-dev/swoll/plugin/tally"
	"github.com/swoll-dev/swoll/protocol"
)

// ServeMetrics starts --metrics-addr (when given) on tap's table; the returned function stops it.
func (o *Options) ServeMetrics(tap *tally.Tap) (func(context.Context), error) {
	if o.MetricsAddr == "" {
		return func(context.Context) {}, nil
	}
	srv, err := metrics.Serve(o.MetricsAddr, tap.Table, "kubectl swoll: "+o.describe())
	if err != nil {
		return nil, err
	}
	_, _ = fmt.Fprintf(o.ErrOut, "swoll: serving http://%s/metrics and http://%s/metrics/charts\n", srv.Addr(), srv.Addr())
	return func(ctx context.Context) {
		if err := srv.Close(context.WithoutCancel(ctx)); err != nil {
			_, _ = fmt.Fprintf(o.ErrOut, "swoll: stopping the metrics server: %v\n", err)
		}
	}, nil
}

// describe names the selection for page titles.
func (o *Options) describe() string {
	if o.Replay != "" {
		return o.Replay
	}
	sel := o.selection()
	return sel.Describe()
}

// PrintSummary writes the strace -c style summary of what tap counted (nothing for a nil tap).
func (o *Options) PrintSummary(w io.Writer, tap *tally.Tap) {
	if tap == nil {
		return
	}
	s := summary.Build(tap.Table.Totals())
	if o.By == ByCaller {
		s = summary.BuildByCaller(tap.Table.Totals())
	}
	if err := s.Write(w, tap.Table.Losses()); err != nil {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: writing the summary: %v\n", err)
	}
}

// validateReplay: a recording replaces the selection; session flags make no sense with it.
func (o *Options) validateReplay() error {
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
func (o *Options) replay(ctx context.Context, out output.Sink) error {
	tap := tally.NewTap(out)
	stopMetrics, err := o.ServeMetrics(tap)
	if err != nil {
		return err
	}
	defer stopMetrics(ctx)
	var writeErr error
	var line []byte
	st, err := recording.ReadFile(o.Replay, o.In, func(l *event.Line) {
		tap.Table.AddLine(l)
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
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: %d line(s) of the recording are neither events, notices nor snapshots (first: %s)\n",
			st.Bad, st.FirstBad)
	}
	if o.Summary {
		o.PrintSummary(o.ErrOut, tap)
	}
	if writeErr != nil && !errors.Is(writeErr, syscall.EPIPE) {
		return fmt.Errorf("writing events: %w", writeErr)
	}
	return nil
}

// ByCaller is --by's value that groups by the calling function.
const ByCaller = "caller"

// validateBy checks --by.
func (o *Options) validateBy() error {
	switch o.By {
	case "", ByCaller:
		return nil
	default:
		return fmt.Errorf("invalid --by %q: want %s", o.By, ByCaller)
	}
}

// stacks is what the session asks the agents for: -k's, and for --by caller the user-space stacks at least
// (in counting mode, counts per caller).
func (o *Options) stacks(counting bool) int {
	switch {
	case o.By == ByCaller:
		return max(o.Stacks, protocol.StacksUser)
	case counting:
		return 0
	default:
		return o.Stacks
	}
}
