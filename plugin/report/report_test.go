package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/browsertest"
	"github.com/swoll-dev/swoll/plugin/report/reporttest"
	"github.com/swoll-dev/swoll/plugin/tally"
)

func table() *tally.Table {
	t := tally.New()
	for i, pod := range []string{"web-1", "web-2", "</script><b>x"} {
		c := &event.Container{Namespace: "shop", Pod: pod, Name: "web"}
		for j := range 50 * (i + 1) {
			ts := int64(1.7e18) + int64(j)*2e8
			t.AddEvent(&event.Event{Syscall: event.Syscall{Name: "openat"}, Error: "ENOENT", Start: ts, Finish: ts + 2000, Container: c, Node: "n1"})
			t.AddEvent(&event.Event{Syscall: event.Syscall{Name: "read"}, Error: "OK", Start: ts, Finish: ts + 900, Container: c, Node: "n1"})
		}
	}
	t.AddSnapshot(&event.Snapshot{Node: "n2", From: 1.7e18, To: 1.7e18 + 1e9, Overflow: 3})
	return t
}

func TestData(t *testing.T) {
	d := FromTable(table(), "t")
	if d.Calls != 600 || d.Errors != 300 || d.Pods != 3 {
		t.Errorf("calls %d errors %d pods %d", d.Calls, d.Errors, d.Pods)
	}
	var toErr uint64
	for _, l := range d.Sankey.Links {
		if l.Source == "sys:openat" && l.Target == "err:ENOENT" {
			toErr = l.Value
		}
	}
	if toErr != 300 {
		t.Errorf("openat -> ENOENT carries %d, want 300 (links %v)", toErr, d.Sankey.Links)
	}
	if len(d.Losses) != 1 || d.Losses[0].Overflow != 3 {
		t.Errorf("losses %+v", d.Losses)
	}
}

// TestPageRenders opens the page in headless Chromium: the Sankey diagram is drawn with its nodes, and the
// page raised no error.
func TestPageRenders(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, FromTable(table(), "swoll report test"), Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "</script><b>") {
		t.Fatal("a pod name closed the data's script element")
	}
	if strings.Contains(buf.String(), "http://") && regexp.MustCompile(`src="http`).MatchString(buf.String()) {
		t.Fatal("the page loads something from the network")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	artifacts := os.Getenv("SWOLL_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("..", "..", "_output", "test-artifacts")
	}
	p := browsertest.Open(t, "file://"+path, artifacts, "report")
	reporttest.CheckDrawn(t, p.DOM, "shop/web-1", "shop/web-2", "openat", "ENOENT")
}
