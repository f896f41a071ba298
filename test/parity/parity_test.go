//go:build linux

package parity

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/syscalls"
)

// program is one test program in testdata and the system calls compared for it. openat is always traced:
// the begin marker is an openat. src is the C file (testdata/NAME.c) or Go package (testdata/NAME/), name
// by default; dynamic links it against the shared libc instead of statically.
type program struct {
	name     string
	syscalls []string
	src      string
	dynamic  bool
	golang   bool
	hostOnly bool // needs this machine's programs and libraries: not run from SWOLL_PARITY_PREBUILT
	// flags are given to strace and to swoll-agent trace alike (-y, -yy, -Z, -z, -P PATH: the same names);
	// WORK in them is the program's work directory.
	flags []string
}

// filters says whether the run shows only some calls (-Z, -z, -P): the agent's readiness is then its
// "tracing" line, not a getppid of the program, which the filters may drop.
func (p program) filters() bool {
	for _, f := range p.flags {
		if f == "-Z" || f == "-z" || f == "-P" {
			return true
		}
	}
	return false
}

// fromStart: the run has no begin marker to start from (-P shows only calls on its path, which the programs
// touch only after the marker).
func (p program) fromStart() bool { return slices.Contains(p.flags, "-P") }

// runFlags are p's flags for a run in work.
func (p program) runFlags(work string) []string {
	out := make([]string, len(p.flags))
	for i, f := range p.flags {
		out[i] = strings.ReplaceAll(f, "WORK", work)
	}
	return out
}

func (p program) source() string {
	if p.src != "" {
		return p.src
	}
	return p.name
}

// binary names p's executable: a static C program's is its source's (the runs with flags share it), a program
// built another way (dynamic, Go) has its own.
func (p program) binary() string {
	if p.dynamic || p.golang {
		return p.name
	}
	return p.source()
}

// Syscall lists of the programs that share a source.
var (
	freshCalls = []string{"openat", "execve", "execveat", "clone", "wait4"}
	filesCalls = []string{"openat", "open", "creat", "openat2", "close", "read", "write", "mkdirat", "faccessat",
		"faccessat2", "renameat", "renameat2", "chdir", "unlinkat"}
	netCalls = []string{"openat", "socket", "connect", "bind", "listen", "accept4", "close", "read", "write"}
	fdsCalls = []string{"openat", "write", "lseek", "read", "fsync", "fstat", "close", "dup", "dup2", "dup3",
		"renameat", "unlinkat", "pipe2", "eventfd2", "memfd_create", "socketpair", "shutdown", "socket", "bind",
		"listen", "connect", "accept4", "chdir"}
)

