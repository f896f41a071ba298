//go:build linux

package tracer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/internal/testutil/grid"
	"github.com/swoll-dev/swoll/nodeagent/nsid"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/syscalls"
)

// kernelWait bounds every wait for the kernel (records to arrive, programs to be freed, a task's entries to
// go). The waits end as soon as the condition holds; the bound only tells a failure, and must leave room for
// make test-kernels' emulated VMs, where a subtest takes 5-8 s already.
const kernelWait = 30 * time.Second

func table(t *testing.T) *syscalls.Table {
	t.Helper()
	tb, err := syscalls.ForArch(syscalls.Arch(runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func calls(t *testing.T, names ...string) []*syscalls.Syscall {
	t.Helper()
	var out []*syscalls.Syscall
	for _, n := range names {
		sc, ok := table(t).ByName(n)
		if !ok {
			t.Fatalf("no system call %q", n)
		}
		out = append(out, sc)
	}
	return out
}

func nr(t *testing.T, name string) uint32 {
	t.Helper()
	return uint32(calls(t, name)[0].Nr)
}

func newTracer(t *testing.T, opts Options, selected ...string) *Tracer {
	t.Helper()
	roottest.Require(t)
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	if err := tr.Select(calls(t, selected...)); err != nil {
		t.Fatal(err)
	}
	return tr
}

// owned is a record whose captures are copied out of the ring.
type owned struct {
	record.Record
}

func own(r *record.Record) owned {
	o := owned{*r}
	for i := range o.Captures {
		o.Captures[i].Data = bytes.Clone(r.Captures[i].Data)
	}
	o.UserStack.Data = bytes.Clone(r.UserStack.Data)
	o.KernelStack.Data = bytes.Clone(r.KernelStack.Data)
	return o
}

// collect reads records until until returns true for the records so far, or fails the test after 10 s.
func collect(t *testing.T, tr *Tracer, until func([]owned) bool) []owned {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kernelWait)
	defer cancel()
	var got []owned
	done := false
	err := tr.Read(ctx, func(r *record.Record) bool {
		got = append(got, own(r))
		done = until(got)
		return !done
	})
	if err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Fatalf("timed out; records so far: %v", describe(got))
	}
	return got
}

func describe(recs []owned) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString("\n  ")
		b.WriteString(r.CommString())
		b.WriteString(" nr=")
		b.WriteString(itoa(int64(r.Nr)))
		b.WriteString(" pid=")
		b.WriteString(itoa(int64(r.Pid)))
		b.WriteString(" ret=")
		b.WriteString(itoa(r.Ret))
		for i, c := range r.Captures {
			if c.Present {
				b.WriteString(" cap" + itoa(int64(i)) + "=" + string(c.Data))
			}
		}
	}
	return b.String()
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func hasPath(pid int, path string) func([]owned) bool {
	return func(recs []owned) bool {
		for _, r := range recs {
			if int(r.Pid) == pid && string(r.Captures[1].Data) == path {
				return true
			}
		}
		return false
	}
}

func find(recs []owned, pred func(owned) bool) []owned {
	var out []owned
	for _, r := range recs {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func nsInode(t *testing.T, pid int, ns string) uint32 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+itoa(int64(pid))+"/ns/"+ns, &st); err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}

