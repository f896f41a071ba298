package eventline

import (
	"strconv"
	"testing"
)

// TestTimeCache checks the cached rendering of timestamps against strconv, across seconds and back.
func TestTimeCache(t *testing.T) {
	var c timeCache
	for _, ns := range []int64{0, 999_999_999, 1_000_000_000, 1_700_000_000_000_000_001, 1_700_000_000_999_999_999,
		1_700_000_001_000_000_000, 1_700_000_000_000_100_000, 42, -5, 9_223_372_036_854_775_807} {
		if got, want := string(c.appendTime(nil, ns)), strconv.FormatInt(ns, 10); got != want {
			t.Errorf("appendTime(%d) = %s, want %s", ns, got, want)
		}
	}
}

// TestJoin checks the key order of a joined line, and that every part lands where its doc says.
func TestJoin(t *testing.T) {
	p := Parts{
		Prefix: []byte(`{"syscall":{"nr":1},"start":`), Start: 1_700_000_000_000_000_001, Finish: 1_700_000_001_000_000_000,
		Identity: []byte(`,"pid":2`), Session: []byte(`,"session":"s","error":"`), Error: "ENOENT", Return: -2,
		AfterReturn: []byte(`,"r":1`), Namespaces: []byte(`,"pid_ns":3`), Target: []byte(`,"node":"n"`),
		Args: []byte(`{"a":1}`), AfterArgs: []byte(`,"z":true`),
	}
	var j Joiner
	want := `{"syscall":{"nr":1},"start":1700000000000000001,"finish":1700000001000000000,"pid":2,"session":"s",` +
		`"error":"ENOENT","return":-2,"r":1,"pid_ns":3,"node":"n","args":{"a":1},"z":true}` + "\n"
	if got := string(j.Append(nil, &p)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := string(j.AppendOpen(nil, &p)); got != want[:len(want)-2] {
		t.Fatalf("open: got %s", got)
	}
}