var programs = []program{
	{name: "files", syscalls: filesCalls},
	{name: "net", syscalls: netCalls},
	// -y and -yy: fds shown with what they are (files, a device, pipes, an eventfd, a memfd, sockets of each
	// family); -Z, -z, -P: only the calls that failed, that succeeded, that are on a path.
	{name: "fds-y", src: "fds", syscalls: fdsCalls, flags: []string{"-y"}},
	// strace -yy asks the kernel's sock_diag about sockets, whose answers change with its version (a bound TCP
	// socket that does not listen is reported from 6.x on): compared on this machine's kernel only.
	{name: "fds-yy", src: "fds", syscalls: fdsCalls, flags: []string{"-yy"}, hostOnly: true},
	{name: "net-yy", src: "net", syscalls: netCalls, flags: []string{"-yy"}, hostOnly: true},
	{name: "files-Z", src: "files", syscalls: filesCalls, flags: []string{"-Z"}},
	{name: "files-z", src: "files", syscalls: filesCalls, flags: []string{"-z"}},
	{name: "files-P", src: "files", syscalls: filesCalls, flags: []string{"-P", "WORK/data.txt", "-y"}},
	{name: "fds-P", src: "fds", syscalls: fdsCalls, flags: []string{"-P", "WORK/data.txt"}},
	{name: "proc", syscalls: []string{"openat", "execve", "execveat", "clone", "clone3", "fork", "vfork", "kill",
		"unshare", "setns", "mount", "umount2", "ptrace", "init_module", "finit_module", "mkdirat", "write",
		"close"}},
	{name: "fs", syscalls: []string{"openat", "write", "close", "fstat", "newfstatat", "stat", "lstat", "statx",
		"setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "flistxattr",
		"removexattr", "lremovexattr", "fremovexattr", "fchmod", "fchmodat", "chmod", "chown", "lchown", "fchown",
		"fchownat", "linkat", "symlinkat", "readlinkat", "readlink", "link", "symlink", "unlink", "rename",
		"mkdir", "rmdir", "access", "truncate", "ftruncate", "fsync", "fdatasync", "sync_file_range", "syncfs",
		"fallocate", "fadvise64", "lseek", "flock", "mkdirat", "fchdir", "getcwd", "chdir", "getdents64", "umask",
		"mknodat", "mknod", "utimensat", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "memfd_create", "fcntl",
		"pipe2", "pipe", "dup", "dup2", "dup3", "ioctl", "close_range", "sync"}},
	{name: "mem", syscalls: []string{"openat", "close", "mmap", "mremap", "mprotect", "madvise", "mlock", "munlock",
		"mlock2", "msync", "munmap", "mlockall", "munlockall", "brk", "rt_sigaction", "rt_sigprocmask",
		"rt_sigpending", "kill", "tgkill", "tkill", "signalfd4", "eventfd2", "nanosleep", "clock_nanosleep",
		"clock_gettime", "clock_getres", "timerfd_create", "timerfd_settime", "getitimer"}},
	{name: "cred", syscalls: []string{"openat", "getuid", "geteuid", "getgid", "getegid", "setuid", "setgid",
		"setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "capget", "capset", "prctl",
		"seccomp", "personality", "getrlimit", "setrlimit", "prlimit64", "getpriority", "setpriority",
		"sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_yield", "uname",
		"getrandom", "clone", "wait4", "kill", "socketpair", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
		"close", "socket",
		"setsockopt", "getsockopt", "bind", "getsockname", "getpeername", "epoll_create1", "epoll_ctl", "ppoll",
		"poll", "select"}},
	{name: "iov", syscalls: []string{"openat", "close", "writev", "readv", "pwritev", "preadv", "pwritev2",
		"preadv2", "lseek", "pipe2", "write", "read", "ioctl", "epoll_create1", "epoll_ctl", "epoll_wait",
		"epoll_pwait", "socket", "bind", "sendmsg", "recvmsg", "socketpair"}},
	{name: "sweep", syscalls: []string{"openat", "close", "chdir", "prlimit64", "clock_getres",
		"sched_get_priority_max", "mmap", "madvise", "mprotect", "munmap", "socket", "getsockopt", "kill", "getpid",
		"gettid", "faccessat", "unlinkat"}},
	// Fresh children exec'ing and opening string literals, static and dynamic, and a shell (they run the
	// host's /bin/true, /bin/sh and /bin/cat: not in the kernel VMs' prebuilt set).
	{name: "fresh", syscalls: freshCalls, hostOnly: true},
	{name: "fresh-dynamic", src: "fresh", dynamic: true, syscalls: freshCalls, hostOnly: true},
	// A Go program: os.Open and os/exec.
	{name: "goexec", golang: true, syscalls: []string{"openat", "execve", "clone", "clone3"}, hostOnly: true},
}

// knownDiffs are the differences this test found that are not fixed yet (see knownDiff).
var knownDiffs = []knownDiff{
	{"fresh", "execve", "fresh-literal", execveNeverRead},
	{"fresh-dynamic", "execve", "fresh-literal", execveNeverRead},
	{"proc", "mount", "MS_BIND|MS_REC", "nodeagent/decode: strace prints filesystemtype (and data) as a pointer " +
		"when the flags make the kernel ignore them (MS_BIND, MS_MOVE, MS_REMOUNT, propagation changes); swoll " +
		"prints the string"},
}

