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

// Pass: text from the cluster or an agent (ESC, C1, bidi, invalid UTF-8) reaches stderr escaped.
func TestLinesAreEscaped(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, false)
	l.Printf("event %s", "\x1b[31mred\u009b\u202e\xff")
	w := NewPrefixWriter(l, "agent: ")
	_, _ = w.Write([]byte("\x1b]0;t\x07 ok\n"))
	want := "swoll: event \\x1b[31mred\\u009b\\u202e\\xff\nagent: \\x1b]0;t\\x07 ok\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
