package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
)

const line = `{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":100,"finish":112000,"pid":4242,"tid":4242,"container_pid":7,"uid":0,"gid":0,"comm":"nginx","session":"s","error":"ENOENT","return":-2,"pid_ns":1,"uts_ns":2,"mount_ns":3,"container":{"id":"containerd://abc","pod":"web-1","name":"nginx","namespace":"default"},"node":"n1","args":{"dirfd":"AT_FDCWD","pathname":"/etc/x","flags":"O_RDONLY"}}`

func TestJSONPassesLinesThrough(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(JSON, &buf, true)
	if err != nil {
		t.Fatal(err)
	}
	odd := `{"syscall":{"name":"x"},  "finish":1, "unknown_future_field":[1,2]}`
	for _, l := range []string{line, odd} {
		if err := w.Event([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Fatal("wrote before Flush: output must be buffered")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != line+"\n"+odd+"\n" {
		t.Fatalf("not passed through unchanged:\n%s", buf.String())
	}
}

func TestCLI(t *testing.T) {
	var plain, coloured bytes.Buffer
	for _, tc := range []struct {
		buf    *bytes.Buffer
		colour bool
	}{{&plain, false}, {&coloured, true}} {
		w, _ := New(CLI, tc.buf, tc.colour)
		if err := w.Event([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if err := w.Event([]byte(`not json`)); err != nil {
			t.Fatal(err)
		}
		_ = w.Flush()
	}
	got := plain.String()
	if !strings.HasPrefix(got, "nginx.web-1.default: ") || !strings.Contains(got, "openat(") || !strings.Contains(got, `"/etc/x"`) ||
		!strings.Contains(got, "ENOENT") {
		t.Fatalf("cli line: %q", got)
	}
	if strings.Contains(got, "\x1b[") {
		t.Fatal("colour without a terminal")
	}
	if !strings.Contains(got, "(undecodable event) not json\n") {
		t.Fatalf("an undecodable line must still show: %q", got)
	}
	if !strings.HasPrefix(coloured.String(), "\x1b[32mnginx.web-1.default: \x1b[0m") {
		t.Fatalf("coloured: %q", coloured.String())
	}
}

func TestColoursPerPod(t *testing.T) {
	var buf bytes.Buffer
	w, _ := New(CLI, &buf, true)
	c := w.(*cliWriter)
	a := []byte(strings.Replace(line, `"pod":"web-1"`, `"pod":"web-2"`, 1))
	_ = c.Event([]byte(line))
	_ = c.Event(a)
	_ = c.Event([]byte(line))
	_ = c.Flush()
	lines := strings.Split(buf.String(), "\n")
	if lines[0][:5] != lines[2][:5] || lines[0][:5] == lines[1][:5] {
		t.Fatalf("colours: %q", lines[:3])
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New("yaml", &bytes.Buffer{}, false); err == nil {
		t.Fatal("yaml accepted")
	}
}

func BenchmarkJSON(b *testing.B) {
	w, _ := New(JSON, discard{}, false)
	l := []byte(line)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = w.Event(l)
	}
	_ = w.Flush()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// A container's start and end are carried in the JSON output, as {"notice":...} lines; other notices and the
// CLI output carry none.
func TestContainerNoticesInTheOutput(t *testing.T) {
	one := 1
	notices := []*event.Notice{
		{Kind: event.NoticeReady, Node: "n1", Selection: event.SelectionCgroup},
		{Kind: event.NoticeContainerStarted, Node: "n1", Time: 5, Pod: "crash", Container: "main", RestartCount: &one},
		{Kind: event.NoticeLost, Node: "n1", Lost: 3},
		{Kind: event.NoticeContainerEnded, Node: "n1", Time: 9, Pod: "crash", Container: "main", RestartCount: &one, ExitCode: &one},
	}
	for _, format := range Formats {
		var buf bytes.Buffer
		w, err := New(format, &buf, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range notices {
			if err := w.Notice(n); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want := ""
		if format == JSON {
			want = `{"notice":{"kind":"container_started","node":"n1","time":5,"pod":"crash","container":"main","restart_count":1}}` + "\n" +
				`{"notice":{"kind":"container_ended","node":"n1","time":9,"pod":"crash","container":"main","restart_count":1,"exit_code":1}}` + "\n"
		}
		if buf.String() != want {
			t.Errorf("-o %s wrote:\n%s\nwant:\n%s", format, buf.String(), want)
		}
	}
}
