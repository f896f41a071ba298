//go:build linux

package agentcmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/serve"
)

// child is a shell that waits for "go", reads /etc/hostname with cat, says "done" and waits to be closed.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startChild(t *testing.T, cloneflags uintptr, script string) *child {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags, Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child: %v", err)
	}
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &child{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// lineReader delivers the lines written to the returned writer.
func lineReader(t *testing.T) (*io.PipeWriter, <-chan []byte) {
	r, w := io.Pipe()
	lines := make(chan []byte, 1024)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(lines)
	}()
	t.Cleanup(func() { _ = r.Close() })
	return w, lines
}

func nextLine(t *testing.T, lines <-chan []byte, deadline <-chan time.Time) event.Line {
	t.Helper()
	select {
	case b, ok := <-lines:
		if !ok {
			t.Fatal("output ended")
		}
		var l event.Line
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("output line %q: %v", b, err)
		}
		return l
	case <-deadline:
		t.Fatal("timed out waiting for output")
	}
	panic("unreachable")
}

func args(t *testing.T, e *event.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Args, &m); err != nil {
		t.Fatalf("args %s: %v", e.Args, err)
	}
	return m
}

func mountNSInode(t *testing.T, pid int) uint32 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/mnt", &st); err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}

// fakeResolver maps one container id to a pid: the test's "container" is a process in its own mount namespace.
type fakeResolver struct {
	id  string
	pid int
}

func (r fakeResolver) ContainerPID(_ context.Context, id string) (int, error) {
	if strings.TrimPrefix(id, "containerd://") == r.id {
		return r.pid, nil
	}
	return 0, fmt.Errorf("container %q not found", id)
}
func (fakeResolver) Status(context.Context, string) (*cri.Status, error) {
	return nil, cri.ErrNoRuntime
}
func (fakeResolver) Close() error { return nil }