// execveNeverRead explains the one fresh-child case that cannot match: an execve that fails because its
// file cannot be opened returns before the kernel reads argv, so in a fresh child the literals' page is
// never faulted in, and neither the entry nor the exit read (nor sched_process_exec, which does not run)
// can copy it; swoll marks argv unreadable ("argv_unreadable": true) where strace, reading through ptrace,
// faults the page in. Every exec that succeeds and every string the kernel reads does match.
const execveNeverRead = "nodeagent/decode, bpf: a failed execve whose file does not exist never reads argv; " +
	"in a fresh child its literals are unreadable to BPF"

// readySyscall is what the programs call while they wait for the test's go-ahead; seeing it in the agent's
// output proves the agent is attached. It is not compared.
const readySyscall = "getppid"

// TestStraceParity runs each program under strace and under swoll-agent trace and compares every call.
func TestStraceParity(t *testing.T) {
	roottest.Require(t)
	strace := roottest.Tool(t, "strace")
	table := syscalls.Native()
	tmp := t.TempDir()
	bins := tmp
	if dir := os.Getenv(prebuiltEnv); dir != "" {
		bins = dir // a VM without go or gcc (make test-kernels)
	} else {
		buildAll(t, tmp)
	}
	agent := filepath.Join(bins, "swoll-agent")
	runAll(t, strace, agent, bins, tmp, table, os.Getenv(prebuiltEnv) != "")
}

// prebuiltEnv names a directory holding swoll-agent and the test programs, built beforehand (hack/kernels).
const prebuiltEnv = "SWOLL_PARITY_PREBUILT"