func mountNSID(t *testing.T, pid int) uint64 {
	t.Helper()
	id, _, err := nsid.MountNSID(pid)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testContainerRecords(t *testing.T, opts Options) {
	tr := newTracer(t, opts, "openat")
	h := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS,
		"openat:/etc/hostname", "openat:/nonexistent-swoll", "getppid", "longpath", "openat:/etc/hostname-end")
	pidNS, mntNS, utsNS := nsInode(t, h.Pid, "pid"), nsInode(t, h.Pid, "mnt"), nsInode(t, h.Pid, "uts")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 42); err != nil {
		t.Fatal(err)
	}
	h.run()
	recs := collect(t, tr, hasPath(h.Pid, "/etc/hostname-end"))
	mine := find(recs, func(r owned) bool { return int(r.Pid) == h.Pid })
	if len(mine) != len(recs) {
		t.Errorf("records of other processes: %v", describe(recs))
	}
	openat := nr(t, "openat")
	for _, r := range mine {
		if r.Nr != openat {
			t.Errorf("record of an unselected system call: %v", describe([]owned{r}))
		}
		if r.TargetID != 42 || r.NsPid != 1 || r.PidNS != pidNS || r.MntNS != mntNS || r.UtsNS != utsNS ||
			r.UID != 0 || r.GID != 0 || r.Tid == 0 || r.Start == 0 || r.Finish < r.Start {
			t.Errorf("identity fields: %+v (want target 42, nspid 1, pidns %d, mntns %d, utsns %d)", r.Record, pidNS, mntNS, utsNS)
		}
		if !r.Captures[1].Present || r.Captures[0].Present || r.Captures[2].Present {
			t.Errorf("captures: want only the path, got %+v", r.Captures)
		}
	}
	byPath := map[string]owned{}
	for _, r := range mine {
		byPath[string(r.Captures[1].Data)] = r
	}
	ok, found := byPath["/etc/hostname"]
	if !found {
		t.Fatalf("no record for /etc/hostname: %v", describe(mine))
	}
	if ok.Ret < 0 || ok.CommString() != helperComm || int32(ok.Args[0]) != unix.AT_FDCWD || ok.Args[2] != unix.O_RDONLY {
		t.Errorf("openat(/etc/hostname): %+v", ok.Record)
	}
	if ok.Captures[1].Truncated || ok.Captures[1].Faulted {
		t.Errorf("path capture flags: %+v", ok.Captures[1])
	}
	bad, found := byPath["/nonexistent-swoll"]
	if !found {
		t.Fatalf("no record for /nonexistent-swoll: %v", describe(mine))
	}
	if bad.Ret != -int64(unix.ENOENT) {
		t.Errorf("openat(/nonexistent-swoll) = %d, want -ENOENT", bad.Ret)
	}
	long := find(mine, func(r owned) bool { return r.Captures[1].Truncated })
	if len(long) != 1 {
		t.Fatalf("want one truncated path capture, got %d", len(long))
	}
	if l := long[0]; len(l.Captures[1].Data) != syscalls.MaxPathBytes || l.Ret != -int64(unix.ENAMETOOLONG) ||
		!bytes.HasPrefix(l.Captures[1].Data, []byte("/xxxx")) {
		t.Errorf("long path: %d bytes kept, ret %d", len(l.Captures[1].Data), l.Ret)
	}
}

// variants are the probe's program sets and the ways they attach: every one must write the same records.
var variants = []struct {
	name string
	opts Options
}{
	{"tp_btf", Options{Attach: bpf.AttachRaw}},
	{"raw_tracepoint", Options{Without: TpBTF, Attach: bpf.AttachRaw}},
	{"no_bpf_loop", Options{Without: Loop, Attach: bpf.AttachRaw}},
	{"no_task_storage", Options{Without: TaskStorage | Loop, Attach: bpf.AttachRaw}},
	{"per_call", Options{Attach: bpf.AttachPerCall}},
	{"per_call_no_bpf_loop", Options{Without: Loop, Attach: bpf.AttachPerCall}},
}

// forVariants runs fn as a subtest per variant, skipping those that load the same programs as an earlier
// one on this kernel (an older kernel lacks the features some variants turn off), and the per-call variants
// where the kernel has no per-call programs (before 5.15: see bpf.PtRegs). Under -test.short, one of them, in
// turn (package grid).
func forVariants(t *testing.T, fn func(t *testing.T, opts Options)) {
	t.Helper()
	forSomeVariants(t, nil, fn)
}

// forSomeVariants is forVariants with, under -test.short, the variants named in keep (grid.Pick).
func forSomeVariants(t *testing.T, keep []string, fn func(t *testing.T, opts Options)) {
	t.Helper()
	seen := map[string]bool{}
	var distinct []int
	var names []string
	for i, v := range variants {
		f := (ProbeFeatures() &^ v.opts.Without).Usable()
		if v.opts.Attach == bpf.AttachPerCall && f&PtRegs == 0 {
			continue
		}
		key := f.String() + " " + v.opts.Attach.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		distinct = append(distinct, i)
		names = append(names, v.name)
	}
	for _, i := range grid.Pick(t, names, keep...) {
		v := variants[distinct[i]]
		t.Run(v.name, func(t *testing.T) { fn(t, v.opts) })
	}
}

func TestContainerRecords(t *testing.T) {
	forVariants(t, testContainerRecords)
}

