package summary

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/plugin/tally"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func row(pod, sc, errno string, calls, timeNs uint64) tally.Row {
	return tally.Row{Key: tally.Key{Node: "n1", Namespace: "shop", Pod: pod, Container: "web", Syscall: sc, Error: errno},
		Stat: tally.Stat{Calls: calls, TimeNs: timeNs}}
}

func TestGolden(t *testing.T) {
	rows := []tally.Row{
		row("web-7d9f8c6b5-aaaaa", "connect", "OK", 400, 400_000),
		row("web-7d9f8c6b5-bbbbb", "connect", "OK", 380, 380_000),
		row("web-7d9f8c6b5-ccccc", "connect", "OK", 10, 10_000),
		row("web-7d9f8c6b5-ccccc", "connect", "ETIMEDOUT", 390, 3_900_000_000),
		row("web-7d9f8c6b5-aaaaa", "connect", "ETIMEDOUT", 5, 50_000_000),
		row("web-7d9f8c6b5-aaaaa", "openat", "ENOENT", 1000, 2_000_000),
		row("web-7d9f8c6b5-aaaaa", "openat", "OK", 500, 1_500_000),
		row("web-7d9f8c6b5-bbbbb", "read", "OK", 2000, 500_000),
		row("web-7d9f8c6b5-ccccc", "read", "OK", 2000, 40_000_000),
	}
	var buf bytes.Buffer
	if err := Build(rows).Write(&buf, map[string]tally.Losses{"n1": {Lost: 2}, "n2": {}, "n3": {Filtered: 12345}}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "summary.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("summary differs from %s (go test -update rewrites it):\n%s", golden, buf.String())
	}
	out := buf.String()
	for _, s := range []string{"shop/web-7d9f8c6b5-ccccc (web): 390 of the 395 connect ETIMEDOUT errors", "read calls take"} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in\n%s", s, out)
		}
	}
	if strings.Contains(out, "aaaaa (web): 1000") {
		t.Errorf("a workload's only pod making a call was flagged:\n%s", out)
	}
}

// By caller, a line per system call and calling function: the same call from two functions is two lines, the
// call sites of one function one line, and calls without a caller one "?" line.
func TestGoldenByCaller(t *testing.T) {
	caller := func(r tally.Row, f stack.Frame) tally.Row {
		r.Caller = f
		return r
	}
	load := stack.Frame{Symbol: "main.loadConfig", Module: "/app/server"}
	serve := stack.Frame{Symbol: "main.(*server).serveFile", Module: "/app/server"}
	rows := []tally.Row{
		caller(row("web-a", "openat", "OK", 1500, 3_000_000), serve),
		caller(row("web-b", "openat", "OK", 500, 1_000_000), serve),
		caller(row("web-a", "openat", "ENOENT", 20, 40_000), load),
		caller(row("web-a", "read", "OK", 900, 900_000), stack.Frame{Module: "/lib/libfoo.so", ModuleOffset: 0x1a2b}),
		row("web-a", "read", "OK", 100, 100_000),
	}
	var buf bytes.Buffer
	if err := BuildByCaller(rows).Write(&buf, nil); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "summary-by-caller.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("summary differs from %s (go test -update rewrites it):\n%s", golden, buf.String())
	}
	if s := Build(rows); len(s.Lines) != 2 || s.Lines[0].Caller != "" {
		t.Errorf("without by caller: %+v", s.Lines)
	}
}

func TestWorkload(t *testing.T) {
	for pod, want := range map[string]string{
		"web-7d9f8c6b5-abcde": "web",
		"db-0":                "db",
		"agent-x7k2p":         "agent",
		"plain":               "plain",
		"my-app-12":           "my-app",
	} {
		if got := Workload(pod); got != want {
			t.Errorf("Workload(%q) = %q, want %q", pod, got, want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got := escape("a\x1b[31mb"); got != `a\x1b[31mb` {
		t.Errorf("escape = %q", got)
	}
}

func TestOutsideColumn(t *testing.T) {
	rows := []tally.Row{
		row("web-7d9f8c6b5-aaaaa", "read", "OK", 100, 1_000_000),
		row("web-7d9f8c6b5-aaaaa", "mount", "EPERM", 3, 30_000),
		row("web-7d9f8c6b5-bbbbb", "mount", "EPERM", 2, 20_000),
		row("web-7d9f8c6b5-aaaaa", "clone", "OK", 10, 500_000),
	}
	s := Build(rows)
	s.Outside = &Outside{Profile: "runtime/default", Classify: func(sc string) (bool, bool) {
		return sc == "mount", sc == "clone"
	}}
	var buf bytes.Buffer
	if err := s.Write(&buf, nil); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "outside.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("summary differs from %s (go test -update rewrites it):\n%s", golden, buf.String())
	}
	for _, w := range []string{"        5 mount", "        ? clone", "        5 total", "calls runtime/default would deny"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("no %q in\n%s", w, buf.String())
		}
	}
}

// The calls whose events were lost are in the table, counted with their errors and not timed; the lost events
// of no known call are said under it.
func TestDroppedCalls(t *testing.T) {
	rows := []tally.Row{
		row("web-7d9f8c6b5-aaaaa", "openat", "OK", 100, 1_000_000),
		row("web-7d9f8c6b5-aaaaa", "read", "OK", 50, 500_000),
	}
	losses := map[string]tally.Losses{
		"n1": {Lost: 1200, Dropped: []event.DroppedCall{
			{Syscall: "openat", Calls: 1000, Errors: map[string]uint64{"ENOENT": 900}},
			{Syscall: "close", Calls: 150},
		}},
		"n2": {Lost: 3, Dropped: []event.DroppedCall{{Syscall: "openat", Calls: 3, Errors: map[string]uint64{"EACCES": 1}}}},
	}
	var buf bytes.Buffer
	if err := Build(rows).Write(&buf, losses); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "dropped.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("summary differs from %s (go test -update rewrites it):\n%s", golden, buf.String())
	}
	for _, w := range []string{
		"         10      1103       901 openat", // 1 ms over the 100 timed calls
		"          0       150           close",
		"      1303       901 total",
		"include 1153 calls whose events were lost",
		"ENOENT 900",
		"warning: n1: 50 events lost of no known call",
	} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("no %q in\n%s", w, buf.String())
		}
	}
	if strings.Contains(buf.String(), "warning: n2") {
		t.Errorf("n2's lost events are all in the table:\n%s", buf.String())
	}
}
