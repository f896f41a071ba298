//go:build linux

package tracer

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The root tests trace real processes: this test binary re-executed as a helper (SWOLL_TRACER_HELPER=1)
// that, once told to go, makes the system calls listed in SWOLL_HELPER_ACTIONS.

const helperComm = "swoll-helper"

func TestMain(m *testing.M) {
	if os.Getenv("SWOLL_TRACER_HELPER") == "1" {
		os.Exit(runHelper())
	}
	os.Exit(m.Run())
}

// runHelper: prints "ready", waits for a line on stdin, makes the calls, prints "done", waits for stdin to close.
func runHelper() int {
	// comm is per thread: keep every call of this goroutine on the thread that gets the name.
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafePointer(helperComm)), 0, 0, 0)
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		return 1
	}
	for _, a := range strings.Split(os.Getenv("SWOLL_HELPER_ACTIONS"), ",") {
		name, arg, _ := strings.Cut(a, ":")
		switch name {
		case "openat":
			fd, err := unix.Openat(unix.AT_FDCWD, arg, unix.O_RDONLY, 0)
			if err == nil {
				_ = unix.Close(fd)
			}
		case "openat-many":
			for range 2000 {
				fd, err := unix.Openat(unix.AT_FDCWD, "/etc/hostname", unix.O_RDONLY, 0)
				if err == nil {
					_ = unix.Close(fd)
				}
			}
		case "longpath":
			_, _ = unix.Openat(unix.AT_FDCWD, "/"+strings.Repeat("x", 5000), unix.O_RDONLY, 0)
		case "write":
			if f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0); err == nil {
				_, _ = unix.Write(int(f.Fd()), []byte(arg))
				_, _ = unix.Write(int(f.Fd()), bytes.Repeat([]byte("y"), 1000))
				// A bad pointer: the probe's copy faults like the kernel's.
				_, _, _ = unix.Syscall(unix.SYS_WRITE, f.Fd(), 8, 5)
				_ = f.Close()
			}
		case "read":
			if f, err := os.Open(arg); err == nil {
				buf := make([]byte, 4096)
				_, _ = unix.Read(int(f.Fd()), buf)
				_ = f.Close()
			}
		case "connect":
			if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); err == nil {
				_ = unix.Connect(fd, &unix.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}})
				_ = unix.Close(fd)
			}
		case "exec-from-thread":
			// execve from a thread that is not the leader: the kernel gives it the leader's pid.
			done := make(chan struct{})
			go func() {
				runtime.LockOSThread()
				fmt.Println("done")
				_ = syscall.Exec(arg, []string{arg}, nil)
				close(done)
			}()
			<-done
			return 3
		case "getppid":
			unix.Getppid()
		case "sleep":
			d, _ := time.ParseDuration(arg)
			_ = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &unix.Timespec{Nsec: d.Nanoseconds()}, nil)
		case "fds":
			fdKinds()
		case "rename":
			fdRename()
		case "pause":
			// Until the test lets it go on (helper.resume).
			fmt.Println("paused")
			if _, err := in.ReadString('\n'); err != nil {
				return 1
			}
		case "sh":
			// A child process: forks, execs /bin/sh, which execs cat.
			_ = exec.Command("/bin/sh", "-c", arg).Run()
		case "":
		default:
			fmt.Fprintln(os.Stderr, "unknown helper action", name)
			return 2
		}
	}
	fmt.Println("done")
	_, _ = in.ReadString('\n')
	return 0
}

// helper is a running helper process.
type helper struct {
	cmd   *exec.Cmd
	in    *os.File
	out   *bufio.Reader
	Pid   int
	tb    testing.TB
	ended bool
}

// startHelper starts a helper in new namespaces (cloneflags) and waits until it is ready.
func startHelper(tb testing.TB, cloneflags uintptr, actions ...string) *helper {
	tb.Helper()
	return startHelperWith(tb, &syscall.SysProcAttr{Cloneflags: cloneflags}, actions...)
}

// startHelperWith starts a helper with attr (a cgroup to start in, say) and waits until it is ready.
func startHelperWith(tb testing.TB, attr *syscall.SysProcAttr, actions ...string) *helper {
	tb.Helper()
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), "SWOLL_TRACER_HELPER=1", "SWOLL_HELPER_ACTIONS="+strings.Join(actions, ","))
	attr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	inR, inW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting helper: %v", err)
	}
	_ = inR.Close()
	_ = outW.Close()
	h := &helper{cmd: cmd, in: inW, out: bufio.NewReader(outR), Pid: cmd.Process.Pid, tb: tb}
	tb.Cleanup(h.end)
	h.expect("ready")
	return h
}

func (h *helper) expect(line string) {
	h.tb.Helper()
	got, err := h.out.ReadString('\n')
	if err != nil || strings.TrimSpace(got) != line {
		h.tb.Fatalf("helper %d: want %q, got %q (%v)", h.Pid, line, got, err)
	}
}

// run lets the helper make its calls and waits until it has.
func (h *helper) run() {
	h.tb.Helper()
	if _, err := h.in.WriteString("go\n"); err != nil {
		h.tb.Fatal(err)
	}
	h.expect("done")
}

// resume lets a helper stopped at a "pause" action go on, and waits until it has reached the next pause or
// made its last call (want: "paused" or "done").
func (h *helper) resume(want string) {
	h.tb.Helper()
	if _, err := h.in.WriteString("go\n"); err != nil {
		h.tb.Fatal(err)
	}
	h.expect(want)
}

// end lets the helper exit and reaps it. PID 1 of a pid namespace ignores SIGTERM: close stdin instead,
// SIGKILL as a last resort.
func (h *helper) end() {
	if h.ended {
		return
	}
	h.ended = true
	_ = h.in.Close()
	if err := h.cmd.Wait(); err != nil {
		_ = h.cmd.Process.Kill()
	}
}
