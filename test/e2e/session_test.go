//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentns"
)

const (
	// firstEventTimeout bounds agent pod start + attach + the first request on a busy two-core machine.
	firstEventTimeout = 90 * time.Second
	// exitTimeout bounds how long the plugin may take to stop after a signal.
	exitTimeout = 20 * time.Second
	// rawKeep caps how much of a session's stdout is kept verbatim for the artifacts.
	rawKeep = 4 << 20
)

// session is one run of the real kubectl-swoll binary: its stdout decoded into events and notices as they
// arrive, its stderr kept, and its exit observed.
type session struct {
	t     *testing.T
	args  []string
	cmd   *exec.Cmd
	start time.Time

	mu      sync.Mutex
	events  []event.Event
	notices []event.Notice
	bad     []string // stdout lines that are neither an event nor a notice
	raw     bytes.Buffer
	stderr  bytes.Buffer
	changed chan struct{} // closed and replaced whenever something arrives

	exited   chan struct{}
	exitCode int // valid once exited is closed; -1 when killed by a signal
}

// pluginCmd is the binary under test with the suite's kubeconfig and the cluster's tools on PATH, run as
// tracerUser (bound to the shipped roles the least-privilege way: reads where the targets are, writes in the
// test's agent namespace), with that namespace set once as a user would (SWOLL_AGENT_NAMESPACE); a test's own
// --as and --agent-namespace come later and win.
func (f *F) pluginCmd(ctx context.Context, args ...string) *exec.Cmd {
	if tracerUser != "" && len(args) > 0 {
		args = append([]string{args[0], "--as", tracerUser}, args[1:]...)
	}
	cmd := exec.CommandContext(ctx, suite.plugin, args...)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+suite.kubeconfig,
		"PATH="+suite.clusterBin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if f.agents != "" {
		cmd.Env = append(cmd.Env, agentns.EnvVar+"="+f.agents)
	}
	return cmd
}

// trace starts `kubectl-swoll trace ARGS -o json`. The session is killed (if still running) when the test ends.
func (f *F) trace(args ...string) *session {
	f.t.Helper()
	return f.traceWith(f.pluginCmd, args...)
}

// traceWith is trace with the plugin started by command (the krew test runs it through kubectl).
func (f *F) traceWith(command func(context.Context, ...string) *exec.Cmd, args ...string) *session {
	f.t.Helper()
	args = append([]string{"trace"}, args...)
	args = append(args, "-o", "json")
	s := &session{t: f.t, args: args, changed: make(chan struct{}), exited: make(chan struct{})}
	s.cmd = command(context.Background(), args...)
	s.cmd.Stderr = lockedWriter{&s.mu, &s.stderr}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		f.t.Fatalf("starting %s: %v", s, err)
	}
	f.track(s)
	f.t.Logf("started %s", s)
	readDone := make(chan struct{})
	go func() { s.read(stdout); close(readDone) }()
	go func() {
		<-readDone // Wait closes stdout: read everything first
		err := s.cmd.Wait()
		s.mu.Lock()
		s.exitCode = exitCode(err)
		s.mu.Unlock()
		close(s.exited)
		s.notify()
	}()
	f.t.Cleanup(func() {
		if s.running() {
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.checkOutput()
	})
	return s
}

func (s *session) String() string { return "kubectl-swoll " + strings.Join(s.args, " ") }

func (s *session) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		s.mu.Lock()
		if s.raw.Len() < rawKeep {
			s.raw.Write(line)
			s.raw.WriteByte('\n')
		}
		if err := s.decode(line); err != nil {
			s.bad = append(s.bad, fmt.Sprintf("%q: %v", line, err))
		}
		s.mu.Unlock()
		s.notify()
	}
	if err := sc.Err(); err != nil {
		s.mu.Lock()
		s.bad = append(s.bad, "reading stdout: "+err.Error())
		s.mu.Unlock()
	}
}

