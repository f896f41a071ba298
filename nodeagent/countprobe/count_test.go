//go:build linux

package countprobe

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/cgrouptest"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/internal/testutil/grid"
	"github.com/swoll-dev/swoll/nodeagent/nsid"
	"github.com/swoll-dev/swoll/nodeagent/tracer"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
)

// TestMain doubles as the workload: with COUNT_HELPER set, the test binary waits for a line on stdin, then
// makes the calls it names and exits.
func TestMain(m *testing.M) {
	switch os.Getenv("COUNT_HELPER") {
	case "":
		os.Exit(m.Run())
	case "open":
		helperOpen()
	case "many":
		helperMany()
	case "mover":
		helperMover()
	case "callers":
		helperCallers()
	case "pauser":
		helperPauser()
	}
	os.Exit(0)
}

var fdcwd = int64(unix.AT_FDCWD)

// atFDCWD is AT_FDCWD as a raw syscall argument (the kernel reads it as an int).
var atFDCWD = uintptr(fdcwd)

// waitGo tells the test the runtime's own start-up calls are over (it opens and closes files of its own),
// then waits for the go line, so that only the calls made after it are counted.
func waitGo() {
	_, _ = os.Stdout.WriteString("ready\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// helperOpen: 1000 openat of a missing file, 500 of an existing one (each closed).
func helperOpen() {
	missing, _ := unix.BytePtrFromString("/nonexistent/swoll-count-test")
	present, _ := unix.BytePtrFromString("/proc/self/stat")
	waitGo()
	for range 1000 {
		_, _, _ = unix.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(missing)), unix.O_RDONLY, 0, 0, 0)
	}
	for range 500 {
		fd, _, _ := unix.RawSyscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(present)), unix.O_RDONLY, 0, 0, 0)
		_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	}
}

// helperMany: for 2 s, as fast as it can, calls that fail with many different errnos.
func helperMany() {
	waitGo()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for fd := 1000; fd < 1040; fd++ {
			_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
		}
		_, _, _ = unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		_, _, _ = unix.RawSyscall(unix.SYS_DUP, 999, 0, 0)
		_, _, _ = unix.RawSyscall(unix.SYS_KILL, 0x7ffffff0, 0, 0)
		_, _, _ = unix.RawSyscall(unix.SYS_FCNTL, 999, 0, 0)
	}
}

// moverCalls is how many getppid calls helperMover makes in each of its three mount namespaces.
const moverCalls = 100

// helperMover: started in a mount namespace of its own (the test's target), one thread makes moverCalls getppid
// calls there, moves to a new mount namespace (unshare) for moverCalls more, then back (setns) for the last
// moverCalls. The thread's private fs (unshare gives it one) is what lets a multithreaded process setns a mount
// namespace.
func helperMover() {
	runtime.LockOSThread() // the thread that moves is the one that calls; it dies with the process
	home, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		fail("opening the mount namespace: %v", err)
	}
	getppids := func() {
		for range moverCalls {
			_, _, _ = unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
	}
	waitGo()
	getppids()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		fail("unshare: %v", err)
	}
	getppids()
	if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNS); err != nil {
		fail("setns: %v", err)
	}
	getppids()
}

// pauserCalls is how many getppid calls helperPauser makes in each of its three steps.
const pauserCalls = 100

