//go:build linux

package stackstage

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/lineout"
	"github.com/swoll-dev/swoll/nodeagent/record"
)

// syncBuffer is an io.Writer the test reads while lineout writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ownStack is this goroutine's stack as the probe gives one: return addresses, innermost first, with the
// names the Go runtime gives them.
func ownStack(t *testing.T) (ips []uint64, names []string) {
	t.Helper()
	pcs := make([]uintptr, 64)
	n := runtime.Callers(1, pcs)
	for _, pc := range pcs[:n] {
		ips = append(ips, uint64(pc))
		names = append(names, runtime.FuncForPC(pc-1).Name())
	}
	return ips, names
}

// stackRecord is a record of this process with a user stack of ips (and a kernel stack of kips).
func stackRecord(ips, kips []uint64, truncated bool) *record.Record {
	r := &record.Record{Pid: uint32(os.Getpid())}
	r.UserStack = record.Stack{Truncated: truncated, Data: words(ips)}
	r.KernelStack = record.Stack{Data: words(kips)}
	return r
}

func words(v []uint64) []byte {
	var b []byte
	for _, ip := range v {
		for i := range 8 {
			b = append(b, byte(ip>>(8*i)))
		}
	}
	return b
}

const fakeKallsyms = "ffffffff81002000 T do_syscall_64\nffffffff81003000 T entry_SYSCALL_64\n"

func newStage(t *testing.T, format Format, slots int, kallsyms string) (*Stage, *lineout.Writer, *syncBuffer, *[]string) {
	t.Helper()
	var buf syncBuffer
	out := lineout.New(&buf, 1<<20, time.Millisecond)
	var logs []string
	var logMu sync.Mutex
	path := filepath.Join(t.TempDir(), "kallsyms")
	if err := os.WriteFile(path, []byte(kallsyms), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Out: out, Format: format, Slots: slots, Kallsyms: path, Logf: func(f string, a ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		logs = append(logs, f)
	}})
	return s, out, &buf, &logs
}

// submit sends one event whose line is line.
func submit(t *testing.T, s *Stage, line string, rec *record.Record) {
	t.Helper()
	sl := s.Take()
	if err := s.Submit(sl, append(sl.Line(), line...), rec); err != nil {
		t.Fatal(err)
	}
}

// JSON lines get their stacks, symbolized from this process's own binary, and stay in order through a stage
// with fewer slots than events.
func TestJSON(t *testing.T) {
	s, out, buf, logs := newStage(t, JSON, 2, fakeKallsyms)
	ips, names := ownStack(t)
	const n = 50
	for i := range n {
		kips := []uint64(nil)
		if i == 0 {
			kips = []uint64{0xffffffff81002010}
		}
		submit(t, s, `{"n":`+strconv.Itoa(i), stackRecord(ips, kips, false))
	}
	s.Close()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		var ev struct {
			N int `json:"n"`
			event.Event
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		if ev.N != i {
			t.Fatalf("line %d is event %d: out of order", i, ev.N)
		}
		if len(ev.Stack) != len(ips) {
			t.Fatalf("line %d: %d frames, want %d", i, len(ev.Stack), len(ips))
		}
		for j, f := range ev.Stack {
			if f.Symbol != names[j] || uint64(f.IP) != ips[j] || !strings.HasSuffix(f.Module, filepath.Base(os.Args[0])) {
				t.Errorf("line %d frame %d: %+v, want %s at %#x", i, j, f, names[j], ips[j])
			}
		}
		// a goroutine's stack reaches runtime.goexit: whole
		if ev.StackTruncated {
			t.Errorf("line %d: a whole stack is marked truncated", i)
		}
		if i == 0 && (len(ev.KernelStack) != 1 || ev.KernelStack[0].Symbol != "do_syscall_64" || ev.KernelStack[0].Module != "[kernel]") {
			t.Errorf("kernel stack %+v", ev.KernelStack)
		}
		if i > 0 && ev.KernelStack != nil {
			t.Errorf("line %d: a kernel stack it did not have", i)
		}
	}
	st := s.Stats()
	if st.Processes != 1 || st.Modules < 1 || st.Hits == 0 || st.Misses == 0 || st.KernelBytes <= 0 || st.Bytes <= st.KernelBytes || st.Budget <= 0 {
		t.Errorf("stats %+v", st)
	}
	if len(*logs) != 0 {
		t.Errorf("logged %q", *logs)
	}
}

// CLI lines get strace -k's lines under them: the kernel's frames, then the user's; a stack cut by the probe
// ends in [truncated], as does a call the kernel gave no stack for.
func TestCLI(t *testing.T) {
	s, out, buf, _ := newStage(t, CLI, 4, fakeKallsyms)
	ips, names := ownStack(t)
	submit(t, s, "[x/1] getppid() = 1 <1µs>\n", stackRecord(ips[:2], []uint64{0xffffffff81003005}, true))
	submit(t, s, "[x/1] getpid() = 1 <1µs>\n", stackRecord(nil, nil, false))
	s.Close()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if len(lines) != 8 || lines[0] != "[x/1] getppid() = 1 <1µs>" ||
		lines[1] != " > [kernel](entry_SYSCALL_64+0x5) [0xffffffff81003005]" ||
		!strings.Contains(lines[2], "("+names[0]+"+0x") || !strings.Contains(lines[3], "("+names[1]+"+0x") ||
		lines[4] != " > [truncated]" || lines[5] != "[x/1] getpid() = 1 <1µs>" || lines[6] != " > [truncated]" ||
		lines[7] != "" {
		t.Errorf("output:\n%s", buf.String())
	}
}

