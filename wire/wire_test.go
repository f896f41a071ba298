package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/eventline"
)

const t0 = 1_765_000_000_123_456_789

// jitter is a fixed pseudo-random number below n for event i: real calls are not evenly spaced.
func jitter(i, n int) int64 { return int64(uint32(i)*2654435761>>7) % int64(n) }

func getppid(i int) eventline.Parts {
	start := int64(t0+i*4000) + jitter(i, 2000)
	return eventline.Parts{
		Prefix:     []byte(`{"syscall":{"nr":110,"name":"getppid","class":"process","group":"info","arch":"amd64"},"start":`),
		Start:      start,
		Finish:     start + 250 + jitter(i+1, 300),
		Identity:   []byte(`,"pid":4242,"tid":4242,"container_pid":1,"uid":0,"gid":0,"comm":"syscall-loop"`),
		Session:    []byte(`,"session":"ab12cd","error":"`),
		Error:      "OK",
		Return:     4200,
		Namespaces: []byte(`,"pid_ns":4026532301,"uts_ns":4026532300,"mount_ns":4026532299`),
		Target:     []byte(`,"container":{"id":"0123456789abcdef","pod":"loop","name":"loop","image":"localhost/loop:v1","namespace":"default","restart_count":0,"labels":{"app":"loop"}},"node":"swoll-a"`),
		Args:       []byte(`{}`),
	}
}

func openat(i int) eventline.Parts {
	p := getppid(i)
	p.Prefix = []byte(`{"syscall":{"nr":257,"name":"openat","class":"file","group":"open","arch":"amd64"},"start":`)
	p.Args = []byte(fmt.Sprintf(`{"dirfd":"AT_FDCWD","pathname":"/usr/share/zoneinfo/zone%d","flags":"O_RDONLY|O_CLOEXEC"}`, i%50))
	if i%3 == 0 {
		p.Error, p.Return = "ENOENT", -2
	} else {
		p.Return = 3 + int64(i%10)
	}
	if i%7 == 0 {
		p.Identity = []byte(fmt.Sprintf(`,"pid":4242,"tid":%d,"container_pid":1,"uid":0,"gid":0,"comm":"w\"orker"`, 4243+i%5))
	}
	return p
}

// stream encodes events (with a notice line after each tenth) into frames of batch ops each, as an agent
// writes them.
func stream(t testing.TB, compress bool, batch int, events []eventline.Parts) []byte {
	t.Helper()
	enc, fr := NewEncoder(), NewFramer(compress)
	var out, ops []byte
	for i := range events {
		ops = enc.AppendEvent(ops, &events[i])
		if i%10 == 9 {
			ops = enc.AppendLine(ops, []byte(`{"notice":{"kind":"stats","events":`+fmt.Sprint(i+1)+`}}`+"\n"))
		}
		if (i+1)%batch == 0 {
			out, ops = fr.Append(out, ops), ops[:0]
		}
	}
	return fr.Append(out, ops)
}

// lines decodes a stream into the lines the plugin prints: events joined, notice lines as they are.
func lines(t testing.TB, b []byte) ([]string, error) {
	t.Helper()
	d := NewDecoder(bufio.NewReader(bytes.NewReader(b)))
	var j eventline.Joiner
	var out []string
	for {
		k, err := d.Next()
		switch {
		case errors.Is(err, io.EOF):
			return out, nil
		case err != nil:
			return out, err
		case k == Event:
			out = append(out, string(j.Append(nil, d.Parts())))
		case k == Line:
			out = append(out, string(d.Line())+"\n")
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func(int) eventline.Parts
	}{{"getppid", getppid}, {"openat", openat}} {
		for _, compress := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/compress=%v", tc.name, compress), func(t *testing.T) {
				var events []eventline.Parts
				var want []string
				var j eventline.Joiner
				for i := range 1000 {
					events = append(events, tc.mk(i))
					want = append(want, string(j.Append(nil, &events[i])))
					if i%10 == 9 {
						want = append(want, `{"notice":{"kind":"stats","events":`+fmt.Sprint(i+1)+"}}\n")
					}
				}
				got, err := lines(t, stream(t, compress, 64, events))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("got %d lines, want %d; first: %q, want %q", len(got), len(want), got[0], want[0])
				}
			})
		}
	}
}

