//go:build linux

package agentcmd

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/nodeagent/symbolize"
	"github.com/swoll-dev/swoll/render"
)

// The stack root tests trace three workloads with `swoll-agent trace -k` and compare the symbolized frames
// with what strace -k prints for the same calls of the same binaries (the C program and the shell) or with the
// names the Go runtime gives the same addresses (the Go program: this test binary, as a helper).

// prebuiltEnv names a directory of programs built beforehand (the kernel matrix's VMs have no compiler).
const prebuiltEnv = "SWOLL_PARITY_PREBUILT"

// stackWait bounds every wait of these tests; each ends as soon as its condition holds.
const stackWait = 60 * time.Second

// workload is a process of a stack test: it prints "ready", makes its calls after a line on stdin, prints
// "done" and lives until its stdin closes.
type workload struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startWorkload(t *testing.T, env []string, name string, args ...string) *workload {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
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
	w := &workload{cmd: cmd, in: in, out: bufio.NewReader(out)}
	w.expect(t, "ready")
	return w
}

func (w *workload) expect(t *testing.T, want string) {
	t.Helper()
	if got, err := w.out.ReadString('\n'); err != nil || strings.TrimSpace(got) != want {
		t.Fatalf("workload said %q (%v), want %q", got, err, want)
	}
}

// traceStacks traces pid's write calls with -k and returns the events of the writes of count bytes (the
// workload's own, not its "ready" and "done" lines), once it has seen n of them; go_ lets the workload make
// its calls once the probe is attached.
func traceStacks(t *testing.T, w *workload, count, n int) []*event.Event {
	t.Helper()
	stdout, lines := lineReader(t)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"trace", "--pid", strconv.Itoa(w.cmd.Process.Pid), "-s", "write", "-k", "-o", "json"},
			strings.NewReader(""), stdout, &stderr)
		_ = stdout.Close()
	}()
	defer func() {
		cancel()
		for range lines { // drain, so that the trace can finish writing
		}
		if code := <-done; code != 0 {
			t.Errorf("trace exited %d: %s", code, stderr.String())
		}
	}()
	deadline := time.After(stackWait)
	for !strings.Contains(stderr.String(), "swoll-agent: tracing (") {
		select {
		case <-deadline:
			t.Fatalf("the trace did not start: %s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := io.WriteString(w.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for len(out) < n {
		e := nextLine(t, lines, deadline).Event
		if e == nil {
			t.Fatal("a notice in trace output")
		}
		if c, ok := args(t, e)["count"].(float64); ok && int(c) == count {
			out = append(out, e)
		}
	}
	w.expect(t, "done")
	return out
}

// noStackTraces is what a strace built without libunwind says to -k (Debian's for arm64).
const noStackTraces = "are not supported by this build of strace"

// straceStack runs name under strace -k and returns the " > " lines under the first write of count bytes;
// nil when this machine's strace has no -k.
func straceStack(t *testing.T, count int, name string, args ...string) []string {
	t.Helper()
	strace := roottest.Tool(t, "strace")
	out := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command(strace, append([]string{"-f", "-k", "-e", "trace=write", "-o", out, name}, args...)...)
	cmd.Stdin = strings.NewReader("go\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(b), noStackTraces) {
			t.Logf("this strace has no -k: frames are checked against the binaries' ELF symbols (%s)", bytes.TrimSpace(b))
			return nil
		}
		t.Fatalf("strace: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case !in && strings.Contains(l, "write(") && strings.HasSuffix(strings.TrimSpace(l), "= "+strconv.Itoa(count)):
			in = true
		case in && strings.HasPrefix(l, " > "):
			lines = append(lines, l)
		case in:
			return lines
		}
	}
	if len(lines) == 0 {
		t.Fatalf("strace -k printed no stack for a write of %d bytes:\n%s", count, b)
	}
	return lines
}

// isWrite: the libc wrapper's names (aliases at one address; strace and swoll may pick different ones).
func isWrite(sym string) bool {
	return sym == "write" || sym == "__write" || sym == "__libc_write" || sym == "__GI___libc_write"
}

// bracket is the module and the offset part of a strace -k line: " > /lib/libc.so.6(...) [0xf8350]" gives
// "/lib/libc.so.6 [0xf8350]".
func bracket(line string) string {
	line = strings.TrimPrefix(line, " > ")
	mod, _, _ := strings.Cut(line, "(")
	return mod + " " + line[strings.LastIndexByte(line, '['):]
}

// compareWithStrace checks every frame of ours against strace's lines for the same call: each must be one of
// them (the wrapper's frame by its module and offset: its name is an alias); strace unwinds with DWARF, so it
// has the frames a frame-pointer walk misses. Without strace's lines (a strace without -k), each frame's
// symbol is checked against the symbol table of its file, read here with debug/elf.
func compareWithStrace(t *testing.T, frames []stack.Frame, strace []string) {
	t.Helper()
	if strace == nil {
		for i, f := range frames {
			names := elfSymbolsAt(t, f.Module, f.ModuleOffset-1)
			if !slices.Contains(names, f.Symbol) && (f.Symbol != "" || len(names) != 0) {
				t.Errorf("frame %d %+v: the ELF symbols of %s there are %q", i, f, f.Module, names)
			}
		}
		return
	}
	for i, f := range frames {
		ours := strings.TrimSuffix(string(render.AppendStack(nil, []stack.Frame{f}, false)), "\n")
		found := false
		for _, l := range strace {
			found = found || l == ours || i == 0 && isWrite(f.Symbol) && bracket(l) == bracket(ours)
		}
		if !found {
			t.Errorf("frame %d %q is not in strace -k's stack:\n%s", i, ours, strings.Join(strace, "\n"))
		}
	}
}

// elfSymbolsAt are the function symbols of the file at path (the process's view: this test runs in the same
// mount namespace) that cover the byte at file offset off (aliases: several).
func elfSymbolsAt(t *testing.T, path string, off uint64) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var addr uint64
	found := false
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && off >= p.Off && off < p.Off+p.Filesz {
			addr, found = off-p.Off+p.Vaddr, true
			break
		}
	}
	if !found {
		t.Fatalf("%s: no segment holds offset %#x", path, off)
	}
	syms, err := f.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		t.Fatal(err)
	}
	dyn, _ := f.DynamicSymbols()
	var names []string
	for _, s := range append(syms, dyn...) {
		typ := elf.ST_TYPE(s.Info)
		if (typ == elf.STT_FUNC || typ == elf.STT_GNU_IFUNC) && addr >= s.Value && addr < s.Value+s.Size {
			names = append(names, s.Name)
		}
	}
	return names
}

