package userlog

import (
	"bytes"
	"testing"
)

func TestPrefixWriterWholeLines(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, false)
	p := NewPrefixWriter(l, "swoll-agent[n1]: ")
	_, _ = p.Write([]byte("loading "))
	_, _ = p.Write([]byte("probes\nattached 3"))
	_, _ = p.Write([]byte(" programs\npartial"))
	_ = p.Close()
	want := "swoll-agent[n1]: loading probes\nswoll-agent[n1]: attached 3 programs\nswoll-agent[n1]: partial\n"
	if buf.String() != want {
		t.Fatalf("got %q", buf.String())
	}
}