// The features found by probing are those of the kernel's version (the fast path where the kernel has it).
func TestTracerUsesTpBTF(t *testing.T) {
	tr := newTracer(t, Options{}, "openat")
	if tr.AttachType() != "tp_btf" {
		t.Fatalf("attached %s, want tp_btf on this kernel", tr.AttachType())
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor); err != nil {
		t.Fatal(err)
	}
	want := TpBTF
	if major > 5 || minor >= 11 {
		want |= TaskStorage
	}
	if major > 5 || minor >= 15 {
		want |= PtRegs
	}
	if major > 5 || minor >= 17 {
		want |= Loop
	}
	t.Logf("kernel %d.%d: features %s", major, minor, tr.Features())
	if tr.Features() != want {
		t.Errorf("kernel %d.%d: probe uses %s, want %s", major, minor, tr.Features(), want)
	}
}

// Untraced processes, whether in another mount namespace, in the target's pid namespace (hostPID-style), or in
// a namespace that reuses a removed target's inode, produce nothing.
func TestOnlyTargetMountNamespace(t *testing.T) {
	tr := newTracer(t, Options{}, "openat")

	// The target shares the host pid namespace, like a hostPID pod: only its mount namespace identifies it.
	target := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-target")
	if err := tr.AddMountNS(mountNSID(t, target.Pid), 7); err != nil {
		t.Fatal(err)
	}
	// Same pid namespace, host mount namespace.
	hostPeer := startHelper(t, 0, "openat:/etc/hostname-host")
	// Another container.
	other := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS, "openat:/etc/hostname-other")

	// A target that goes away while its entry stays (a stale filter), then a new namespace that may get the
	// same inode: the unique id differs, so it must not match.
	gone := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS)
	goneID, goneIno := mountNSID(t, gone.Pid), nsInode(t, gone.Pid, "mnt")
	if err := tr.AddMountNS(goneID, 9); err != nil {
		t.Fatal(err)
	}
	gone.end()
	reuse := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS, "openat:/etc/hostname-reuse")
	// Without NS_GET_MNTNS_ID the id is the inode number, which the kernel reuses at once; the tracer's
	// filter must tell the namespaces apart all the same.
	if id := mountNSID(t, reuse.Pid); id == goneID && !tr.byInode {
		t.Fatalf("a new mount namespace got the id %d of a dead one", id)
	}
	t.Logf("dead namespace inode %d, new namespace inode %d", goneIno, nsInode(t, reuse.Pid, "mnt"))

	hostPeer.run()
	other.run()
	reuse.run()
	target.run() // last: once its record arrives, the others' would have too
	recs := collect(t, tr, hasPath(target.Pid, "/etc/hostname-target"))
	for _, r := range recs {
		if int(r.Pid) != target.Pid || r.TargetID != 7 {
			t.Errorf("untraced record: %v", describe([]owned{r}))
		}
	}
}

// A running task's cached decision follows the filter: a task decided untraced is traced once its namespace is
// added, and no more once it is removed.
func TestDecisionFollowsTheFilter(t *testing.T) {
	forVariants(t, testDecisionFollowsTheFilter)
}

func testDecisionFollowsTheFilter(t *testing.T, opts Options) {
	tr := newTracer(t, opts, "openat")
	h := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-before", "pause", "openat:/etc/hostname-added",
		"pause", "openat:/etc/hostname-removed")
	marker := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-marker")
	if err := tr.AddMountNS(mountNSID(t, marker.Pid), 2); err != nil {
		t.Fatal(err)
	}
	id := mountNSID(t, h.Pid)
	h.resume("paused") // decided: not traced
	if err := tr.AddMountNS(id, 1); err != nil {
		t.Fatal(err)
	}
	h.resume("paused")
	if err := tr.RemoveMountNS(id); err != nil {
		t.Fatal(err)
	}
	h.resume("done")
	marker.run()
	recs := collect(t, tr, hasPath(marker.Pid, "/etc/hostname-marker"))
	var paths []string
	for _, r := range find(recs, func(r owned) bool { return int(r.Pid) == h.Pid }) {
		paths = append(paths, string(r.Captures[1].Data))
	}
	if len(paths) != 1 || paths[0] != "/etc/hostname-added" {
		t.Errorf("the helper's traced opens: %q, want only /etc/hostname-added", paths)
	}
}