// buildAll builds the agent and the programs into dir at once: the agent's link dominates.
func buildAll(t *testing.T, dir string) {
	gcc := roottest.Tool(t, "gcc")
	agent := filepath.Join(dir, "swoll-agent")
	var wg sync.WaitGroup
	errs := make([]error, len(programs)+1)
	build := func(i int, cmd *exec.Cmd) {
		defer wg.Done()
		if out, err := cmd.CombinedOutput(); err != nil {
			errs[i] = errors.New(cmd.String() + ": " + err.Error() + "\n" + string(out))
		}
	}
	wg.Add(len(programs) + 1)
	go build(0, exec.Command("go", "build", "-o", agent, "github.com/swoll-dev/swoll/cmd/swoll-agent"))
	built := map[string]bool{}
	for i, p := range programs {
		out := filepath.Join(dir, p.binary())
		if built[p.binary()] {
			wg.Done() // another run of a binary built already
			continue
		}
		built[p.binary()] = true
		switch {
		case p.golang:
			cmd := exec.Command("go", "build", "-o", out, "./testdata/"+p.source())
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			go build(i+1, cmd)
		case p.dynamic:
			go build(i+1, exec.Command(gcc, "-O0", "-pthread", "-Wall", "-o", out, filepath.Join("testdata", p.source()+".c")))
		default:
			go build(i+1, exec.Command(gcc, "-O0", "-static", "-pthread", "-Wall", "-o", out,
				filepath.Join("testdata", p.source()+".c")))
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// attachModes are the ways the agent's programs attach (bpf.AttachMode), each compared with strace: the
// raw tracepoints, and each selected call's own tracepoints, forced whatever the number of calls (they must
// write the same events). SWOLL_PARITY_ATTACH=raw (or per-call) runs one. Per call needs Linux 5.15
// (bpf.PtRegs): on older kernels only the raw way runs.
func attachModes(t *testing.T) []string {
	if m := os.Getenv("SWOLL_PARITY_ATTACH"); m != "" {
		if _, err := bpf.ParseAttachMode(m); err != nil {
			t.Fatalf("SWOLL_PARITY_ATTACH: %v", err)
		}
		return []string{m}
	}
	if bpf.KernelFeatures()&bpf.PtRegs == 0 {
		t.Logf("kernel without bpf_task_pt_regs: the agent attaches only to the raw tracepoints here")
		return []string{bpf.AttachRaw.String()}
	}
	return []string{bpf.AttachRaw.String(), bpf.AttachPerCall.String()}
}

// attachedTag is what the agent prints on stderr once attached in each mode.
var attachedTag = map[string]string{
	bpf.AttachRaw.String():     "attached to raw tracepoints",
	bpf.AttachPerCall.String(): "attached to per-call tracepoints",
}

func runAll(t *testing.T, strace, agent, bins, tmp string, table *syscalls.Table, prebuilt bool) {
	counts := tally{}
	modes := attachModes(t)
	for _, p := range programs {
		if prebuilt && p.hostOnly {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			var list []string
			compared := map[string]bool{}
			for _, s := range p.syscalls {
				if _, ok := table.ByName(s); ok { // open and creat exist on amd64 only
					list = append(list, s)
					compared[s] = true
				}
			}
			bin := filepath.Join(bins, p.binary())
			work := filepath.Join(tmp, p.name+"-work")

			straced := runStrace(t, strace, bin, work, list, filepath.Join(tmp, p.name+".strace"), p.runFlags(work))
			root, err := straceRoot(straced)
			if err != nil {
				t.Fatal(err)
			}
			want, err := canonical(straced, root, compared, table, p.golang, p.fromStart())
			if err != nil {
				t.Fatal(err)
			}
			if len(want["main"]) == 0 {
				t.Fatalf("strace saw no call of the main process after the begin marker")
			}
			for i, mode := range modes {
				t.Run(mode, func(t *testing.T) {
					tallied := counts
					if i > 0 {
						tallied = tally{} // the summary counts each call once
					}
					list, compared, want := list, compared, want
					if mode == bpf.AttachPerCall.String() {
						// Per call, only the calls whose tracepoints this kernel has (a kernel without modules has
						// none for init_module) are compared.
						list, compared = withTracepoints(t, list)
						want = onlyCalls(want, compared)
					}
					compareSwoll(t, p, mode, agent, bin, work, list, want, compared, table, tallied)
				})
			}
		})
	}
	t.Logf("strace parity per syscall:\n%s", counts.table())
	matched, total := counts.sums()
	typed := 0
	for _, s := range table.All() {
		if s.Typed() && len(s.Params) > 0 {
			typed++
		}
	}
	t.Logf("PARITY: %d/%d calls identical (%.2f%%) over %d syscalls; typed decoding: %d %s syscalls with arguments",
		matched, total, 100*float64(matched)/float64(max(total, 1)), len(counts), typed, table.Arch())
	// The test is only as good as what it covers: it must not shrink below the floor unnoticed.
	if !prebuilt && (total < minCalls || len(counts) < minSyscalls) {
		t.Errorf("the programs compare %d calls over %d syscalls; keep at least %d over %d", total, len(counts), minCalls, minSyscalls)
	}
}

// withTracepoints is list without the calls this kernel has no tracepoints for (logged), and those calls as a
// set.
func withTracepoints(t *testing.T, list []string) ([]string, map[string]bool) {
	var out, without []string
	set := map[string]bool{}
	for _, name := range list {
		ok, err := bpf.HasCallTracepoints(name)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			without = append(without, name)
			continue
		}
		out = append(out, name)
		set[name] = true
	}
	if len(without) > 0 {
		t.Logf("not compared per call: %v (no tracepoints on this kernel)", without)
	}
	return out, set
}

// onlyCalls is calls without those of other system calls than names.
func onlyCalls(calls map[string][]call, names map[string]bool) map[string][]call {
	out := map[string][]call{}
	for thread, list := range calls {
		for _, c := range list {
			if names[c.name] {
				out[thread] = append(out[thread], c)
			}
		}
	}
	return out
}

// compareSwoll runs the program under the agent attached in mode and compares its calls with strace's (want).
func compareSwoll(t *testing.T, p program, mode, agent, bin, work string, list []string, want map[string][]call,
	compared map[string]bool, table *syscalls.Table, counts tally) {
	freshDir(t, work)
	pid, lines := runSwoll(t, agent, mode, bin, work, list, p.runFlags(work), p.filters())
	events, err := swollEvents(lines)
	if err != nil {
		t.Fatal(err)
	}
	got, err := canonical(events, pid, compared, table, p.golang, p.fromStart())
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, len(knownDiffs))
	mine := tally{}
	found := compareRuns(want, got, mine)
	counts.merge(mine)
	if m, n := mine.sums(); len(p.flags) > 0 {
		t.Logf("%s (%s, %s): %d/%d calls identical", p.source(), strings.Join(p.flags, " "), mode, m, n)
	}
problems:
	for _, pr := range found {
		for i, k := range knownDiffs {
			if k.matches(p.name, pr) {
				seen[i] = true
				t.Logf("known difference (%s):\n%s", k.why, pr.msg)
				continue problems
			}
		}
		t.Error(pr.msg)
	}
	for i, k := range knownDiffs {
		if k.program == p.name && !seen[i] {
			t.Errorf("known difference no longer seen, remove it from knownDiffs: %s %q (%s)", k.syscall, k.strace, k.why)
		}
	}
}