// Without the kernel's addresses (no CAP_SYSLOG) kernel frames keep theirs, and the user is told once.
func TestKernelSymbolsHidden(t *testing.T) {
	s, out, buf, logs := newStage(t, JSON, 4, "0000000000000000 T do_syscall_64\n")
	for range 3 {
		submit(t, s, `{"n":1`, stackRecord(nil, []uint64{0xffffffff81002010}, false))
	}
	s.Close()
	_ = out.Close()
	if len(*logs) != 1 || !strings.Contains((*logs)[0], "CAP_SYSLOG") {
		t.Errorf("logs %q", *logs)
	}
	// no user stack from the kernel: an empty one, cut short
	want := `{"n":1,"stack":[],"stack_truncated":true,"kernel_stack":[{"ip":"0xffffffff81002010","module":"[kernel]"}]}` + "\n"
	if got := buf.String(); got != strings.Repeat(want, 3) {
		t.Errorf("output %s", got)
	}
}

// A process that is gone has bare frames, marked truncated: they reach no thread entry.
func TestProcessGone(t *testing.T) {
	s, out, buf, _ := newStage(t, JSON, 4, fakeKallsyms)
	rec := stackRecord([]uint64{0x401000, 0x402000}, nil, false)
	rec.Pid = 1 << 30 // beyond pid_max
	submit(t, s, `{"n":1`, rec)
	s.Close()
	_ = out.Close()
	want := `{"n":1,"stack":[{"ip":"0x401000"},{"ip":"0x402000"}],"stack_truncated":true}` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("output %s, want %s", got, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

// Once the output fails, Submit says so, so that the reader stops.
func TestOutputError(t *testing.T) {
	out := lineout.New(failWriter{}, 64, time.Millisecond)
	s := New(Config{Out: out, Slots: 1})
	ips, _ := ownStack(t)
	deadline := time.Now().Add(time.Minute)
	for {
		sl := s.Take()
		if err := s.Submit(sl, append(sl.Line(), `{"n":1`...), stackRecord(ips, nil, false)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Submit never reported the output's error")
		}
	}
	s.Close()
	_ = out.Close()
}

// Warm (the process and binary known), an event through the stage allocates nothing.
func TestNoAllocs(t *testing.T) {
	s, out, _, _ := newStage(t, JSON, 8, fakeKallsyms)
	defer func() { s.Close(); _ = out.Close() }()
	ips, _ := ownStack(t)
	rec := stackRecord(ips, nil, false)
	for range 16 { // grow every slot's buffers
		submit(t, s, `{"n":1`, rec)
	}
	n := testing.AllocsPerRun(200, func() {
		sl := s.Take()
		_ = s.Submit(sl, append(sl.Line(), `{"n":1`...), rec)
	})
	if n != 0 {
		t.Errorf("%v allocations per event", n)
	}
}

// A writer that holds the output's lock takes a slot only if one is free, gives back one it did not use, and
// without one closes the line itself with the stacks' bare addresses (the user stack marked truncated).
func TestTryTakeAndBare(t *testing.T) {
	s, out, buf, _ := newStage(t, JSON, 1, fakeKallsyms)
	ips, _ := ownStack(t)
	sl, ok := s.TryTake()
	if !ok {
		t.Fatal("no free slot in an idle stage")
	}
	if _, ok := s.TryTake(); ok {
		t.Fatal("a second slot out of one")
	}
	s.Release(sl)
	s.Release(Slot{})         // nothing
	(*Stage)(nil).Release(sl) // a session without stacks
	sl, ok = s.TryTake()
	if !ok {
		t.Fatal("the released slot is not free again")
	}
	s.Release(sl)

	line, frames := AppendBare([]byte(`{"n":1`), stackRecord(ips[:2], []uint64{0xffffffff81002010}, false), nil)
	var ev event.Event
	if err := json.Unmarshal(line, &ev); err != nil || line[len(line)-1] != '\n' {
		t.Fatalf("line %q: %v", line, err)
	}
	if len(ev.Stack) != 2 || uint64(ev.Stack[0].IP) != ips[0] || ev.Stack[0].Symbol != "" || !ev.StackTruncated ||
		len(ev.KernelStack) != 1 || uint64(ev.KernelStack[0].IP) != 0xffffffff81002010 {
		t.Errorf("bare line %s", line)
	}
	rec := stackRecord(ips, nil, false)
	if n := testing.AllocsPerRun(100, func() {
		line, frames = AppendBare(line[:0], rec, frames)
	}); n != 0 {
		t.Errorf("%v allocations per bare line", n)
	}
	s.Close()
	_ = out.Close()
	if buf.String() != "" {
		t.Errorf("the stage wrote %q", buf.String())
	}
}