func TestNothingWithoutTarget(t *testing.T) {
	tr := newTracer(t, Options{}, "openat", "getppid")
	marker := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-marker")
	quiet := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS, "openat:/etc/hostname-quiet", "getppid")
	quiet.run()
	if err := tr.AddMountNS(mountNSID(t, marker.Pid), 3); err != nil {
		t.Fatal(err)
	}
	marker.run()
	for _, r := range collect(t, tr, hasPath(marker.Pid, "/etc/hostname-marker")) {
		if int(r.Pid) != marker.Pid {
			t.Errorf("untraced record: %v", describe([]owned{r}))
		}
	}
}

func TestRemoveMountNS(t *testing.T) {
	tr := newTracer(t, Options{}, "openat")
	h := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-removed")
	marker := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-marker")
	id := mountNSID(t, h.Pid)
	if err := tr.AddMountNS(id, 5); err != nil {
		t.Fatal(err)
	}
	if err := tr.RemoveMountNS(id); err != nil {
		t.Fatal(err)
	}
	h.run()
	if err := tr.AddMountNS(mountNSID(t, marker.Pid), 6); err != nil {
		t.Fatal(err)
	}
	marker.run()
	for _, r := range collect(t, tr, hasPath(marker.Pid, "/etc/hostname-marker")) {
		if int(r.Pid) != marker.Pid {
			t.Errorf("record of a removed target: %v", describe([]owned{r}))
		}
	}
}

// pid-tree mode follows forks and execs; execve's filename and argv are read at entry.
func TestPidTreeAndExec(t *testing.T) {
	forVariants(t, testPidTreeAndExec)
}

func testPidTreeAndExec(t *testing.T, opts Options) {
	tr := newTracer(t, opts, "openat", "execve")
	h := startHelper(t, 0, "sh:exec /bin/cat /etc/hostname")
	if err := tr.AddPid(uint32(h.Pid), 11); err != nil {
		t.Fatal(err)
	}
	h.run()
	execve := nr(t, "execve")
	recs := collect(t, tr, func(recs []owned) bool {
		return len(find(recs, func(r owned) bool {
			return r.CommString() == "cat" && string(r.Captures[1].Data) == "/etc/hostname"
		})) > 0
	})
	for _, r := range recs {
		if r.TargetID != 11 {
			t.Errorf("target %d, want 11: %v", r.TargetID, describe([]owned{r}))
		}
	}
	execs := find(recs, func(r owned) bool { return r.Nr == execve })
	if len(execs) != 2 {
		t.Fatalf("want 2 execve records (sh, cat), got %v", describe(execs))
	}
	sh, cat := execs[0], execs[1]
	if string(sh.Captures[0].Data) != "/bin/sh" || string(sh.Captures[1].Data) != "/bin/sh\x00-c\x00exec /bin/cat /etc/hostname\x00" || sh.Ret != 0 {
		t.Errorf("execve of sh: %q %q ret %d", sh.Captures[0].Data, sh.Captures[1].Data, sh.Ret)
	}
	if string(cat.Captures[0].Data) != "/bin/cat" || string(cat.Captures[1].Data) != "/bin/cat\x00/etc/hostname\x00" {
		t.Errorf("execve of cat: %q %q", cat.Captures[0].Data, cat.Captures[1].Data)
	}
	if int(sh.Pid) == h.Pid || sh.Pid != cat.Pid {
		t.Errorf("pids: helper %d, sh %d, cat %d", h.Pid, sh.Pid, cat.Pid)
	}
}

func TestTraceAll(t *testing.T) {
	tr := newTracer(t, Options{}, "openat")
	h := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS, "openat:/etc/hostname-all")
	if err := tr.TraceAll(true); err != nil {
		t.Fatal(err)
	}
	h.run()
	recs := collect(t, tr, hasPath(h.Pid, "/etc/hostname-all"))
	if r := recs[len(recs)-1]; r.TargetID != 0 {
		t.Errorf("trace-all record has target %d", r.TargetID)
	}
}