// The parity test's floor: calls compared and distinct syscalls among them.
const (
	minCalls    = 600
	minSyscalls = 150
)

func freshDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// runStrace runs bin under strace (in a fresh work directory), one output file per thread, and returns the calls
// by thread id; a run in which strace lost a thread mid-call is made again.
func runStrace(t *testing.T, strace, bin, work string, list []string, prefix string, flags []string) map[int][]rawCall {
	t.Helper()
	for attempt := 1; ; attempt++ {
		byTid, err := straceOnce(t, strace, bin, work, list, prefix, flags)
		if errors.Is(err, errStraceDetached) && attempt < straceAttempts {
			t.Logf("strace run %d of %s is not a reference, running it again: %v", attempt, filepath.Base(bin), err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out := map[int][]rawCall{}
		for tid, calls := range byTid {
			out[tid] = straceRaw(calls)
		}
		return out
	}
}

// straceAttempts bounds the runs of a program under strace when strace loses a thread mid-call.
const straceAttempts = 3

// straceOnce runs bin under strace once, its earlier output files removed, and reads the calls by thread id.
func straceOnce(t *testing.T, strace, bin, work string, list []string, prefix string, flags []string) (map[int][]straceCall, error) {
	t.Helper()
	old, _ := filepath.Glob(prefix + ".*")
	for _, f := range old {
		_ = os.Remove(f)
	}
	freshDir(t, work)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -ff: one file per thread, so no line is split by another thread's. -qq: no attach/exit notices.
	// -e signal=none: no signal lines. -s 4096: buffers in full. No -v: envp stays a pointer, like swoll's.
	args := append([]string{"-ff", "-o", prefix, "-qq", "-e", "trace=" + strings.Join(list, ","), "-e", "signal=none",
		"-s", "4096"}, flags...)
	cmd := exec.CommandContext(ctx, strace, append(args, bin, work)...)
	cmd.Stdin = strings.NewReader("g") // the go-ahead, at once: strace misses nothing
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s under strace: %v\n%s", filepath.Base(bin), err, out.String())
	}
	return readStraceFiles(prefix)
}

// runSwoll starts bin, attaches swoll-agent trace --pid to it (its programs attached in mode), lets it go once
// the agent reports its calls (filtered: once it says it is tracing), and returns its pid and the agent's output
// lines. The agent is stopped with SIGINT and waited for, so that its BPF programs are gone when this returns.
func runSwoll(t *testing.T, agent, mode, bin, work string, list []string, flags []string, filtered bool) (int, [][]byte) {
	t.Helper()
	prog := exec.Command(bin, work)
	prog.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	goAhead, err := prog.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var progOut bytes.Buffer
	prog.Stdout, prog.Stderr = &progOut, &progOut
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	progDone := make(chan error, 1)
	go func() { progDone <- prog.Wait() }()
	defer func() {
		_ = prog.Process.Kill()
	}()
	pid := prog.Process.Pid

	// --capture-data as large as strace's -s, so that buffers compare in full.
	cmd := exec.Command(agent, append([]string{"trace", "--pid", strconv.Itoa(pid), "-s",
		strings.Join(list, ",") + "," + readySyscall, "-o", "json", "--capture-data", "4096"}, flags...)...)
	cmd.Env = append(os.Environ(), "SWOLL_PROBE_ATTACH="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	tracing := make(chan struct{})
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderrPipe)
		seen := false
		for sc.Scan() {
			stderr.WriteLine(sc.Text())
			if !seen && strings.HasPrefix(sc.Text(), "swoll-agent: tracing") {
				seen = true
				close(tracing)
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-agentDone:
			return err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			err := <-agentDone
			return fmt.Errorf("did not stop within 20 s of SIGINT; killed (%w)", err)
		}
	}
	defer func() { _ = stop() }()

	var lines [][]byte
	ready := make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		readyTag := []byte(`"name":"` + readySyscall + `"`)
		pidTag := []byte(`"pid":` + strconv.Itoa(pid) + `,`)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		signalled := false
		for sc.Scan() {
			l := append([]byte(nil), sc.Bytes()...)
			lines = append(lines, l)
			if !signalled && bytes.Contains(l, readyTag) && bytes.Contains(l, pidTag) {
				signalled = true
				close(ready)
			}
		}
		readDone <- sc.Err()
	}()
	go func() {
		err := <-readDone
		<-stderrDone
		if err == nil {
			err = cmd.Wait()
		} else {
			_ = cmd.Wait()
		}
		agentDone <- err
	}()
	wait := ready
	if filtered {
		wait = tracing // the filters may drop the getppid calls
	}

	select {
	case <-wait:
	case err := <-agentDone:
		stopped = true
		t.Fatalf("swoll-agent exited before tracing (%v): %s", err, stderr.String())
	case err := <-progDone:
		t.Fatalf("%s exited before the go-ahead (%v): %s", filepath.Base(bin), err, progOut.String())
	case <-time.After(agentReady):
		what := "reported no " + readySyscall + " of"
		if filtered {
			what = "was not tracing"
		}
		t.Fatalf("swoll-agent %s pid %d within %s: %s", what, pid, agentReady, stderr.String())
	}
	if _, err := io.WriteString(goAhead, "g"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-progDone:
		if err != nil {
			t.Fatalf("%s under swoll: %v\n%s", filepath.Base(bin), err, progOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not finish within 30 s under swoll", filepath.Base(bin))
	}
	// The agent drains its ring buffer when it stops, so every call the program made is in lines.
	if err := stop(); err != nil {
		t.Fatalf("swoll-agent: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), " 0 lost ") {
		t.Errorf("swoll-agent lost events: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), attachedTag[mode]) {
		t.Errorf("swoll-agent did not attach %s (%q): %s", mode, attachedTag[mode], stderr.String())
	}
	return pid, lines
}

// agentReady bounds the agent's start: the verifier checks its programs first, which takes tens of seconds in
// the VMs of make test-kernels (6.1's verifier, without the shortcuts of newer ones, under a loaded host).
const agentReady = 90 * time.Second

// lockedBuffer collects the agent's stderr lines from their reader, for messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) WriteLine(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
	l.b.WriteByte('\n')
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