// TestSessionTracesAContainer drives a real session (probe, decoder, mount namespace ids) the way the plugin
// does, with a process in a fresh mount namespace standing in for a container.
func TestSessionTracesAContainer(t *testing.T) {
	roottest.Require(t)
	ctr := startChild(t, unix.CLONE_NEWNS, `read x; cat /etc/hostname >/dev/null; echo done; read y`)
	const id = "5e55104c0ffee0000000000000000000000000000000000000000000000000aa"

	stdinR, stdinW := io.Pipe()
	stdout, lines := lineReader(t)
	var stderr syncBuffer
	cfg := sessionConfig(streams{stdin: stdinR, stdout: stdout, stderr: &stderr}, &hostFlags{})
	cfg.NewResolver = func(string) (serve.Resolver, error) { return fakeResolver{id: id, pid: ctr.pid()}, nil }
	// no stats notice among the lines the test expects: in make test-kernels' emulated VMs the test runs for
	// about as long as the default interval (5 s)
	cfg.StatsInterval = time.Hour
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(context.Background(), cfg)
		_ = stdout.Close()
		_ = stdinR.Close() // later commands fail instead of blocking
	}()
	defer func() { _ = stdinW.Close() }()
	send := func(cmd string) {
		if _, err := io.WriteString(stdinW, cmd+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(30 * time.Second)
	expectNotice := func(kind event.NoticeKind) *event.Notice {
		t.Helper()
		l := nextLine(t, lines, deadline)
		if l.Notice == nil || l.Notice.Kind != kind {
			t.Fatalf("got %+v / %+v, want notice %s; stderr:\n%s", l.Notice, l.Event, kind, stderr.String())
		}
		return l.Notice
	}

	send(`{"op":"start","start":{"version":2,"node":"node-1","session":"sess-1","syscalls":["openat"]}}`)
	expectNotice(event.NoticeReady)
	send(`{"op":"add","target":{"container_id":"containerd://` + id + `","pod":"web-0","namespace":"shop","container":"nginx","labels":{"app":"web"}}}`)
	expectNotice(event.NoticeTargetAttached)

	if _, err := io.WriteString(ctr.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := ctr.out.ReadString('\n'); err != nil || got != "done\n" {
		t.Fatalf("child said %q, %v", got, err)
	}
	wantNS := mountNSInode(t, ctr.pid())
	var found *event.Event
	for found == nil {
		l := nextLine(t, lines, deadline)
		if l.Event == nil {
			t.Fatalf("unexpected notice %+v", l.Notice)
		}
		e := l.Event
		if e.Syscall.Name != "openat" || e.MountNS != wantNS {
			t.Fatalf("event from outside the container: %s %d (mount ns %d, want %d)", e.Syscall.Name, e.Pid, e.MountNS, wantNS)
		}
		if args(t, e)["pathname"] == "/etc/hostname" {
			found = e
		}
	}
	c := found.Container
	if c == nil || c.ID != id || c.Pod != "web-0" || c.Namespace != "shop" || c.Name != "nginx" || c.Labels["app"] != "web" {
		t.Errorf("container fields %+v", c)
	}
	if found.Node != "node-1" || found.Session != "sess-1" || found.Comm != "cat" || found.Error != "OK" {
		t.Errorf("event %+v", found)
	}
	if now := time.Now().UnixNano(); found.Finish < found.Start || now-found.Finish > int64(time.Minute) || found.Finish > now {
		t.Errorf("timestamps start %d finish %d, now %d: not wall-clock", found.Start, found.Finish, now)
	}

	send(`{"op":"remove","container_id":"containerd://` + id + `"}`)
	for {
		if l := nextLine(t, lines, deadline); l.Notice != nil {
			if l.Notice.Kind != event.NoticeTargetDetached {
				t.Fatalf("notice %+v, want target_detached", l.Notice)
			}
			break
		}
	}
	send(`{"op":"stop"}`)
	if n := expectNotice(event.NoticeExit); n.Events == 0 {
		t.Errorf("exit notice %+v: no events counted", n)
	}
	if err := <-done; err != nil {
		t.Fatalf("session: %v", err)
	}
}

// TestTracePid runs `swoll-agent trace --pid` on a shell that keeps starting cat: the trace must see the
// descendants' execve and openat, and nothing of this test process.
func TestTracePid(t *testing.T) {
	roottest.Require(t)
	// exec: a shell with built-in applets (busybox, in make test-kernels' VMs) would not run cat as a program.
	sh := startChild(t, 0, `while :; do (exec /bin/cat /etc/hostname >/dev/null); sleep 0.05; done`)
	stdout, lines := lineReader(t)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"trace", "--pid", strconv.Itoa(sh.pid()), "-s", "execve,openat", "-o", "json"},
			strings.NewReader(""), stdout, &stderr)
		_ = stdout.Close()
	}()
	deadline := time.After(30 * time.Second)
	var sawExec, sawOpen bool
	for !sawExec || !sawOpen {
		e := nextLine(t, lines, deadline).Event
		if e == nil {
			t.Fatal("a notice in trace output")
		}
		if e.Pid == os.Getpid() {
			t.Fatalf("traced the test process: %+v", e)
		}
		a := args(t, e)
		switch e.Syscall.Name {
		case "execve":
			sawExec = sawExec || a["pathname"] == "/usr/bin/cat" || a["pathname"] == "/bin/cat"
		case "openat":
			sawOpen = sawOpen || (a["pathname"] == "/etc/hostname" && e.Comm == "cat")
		default:
			t.Fatalf("unselected syscall %s", e.Syscall.Name)
		}
	}
	cancel()
	for range lines { // drain, so that the trace can finish writing
	}
	if code := <-done; code != 0 {
		t.Fatalf("trace exited %d: %s", code, stderr.String())
	}
	if s := stderr.String(); !strings.Contains(s, " events, 0 lost in ") {
		t.Errorf("summary %q", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
