//go:build linux

package tracer

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/internal/cgrouptest"
)

// Selection by cgroup ancestry, in each cgroup hierarchy this machine mounts (internal/cgrouptest): every task
// below a target cgroup is traced, a process started there from its first call, its fork+exec children too; a
// cgroup beside it is not; a task moved in and out is decided again at its next call. Records carry the task's
// own cgroup.
func TestCgroupAncestry(t *testing.T) {
	for _, h := range cgrouptest.Hierarchies(t) {
		t.Run(h.Name(), func(t *testing.T) {
			forVariants(t, func(t *testing.T, opts Options) { testCgroupAncestry(t, h, opts) })
		})
	}
}

func testCgroupAncestry(t *testing.T, h cgrouptest.Hierarchy, opts Options) {
	tr := newTracer(t, opts, "openat", "execve")
	cgs := cgrouptest.Tree(t, h, "pod", "pod/ctr", "decoy")
	pod, ctr, decoy := cgs[0], cgs[1], cgs[2]
	if err := tr.SetCgroupHierarchy(h.Controller); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddCgroup(pod.ID, pod.Level, 21); err != nil {
		t.Fatal(err)
	}
	// Started in the container's cgroup where a process can be (the unified hierarchy's CLONE_INTO_CGROUP),
	// else moved there before its calls.
	attr := &syscall.SysProcAttr{}
	if h.Unified() {
		attr.UseCgroupFD, attr.CgroupFD = true, ctr.FD(t)
	}
	in := startHelperWith(t, attr, "openat:/etc/hostname-in", "sh:exec /bin/cat /etc/hostname")
	if !h.Unified() {
		ctr.Move(t, in.Pid)
	}
	beside := startHelper(t, 0, "openat:/etc/hostname-decoy")
	decoy.Move(t, beside.Pid)
	mover := startHelper(t, 0, "openat:/etc/hostname-out", "pause", "openat:/etc/hostname-moved-in", "pause",
		"openat:/etc/hostname-moved-out")
	decoy.Move(t, mover.Pid)
	mover.resume("paused")
	ctr.Move(t, mover.Pid)
	mover.resume("paused")
	decoy.Move(t, mover.Pid)
	mover.resume("done")
	beside.run()
	in.run() // last: once its child's records arrive, the others' would have too

	execve, openat := nr(t, "execve"), nr(t, "openat")
	recs := collect(t, tr, func(recs []owned) bool {
		return len(find(recs, func(r owned) bool {
			return r.CommString() == "cat" && r.Nr == openat && string(r.Captures[1].Data) == "/etc/hostname"
		})) > 0
	})
	for _, r := range recs {
		if r.TargetID != 21 || r.Cgroup != ctr.ID {
			t.Errorf("record with target %d, cgroup %d (want 21, %d): %v", r.TargetID, r.Cgroup, ctr.ID, describe([]owned{r}))
		}
		if int(r.Pid) == beside.Pid {
			t.Errorf("a record of the decoy: %v", describe([]owned{r}))
		}
	}
	var moved []string
	for _, r := range find(recs, func(r owned) bool { return int(r.Pid) == mover.Pid }) {
		moved = append(moved, string(r.Captures[1].Data))
	}
	if strings.Join(moved, " ") != "/etc/hostname-moved-in" {
		t.Errorf("the moved task's traced opens: %q, want only the one made in the target's cgroup", moved)
	}
	if len(find(recs, func(r owned) bool { return int(r.Pid) == in.Pid && string(r.Captures[1].Data) == "/etc/hostname-in" })) != 1 {
		t.Errorf("no record of the open in the target's cgroup: %v", describe(recs))
	}
	children := find(recs, func(r owned) bool { return r.Nr == execve && int(r.Pid) != in.Pid })
	if len(children) != 2 || string(children[0].Captures[0].Data) != "/bin/sh" || string(children[1].Captures[0].Data) != "/bin/cat" {
		t.Errorf("the child's execs (sh, then cat): %v", describe(children))
	}
	if h.Unified() {
		// Its first call: the exec of the helper itself, by the child the test forked into the cgroup.
		first := find(recs, func(r owned) bool { return r.Nr == execve && int(r.Pid) == in.Pid })
		if len(first) != 1 || first[0].Ret != 0 {
			t.Errorf("the exec that started the helper in the cgroup: %v", describe(first))
		}
	}
}

// SetCgroupHierarchy knows every controller of this kernel by the name /proc/cgroups gives it (what
// nodeagent/cgroups names a pure v1 host's hierarchy by).
func TestCgroupHierarchiesNameEveryController(t *testing.T) {
	data, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		t.Skipf("no /proc/cgroups: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if _, ok := cgroupHierarchies[fields[0]]; !ok {
			t.Errorf("controller %s of /proc/cgroups is not one SetCgroupHierarchy takes", fields[0])
		}
	}
	seen := map[bpf.ProbeCgroupHierarchy]string{}
	for name, h := range cgroupHierarchies {
		if other, ok := seen[h]; ok {
			t.Errorf("%q and %q name the same hierarchy %d", name, other, h)
		}
		seen[h] = name
	}
}

// What moves a task between targets is seen as it happens (bpf/filter.h): every move to another cgroup counts
// in cgroup_moves, so that no task's cached decision survives one, whatever the kernel's css_set addresses;
// and with pre-exec tracking, the moved process is pre-exec until it execs.
func TestCgroupMovesAreSeen(t *testing.T) {
	h := cgrouptest.Hierarchies(t)[0]
	tr := newTracer(t, Options{}, "openat")
	if err := tr.TrackPreExec(true); err != nil {
		t.Fatal(err)
	}
	moves := func() uint32 {
		var n uint32
		if err := tr.coll.Variables[bpf.ProbeVarCgroupMoves].Get(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	preExec := func(pid int) bool {
		var v uint8
		return tr.coll.Maps[bpf.ProbeMapPreExec].Lookup(uint32(pid), &v) == nil
	}
	cgs := cgrouptest.Tree(t, h, "a", "b")
	helper := startHelper(t, 0, "pause", "exec-from-thread:/bin/sleep")
	before := moves()
	cgs[0].Move(t, helper.Pid)
	cgs[1].Move(t, helper.Pid)
	if n := moves() - before; n < 2 {
		t.Errorf("two moves counted as %d", n)
	}
	if !preExec(helper.Pid) {
		t.Errorf("the moved process %d is not pre-exec", helper.Pid)
	}
	helper.resume("paused")
	if !preExec(helper.Pid) {
		t.Errorf("the moved process %d is no more pre-exec, but has not exec'd", helper.Pid)
	}
	helper.resume("done") // then it execs
	deadline := time.Now().Add(kernelWait)
	for preExec(helper.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the process %d is still pre-exec after its exec", helper.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
