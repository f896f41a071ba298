// Package top is `kubectl swoll top`: trace's selection and session in counting mode, shown as a live
// table (plugin/top), plain tables or JSON snapshots, and a summary at the end. Options are used by cobra's
// goroutine; the refresh loop runs in one more, reading only the tap (safe for concurrent use).
package top

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/cmd/trace"
	"github.com/swoll-dev/swoll/plugin/defaults"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/recording"
	"github.com/swoll-dev/swoll/plugin/seccomp"
	"github.com/swoll-dev/swoll/plugin/seccomp/runtimedefault"
	"github.com/swoll-dev/swoll/plugin/summary"
	"github.com/swoll-dev/swoll/plugin/tally"
	topui "github.com/swoll-dev/swoll/plugin/top"
)

const topExample = `  # Live table of the calls of the pods labelled app=nginx, counted in the kernel
  kubectl swoll top -l app=nginx

  # Only network calls, refreshed every 5 seconds, for one minute, as plain text
  kubectl swoll top -l app=api -s class:Network --interval 5s --duration 1m --no-ui

  # One JSON snapshot per interval (a recording), and Prometheus metrics while it runs
  kubectl swoll top -l app=db -o json --metrics-addr 127.0.0.1:9095 > db.jsonl

  # Which functions make the calls: counts split by caller, from each call's stack
  kubectl swoll top -l app=api -s openat,connect --by caller

  # Replay a recording, no cluster needed
  kubectl swoll top --replay db.jsonl --no-ui

  # How many calls the runtime's default seccomp profile would deny, in the summary
  kubectl swoll top -l app=web --seccomp-profile runtime/default --duration 1m --no-ui`

// Top -o values.
const (
	topTable = "table"
	topJSON  = "json"
)

// minInterval bounds the refresh rate (each interval is one snapshot line per agent).
const minInterval = 100 * time.Millisecond

// Options are `kubectl swoll top`'s flags: trace's selection and session flags, and how to show counts.
type Options struct {
	*trace.Options
	Interval time.Duration
	NoUI     bool
	Rows     int
	// Entries sizes the agents' counter tables (hidden; tests of the overflow).
	Entries int
	// Latency times the calls (p50/p99, the summary's seconds); false counts them only, at less cost.
	Latency bool
	// SeccompProfile adds the summary's column of the calls it would deny (a JSON file or runtime/default).
	SeccompProfile string
	outside        *summary.Outside
}

// NewCommand builds `kubectl swoll top` on trace's options to.
func NewCommand(to *trace.Options) *cobra.Command {
	o := &Options{Options: to, Interval: time.Second, Rows: 40, Latency: defaults.Latency}
	o.Output = topTable
	cmd := &cobra.Command{
		Use:   "top [POD...] [flags]",
		Short: "Show live counts of the selected pods' system calls, counted in the kernel",
		Long: `Count the system calls of the containers of the selected pods in the kernel (no event per call leaves the
node) and show, refreshed every --interval, calls and errors per second and p50/p99 latency by pod, container,
system call and errno. Pods are selected as for trace, and the session is the same: one agent pod per node,
removed when top ends (q, Ctrl-C, --duration).

On a terminal the table is interactive: c, e, p, n sort by calls, errors, p99 or name; x splits rows by errno;
/ filters; q or Ctrl-C quits. Elsewhere, or with --no-ui, a plain table is printed every interval; -o json writes
one merged JSON snapshot per interval instead (a recording for report and --replay). At the end, an strace -c
style summary merged across replicas, with the replicas that stand out, is printed.

--by caller also counts by the function that made the calls: the agents walk each counted call's user-space
stack in the kernel and name its innermost frame outside the C library and Go's standard library, read from the
container's own binaries (see kubectl swoll trace -k for which binaries give whole stacks). It answers "which
code path opens this file 2,000 times a second?"; each call costs a stack walk more.

The incident filters of trace (--failed, --errno, --slower-than, -P, --path-under, --comm, --container-pid) count
only the calls they keep, decided in the kernel; the summary says how many each node left out.`,
		Example: topExample,
		RunE:    trace.RunE(o),
	}
	f := cmd.Flags()
	o.AddSessionFlags(f)
	f.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table (live on a terminal, plain otherwise) or json (one snapshot per interval)")
	f.DurationVar(&o.Interval, "interval", o.Interval, "How often to refresh (and how often agents report their counts)")
	f.BoolVar(&o.NoUI, "no-ui", false, "Print a plain table every interval even on a terminal")
	f.IntVar(&o.Rows, "rows", o.Rows, "Rows per plain table (0: all)")
	f.StringVar(&o.By, "by", "", "Also count by "+trace.ByCaller+": the function that made the calls, read from each call's stack (a CALLER column)")
	f.StringVar(&o.MetricsAddr, "metrics-addr", "", "Serve Prometheus /metrics and the live chart page /metrics/charts on HOST:PORT for the life of the session")
	f.StringVar(&o.Replay, "replay", "", "Show a recording (what top -o json or trace -o json wrote; - for stdin) instead of counting: no cluster is contacted")
	f.StringVar(&o.SeccompProfile, "seccomp-profile", "", "Add to the summary a column of the calls this seccomp profile would deny: a JSON file or runtime/default")
	_ = cmd.RegisterFlagCompletionFunc("seccomp-profile", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{runtimedefault.Name}, cobra.ShellCompDirectiveDefault
	})
	f.BoolVar(&o.Latency, "latency", o.Latency, "Time every call (p50, p99 and the summary's seconds); --latency=false only counts them, at less cost on the nodes")
	f.IntVar(&o.Entries, "count-entries", 0, "Size of each agent's kernel counter table (0: the agent's default)")
	_ = f.MarkHidden("count-entries")
	return cmd
}

