package top

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/summary"
)

// Display shows frames. Show is called from one goroutine.
type Display interface {
	Show(f Frame, snap *event.Snapshot) error
}

// Plain writes a table per interval (for pipes, logs and --no-ui), at most maxRows rows (0: all).
type Plain struct {
	W       io.Writer
	MaxRows int
}

// Show implements Display.
func (p *Plain) Show(f Frame, _ *event.Snapshot) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s, last %s", f.Time.UTC().Format("2006-01-02 15:04:05 UTC"), f.Interval.Round(time.Millisecond))
	if f.Status != "" {
		b.WriteString("; " + summary.Escape(f.Status))
	}
	b.WriteString("\n")
	rows := f.Rows
	if p.MaxRows > 0 && len(rows) > p.MaxRows {
		rows = rows[:p.MaxRows]
	}
	writeTable(&b, rows, 0)
	if len(f.Rows) > len(rows) {
		fmt.Fprintf(&b, "(%d more rows)\n", len(f.Rows)-len(rows))
	}
	_, err := io.WriteString(p.W, b.String())
	return err
}

// JSON writes one merged snapshot line per interval.
type JSON struct {
	W io.Writer
}

// Show implements Display.
func (j *JSON) Show(_ Frame, snap *event.Snapshot) error {
	b, err := json.Marshal(event.Line{Snapshot: snap})
	if err != nil {
		return fmt.Errorf("encoding a snapshot: %w", err)
	}
	_, err = j.W.Write(append(b, '\n'))
	return err
}

// columns are the table's columns up to the error's; writeTable pads them to the header's.
const columns = "%-40s %-16s %-18s %10s %10s %10s %10s  "

// errorWidth pads the error column when the caller's (top --by caller) follows it.
const errorWidth = 16

func writeTable(b *strings.Builder, rows []Row, width int) {
	byCaller := false
	for _, r := range rows {
		byCaller = byCaller || r.Caller != ""
	}
	last := func(errno, caller string) string {
		if !byCaller {
			return errno + "\n"
		}
		return fmt.Sprintf("%-*s  %s\n", errorWidth, errno, caller)
	}
	line := fmt.Sprintf(columns, "NAMESPACE/POD", "CONTAINER", "SYSCALL", "CALLS/S", "ERRORS/S", "P50", "P99") +
		last("ERROR", "CALLER")
	b.WriteString(clip(line, width))
	if len(rows) == 0 {
		b.WriteString("(no calls in this interval)\n")
	}
	for _, r := range rows {
		pod := r.Namespace + "/" + r.Pod
		if r.Pod == "" {
			pod = "(host)"
		}
		caller := r.Caller
		if caller == "" {
			caller = "?" // unknown: the process exited before its stack was read
		}
		line := fmt.Sprintf(columns, summary.Escape(short(pod, 40)), summary.Escape(short(r.Container, 16)),
			summary.Escape(short(r.Syscall, 18)), rate(r.CallsPerSec), rate(r.ErrorsPerSec), dur(r.P50), dur(r.P99)) +
			last(summary.Escape(r.Error), summary.Escape(caller))
		b.WriteString(clip(line, width))
	}
}

func clip(line string, width int) string {
	if width <= 0 || len(line) <= width {
		return line
	}
	return line[:width-1] + "\n"
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "~"
}

func rate(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}