// helperPauser: three times, pauserCalls getppid calls, then "paused" and a wait for the next go line (the test
// moves it to another cgroup meanwhile).
func helperPauser() {
	in := bufio.NewReader(os.Stdin)
	_, _ = os.Stdout.WriteString("ready\n")
	for range 3 {
		if _, err := in.ReadString('\n'); err != nil {
			fail("reading the go line: %v", err)
		}
		for range pauserCalls {
			_, _, _ = unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		_, _ = os.Stdout.WriteString("paused\n")
	}
}

func fail(format string, args ...any) {
	_, _ = fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// startHelper starts the helper and waits until it is ready; the returned func sends its go line and waits
// for it to exit.
func startHelper(t *testing.T, kind string) (*exec.Cmd, func()) {
	t.Helper()
	var attr *unix.SysProcAttr
	if kind == "mover" {
		attr = &unix.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	}
	h := startHelperWith(t, kind, attr)
	return h.cmd, func() {
		h.send("go")
		if err := h.cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
}

// countHelper is a running helper.
type countHelper struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.Writer
	out *bufio.Reader
}

// send writes a line to the helper.
func (h *countHelper) send(line string) {
	h.t.Helper()
	if _, err := fmt.Fprintln(h.in, line); err != nil {
		h.t.Fatal(err)
	}
}

// expect waits for a line from the helper.
func (h *countHelper) expect(want string) {
	h.t.Helper()
	if line, err := h.out.ReadString('\n'); err != nil || line != want+"\n" {
		h.t.Fatalf("helper: want %q, got %q (%v)", want, line, err)
	}
}

// startHelperWith starts a helper with attr (nil: none) and waits until it is ready.
func startHelperWith(t *testing.T, kind string, attr *unix.SysProcAttr) *countHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "COUNT_HELPER="+kind)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = attr
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
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	h := &countHelper{t: t, cmd: cmd, in: in, out: bufio.NewReader(out)}
	h.expect("ready")
	return h
}

// variant is one of the programs' variants (package bpf), attached one way: every one must count the same.
type variant struct {
	name    string
	without bpf.Features
	attach  bpf.AttachMode
}

var variants = []variant{
	{"tp_btf", 0, bpf.AttachRaw},
	{"raw_tracepoint", bpf.TpBTF, bpf.AttachRaw},
	{"no_task_storage", bpf.TaskStorage | bpf.Loop, bpf.AttachRaw},
	{"raw_no_task_storage", bpf.TpBTF | bpf.TaskStorage | bpf.Loop, bpf.AttachRaw},
	{"per_call", 0, bpf.AttachPerCall},
	{"per_call_no_task_storage", bpf.TaskStorage | bpf.Loop, bpf.AttachPerCall},
}

// forVariants runs fn as a subtest per variant, skipping those that load the same programs as an earlier one
// on this kernel (an older kernel lacks the features some variants turn off). Under -test.short, one of them,
// in turn (package grid).
func forVariants(t *testing.T, fn func(t *testing.T, v variant)) {
	t.Helper()
	type key struct {
		f bpf.Features
		a bpf.AttachMode
	}
	seen := map[key]bool{}
	var distinct []int
	var names []string
	for i, v := range variants {
		k := key{(tracer.ProbeFeatures() &^ v.without).Usable(), v.attach}
		if seen[k] {
			continue
		}
		seen[k] = true
		distinct = append(distinct, i)
		names = append(names, v.name)
	}
	for _, i := range grid.Pick(t, names) {
		v := variants[distinct[i]]
		t.Run(v.name, func(t *testing.T) { fn(t, v) })
	}
}