// TestEveryPartCarried fails for a part of eventline.Parts the framing does not carry: each field in turn gets
// a value of its own and must come back.
func TestEveryPartCarried(t *testing.T) {
	typ := reflect.TypeOf(eventline.Parts{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		p := getppid(0)
		v := reflect.ValueOf(&p).Elem().Field(i)
		switch v.Kind() {
		case reflect.Slice:
			v.SetBytes([]byte(`,"` + f.Name + `":"only here"`))
		case reflect.String:
			v.SetString("E" + strings.ToUpper(f.Name))
		case reflect.Int64:
			v.SetInt(v.Int() + 1234567)
		default:
			t.Fatalf("Parts.%s is a %s: teach this test and the framing to carry it", f.Name, v.Kind())
		}
		d := NewDecoder(bufio.NewReader(bytes.NewReader(stream(t, false, 1, []eventline.Parts{p}))))
		if k, err := d.Next(); err != nil || k != Event {
			t.Fatalf("%s: %v %v", f.Name, k, err)
		}
		got := reflect.ValueOf(d.Parts()).Elem().Field(i).Interface()
		if !reflect.DeepEqual(got, v.Interface()) {
			t.Errorf("Parts.%s: got %q, want %q", f.Name, got, v.Interface())
		}
	}
}

// TestTablesBounded: more threads than a table holds, the writer empties it and the reader follows.
func TestTablesBounded(t *testing.T) {
	var events []eventline.Parts
	var want []string
	var j eventline.Joiner
	for i := range MaxTable + 100 {
		p := getppid(i)
		p.Identity = []byte(fmt.Sprintf(`,"pid":%d,"tid":%d`, i, i))
		events = append(events, p)
		want = append(want, string(j.Append(nil, &p)))
		if i%10 == 9 {
			want = append(want, `{"notice":{"kind":"stats","events":`+fmt.Sprint(i+1)+"}}\n")
		}
	}
	got, err := lines(t, stream(t, true, 1000, events))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
}

// TestTablesBoundedInBytes: long strings (labels) empty a table by its bytes before its count.
func TestTablesBoundedInBytes(t *testing.T) {
	var events []eventline.Parts
	var want []string
	var j eventline.Joiner
	for i := range 3 * MaxTableBytes / (1 << 20) {
		p := getppid(i)
		p.Target = []byte(fmt.Sprintf(`,"container":{"pod":"p%d","labels":{"x":"%s"}}`, i, strings.Repeat("y", 1<<20)))
		events = append(events, p)
		want = append(want, string(j.Append(nil, &p)))
		if i%10 == 9 {
			want = append(want, `{"notice":{"kind":"stats","events":`+fmt.Sprint(i+1)+"}}\n")
		}
	}
	got, err := lines(t, stream(t, false, 1, events))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
}

func TestBrokenStreams(t *testing.T) {
	good := stream(t, false, 4, []eventline.Parts{getppid(0), getppid(1), openat(2)})
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"cut inside a frame", good[:len(good)-3], io.ErrUnexpectedEOF},
		{"unknown frame kind", append([]byte{9, 1, 0}, good...), ErrCorrupt},
		{"unknown op", []byte{frameRaw, 1, 99}, ErrCorrupt},
		{"undefined string", []byte{frameRaw, 8, opEvent, 5, 0, 0, 0, 0, 0, 0}, ErrCorrupt},
		{"op past its frame", []byte{frameRaw, 2, opLine, 7}, ErrCorrupt},
		{"frame over the bound", []byte{frameRaw, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrCorrupt},
		{"bad zstd", []byte{frameZstd, 3, 1, 2, 3}, ErrCorrupt},
		{"unknown table", []byte{frameRaw, 4, opDefine, numTables, 1, 'x'}, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := lines(t, tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestChooseAndOffer(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
		err     bool
	}{
		{nil, JSON, false},
		{[]string{Binary, JSON}, Binary, false},
		{[]string{"swoll-binary/9", JSON}, JSON, false},
		{[]string{"swoll-binary/9"}, "", true},
	} {
		got, err := Choose(tc.offered)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrNoFraming)) {
			t.Errorf("Choose(%v) = %q, %v; want %q, error %v", tc.offered, got, err, tc.want, tc.err)
		}
	}
	for _, tc := range []struct {
		env  string
		want []string
		err  bool
	}{{"", Known, false}, {"json", []string{JSON}, false}, {"zstd", []string{BinaryZstd}, false}, {"binary", []string{Binary}, false}, {Binary, []string{Binary}, false}, {"xml", nil, true}} {
		got, err := Offer(tc.env)
		if !reflect.DeepEqual(got, tc.want) || (err != nil) != tc.err {
			t.Errorf("Offer(%q) = %v, %v; want %v, error %v", tc.env, got, err, tc.want, tc.err)
		}
	}
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	enc := NewEncoder()
	p := openat(1)
	buf := enc.AppendEvent(nil, &p)
	if allocs := testing.AllocsPerRun(100, func() { buf = enc.AppendEvent(buf[:0], &p) }); allocs != 0 {
		t.Errorf("%v allocations per event, want 0", allocs)
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	events := make([]eventline.Parts, 2000)
	for i := range events {
		events[i] = getppid(i)
	}
	b := stream(t, false, 1000, events)
	d := NewDecoder(bufio.NewReaderSize(bytes.NewReader(b), 1<<20))
	for range 1100 { // the first frame, and the second one's buffer
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if allocs := testing.AllocsPerRun(500, func() { _, _ = d.Next() }); allocs != 0 {
		t.Errorf("%v allocations per op, want 0", allocs)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(stream(f, false, 3, []eventline.Parts{getppid(0), openat(1), openat(3)}))
	f.Add(stream(f, true, 3, []eventline.Parts{getppid(0), openat(1), openat(3), openat(4)}))
	f.Add([]byte{frameRaw, 2, opLine, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(bufio.NewReader(bytes.NewReader(b)))
		var j eventline.Joiner
		for range 10000 {
			k, err := d.Next()
			if err != nil {
				return
			}
			if k == Event {
				_ = j.Append(nil, d.Parts())
			}
		}
	})
}
