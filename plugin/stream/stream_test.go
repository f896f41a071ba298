package stream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/swoll-dev/swoll/event"
)

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 3*readBufferSize+17)
	input := "a\n\nbb\n" + long + "\nlast-without-newline"
	// one byte per read exercises every buffer boundary
	for name, r := range map[string]io.Reader{
		"whole":    strings.NewReader(input),
		"one-byte": iotest.OneByteReader(strings.NewReader(input)),
	} {
		t.Run(name, func(t *testing.T) {
			lr := NewLineReader(r)
			var got []string
			var keep [][]byte
			for {
				l, err := lr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(l))
				keep = append(keep, l)
			}
			want := []string{"a", "", "bb", long, "last-without-newline"}
			if len(got) != len(want) {
				t.Fatalf("%d lines, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] || string(keep[i]) != want[i] {
					t.Fatalf("line %d: got %.40q (kept %.40q), want %.40q", i, got[i], keep[i], want[i])
				}
			}
		})
	}
}

func TestLineReaderDropsHugeLines(t *testing.T) {
	input := "ok1\n" + strings.Repeat("y", MaxLine+10) + "\nok2\n"
	lr := NewLineReader(strings.NewReader(input))
	var lines []string
	tooLong := 0
	for {
		l, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrLineTooLong) {
			tooLong++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(l))
	}
	if tooLong != 1 || strings.Join(lines, ",") != "ok1,ok2" {
		t.Fatalf("tooLong=%d lines=%v", tooLong, lines)
	}
}

func TestLinesStayValid(t *testing.T) {
	// lines handed out earlier must not change when later lines are read (the merger holds them)
	var in bytes.Buffer
	for i := 0; i < 20000; i++ {
		in.WriteString(`{"syscall":{"name":"read"},"start":1,"finish":`)
		in.WriteString(strings.Repeat("1", 1+i%9))
		in.WriteString("}\n")
	}
	lr := NewLineReader(&in)
	var kept [][]byte
	var copies []string
	for {
		l, err := lr.Next()
		if err != nil {
			break
		}
		kept = append(kept, l)
		copies = append(copies, string(l))
	}
	for i := range kept {
		if string(kept[i]) != copies[i] {
			t.Fatalf("line %d changed", i)
		}
	}
}

func TestFinishOf(t *testing.T) {
	tests := []struct {
		line string
		want int64
		ok   bool
	}{
		{`{"syscall":{"nr":0,"name":"read"},"start":1,"finish":1732527600123456789,"args":{"x":"\"finish\":5"}}`, 1732527600123456789, true},
		{`{"syscall":{},"start":1,"finish": 42}`, 42, true},
		{`{"syscall":{},"start":1}`, 0, false},
		{`{"finish":"x"}`, 0, false},
	}
	for _, tc := range tests {
		got, ok := FinishOf([]byte(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("FinishOf(%s) = %d, %v; want %d, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

type recorder struct {
	notices   []*event.Notice
	snapshots []*event.Snapshot
	bad       []string
}

func (r *recorder) Notice(n *event.Notice)           { r.notices = append(r.notices, n) }
func (r *recorder) Malformed(line []byte, err error) { r.bad = append(r.bad, string(line)) }
func (r *recorder) Snapshot(s *event.Snapshot)       { r.snapshots = append(r.snapshots, s) }

func TestPump(t *testing.T) {
	input := strings.Join([]string{
		`{"notice":{"kind":"ready","node":"n1","time":5}}`,
		`{"syscall":{"name":"openat"},"start":9,"finish":10,"args":{}}`,
		`{"syscall":{"name":"read"},"start":10,"finish":11,"args":{}}`,
		`{"notice":{"kind":"lost","node":"n1","lost":123,"lost_total":456}}`,
		`not json at all`,
		`{"notice":{"kind":`,
		`{"syscall":{"name":"close"},"start":11,"finish":12,"args":{}}`,
		`{"notice":{"kind":"exit","node":"n1","events":3}}`,
	}, "\n") + "\n"
	out := make(chan Batch, 100)
	rec := &recorder{}
	if err := Pump(strings.NewReader(input), 7, out, rec); err != nil {
		t.Fatal(err)
	}
	close(out)
	var lines []string
	eofs := 0
	for b := range out {
		if b.Stream != 7 {
			t.Fatalf("batch of stream %d", b.Stream)
		}
		if b.EOF {
			eofs++
		}
		for _, it := range b.Items {
			f, _ := FinishOf(it.Line)
			if f != it.Finish {
				t.Fatalf("item finish %d, line says %d", it.Finish, f)
			}
			lines = append(lines, string(it.Line))
		}
	}
	if eofs != 1 {
		t.Fatalf("%d EOF batches", eofs)
	}
	if len(lines) != 3 || !strings.Contains(lines[0], "openat") || !strings.Contains(lines[2], "close") {
		t.Fatalf("event lines: %v", lines)
	}
	// passed through byte for byte
	if lines[1] != `{"syscall":{"name":"read"},"start":10,"finish":11,"args":{}}` {
		t.Fatalf("line altered: %s", lines[1])
	}
	kinds := []event.NoticeKind{}
	for _, n := range rec.notices {
		kinds = append(kinds, n.Kind)
	}
	if len(kinds) != 3 || kinds[0] != event.NoticeReady || kinds[1] != event.NoticeLost || kinds[2] != event.NoticeExit {
		t.Fatalf("notices: %v", kinds)
	}
	if rec.notices[1].Lost != 123 || rec.notices[1].LostTotal != 456 {
		t.Fatalf("lost notice: %+v", rec.notices[1])
	}
	if len(rec.bad) != 2 {
		t.Fatalf("malformed lines: %q", rec.bad)
	}
}

func BenchmarkPump(b *testing.B) {
	line := `{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":1732527600123456000,"finish":1732527600123459000,"pid":4242,"tid":4242,"container_pid":1,"uid":0,"gid":0,"comm":"nginx","session":"abc","error":"OK","return":3,"pid_ns":4026531836,"uts_ns":4026531838,"mount_ns":4026531841,"container":{"id":"containerd://0123456789abcdef","pod":"web-1","name":"nginx","image":"nginx:1.27","namespace":"default","labels":{"app":"web"}},"node":"node-a","args":{"dirfd":"AT_FDCWD","pathname":"/etc/hosts","flags":"O_RDONLY|O_CLOEXEC","mode":"0"}}` + "\n"
	data := bytes.Repeat([]byte(line), 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out := make(chan Batch, 1024)
		done := make(chan int)
		go func() {
			n := 0
			for bt := range out {
				n += len(bt.Items)
			}
			done <- n
		}()
		_ = Pump(bytes.NewReader(data), 0, out, &recorder{})
		close(out)
		if n := <-done; n != 10000 {
			b.Fatalf("%d events", n)
		}
	}
}
