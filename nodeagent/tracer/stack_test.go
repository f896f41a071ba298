//go:build linux

package tracer

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/nodeagent/record"
)

// textRange is an executable mapping of a process.
type textRange struct{ start, end uint64 }

// exeText returns the executable mappings of pid's own binary (its /proc/PID/exe).
func exeText(t *testing.T, pid int) []textRange {
	t.Helper()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	var out []textRange
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.Contains(f[1], "x") || f[5] != exe {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		s, err1 := strconv.ParseUint(lo, 16, 64)
		e, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("maps line %q", sc.Text())
		}
		out = append(out, textRange{s, e})
	}
	if len(out) == 0 {
		t.Fatalf("no executable mapping of %s in pid %d", exe, pid)
	}
	return out
}

func inText(ip uint64, text []textRange) bool {
	for _, r := range text {
		if ip >= r.start && ip < r.end {
			return true
		}
	}
	return false
}

// isKernelAddr: the kernel's half of the address space (both architectures' kernels live at the top).
func isKernelAddr(ip uint64) bool { return ip >= 0xffff000000000000 }

// The records carry the user stack of their call (and the kernel's with Kernel), in every variant: the frames
// of a Go program (which keeps frame pointers) down to its goroutine's start, all in its own binary; execve's
// taken at entry, in the image it replaced; exit_group's at entry; none without Stacks.
func TestStacks(t *testing.T) {
	forVariants(t, func(t *testing.T, opts Options) {
		// per call, the user stack only: -kk attaches to the raw tracepoints (TestKernelStacksOnRawTracepoints)
		opts.Stacks = Stacks{Depth: MaxStackDepth, Kernel: opts.Attach != bpf.AttachPerCall}
		testStacks(t, opts)
	})
}

func testStacks(t *testing.T, opts Options) {
	tr := newTracer(t, opts, "openat", "getppid", "execve", "exit_group")
	self := exeText(t, os.Getpid()) // the helper is this binary, at the same addresses (not PIE)
	h := startHelper(t, syscall.CLONE_NEWNS, "openat:/etc/hostname", "getppid", "exec-from-thread:/bin/true")
	if err := tr.AddMountNS(mountNSID(t, h.Pid), 3); err != nil {
		t.Fatal(err)
	}
	h.run()
	execve, exitGroup := nr(t, "execve"), nr(t, "exit_group")
	recs := collect(t, tr, func(recs []owned) bool {
		return len(find(recs, func(r owned) bool { return r.Nr == exitGroup && int(r.Pid) == h.Pid })) > 0
	})
	byNr := map[uint32]owned{}
	for _, r := range find(recs, func(r owned) bool { return int(r.Pid) == h.Pid }) {
		if _, ok := byNr[r.Nr]; !ok { // the helper's, before /bin/true's loader opens its libraries
			byNr[r.Nr] = r
		}
	}
	for _, name := range []string{"openat", "getppid", "execve", "exit_group"} {
		r, ok := byNr[nr(t, name)]
		if !ok {
			t.Errorf("no %s record: %v", name, describe(recs))
			continue
		}
		user := r.UserStack.AppendIPs(nil)
		kern := r.KernelStack.AppendIPs(nil)
		if opts.Stacks.Kernel && (len(kern) == 0 || !isKernelAddr(kern[0])) {
			t.Errorf("%s: kernel stack %#x", name, kern)
		}
		if !opts.Stacks.Kernel && len(kern) != 0 {
			t.Errorf("%s: a kernel stack %#x without -kk", name, kern)
		}
		switch r.Nr {
		case exitGroup:
			// /bin/true's: a C program, whose libc may keep no frame pointers; its first frame is in libc
			if len(user) == 0 || isKernelAddr(user[0]) {
				t.Errorf("exit_group: user stack %#x", user)
			}
			continue
		case execve:
			if r.Ret != 0 {
				t.Errorf("execve returned %d", r.Ret)
			}
		}
		// Go keeps frame pointers: a goroutine's stack ends in runtime.goexit, well within the depth
		if len(user) < 4 || r.UserStack.Truncated {
			t.Errorf("%s: user stack of %d frames (truncated %v): %#x", name, len(user), r.UserStack.Truncated, user)
		}
		for i, ip := range user {
			if !inText(ip, self) {
				t.Errorf("%s: frame %d at %#x is outside the program's text %#x", name, i, ip, self)
			}
		}
	}
}

