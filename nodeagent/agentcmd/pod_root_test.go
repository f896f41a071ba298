//go:build linux

package agentcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/internal/cgrouptest"
	"github.com/swoll-dev/swoll/internal/roottest"
	"github.com/swoll-dev/swoll/nodeagent/cgroups"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/serve"
	"github.com/swoll-dev/swoll/protocol"
)

// podRuntime is the container runtime of TestSessionTracesAPodFromItsFirstCall: one container, "main" in its
// fourth run, running until the test says it exited with status 1.
type podRuntime struct {
	id      string
	started atomic.Int64 // Unix ns
	exited  atomic.Bool
}

func (r *podRuntime) ContainerPID(context.Context, string) (int, error) {
	return 0, fmt.Errorf("the pod's containers are found by cgroup")
}

func (r *podRuntime) Status(_ context.Context, id string) (*cri.Status, error) {
	if cri.NormalizeID(id) != r.id {
		return nil, &cri.NotFoundError{ID: id}
	}
	st := &cri.Status{ID: r.id, Name: "main", RestartCount: 3, State: cri.StateRunning, StartedAt: time.Unix(0, r.started.Load())}
	if r.exited.Load() {
		st.State, st.ExitCode, st.Reason = cri.StateExited, 1, "Error"
	}
	return st, nil
}

func (r *podRuntime) Close() error { return nil }

// TestSessionTracesAPodFromItsFirstCall drives a real session (probe, cgroup watcher, decoder) with a pod the
// way the plugin does, in every cgroup hierarchy this machine mounts: the pod is sent before its cgroup exists;
// its cgroup and its container's are made as the kubelet and the runtime make them, and a short-lived program
// runs in the container's: its execve, its failed openat and its exit_group are traced, named after the
// container, between the container's start and end notices.
func TestSessionTracesAPodFromItsFirstCall(t *testing.T) {
	roottest.Require(t)
	for _, h := range cgrouptest.Hierarchies(t) {
		t.Run(h.Name(), func(t *testing.T) { tracePodFromItsFirstCall(t, h) })
	}
}