// decode files one stdout line; s.mu is held.
func (s *session) decode(line []byte) error {
	if bytes.HasPrefix(line, []byte(event.NoticePrefix)) {
		var l event.Line
		if err := json.Unmarshal(line, &l); err != nil || l.Notice == nil {
			return fmt.Errorf("bad notice: %w", err)
		}
		s.notices = append(s.notices, *l.Notice)
		return nil
	}
	var ev event.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return err
	}
	if ev.Syscall.Name == "" {
		return errors.New("event without a syscall name")
	}
	s.events = append(s.events, ev)
	return nil
}

func (s *session) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// checkOutput fails the test when stdout held anything but events and notices.
func (s *session) checkOutput() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range s.bad {
		if i == 5 {
			s.t.Errorf("%s: ... %d more undecodable lines", s, len(s.bad)-i)
			break
		}
		s.t.Errorf("%s: undecodable stdout line %s", s, b)
	}
}

func (s *session) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Events returns a copy of every event received so far.
func (s *session) Events() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.events...)
}

func (s *session) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// waitFor waits until cond holds for the events received so far. It fails the test when the plugin exits or
// the timeout passes first, quoting the plugin's stderr.
func (s *session) waitFor(timeout time.Duration, what string, cond func([]event.Event) bool) {
	s.t.Helper()
	if err := s.waitForErr(timeout, cond); err != nil {
		s.t.Fatalf("%s: waiting for %s: %v\nstderr:\n%s", s, what, err, s.Stderr())
	}
}

func (s *session) waitForErr(timeout time.Duration, cond func([]event.Event) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond(s.events)
		changed := s.changed
		n := len(s.events)
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-s.exited:
			s.mu.Lock()
			ok = cond(s.events)
			s.mu.Unlock()
			if ok {
				return nil
			}
			return fmt.Errorf("the plugin exited (code %d) after %d events", s.exitCode, n)
		case <-deadline.C:
			return fmt.Errorf("timed out after %s with %d events", timeout, n)
		}
	}
}

// waitEvents waits for at least n events that match.
func (s *session) waitEvents(n int, timeout time.Duration, what string, match func(*event.Event) bool) {
	s.t.Helper()
	s.waitFor(timeout, fmt.Sprintf("%d events %s", n, what), func(evs []event.Event) bool {
		return count(evs, match) >= n
	})
}

// signal sends sig to the plugin.
func (s *session) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signalling %s: %v", s, err)
	}
}

// waitExit waits for the plugin to exit and returns its exit code (-1: killed by a signal).
func (s *session) waitExit(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
		return s.exitCode
	case <-time.After(timeout):
		s.t.Fatalf("%s did not exit within %s\nstderr:\n%s", s, timeout, s.Stderr())
		return 0
	}
}

// stop sends sig and requires a clean exit.
func (s *session) stop(sig syscall.Signal) {
	s.t.Helper()
	s.signal(sig)
	if code := s.waitExit(exitTimeout); code != 0 {
		s.t.Fatalf("%s exited with %d after %v, want 0\nstderr:\n%s", s, code, sig, s.Stderr())
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		return -2
	}
}

// result is the outcome of a plugin run to completion.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

// run runs the plugin to completion (bad input, cleanup, version) and keeps its output for the artifacts.
func (f *F) run(timeout time.Duration, args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := f.pluginCmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		f.t.Fatalf("kubectl-swoll %s did not finish within %s\nstderr:\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String(), code: exitCode(err)}
	// Kept as a finished session so that a failing test's artifacts show it.
	s := &session{t: f.t, args: args, exited: make(chan struct{}), exitCode: r.code}
	s.raw.WriteString(r.stdout)
	s.stderr.WriteString(r.stderr)
	close(s.exited)
	f.track(s)
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func count(evs []event.Event, match func(*event.Event) bool) int {
	n := 0
	for i := range evs {
		if match(&evs[i]) {
			n++
		}
	}
	return n
}
