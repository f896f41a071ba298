package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/swoll-dev/swoll/eventline"
	"github.com/swoll-dev/swoll/wire"
)

func framingParts(i int) eventline.Parts {
	start := int64(1_765_000_000_000_000_000 + i*3000)
	return eventline.Parts{
		Prefix:   []byte(`{"syscall":{"nr":257,"name":"openat","class":"file","group":"open","arch":"amd64"},"start":`),
		Start:    start,
		Finish:   start + 700,
		Identity: []byte(fmt.Sprintf(`,"pid":7,"tid":%d,"container_pid":1,"uid":0,"gid":0,"comm":"w"`, 7+i%3)),
		Session:  []byte(`,"session":"s","error":"`), Error: "OK", Return: 3,
		Namespaces: []byte(`,"pid_ns":1,"uts_ns":2,"mount_ns":3`),
		Target:     []byte(`,"container":{"pod":"p"},"node":"n1"`),
		Args:       []byte(fmt.Sprintf(`{"pathname":"/f%d"}`, i)),
	}
}

// binaryStream is an agent's stdout in a binary framing: the ready notice, events in frames of three, a notice
// among them, the exit notice; and the lines the plugin must read from it.
func binaryStream(framing string) ([]byte, []string) {
	ready := `{"notice":{"kind":"ready","node":"n1","time":5,"framing":"` + framing + `"}}`
	out := []byte(ready + "\n")
	want := []string{ready}
	enc, fr := wire.NewEncoder(), wire.NewFramer(framing == wire.BinaryZstd)
	var ops []byte
	var j eventline.Joiner
	for i := range 10 {
		p := framingParts(i)
		ops = enc.AppendEvent(ops, &p)
		l := j.Append(nil, &p)
		want = append(want, string(l[:len(l)-1]))
		if i == 4 {
			n := `{"notice":{"kind":"lost","node":"n1","lost":2,"lost_total":2}}`
			ops = enc.AppendLine(ops, []byte(n+"\n"))
			want = append(want, n)
		}
		if i%3 == 2 {
			out, ops = fr.Append(out, ops), ops[:0]
		}
	}
	exit := `{"notice":{"kind":"exit","node":"n1","events":10}}`
	ops = enc.AppendLine(ops, []byte(exit))
	want = append(want, exit)
	return fr.Append(out, ops), want
}

// pumped runs Pump over r and returns what it handed over, events and notices in stream order, as lines.
func pumped(t *testing.T, r io.Reader) ([]string, error) {
	t.Helper()
	out := make(chan Batch, 1024)
	err := Pump(r, 0, out, &recorder{})
	close(out)
	var got []string
	for b := range out {
		for _, it := range b.Items {
			if f, ok := FinishOf(it.Line); !ok || f != it.Finish {
				t.Errorf("item finish %d, its line says %d", it.Finish, f)
			}
			got = append(got, string(it.Line))
		}
		if b.Notice != nil {
			got = append(got, fmt.Sprintf(`{"notice":{"kind":"%s"`, b.Notice.Kind))
		}
	}
	return got, err
}

func TestPumpBinaryFraming(t *testing.T) {
	for _, framing := range []string{wire.Binary, wire.BinaryZstd} {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "one-byte": iotest.OneByteReader,
		} {
			t.Run(framing+"/"+name, func(t *testing.T) {
				b, want := binaryStream(framing)
				got, err := pumped(t, wrap(bytes.NewReader(b)))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("got %d items and notices, want %d:\n%q", len(got), len(want), got)
				}
				for i := range want {
					notice := bytes.HasPrefix([]byte(got[i]), []byte(`{"notice":`))
					if w := want[i]; (notice && !bytes.HasPrefix([]byte(w), []byte(got[i]))) || (!notice && got[i] != w) {
						t.Errorf("%d: got %s, want %s", i, got[i], w)
					}
				}
			})
		}
	}
}

func TestPumpRefusesUnknownFramings(t *testing.T) {
	good, _ := binaryStream(wire.Binary)
	for _, tc := range []struct {
		name  string
		input []byte
	}{
		{"unknown framing", []byte(`{"notice":{"kind":"ready","framing":"swoll-binary/9"}}` + "\n" + "\x01\x05hello" + string(make([]byte, 1<<17)))},
		{"corrupt frames", append(bytes.Clone(good[:bytes.IndexByte(good, '\n')+1]), 0x07, 0x01, 0x00)},
		{"cut frame", good[:len(good)-2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.input)
			_, err := pumped(t, r)
			if !errors.Is(err, ErrFraming) {
				t.Fatalf("Pump = %v, want ErrFraming", err)
			}
			if r.Len() != 0 {
				t.Fatalf("%d bytes left unread: the agent's writes would block", r.Len())
			}
		})
	}
}

func TestPumpJSONFramingNamed(t *testing.T) {
	input := `{"notice":{"kind":"ready","node":"n1","framing":"json"}}` + "\n" +
		`{"syscall":{"name":"read"},"start":10,"finish":11,"args":{}}` + "\n"
	got, err := pumped(t, bytes.NewReader([]byte(input)))
	if err != nil || len(got) != 2 || got[1] != `{"syscall":{"name":"read"},"start":10,"finish":11,"args":{}}` {
		t.Fatalf("got %q, %v", got, err)
	}
}

func BenchmarkPumpBinary(b *testing.B) {
	enc, fr := wire.NewEncoder(), wire.NewFramer(false)
	data := []byte(`{"notice":{"kind":"ready","framing":"` + wire.Binary + `"}}` + "\n")
	var ops []byte
	for i := range 10000 {
		p := framingParts(i)
		ops = enc.AppendEvent(ops, &p)
		if i%256 == 255 {
			data, ops = fr.Append(data, ops), ops[:0]
		}
	}
	data = fr.Append(data, ops)
	b.ReportAllocs()
	for b.Loop() {
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
	b.ReportMetric(float64(len(data))/10000, "bytes/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/event")
}
