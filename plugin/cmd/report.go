package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/plugin/recording"
	"github.com/swoll-dev/swoll/plugin/report"
	"github.com/swoll-dev/swoll/plugin/tally"
)

const reportExample = `  # Record a trace, then chart it
  kubectl swoll trace -l app=nginx --duration 5m > nginx.jsonl
  kubectl swoll report -i nginx.jsonl -o nginx.html

  # Chart what top recorded
  kubectl swoll top -l app=db -o json --duration 10m | kubectl swoll report -i - -o db.html`

// ReportOptions are `kubectl swoll report`'s flags.
type ReportOptions struct {
	streams genericiooptions.IOStreams
	Input   string
	Output  string
	Title   string
}

// NewReportCommand builds `kubectl swoll report`.
func NewReportCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ReportOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "report -i RECORDING -o FILE.html",
		Short: "Chart a recording as one self-contained HTML page",
		Long: `Read a recording (the JSON lines trace -o json or top -o json wrote) and write one HTML page that needs no
network: a Sankey diagram of the calls from namespace to pod to system call to result, the top system calls,
and errors over time. The page embeds Apache ECharts and its license. No cluster is contacted.`,
		Example: reportExample,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Input, "input", "i", "", "The recording to read (- for stdin)")
	f.StringVarP(&o.Output, "output", "o", "", "The HTML file to write (- for stdout)")
	f.StringVar(&o.Title, "title", "", "The page's title (default: from the recording's name)")
	return cmd
}

// Validate checks the flags.
func (o *ReportOptions) Validate() error {
	switch {
	case o.Input == "":
		return errors.New("say which recording to read: -i FILE (- for stdin)")
	case o.Output == "":
		return errors.New("say where to write the page: -o FILE.html (- for stdout)")
	}
	if o.Input != "-" {
		if _, err := os.Stat(o.Input); err != nil {
			return fmt.Errorf("-i: %w", err)
		}
	}
	return nil
}

// Run reads the recording and writes the page; the file appears only once it is complete.
func (o *ReportOptions) Run() error {
	table := tally.New()
	st, err := recording.ReadFile(o.Input, o.streams.In, table.AddLine)
	if err != nil {
		return err
	}
	if st.Events == 0 && st.Snapshots == 0 {
		return fmt.Errorf("%s holds no event or snapshot: nothing to chart", o.Input)
	}
	if st.Bad > 0 {
		_, _ = fmt.Fprintf(o.streams.ErrOut, "swoll: %d line(s) are neither events, notices nor snapshots (first: %s)\n", st.Bad, st.FirstBad)
	}
	title := o.Title
	if title == "" {
		title = "kubectl swoll report: " + filepath.Base(o.Input)
	}
	data := report.FromTable(table, title)
	if o.Output == "-" {
		w := bufio.NewWriter(o.streams.Out)
		if err := report.Write(w, data, report.Options{}); err != nil {
			return err
		}
		return w.Flush()
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Output), ".swoll-report-*.html")
	if err != nil {
		return fmt.Errorf("writing the page: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	w := bufio.NewWriter(tmp)
	if err := report.Write(w, data, report.Options{}); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the page: %w", err)
	}
	if err := w.Flush(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing the page: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the page: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing the page: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.Output); err != nil {
		return fmt.Errorf("writing the page: %w", err)
	}
	_, _ = fmt.Fprintf(o.streams.ErrOut, "swoll: wrote %s (%d calls, %d errors, %d pods)\n", o.Output, data.Calls, data.Errors, data.Pods)
	return nil
}
