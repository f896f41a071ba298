//go:build e2e

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/event"
)

const (
	// goneTimeout is "within a few seconds": the agent pod's grace period is 2 s.
	goneTimeout = 10 * time.Second
	// deadManTimeout is how long an agent may outlive a plugin killed with SIGKILL: the protocol's 20 s
	// heartbeat timeout (30 s in the issue) plus a margin for a loaded machine.
	deadManTimeout = 45 * time.Second
)

// tracedSession starts a pod on node with traffic, a session tracing it, and waits until events flow and the
// session's one agent holds its BPF programs.
func tracedSession(f *F, node string) (s *session, agent *corev1.Pod, progs []int) {
	f.t.Helper()
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: node})
	f.traffic(pod, "web", openURL(webPort, page))
	agents := f.watchAgents(f.agents)
	s = f.trace("-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from "+pod.Name, both(fromPod(pod), opened(page)))
	seen := agents.seen()
	if len(seen) != 1 {
		f.t.Fatalf("agent pods: %v, want one", podNames(seen))
	}
	return s, seen[0], f.agentPrograms(seen[0])
}

// Ctrl-C (SIGINT) and SIGTERM end the session cleanly: the agent pod is gone within seconds and the BPF
// programs it had loaded are unloaded.
func TestStopLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			f := newF(t)
			s, _, progs := tracedSession(f, suite.nodes[0])
			s.stop(sig)
			f.waitNoAgents(f.agents, goneTimeout)
			f.waitProgramsGone(progs, goneTimeout)
		})
	}
}

// A plugin killed with SIGKILL cannot clean up: the agent notices on its own (stdin EOF, else the heartbeat
// timeout) and unloads its programs, its Job finishes and the TTL controller deletes it and its pod: nothing
// is left 60 s later, without cleanup.
func TestPluginKilled(t *testing.T) {
	t.Parallel()
	f := newF(t)
	s, _, progs := tracedSession(f, suite.nodes[1])
	s.signal(syscall.SIGKILL)
	killed := time.Now()
	s.waitExit(exitTimeout)
	f.waitProgramsGone(progs, deadManTimeout)
	f.noSwollLeft(f.agents, "", nothingLeftAfter-time.Since(killed))
	// and cleanup finds nothing to do
	if r := f.run(time.Minute, "cleanup", "-n", f.agents); r.code != 0 || !strings.Contains(r.stdout, "no swoll agent") {
		t.Errorf("kubectl swoll cleanup after the agents removed themselves: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// Two sessions tracing the same pod on one node do not disturb each other: both see the events, and stopping
// one leaves the other streaming with its agent in place.
func TestConcurrentSessions(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[0]})
	f.traffic(pod, "web", openURL(webPort, page))
	args := []string{"-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents}
	a, b := f.trace(args...), f.trace(args...)
	ours := both(fromPod(pod), opened(page))
	a.waitEvents(3, firstEventTimeout, "in session a", ours)
	b.waitEvents(3, firstEventTimeout, "in session b", ours)
	sa, sb := sessionOf(t, a.Events()), sessionOf(t, b.Events())
	if sa == sb {
		t.Fatalf("both sessions are called %q", sa)
	}

	a.stop(syscall.SIGINT)
	f.waitNoAgentsOf("", sa, goneTimeout)
	n := count(b.Events(), ours)
	b.waitEvents(n+5, 30*time.Second, "in session b after a stopped", ours)
	if left, err := agentPods(f.ctx, "", sb); err != nil || len(left) != 1 || left[0].Status.Phase != corev1.PodRunning {
		t.Errorf("session b's agents after a stopped: %d (%v), want one running", len(left), err)
	}
	b.stop(syscall.SIGINT)
	checkTagged(t, a.Events(), []*corev1.Pod{pod}, "openat")
	checkTagged(t, b.Events(), []*corev1.Pod{pod}, "openat")
}

func sessionOf(t *testing.T, evs []event.Event) string {
	t.Helper()
	if len(evs) == 0 || evs[0].Session == "" {
		t.Fatal("events carry no session id")
	}
	return evs[0].Session
}