// newMode loads counting mode in a variant: the tracer's filter, and a Counter in the same variant.
func newMode(t *testing.T, opts Options, v variant) *Mode {
	t.Helper()
	roottest.Require(t)
	opts.Attach = v.attach
	tr, err := tracer.New(tracer.Options{FilterOnly: true, Without: v.without, RingBytes: os.Getpagesize()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMode(tr, opts)
	if err != nil {
		_ = tr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if m.Features() != tr.Features() {
		t.Fatalf("counting programs loaded with %s, the tracer with %s", m.Features(), tr.Features())
	}
	return m
}

func sc(t *testing.T, names ...string) []*syscalls.Syscall {
	t.Helper()
	calls, err := syscalls.Native().Resolve(names)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestExactCounts(t *testing.T) {
	forVariants(t, func(t *testing.T, v variant) {
		m := newMode(t, Options{}, v)
		if err := m.Select(sc(t, "openat", "close")); err != nil {
			t.Fatal(err)
		}
		cmd, run := startHelper(t, "open")
		if err := m.AddPid(uint32(cmd.Process.Pid), 7); err != nil {
			t.Fatal(err)
		}
		m.SetTarget(7, &protocol.Target{ContainerID: "c1", Pod: "p", Namespace: "ns", Container: "web"})
		run()
		snap, err := m.Snapshot("node-a", "s1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, r := range snap.Rows {
			if r.Container == nil || r.Container.Pod != "p" {
				t.Errorf("row without its container: %+v", r)
			}
			got[r.Syscall.Name+" "+r.Error] += r.Calls
			var h uint64
			for _, n := range r.Hist {
				h += n
			}
			if h != r.Calls || r.TimeNs == 0 {
				t.Errorf("%s %s: histogram holds %d of %d calls, time %d", r.Syscall.Name, r.Error, h, r.Calls, r.TimeNs)
			}
		}
		want := map[string]uint64{"openat ENOENT": 1000, "openat OK": 500, "close OK": 500}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %d calls, want %d (all: %v)", k, got[k], v, got)
			}
		}
		if snap.Overflow != 0 || snap.Node != "node-a" || snap.To <= snap.From {
			t.Errorf("snapshot %+v", snap)
		}
		// The next snapshot holds only what changed since: nothing.
		snap, err = m.Snapshot("node-a", "s1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Rows) != 0 {
			t.Errorf("second snapshot has rows: %+v", snap.Rows)
		}
	})
}

// A thread that changes mount namespace is counted by the namespace it is in: the programs remember each
// thread's filter decision, and forget it when the thread calls unshare or setns. Counting the helper's own
// namespace, only its first and last moverCalls getppid calls count, not those made in between from another
// namespace (a stale decision would count them too).
func TestThreadChangesMountNamespace(t *testing.T) {
	forVariants(t, func(t *testing.T, v variant) {
		m := newMode(t, Options{}, v)
		if err := m.Select(sc(t, "getppid")); err != nil {
			t.Fatal(err)
		}
		cmd, run := startHelper(t, "mover")
		ns, _, err := nsid.MountNSID(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if host, _, err := nsid.MountNSID(0); err != nil || host == ns {
			t.Fatalf("the helper is not in a mount namespace of its own (%d, host %d, %v)", ns, host, err)
		}
		if err := m.AddMountNS(ns, 9); err != nil {
			t.Fatal(err)
		}
		run()
		snap, err := m.Snapshot("n", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var got, pre uint64
		for _, r := range snap.Rows {
			if r.Syscall.Name != "getppid" || r.Error != "OK" {
				t.Errorf("unexpected row %s %s: %d calls", r.Syscall.Name, r.Error, r.Calls)
			}
			got += r.Calls
			if r.PreExec {
				pre += r.Calls
			}
		}
		if got != 2*moverCalls {
			t.Errorf("%d getppid calls counted, want %d (the first and last %d)", got, 2*moverCalls, moverCalls)
		}
		// The calls after the setns back are those of a process that joined the namespace and has not exec'd.
		if pre != moverCalls {
			t.Errorf("%d getppid calls counted pre-exec, want the last %d (after setns)", pre, moverCalls)
		}
	})
}

// TestOverflowIsReported fills a tiny counter table: what does not fit is counted as overflow.
func TestOverflowIsReported(t *testing.T) {
	m := newMode(t, Options{Entries: 3}, variant{})
	if err := m.Select(nil); err != nil {
		t.Fatal(err)
	}
	cmd, run := startHelper(t, "many")
	if err := m.AddPid(uint32(cmd.Process.Pid), 1); err != nil {
		t.Fatal(err)
	}
	run()
	snap, err := m.Snapshot("n", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Rows) > 3 {
		t.Errorf("%d rows from a table of 3", len(snap.Rows))
	}
	if snap.Overflow == 0 || snap.OverflowTotal != snap.Overflow {
		t.Errorf("no overflow reported: %+v", snap)
	}
	t.Logf("%d rows, %d calls not counted", len(snap.Rows), snap.Overflow)
}

func TestEntries(t *testing.T) {
	n := Entries()
	if n < minEntries || n > maxEntries {
		t.Errorf("Entries() = %d", n)
	}
	var v bpf.CountCountVal
	if len(v.Hist) != event.HistBuckets {
		t.Errorf("kernel histogram has %d buckets, event.HistBuckets is %d", len(v.Hist), event.HistBuckets)
	}
}

// Counting by cgroup ancestry, in each cgroup hierarchy this machine mounts (internal/cgrouptest): the calls of
// a task below a target cgroup count, exactly, those of a task beside it do not, and a task moved in and out
// counts only while it is in.
func TestCgroupCounts(t *testing.T) {
	for _, h := range cgrouptest.Hierarchies(t) {
		t.Run(h.Name(), func(t *testing.T) {
			forVariants(t, func(t *testing.T, v variant) { testCgroupCounts(t, h, v) })
		})
	}
}

func testCgroupCounts(t *testing.T, h cgrouptest.Hierarchy, v variant) {
	m := newMode(t, Options{}, v)
	if err := m.Select(sc(t, "openat", "close", "getppid")); err != nil {
		t.Fatal(err)
	}
	cgs := cgrouptest.Tree(t, h, "pod", "pod/ctr", "decoy")
	pod, ctr, decoy := cgs[0], cgs[1], cgs[2]
	in := startHelperWith(t, "open", nil)
	ctr.Move(t, in.cmd.Process.Pid)
	beside := startHelperWith(t, "open", nil)
	decoy.Move(t, beside.cmd.Process.Pid)
	mover := startHelperWith(t, "pauser", nil)
	decoy.Move(t, mover.cmd.Process.Pid)
	// Once the helpers are ready (their runtime's own opens done), so that the counts are exact.
	if err := m.SetCgroupHierarchy(h.Controller); err != nil {
		t.Fatal(err)
	}
	if err := m.AddCgroup(pod.ID, pod.Level, 7); err != nil {
		t.Fatal(err)
	}
	mover.send("go")
	mover.expect("paused")
	ctr.Move(t, mover.cmd.Process.Pid)
	mover.send("go")
	mover.expect("paused")
	decoy.Move(t, mover.cmd.Process.Pid)
	mover.send("go")
	mover.expect("paused")
	for _, hl := range []*countHelper{beside, in} {
		hl.send("go")
		if err := hl.cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	snap, err := m.Snapshot("n", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, r := range snap.Rows {
		got[r.Syscall.Name+" "+r.Error] += r.Calls
	}
	want := map[string]uint64{"openat ENOENT": 1000, "openat OK": 500, "close OK": 500, "getppid OK": pauserCalls}
	if !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}

// A process moved into a container's cgroup is pre-exec until it execs, and a process it forks is too: the
// shell moved into the target cgroup opens /dev/null from a subshell (a fork that does not exec), then execs
// /bin/cat, whose calls, and the execve itself, are the program's.
func TestPreExec(t *testing.T) {
	h := cgrouptest.Hierarchies(t)[0]
	forVariants(t, func(t *testing.T, v variant) {
		m := newMode(t, Options{}, v)
		if err := m.Select(sc(t, "openat", "execve", "read")); err != nil {
			t.Fatal(err)
		}
		if err := m.SetCgroupHierarchy(h.Controller); err != nil {
			t.Fatal(err)
		}
		ctr := cgrouptest.Tree(t, h, "ctr")[0]
		if err := m.AddCgroup(ctr.ID, ctr.Level, 3); err != nil {
			t.Fatal(err)
		}
		sh := exec.Command("/bin/sh", "-c", "read go; (: >/dev/null); exec /bin/cat /proc/self/stat")
		in, err := sh.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		sh.Stdout = io.Discard
		if err := sh.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
		ctr.Move(t, sh.Process.Pid)
		if _, err := io.WriteString(in, "go\n"); err != nil {
			t.Fatal(err)
		}
		if err := sh.Wait(); err != nil {
			t.Fatalf("sh: %v", err)
		}
		snap, err := m.Snapshot("n", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, r := range snap.Rows {
			key := r.Syscall.Name + " " + r.Error
			if r.PreExec {
				key += " pre-exec"
			}
			got[key] += r.Calls
		}
		t.Logf("counted %v", got)
		if got["openat OK pre-exec"] == 0 {
			t.Errorf("the subshell's open of /dev/null is not counted pre-exec: %v", got)
		}
		if got["execve OK"] != 1 || got["execve OK pre-exec"] != 0 {
			t.Errorf("want the one execve counted, not pre-exec: %v", got)
		}
		if got["openat OK"] == 0 || got["read OK"] == 0 {
			t.Errorf("cat's own calls (its open and read of /proc/self/stat) are not counted after its exec: %v", got)
		}
	})
}

// Without latencies the programs read no clock: the same counts, no time. They still see the entries (bpf/count.c's
// COUNT_AT_ENTRY).
func TestCountsWithoutLatency(t *testing.T) {
	forVariants(t, func(t *testing.T, v variant) {
		m := newMode(t, Options{NoLatency: true}, v)
		if err := m.Select(sc(t, "openat", "close", "exit_group")); err != nil {
			t.Fatal(err)
		}
		if p := m.Attached(); !p.Raw && !p.Calls[0].Enter {
			t.Errorf("not attached at the entry of %s: %+v", p.Calls[0].Event, p)
		}
		cmd, run := startHelper(t, "open")
		if err := m.AddPid(uint32(cmd.Process.Pid), 7); err != nil {
			t.Fatal(err)
		}
		run()
		snap, err := m.Snapshot("n", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, r := range snap.Rows {
			got[r.Syscall.Name+" "+r.Error] += r.Calls
			if r.TimeNs != 0 || len(r.Hist) != 0 {
				t.Errorf("%s %s: time %d, histogram %v without latencies", r.Syscall.Name, r.Error, r.TimeNs, r.Hist)
			}
		}
		want := map[string]uint64{"openat ENOENT": 1000, "openat OK": 500, "close OK": 500, "exit_group OK": 1}
		if !maps.Equal(got, want) {
			t.Errorf("counted %v, want %v", got, want)
		}
		if !snap.NoLatency {
			t.Errorf("the snapshot does not say it has no latencies: %+v", snap)
		}
	})
}

// A removed target's counters are freed once reported, and their slots serve the next target's: with room for
// four counters, two targets of three counters each, one after the other, overflow nothing.
func TestRemovedTargetsFreeTheirSlots(t *testing.T) {
	m := newMode(t, Options{Entries: 4}, variant{})
	if err := m.Select(sc(t, "openat", "close")); err != nil {
		t.Fatal(err)
	}
	for id := uint32(1); id <= 2; id++ {
		cmd, run := startHelper(t, "open")
		if err := m.AddPid(uint32(cmd.Process.Pid), id); err != nil {
			t.Fatal(err)
		}
		m.SetTarget(id, &protocol.Target{ContainerID: fmt.Sprint("c", id)})
		run()
		m.RemoveTarget(id)
		snap, err := m.Snapshot("n", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var calls uint64
		for _, r := range snap.Rows {
			if r.Container == nil || r.Container.ID != fmt.Sprint("c", id) {
				t.Errorf("target %d: a row of another container: %+v", id, r)
			}
			calls += r.Calls
		}
		if calls != 2000 || snap.Overflow != 0 {
			t.Errorf("target %d: %d calls counted, %d overflowed; want 2000, 0", id, calls, snap.Overflow)
		}
	}
}