func TestLostWhenReaderStalls(t *testing.T) {
	tr := newTracer(t, Options{RingBytes: os.Getpagesize()}, "openat", "close")
	h := startHelper(t, syscall.CLONE_NEWNS, "openat-many")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 1); err != nil {
		t.Fatal(err)
	}
	h.run()
	lost := tr.Lost()
	if lost == 0 {
		t.Fatal("4000 calls into a one-page ring that nobody reads lost nothing")
	}
	// What was dropped, by call: the helper's openat and close of /etc/hostname, which succeed.
	byCall, err := tr.LostByCall()
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for c, n := range byCall {
		sum += n
		if c.Nr != int(nr(t, "openat")) && c.Nr != int(nr(t, "close")) || c.Errno != 0 {
			t.Errorf("%d drops of call %d errno %d: not the helper's", n, c.Nr, c.Errno)
		}
	}
	if sum != lost {
		t.Errorf("%d drops by call, %d in all", sum, lost)
	}
	t.Logf("lost %d: %v", lost, byCall)
	dropped, err := tr.DroppedCalls()
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != len(byCall) || dropped[0].Calls < dropped[len(dropped)-1].Calls ||
		!slices.ContainsFunc(dropped, func(d event.DroppedCall) bool { return d.Syscall == "openat" && len(d.Errors) == 0 }) {
		t.Errorf("dropped calls %+v from %v", dropped, byCall)
	}
}

func TestCloseDetaches(t *testing.T) {
	forVariants(t, testCloseDetaches)
}

