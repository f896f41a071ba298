// Package reporttest checks a rendered chart page (package report's, and the live /metrics/charts page) in tests.
// It imports package testing, so only tests may import it: the shipped binaries never link testing (make verify
// checks their dependencies).
package reporttest

import (
	"regexp"
	"strings"
	"testing"
)

var (
	errorsAttr = regexp.MustCompile(`<body[^>]* data-errors="(\d+)"`)
	nodesAttr  = regexp.MustCompile(`data-sankey-nodes="(\d+)"`)
)

// CheckDrawn checks the DOM of a rendered chart page (browsertest.Open): no script error, a Sankey diagram
// with nodes, and a label drawn for each of labels.
func CheckDrawn(t testing.TB, dom string, labels ...string) {
	t.Helper()
	if m := errorsAttr.FindStringSubmatch(dom); m == nil || m[1] != "0" {
		t.Errorf("the page counted script errors (data-errors %v)", m)
	}
	if m := nodesAttr.FindStringSubmatch(dom); m == nil || m[1] == "0" {
		t.Errorf("no Sankey nodes drawn (data-sankey-nodes %v)", m)
	}
	if !strings.Contains(dom, "<svg") {
		t.Errorf("no chart was drawn (no svg element)")
	}
	for _, l := range labels {
		if !strings.Contains(dom, ">"+l+"<") {
			t.Errorf("no label %q drawn", l)
		}
	}
}