func tracePodFromItsFirstCall(t *testing.T, hier cgrouptest.Hierarchy) {
	const uid = "5e55104c-0ffe-4e00-8000-00000000000a"
	id := strings.Repeat("ab", 32)
	missing := fmt.Sprintf("/swoll-missing-%d", time.Now().UnixNano())
	base := cgrouptest.Tree(t, hier, "kubepods", "kubepods/besteffort")
	kubepods := base[0]
	podDir := filepath.Join(base[1].Dir, "pod"+uid)
	ctrDir := filepath.Join(podDir, id)

	rt := &podRuntime{id: id}
	stdinR, stdinW := io.Pipe()
	stdout, lines := lineReader(t)
	var stderr syncBuffer
	cfg := sessionConfig(streams{stdin: stdinR, stdout: stdout, stderr: &stderr}, &hostFlags{})
	cfg.NewResolver = func(string) (serve.Resolver, error) { return rt, nil }
	cfg.StatsInterval = time.Hour
	cfg.Cgroups = func() (*cgroups.Hierarchy, error) {
		all, err := cgroups.FindKubepods(hier.Dir)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(hier.Dir, kubepods.Dir)
		if err != nil {
			return nil, err
		}
		h := &cgroups.Hierarchy{Mode: cgroups.ModeV1, Controller: hier.Controller, Dir: hier.Dir}
		if hier.Unified() {
			h.Mode = cgroups.ModeV2
		}
		for _, kp := range all {
			if kp.Path == "/"+rel { // only the test's: the machine's own pods are not the test's business
				h.Kubepods = append(h.Kubepods, kp)
			}
		}
		return h, nil
	}
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(context.Background(), cfg)
		_ = stdout.Close()
		_ = stdinR.Close()
	}()
	defer func() { _ = stdinW.Close() }()
	send := func(v any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stdinW.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(60 * time.Second)
	expectNotice := func(kind event.NoticeKind) *event.Notice {
		t.Helper()
		l := nextLine(t, lines, deadline)
		if l.Notice == nil || l.Notice.Kind != kind {
			t.Fatalf("got %+v / %+v, want notice %s; stderr:\n%s", l.Notice, l.Event, kind, stderr.String())
		}
		return l.Notice
	}

	send(protocol.Command{Op: protocol.OpStart, Start: &protocol.Start{Node: "node-1", Session: "sess-1",
		Syscalls: []string{"execve", "openat", "exit_group"}}})
	if n := expectNotice(event.NoticeReady); n.Selection != event.SelectionCgroup {
		t.Fatalf("ready notice %+v, want selection by cgroup", n)
	}
	send(protocol.Command{Op: protocol.OpPod, Pod: &protocol.Pod{UID: uid, Name: "crash", Namespace: "shop",
		Containers: []protocol.Container{{Name: "main", Kind: protocol.KindRegular}}}})

	// The kubelet makes the pod's cgroup, the runtime the container's.
	mkdir(t, podDir)
	if n := expectNotice(event.NoticeTargetAttached); n.PodUID != uid {
		t.Fatalf("attached notice %+v", n)
	}
	rt.started.Store(time.Now().UnixNano())
	mkdir(t, ctrDir)
	if n := expectNotice(event.NoticeContainerStarted); n.Container != "main" || n.RestartCount == nil || *n.RestartCount != 3 || n.TracedFromNs != 0 {
		t.Fatalf("started notice %+v", n)
	}

	// The container's program, in its cgroup from its first instruction where the hierarchy allows (the
	// unified one: clone into it); else moved in before it runs the program.
	cmd := exec.Command("/bin/sh", "-c", "read go; exec /bin/cat "+missing)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	ctr := &cgrouptest.Cgroup{Dir: ctrDir}
	if hier.Unified() {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, ctr.FD(t)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !hier.Unified() {
		ctr.Move(t, cmd.Process.Pid)
	}
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("cat: %v, want exit status 1", err)
	}
	pid := cmd.Process.Pid

	// Cloned into the cgroup, the shell's own execve is its first call; moved in, the program's is.
	want := []string{"execve /bin/cat", "openat " + missing, "exit_group 1"}
	if hier.Unified() {
		want = append([]string{"execve /bin/sh"}, want...)
	}
	var calls []string
	for len(calls) < len(want) {
		l := nextLine(t, lines, deadline)
		if l.Event == nil {
			t.Fatalf("notice %+v before the program's calls (%v); stderr:\n%s", l.Notice, calls, stderr.String())
		}
		e := l.Event
		if e.Pid != pid {
			t.Fatalf("a call of pid %d, not the container's %d: %s %s", e.Pid, pid, e.Syscall.Name, e.Args)
		}
		c := e.Container
		if c == nil || c.ID != id || c.Name != "main" || c.Pod != "crash" || c.RestartCount == nil || *c.RestartCount != 3 {
			t.Fatalf("%s's container %+v", e.Syscall.Name, c)
		}
		a := args(t, e)
		got := e.Syscall.Name
		switch e.Syscall.Name {
		case "execve":
			got += " " + strings.TrimPrefix(fmt.Sprint(a["pathname"]), "/usr")
		case "openat":
			if a["pathname"] != missing {
				continue // the loader's
			}
			got += " " + missing
			if e.Error != "ENOENT" {
				t.Fatalf("openat of %s = %s, want ENOENT", missing, e.Error)
			}
		case "exit_group":
			got += " " + fmt.Sprint(a["status"])
		}
		if got != want[len(calls)] {
			t.Fatalf("after %v: %s (%s), want %s", calls, got, e.Args, want[len(calls)])
		}
		calls = append(calls, got)
	}

	rt.exited.Store(true)
	rmdir(t, ctrDir)
	l := nextLine(t, lines, deadline)
	if n := l.Notice; n == nil || n.Kind != event.NoticeContainerEnded || n.ContainerID != id || n.ExitCode == nil || *n.ExitCode != 1 {
		t.Fatalf("got %+v / %+v, want main's end with status 1", l.Notice, l.Event)
	}
	rmdir(t, podDir)
	send(protocol.Command{Op: protocol.OpStop})
	for {
		if l := nextLine(t, lines, deadline); l.Notice != nil && l.Notice.Kind == event.NoticeExit {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("session: %v", err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
}

// rmdir removes a cgroup once the processes that exited in it have left it.
func rmdir(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Rmdir(dir)
		if err == nil {
			return
		}
		if err != syscall.EBUSY || time.Now().After(deadline) {
			t.Fatalf("removing %s: %v", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