// A stack deeper than Depth is cut there and marked truncated; records carry no stacks without Stacks.
func TestStackDepth(t *testing.T) {
	for _, tt := range []struct {
		name      string
		stacks    Stacks
		frames    int
		truncated bool
	}{
		{"off", Stacks{}, 0, false},
		{"two frames", Stacks{Depth: 2}, 2, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracer(t, Options{Stacks: tt.stacks}, "getppid")
			h := startHelper(t, syscall.CLONE_NEWNS, "getppid")
			if err := tr.AddMountNS(mountNSID(t, h.Pid), 3); err != nil {
				t.Fatal(err)
			}
			h.run()
			recs := collect(t, tr, func(recs []owned) bool {
				return len(find(recs, func(r owned) bool { return int(r.Pid) == h.Pid })) > 0
			})
			r := find(recs, func(r owned) bool { return int(r.Pid) == h.Pid })[0]
			if r.UserStack.Len() != tt.frames || r.UserStack.Truncated != tt.truncated || r.KernelStack.Len() != 0 {
				t.Errorf("user stack of %d frames (truncated %v), kernel %d; want %d (%v), 0",
					r.UserStack.Len(), r.UserStack.Truncated, r.KernelStack.Len(), tt.frames, tt.truncated)
			}
		})
	}
}

func TestStackOptions(t *testing.T) {
	for _, s := range []Stacks{{Depth: -1}, {Depth: MaxStackDepth + 1}, {Kernel: true}} {
		if _, err := New(Options{Stacks: s}); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

// With the incident filters and -y, only the calls the filters keep reach the ring, each with its stacks and its
// fd descriptions side by side (the stacks are taken after the exit filter's decision, the fds after them).
func TestStacksWithFilters(t *testing.T) {
	forVariants(t, func(t *testing.T, opts Options) {
		opts.Stacks = Stacks{Depth: MaxStackDepth, Kernel: opts.Attach != bpf.AttachPerCall}
		opts.Calls = callfilter.Spec{Paths: []string{"/etc/hostname"}, Fds: callfilter.FdsAll}
		tr := newTracer(t, opts, "openat", "getppid")
		self := exeText(t, os.Getpid())
		h := startHelper(t, 0, "openat:/etc/hostname", "openat:/nonexistent-swoll", "getppid")
		if err := tr.AddPid(uint32(h.Pid), 7); err != nil {
			t.Fatal(err)
		}
		h.run()
		h.end()
		var recs []owned
		waitFor(t, func() bool {
			recs = append(recs, drain(t, tr)...)
			return len(recs) > 0 && tr.Filtered() >= 2 // the failed openat and getppid
		})
		for _, r := range recs {
			name := callName(t, r)
			if name != "openat /etc/hostname" {
				t.Errorf("a record the filter drops: %s", name)
				continue
			}
			if f := r.Fds[record.FdRet]; !f.Present || fdText(f) != "/etc/hostname" {
				t.Errorf("returned fd %+v, want /etc/hostname", f)
			}
			user := r.UserStack.AppendIPs(nil)
			if len(user) < 4 || r.UserStack.Truncated {
				t.Errorf("user stack of %d frames (truncated %v): %#x", len(user), r.UserStack.Truncated, user)
			}
			for i, ip := range user {
				if !inText(ip, self) {
					t.Errorf("frame %d at %#x is outside the program's text %#x", i, ip, self)
				}
			}
			if kern := r.KernelStack.AppendIPs(nil); opts.Stacks.Kernel && (len(kern) == 0 || !isKernelAddr(kern[0])) {
				t.Errorf("kernel stack %#x", kern)
			}
		}
		if tr.Lost() != 0 {
			t.Errorf("%d lost", tr.Lost())
		}
	})
}

// Kernel stacks (-kk) are taken on the raw tracepoints: a system call's own tracepoint gives its program the
// call's user-space registers (6.1 walks no kernel stack from them). A narrow selection attaches there with
// -kk; forced per call, Select says why it cannot.
func TestKernelStacksOnRawTracepoints(t *testing.T) {
	roottest.Require(t)
	why := "raw tracepoints"
	if ProbeFeatures()&PtRegs == 0 {
		t.Logf("no per-call programs on this kernel: every selection attaches to the raw tracepoints")
		why = "bpf_task_pt_regs" // what per call lacks here, before -kk
	}
	opts := Options{Stacks: Stacks{Depth: 8, Kernel: true}}
	tr := newTracer(t, opts, "getppid")
	if p := tr.Attached(); !p.Raw {
		t.Errorf("-kk with one call selected attached %+v, want the raw tracepoints", p)
	}
	opts.Attach = bpf.AttachPerCall
	forced, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = forced.Close() }()
	if err := forced.Select(calls(t, "getppid")); err == nil || !strings.Contains(err.Error(), why) {
		t.Errorf("-kk forced per call: Select = %v, want an error saying why not", err)
	}
}