func testCloseDetaches(t *testing.T, opts Options) {
	roottest.Require(t)
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Attached, so that Close must detach them too.
	if err := tr.Select(calls(t, "openat")); err != nil {
		t.Fatal(err)
	}
	var ids []ebpf.ProgramID
	for _, p := range tr.coll.Programs {
		info, err := p.Info()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := info.ID()
		ids = append(ids, id)
	}
	// sys_enter, sys_exit, sched_process_fork, sched_process_exit, sched_process_exec, cgroup_attach_task, mnt_ids,
	// and the per-call programs where the kernel has them
	want := 7
	if tr.Features()&PtRegs != 0 {
		want += 2
	}
	if len(ids) != want {
		t.Fatalf("want %d programs loaded, got %d", want, len(ids))
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		// Freed asynchronously (RCU): wait until the id is gone.
		deadline := time.Now().Add(kernelWait)
		for {
			p, err := ebpf.NewProgramFromID(id)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err == nil {
				_ = p.Close()
			}
			if time.Now().After(deadline) {
				t.Fatalf("program %d still loaded after Close", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestBufferAndSockaddrCaptures(t *testing.T) {
	tr := newTracer(t, Options{CaptureData: 256}, "write", "read", "connect")
	h := startHelper(t, syscall.CLONE_NEWNS, "write:hello swoll", "read:/etc/hostname", "connect")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 2); err != nil {
		t.Fatal(err)
	}
	hostname, err := os.ReadFile("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	h.run()
	connect := nr(t, "connect")
	recs := collect(t, tr, func(recs []owned) bool {
		return len(find(recs, func(r owned) bool { return r.Nr == connect })) > 0
	})
	mine := find(recs, func(r owned) bool { return int(r.Pid) == h.Pid })
	writes := find(mine, func(r owned) bool { return r.Nr == nr(t, "write") })
	// The helper's own writes (its "done" line) may be among them: start at the first of ours.
	for len(writes) > 0 && string(writes[0].Captures[1].Data) != "hello swoll" {
		writes = writes[1:]
	}
	if len(writes) < 3 {
		t.Fatalf("want 3 writes to /dev/null, got %v", describe(writes))
	}
	if c := writes[0].Captures[1]; string(c.Data) != "hello swoll" || c.Truncated || c.Faulted || writes[0].Ret != 11 {
		t.Errorf("write(hello swoll): %+v ret %d", c, writes[0].Ret)
	}
	if c := writes[1].Captures[1]; len(c.Data) != 256 || !c.Truncated || c.Faulted {
		t.Errorf("1000-byte write: %d bytes kept, %+v", len(c.Data), c)
	}
	// /dev/null never reads the buffer, so the call succeeds; the probe's copy faults.
	if c := writes[2].Captures[1]; !c.Faulted || len(c.Data) != 0 || writes[2].Args[1] != 8 {
		t.Errorf("write from a bad pointer: %+v", c)
	}
	reads := find(mine, func(r owned) bool {
		return r.Nr == nr(t, "read") && string(r.Captures[1].Data) == string(hostname)
	})
	if len(reads) != 1 || reads[0].Ret != int64(len(hostname)) {
		t.Errorf("read of /etc/hostname: want its %d bytes, got %v", len(hostname), describe(reads))
	}
	conns := find(mine, func(r owned) bool { return r.Nr == connect })
	if len(conns) != 1 {
		t.Fatalf("want one connect, got %v", describe(conns))
	}
	sa := conns[0].Captures[1].Data
	// struct sockaddr_in: family (host order), port (network order), address.
	if len(sa) != 16 || sa[0] != unix.AF_INET || sa[2] != 0 || sa[3] != 1 || !bytes.Equal(sa[4:8], []byte{127, 0, 0, 1}) ||
		conns[0].Ret != -int64(unix.ECONNREFUSED) {
		t.Errorf("connect: sockaddr % x, ret %d", sa, conns[0].Ret)
	}
}

// exit_group never returns: its record is written at entry.
func TestNoReturnCall(t *testing.T) {
	tr := newTracer(t, Options{}, "exit_group")
	h := startHelper(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS)
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 4); err != nil {
		t.Fatal(err)
	}
	h.run()
	h.end() // the helper returns 0 from main: exit_group(0)
	exitGroup := nr(t, "exit_group")
	recs := collect(t, tr, func(recs []owned) bool {
		return len(find(recs, func(r owned) bool { return r.Nr == exitGroup && int(r.Pid) == h.Pid })) > 0
	})
	r := recs[len(recs)-1]
	if !r.NoReturn || r.Ret != 0 || r.Args[0] != 0 || r.TargetID != 4 || r.NsPid != 1 || r.Finish < r.Start {
		t.Errorf("exit_group record: %+v", r.Record)
	}
}

// A traced process leaves the pid filter when it exits, so that its recycled pid is not traced.
func TestPidLeavesFilterOnExit(t *testing.T) {
	tr := newTracer(t, Options{}, "getppid")
	h := startHelper(t, 0)
	if err := tr.AddPid(uint32(h.Pid), 8); err != nil {
		t.Fatal(err)
	}
	var target uint32
	if err := tr.pidTargets.Lookup(uint32(h.Pid), &target); err != nil || target != 8 {
		t.Fatalf("pid %d not in the filter (%v)", h.Pid, err)
	}
	h.end()
	deadline := time.Now().Add(kernelWait)
	for tr.pidTargets.Lookup(uint32(h.Pid), &target) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still in the filter after it exited", h.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSelectAllAndNone(t *testing.T) {
	tr := newTracer(t, Options{}, "openat")
	selected := func() int {
		n := 0
		var cfg bpf.ProbeSysCfg
		for nr := uint32(0); nr < tr.sysCfgs.MaxEntries(); nr++ {
			if err := tr.sysCfgs.Lookup(nr, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Selected != 0 {
				n++
			}
		}
		return n
	}
	if n := selected(); n != 1 {
		t.Fatalf("%d system calls selected, want 1", n)
	}
	if err := tr.Select(nil); err != nil {
		t.Fatal(err)
	}
	if n, want := selected(), len(table(t).All()); n != want {
		t.Fatalf("Select(nil) selected %d system calls, want all %d", n, want)
	}
}

func TestKernelConfig(t *testing.T) {
	tests := []struct {
		name  string
		check func(bpf.ProbeSysCfg) bool
	}{
		{"openat", func(c bpf.ProbeSysCfg) bool {
			return c.ExitCaps == 1 && c.EntryCaps == 0 && c.Args[1].Kind == uint8(syscalls.CaptureString) &&
				c.Args[1].Max == syscalls.MaxPathBytes && c.Args[0].Kind == 0 && c.Args[2].Kind == 0
		}},
		{"execve", func(c bpf.ProbeSysCfg) bool {
			return c.EntryCaps == 1 && c.ExitCaps == 0 && c.Args[0].Flags&argAtEntry != 0 &&
				c.Args[1].Kind == uint8(syscalls.CaptureStrArray)
		}},
		{"read", func(c bpf.ProbeSysCfg) bool {
			return c.Args[1].Kind == uint8(syscalls.CaptureBuf) && c.Args[1].Flags&argLenFromRet != 0
		}},
		{"write", func(c bpf.ProbeSysCfg) bool {
			return c.Args[1].LenArg == 2 && c.Args[1].Flags == 0 && c.Args[1].Max == 256
		}},
		{"accept", func(c bpf.ProbeSysCfg) bool {
			return c.Args[1].Kind == uint8(syscalls.CaptureSockaddr) && c.Args[1].Flags&argLenIsPtr != 0
		}},
		{"exit_group", func(c bpf.ProbeSysCfg) bool { return c.NoReturn == 1 && c.ExitCaps == 0 }},
		{"getppid", func(c bpf.ProbeSysCfg) bool { return c.Selected == 1 && c.ExitCaps == 0 && c.EntryCaps == 0 }},
		{"fstat", func(c bpf.ProbeSysCfg) bool { return c.Args[1].Flags == argFixed && c.ExitCaps == 1 }},
		{"rt_sigaction", func(c bpf.ProbeSysCfg) bool {
			return c.Args[1].Flags == argFixed|argAtEntry && c.Args[2].Flags == argFixed && c.EntryCaps == 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg := KernelConfig(calls(t, tt.name)[0], 256); !tt.check(cfg) {
				t.Errorf("%+v", cfg)
			}
		})
	}
}

// A multithreaded execve changes the caller's tid; the per-call state follows the task, so the call is
// still reported, under the process's pid.
func TestExecveFromThread(t *testing.T) {
	forVariants(t, testExecveFromThread)
}

func testExecveFromThread(t *testing.T, opts Options) {
	tr := newTracer(t, opts, "execve")
	h := startHelper(t, syscall.CLONE_NEWNS, "exec-from-thread:/bin/true")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 12); err != nil {
		t.Fatal(err)
	}
	h.run() // prints "done" just before the exec
	execve := nr(t, "execve")
	recs := collect(t, tr, func(recs []owned) bool {
		return len(find(recs, func(r owned) bool { return r.Nr == execve && int(r.Pid) == h.Pid })) > 0
	})
	r := recs[len(recs)-1]
	if r.Ret != 0 || string(r.Captures[0].Data) != "/bin/true" || r.Tid != r.Pid || r.CommString() != "true" {
		t.Errorf("execve from a thread: %v tid %d", describe([]owned{r}), r.Tid)
	}
}

// Reading records allocates nothing per record.
func TestReadDoesNotAllocatePerRecord(t *testing.T) {
	tr := newTracer(t, Options{}, "openat", "close")
	h := startHelper(t, syscall.CLONE_NEWNS, "openat-many")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 1); err != nil {
		t.Fatal(err)
	}
	h.run()
	const want = 4000 // 2000 openat + 2000 close
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	ctx, cancel := context.WithTimeout(context.Background(), kernelWait)
	defer cancel()
	if err := tr.Read(ctx, func(r *record.Record) bool {
		if int(r.Pid) == h.Pid {
			n++
		}
		return n < want
	}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n < want {
		t.Fatalf("read %d records, want %d", n, want)
	}
	if allocs := after.Mallocs - before.Mallocs; allocs > want/100 {
		t.Errorf("%d allocations for %d records", allocs, n)
	}
}

// Without task storage the per-call state is in hashes keyed by the task: a task's exit empties them.
func TestHashEntriesGoWithTheTask(t *testing.T) {
	tr := newTracer(t, Options{Without: TaskStorage | Loop}, "openat", "execve")
	if tr.Features()&TaskStorage != 0 {
		t.Fatalf("features %s, want no task storage", tr.Features())
	}
	h := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname-hash", "sh:exec /bin/true")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 13); err != nil {
		t.Fatal(err)
	}
	h.run()
	collect(t, tr, hasPath(h.Pid, "/etc/hostname-hash"))
	h.end()
	callsByTask := tr.coll.Maps[bpf.ProbeMapTasksByTask]
	stashes := tr.coll.Maps[bpf.ProbeMapStashesByTask]
	count := func(m *ebpf.Map) int {
		n := 0
		var k uint64
		var prev any // nil: the first key
		for m.NextKey(prev, &k) == nil {
			n++
			prev = k
		}
		return n
	}
	// Other traced tasks: none (the filter matched only the helper and its children, all gone).
	deadline := time.Now().Add(kernelWait)
	for count(callsByTask)+count(stashes) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d call entries and %d stashes left after the traced tasks exited", count(callsByTask), count(stashes))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