// Validate checks top's own flags, then trace's.
func (o *Options) Validate() error {
	switch o.Output {
	case topTable, topJSON:
	default:
		return fmt.Errorf("invalid -o/--output %q: want table or json", o.Output)
	}
	if o.Interval < minInterval {
		return fmt.Errorf("invalid --interval %s: must be at least %s", o.Interval, minInterval)
	}
	if o.Rows < 0 {
		return fmt.Errorf("invalid --rows %d: must not be negative", o.Rows)
	}
	if o.Calls.Fds > 0 {
		return errors.New("-y shows what fds are in events: top counts calls (use trace -y)")
	}
	if o.SeccompProfile != "" {
		e, err := seccomp.Open(o.SeccompProfile, o.In, runtimedefault.DefaultCapabilities())
		if err != nil {
			return fmt.Errorf("--seccomp-profile: %w", err)
		}
		o.outside = &summary.Outside{Profile: o.SeccompProfile, Classify: e.Outside}
	}
	saved := o.Output
	o.Output = output.JSON // trace's own check of -o does not apply
	defer func() { o.Output = saved }()
	return o.Options.Validate()
}

// Run counts until the session ends, then prints the summary.
func (o *Options) Run(parent context.Context) error {
	out, err := output.New(output.JSON, io.Discard, false) // counting mode has no events
	if err != nil {
		return err
	}
	tap := tally.NewTap(out)
	stopMetrics, err := o.ServeMetrics(tap)
	if err != nil {
		return err
	}
	defer stopMetrics(parent)
	var split atomic.Bool
	disp, ui := o.display(&split)
	var log *statusLog
	if ui != nil {
		log = &statusLog{}
	}
	if o.Replay != "" {
		err = o.replayTop(parent, tap, disp, ui, &split)
	} else {
		err = o.live(parent, tap, disp, ui, log, &split)
	}
	if ui != nil {
		if uerr := ui.Stop(); uerr != nil && err == nil {
			err = fmt.Errorf("terminal: %w", uerr)
		}
		_, _ = o.ErrOut.Write(log.Bytes()) // what the session said while the table was up
	}
	// The summary goes with the table: on stdout, unless stdout carries JSON.
	w := o.Out
	if o.Output == topJSON {
		w = o.ErrOut
	}
	if _, perr := fmt.Fprintln(w); perr == nil {
		o.printSummary(w, tap)
	}
	return err
}

// printSummary is trace's summary, with the column of --seccomp-profile.
func (o *Options) printSummary(w io.Writer, tap *tally.Tap) {
	if o.outside == nil {
		o.PrintSummary(w, tap)
		return
	}
	s := summary.Build(tap.Table.Totals())
	s.Outside = o.outside
	if err := s.Write(w, tap.Table.Losses()); err != nil {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: writing the summary: %v\n", err)
	}
}

