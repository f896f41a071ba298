//go:build linux

package symbolize

import (
	"bufio"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/internal/roottest"
)

// buildDir holds the programs the tests build (once per run of the package's tests).
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "symbolize-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// buildOnce runs make (which writes the file it returns) once per name for the whole test binary.
func buildOnce(t testing.TB, name string, make func(out string) error) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		if p == "" {
			t.Fatalf("building %s failed earlier", name)
		}
		return p
	}
	out := filepath.Join(buildDir, name)
	built[name] = ""
	if err := make(out); err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	built[name] = out
	return out
}

// run runs a command, failing t with its output when it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func runEnv(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &buildError{cmd: name + " " + strings.Join(args, " "), out: string(out), err: err}
	}
	return nil
}

type buildError struct {
	cmd, out string
	err      error
}

func (e *buildError) Error() string { return e.cmd + ": " + e.err.Error() + "\n" + e.out }

// tools returns the paths of the programs a test needs (a missing one fails the test where root tests are
// required, and skips it elsewhere).
func tools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		roottest.Tool(t, n)
	}
}

// cProgram builds testdata/prog.c with frame pointers.
func cProgram(t testing.TB) string {
	tools(t, "gcc")
	return buildOnce(t, "prog", func(out string) error {
		return runEnv(nil, "gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-o", out, "testdata/prog.c", "-ldl")
	})
}

// cLibrary builds testdata/lib.c as a shared library, stripped: only lib_func, in .dynsym, has a name.
func cLibrary(t testing.TB) string {
	tools(t, "gcc", "strip")
	return buildOnce(t, "lib.so", func(out string) error {
		if err := runEnv(nil, "gcc", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC", "-o", out, "testdata/lib.c"); err != nil {
			return err
		}
		return runEnv(nil, "strip", out)
	})
}

// goProgram builds testdata/goprog stripped (-ldflags=-s -w and ldflags) with extra go build flags.
func goProgram(t testing.TB, name string, env []string, ldflags string, flags ...string) string {
	tools(t, "go")
	return buildOnce(t, name, func(out string) error {
		args := append([]string{"build", "-trimpath", "-ldflags=-s -w " + ldflags}, flags...)
		args = append(args, "-o", out, "./testdata/goprog")
		return runEnv(append([]string{"GOFLAGS="}, env...), "go", args...)
	})
}

// proc is a test program running with pipes on its standard input and output.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// lineWait bounds the wait for a line of a test program: a program that hangs fails its test instead of the
// whole run; a passing wait ends as soon as the line is there.
const lineWait = 60 * time.Second

func start(t testing.TB, path string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

// line returns the program's next line that starts with prefix.
func (p *proc) line(t testing.TB, prefix string) string {
	t.Helper()
	timer := time.NewTimer(lineWait)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("pid %d ended before printing %q", p.cmd.Process.Pid, prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timer.C:
			t.Fatalf("pid %d printed no %q line in %v", p.cmd.Process.Pid, prefix, lineWait)
		}
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// addrs parses the hex addresses after a line's first word.
func addrs(t testing.TB, line string) []uint64 {
	t.Helper()
	var out []uint64
	for _, f := range strings.Fields(line)[1:] {
		v, err := strconv.ParseUint(strings.TrimPrefix(f, "0x"), 16, 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

// blockedPC returns the user pc of the thread of pid blocked in read(2) on its standard input: what
// bpf_get_stack's first frame is at that call's entry (/proc/PID/task/TID/syscall: "nr args... sp pc").
func blockedPC(t testing.TB, pid int) uint64 {
	t.Helper()
	deadline := time.Now().Add(lineWait)
	for {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/syscall")
		for _, path := range tasks {
			b, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) == 9 && f[0] == "0" && f[1] == "0x0" { // read(0, ...)
				pc, err := strconv.ParseUint(strings.TrimPrefix(f[8], "0x"), 16, 64)
				if err == nil {
					return pc
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no thread of pid %d blocked in read(0, ...) after %v", pid, lineWait)
		}
		time.Sleep(10 * time.Millisecond) // polling /proc: the program prints before it enters read(2)
	}
}

// fileModule loads the module of a file as the cache would.
func fileModule(t testing.TB, path string) *module {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	info, err := openELF(f)
	if err != nil {
		t.Fatal(err)
	}
	return buildModule(info, DefaultBudget)
}

// symbolAtVaddr returns the symbol and offset of a link-time address of m, as a frame whose ip maps there
// would get them (looking up at addr-1).
func symbolAtVaddr(s *Symbolizer, m *module, addr uint64) (string, uint64) {
	i := m.syms.lookup(addr - 1)
	if i < 0 {
		return "", 0
	}
	return s.symbolName(m, i), addr - m.syms.addrs[i]
}

// fileOffset turns a link-time address of the ELF file at path into its file offset.
func fileOffset(t *testing.T, path string, vaddr uint64) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Filesz {
			return vaddr - p.Vaddr + p.Off
		}
	}
	t.Fatalf("%s: address %#x in no segment", path, vaddr)
	return 0
}
