//go:build linux

package countprobe

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/protocol"
)

// Calls of helperCallers from each of its two functions.
const (
	callsA = 300
	callsB = 100
)

// helperCallers: getppid from callerA and from callerB, then "done", then it waits for stdin to close (its
// maps must still be there when the test's snapshot symbolizes the stacks).
func helperCallers() {
	in := bufio.NewReader(os.Stdin)
	_, _ = os.Stdout.WriteString("ready\n")
	_, _ = in.ReadString('\n')
	callerA(callsA)
	callerB(callsB)
	_, _ = os.Stdout.WriteString("done\n")
	_, _ = io.Copy(io.Discard, in)
}

//go:noinline
func callerA(n int) {
	for range n {
		_, _, _ = unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}

//go:noinline
func callerB(n int) {
	for range n {
		_, _, _ = unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
}

// callersHelper is a running helperCallers.
type callersHelper struct {
	pid int
	in  io.WriteCloser
	out *bufio.Reader
}

// startCallers starts helperCallers, which lives until the test ends.
func startCallers(t *testing.T) *callersHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "COUNT_HELPER=callers")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(); _ = cmd.Wait() })
	h := &callersHelper{pid: cmd.Process.Pid, in: in, out: bufio.NewReader(out)}
	if line, err := h.out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper did not get ready: %q, %v", line, err)
	}
	return h
}

// run lets the helper make its calls and waits until it has.
func (h *callersHelper) run(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(h.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := h.out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "done" {
		t.Fatalf("helper: %q, %v", line, err)
	}
}

// By caller, the rows of one system call are split by the function that made the calls, named from the
// process's own binary, in every variant; the symbol cache's state is there for the stats notice.
func TestCountsByCaller(t *testing.T) {
	forVariants(t, func(t *testing.T, v variant) {
		m := newMode(t, Options{ByCaller: true}, v)
		if err := m.Select(sc(t, "getppid")); err != nil {
			t.Fatal(err)
		}
		h := startCallers(t)
		if err := m.AddPid(uint32(h.pid), 5); err != nil {
			t.Fatal(err)
		}
		m.SetTarget(5, &protocol.Target{ContainerID: "c1", Pod: "p"})
		h.run(t)
		snap, err := m.Snapshot("node-a", "s1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, r := range snap.Rows {
			if r.Caller == nil {
				t.Errorf("row without a caller: %+v", r)
				continue
			}
			if exe, _ := os.Executable(); r.Caller.Module != exe {
				t.Errorf("caller %+v is not in %s", r.Caller, exe)
			}
			got[r.Syscall.Name+" "+r.Caller.Symbol] += r.Calls
		}
		want := map[string]uint64{
			"getppid github.com/swoll-dev/swoll/nodeagent/countprobe.callerA": callsA,
			"getppid github.com/swoll-dev/swoll/nodeagent/countprobe.callerB": callsB,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %d calls, want %d (all: %v)", k, got[k], v, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("rows %v, want %v", got, want)
		}
		if st := m.SymbolStats(); st == nil || st.Processes != 1 || st.Modules < 1 {
			t.Errorf("symbol stats %+v", st)
		}
	})
}

// Without ByCaller rows have no caller and there is no symbol cache.
func TestCountsWithoutCaller(t *testing.T) {
	m := newMode(t, Options{}, variants[0])
	if err := m.Select(sc(t, "getppid")); err != nil {
		t.Fatal(err)
	}
	h := startCallers(t)
	if err := m.AddPid(uint32(h.pid), 5); err != nil {
		t.Fatal(err)
	}
	h.run(t)
	snap, err := m.Snapshot("node-a", "s1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Rows) != 1 || snap.Rows[0].Calls != callsA+callsB || snap.Rows[0].Caller != nil || m.SymbolStats() != nil {
		t.Errorf("rows %+v", snap.Rows)
	}
}