// display picks the display: the live UI on a terminal, else plain tables or JSON lines.
func (o *Options) display(split *atomic.Bool) (topui.Display, *topui.UI) {
	switch {
	case o.Output == topJSON:
		return &topui.JSON{W: o.Out}, nil
	case o.NoUI || !trace.IsTerminal(o.Out) || !isTerminalReader(o.In):
		return &topui.Plain{W: o.Out, MaxRows: o.Rows}, nil
	}
	ui := topui.NewUI(o.In, o.Out, func(on bool) { split.Store(on) })
	return ui, ui
}

// sessionMode is the counting session the flags ask for.
func (o *Options) sessionMode() trace.SessionMode {
	return trace.SessionMode{Count: true, CountInterval: o.Interval, CountEntries: o.Entries, NoLatency: !o.Latency}
}

// live runs a counting session and refreshes the display every interval.
func (o *Options) live(parent context.Context, tap *tally.Tap, disp topui.Display, ui *topui.UI, log *statusLog,
	split *atomic.Bool) error {
	ctx, cancel := context.WithCancel(parent) // q in the table ends the session as the first Ctrl-C does
	defer cancel()
	mode := o.sessionMode()
	if ui != nil {
		mode.Stderr = log
		ui.SetQuit(cancel)
		ui.Start()
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(o.Interval)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-tick.C:
			case <-stop:
				return
			}
			now := time.Now()
			rows := tap.Table.TakeInterval()
			f := topui.Frame{Time: now, Interval: now.Sub(last), Rows: topui.Rows(rows, now.Sub(last), split.Load()),
				Status: log.Last()}
			if err := disp.Show(f, topui.Snapshot(rows, last, now, tap.TakeOverflow())); err != nil {
				return
			}
			last = now
		}
	}()
	err := o.RunSession(ctx, tap, mode)
	close(stop)
	<-done
	return err
}

// replayTop shows a recording: one frame per recorded interval of --interval.
func (o *Options) replayTop(ctx context.Context, tap *tally.Tap, disp topui.Display, ui *topui.UI, split *atomic.Bool) error {
	if ui != nil {
		ui.SetQuit(func() {})
		ui.Start()
	}
	frame := tally.New()
	var start, end int64
	step := o.Interval.Nanoseconds()
	flush := func() error {
		rows := frame.TakeInterval()
		if len(rows) == 0 {
			return nil
		}
		d := time.Duration(end - start)
		if d <= 0 {
			d = o.Interval
		}
		f := topui.Frame{Time: time.Unix(0, end), Interval: d, Rows: topui.Rows(rows, d, split.Load()), Status: "replay of " + o.Replay}
		if err := disp.Show(f, topui.Snapshot(rows, time.Unix(0, start), time.Unix(0, end), 0)); err != nil {
			return err
		}
		if ui != nil {
			select { // one recorded interval per refresh
			case <-time.After(o.Interval):
			case <-ctx.Done():
			}
		}
		frame = tally.New()
		start = end
		return nil
	}
	var showErr error
	st, err := recording.ReadFile(o.Replay, o.In, func(l *event.Line) {
		tap.Table.AddLine(l)
		at := lineTime(l)
		if at == 0 || showErr != nil {
			return
		}
		if start == 0 {
			start = at - step
		}
		if at > start+step && end > 0 {
			showErr = flush()
		}
		frame.AddLine(l)
		end = max(end, at)
	})
	if err != nil {
		return err
	}
	if showErr == nil {
		showErr = flush()
	}
	if st.Bad > 0 {
		_, _ = fmt.Fprintf(o.ErrOut, "swoll: %d line(s) of the recording are neither events, notices nor snapshots (first: %s)\n",
			st.Bad, st.FirstBad)
	}
	return showErr
}

// lineTime is when a recorded line's calls ended.
func lineTime(l *event.Line) int64 {
	switch {
	case l.Snapshot != nil:
		return l.Snapshot.To
	case l.Event != nil:
		return l.Finish
	}
	return 0
}

// statusLog keeps what the session writes to stderr while the live table is up: the last line is the
// table's status line, the whole is printed once the terminal is restored.
type statusLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	last string
}

func (l *statusLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 {
		l.buf.Write(p)
	}
	if s := strings.TrimSpace(string(p)); s != "" {
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		l.last = s
	}
	return len(p), nil
}

// Last is the last line written ("" for a nil log).
func (l *statusLog) Last() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Bytes is everything written ("" for a nil log).
func (l *statusLog) Bytes() []byte {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Bytes()
}

// isTerminalReader tells whether r is a terminal (the live table needs keys).
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