// cProgram is the C workload: prebuilt (static, in the kernel matrix's VMs) or built here with frame pointers.
func cProgram(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv(prebuiltEnv); dir != "" {
		if p := filepath.Join(dir, "stackprog"); fileExists(p) {
			return p
		}
	}
	gcc := roottest.Tool(t, "gcc")
	out := filepath.Join(t.TempDir(), "stackprog")
	if b, err := exec.Command(gcc, "-O1", "-g", "-fno-omit-frame-pointer", "-Wall", "-o", out, "testdata/stackprog.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// A C program built with frame pointers: the write wrapper, then outer and main, each as strace -k prints it
// (or as the binary's symbols say). inner is missing on amd64: the wrapper sets up no frame, so the walk goes
// on from inner's frame, whose return address is in outer; arm64's wrapper saves a frame record (it calls
// glibc's cancellation code), so there inner is found too. The stack is marked truncated unless the walk
// reached _start.
func TestStacksC(t *testing.T) {
	roottest.Require(t)
	bin := cProgram(t)
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real // the maps name the file, not a link to its directory
	}
	w := startWorkload(t, nil, bin)
	events := traceStacks(t, w, 1, 3)
	strace := straceStack(t, 1, bin)
	for i, e := range events {
		f := e.Stack
		own := 1 // the program's frames after the wrapper's: [inner,] outer, main
		if len(f) > 1 && f[1].Symbol == "inner" {
			own = 2
		}
		if len(f) < own+2 || !isWrite(f[0].Symbol) || f[own].Symbol != "outer" || f[own].Module != bin ||
			f[own+1].Symbol != "main" || f[own+1].Module != bin {
			t.Fatalf("stack %+v, want write, [inner,] outer, main", f)
		}
		// Debian's libc keeps no frame pointers: the walk ends in its start code, not at _start (a static
		// program's start code may keep them: then the stack is whole)
		if e.StackTruncated == symbolize.Complete(f) {
			t.Errorf("stack_truncated %v for a stack that ends in %q", e.StackTruncated, f[len(f)-1].Symbol)
		}
		if i == 0 { // strace's is the first write's (main calls outer from three places)
			compareWithStrace(t, f[:own+2], strace)
		}
	}
	t.Logf("write(3, ...):\n%s", render.AppendStack(nil, events[0].Stack, events[0].StackTruncated))
}

// The shell's builtin echo writes from the shell itself; Debian's dash and busybox keep no frame pointers:
// the wrapper's frame is right (as strace -k prints it), the rest is cut and marked so.
func TestStacksShell(t *testing.T) {
	roottest.Require(t)
	sh := "/bin/sh"
	w := startWorkload(t, nil, sh, "-c", `echo ready; read x; echo hi >/dev/null; echo done; read y`)
	events := traceStacks(t, w, 3, 1)
	strace := straceStack(t, 3, sh, "-c", `echo hi >/dev/null`)
	f := events[0].Stack
	if len(f) == 0 || !f[0].HasModule() {
		t.Fatalf("stack %+v", f)
	}
	if events[0].StackTruncated == symbolize.Complete(f) {
		t.Errorf("stack_truncated %v for a stack that ends in %q", events[0].StackTruncated, f[len(f)-1].Symbol)
	}
	compareWithStrace(t, f[:1], strace)
	t.Logf("write(1, \"hi\\n\", 3):\n%s\nstrace -k:\n%s", render.AppendStack(nil, f, events[0].StackTruncated),
		strings.Join(strace, "\n"))
}

// stackHelperEnv makes this test binary the Go workload.
const stackHelperEnv = "SWOLL_STACK_HELPER"

// goWorkload is the Go workload when this binary runs with stackHelperEnv set (see TestMain).
func goWorkload() {
	in := bufio.NewReader(os.Stdin)
	fd, err := unix.Open("/dev/null", unix.O_WRONLY, 0)
	if err != nil {
		os.Exit(2)
	}
	_, _ = os.Stdout.WriteString("ready\n")
	_, _ = in.ReadString('\n')
	for range 3 {
		stackHelperWrite(fd)
	}
	_, _ = os.Stdout.WriteString("done\n")
	_, _ = io.Copy(io.Discard, in)
	os.Exit(0)
}

//go:noinline
func stackHelperWrite(fd int) {
	_, _ = unix.Write(fd, []byte("go!!"))
}

// A Go program keeps frame pointers: the stack is whole, down to runtime.goexit, every frame in its binary
// and named as the Go runtime names the function at the same address (the helper is this binary, mapped where
// this process maps it).
func TestStacksGo(t *testing.T) {
	roottest.Require(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := startWorkload(t, []string{stackHelperEnv + "=1"}, exe, "-test.run=^$")
	events := traceStacks(t, w, 4, 3)
	for _, e := range events {
		if e.StackTruncated || len(e.Stack) < 4 {
			t.Fatalf("stack of %d frames (truncated %v): %+v", len(e.Stack), e.StackTruncated, e.Stack)
		}
		callers := false
		for i, f := range e.Stack {
			// the function the address is in, not one inlined into it (what FuncForPC names)
			want := ""
			if fn := runtime.FuncForPC(uintptr(f.IP) - 1); fn != nil {
				want = runtime.FuncForPC(fn.Entry()).Name()
			}
			if f.Symbol != want || f.Module != exe {
				t.Errorf("frame %d: %+v, want %s in %s", i, f, want, exe)
			}
			callers = callers || strings.HasSuffix(f.Symbol, ".stackHelperWrite")
		}
		if !callers || e.Stack[len(e.Stack)-1].Symbol != "runtime.goexit" {
			t.Errorf("stack without stackHelperWrite or runtime.goexit: %+v", e.Stack)
		}
		if c := stack.Caller(e.Stack); c < 0 || !strings.HasSuffix(e.Stack[c].Symbol, ".stackHelperWrite") {
			t.Errorf("caller %d of %+v", c, e.Stack)
		}
	}
	t.Logf("write(fd, \"go!!\", 4):\n%s", render.AppendStack(nil, events[0].Stack, false))
}

func TestMain(m *testing.M) {
	if os.Getenv(stackHelperEnv) == "1" {
		goWorkload()
	}
	os.Exit(m.Run())
}
