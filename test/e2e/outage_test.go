//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// The cases here disturb the whole cluster (a partition, an API-server restart): they do not call t.Parallel,
// so that Go runs them before the parallel tests start, one at a time. The file's name sorts after
// krew_test.go: TestKrewInstall, also sequential, checks that its session is the first to pull the agent image.

// twoNodeSession traces a web pod with traffic on each node and waits for events from both.
func twoNodeSession(f *F) (*session, []*corev1.Pod) {
	f.t.Helper()
	pods := f.createPods(webPods("web", labels("app", "web"), suite.nodes...)...)
	for _, p := range pods {
		f.traffic(p, "web", openURL(webPort, page))
	}
	s := f.trace("-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents)
	for _, p := range pods {
		s.waitEvents(3, firstEventTimeout, "from "+p.Name, both(fromPod(p), opened(page)))
	}
	return s, pods
}

// waitStderr waits until the session's stderr holds want.
func (s *session) waitStderr(timeout time.Duration, want string) {
	s.t.Helper()
	err := within(timeout, func(context.Context) (bool, error) { return strings.Contains(s.Stderr(), want), nil },
		"the plugin to say %q", want)
	if err != nil {
		s.t.Fatalf("%v\nstderr:\n%s", err, s.Stderr())
	}
}

// TestFaultPartitionOneKubelet: pass = with the traffic between the API server and one node's kubelet
// dropped mid-session, that node is named on stderr while the other node's events keep coming; after the
// partition heals the session ends cleanly on SIGINT and nothing of it is left.
func TestFaultPartitionOneKubelet(t *testing.T) {
	faultCase(t, "iptables DROP API server <-> one kubelet mid-session, then heal: node named, other node still traced, nothing left after heal")
	f := newF(t)
	s, pods := twoNodeSession(f)
	cut := suite.nodes[1]
	heal := f.partition(cut)
	start := time.Now()
	named := regexp.MustCompile(regexp.QuoteMeta(cut) + `: (silent for|the agent|starting a replacement|its [0-9]+ container)`)
	err := within(90*time.Second, func(context.Context) (bool, error) { return named.MatchString(s.Stderr()), nil },
		"the plugin to name %s", cut)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, s.Stderr())
	}
	t.Logf("%s named %s after the partition: %s", cut, time.Since(start).Round(time.Second), named.FindString(s.Stderr()))
	ours := both(fromPod(pods[0]), opened(page))
	n := count(s.Events(), ours)
	s.waitEvents(n+5, 30*time.Second, "from the other node during the partition", ours)
	heal()
	healed := time.Now()
	s.signal(syscall.SIGINT)
	s.waitExit(exitTimeout + 20*time.Second)
	t.Logf("stderr:\n%s", s.Stderr())
	f.noSwollLeft(f.agents, "", nothingLeftAfter-time.Since(healed))
}

// TestFaultAPIServerRestart: pass = after a kube-apiserver restart mid-session (down 3 s) the session either
// goes on tracing both nodes (its agents replaced, the gap reported) or ends with a clear message; either
// way nothing of it is left once it ended.
func TestFaultAPIServerRestart(t *testing.T) {
	faultCase(t, "kube-apiserver restart mid-session: session continues (gap reported) or ends cleanly; nothing left")
	f := newF(t)
	s, pods := twoNodeSession(f)
	f.restartAPIServer(3 * time.Second)
	restarted := time.Now()
	continued := true
	for _, p := range pods {
		f.traffic(p, "web", openURL(webPort, page)) // the old loops ran through exec streams the restart cut
	}
	for _, p := range pods {
		ours := both(fromPod(p), opened(page))
		n := count(s.Events(), ours)
		if err := s.waitForErr(90*time.Second, func(evs []event.Event) bool { return count(evs, ours) > n+3 }); err != nil {
			continued = false
			t.Logf("no more events from %s after the restart: %v", p.Name, err)
		}
	}
	if continued {
		t.Logf("the session went on tracing both nodes after the restart")
		s.signal(syscall.SIGINT)
	}
	code := s.waitExit(exitTimeout + 20*time.Second)
	stderr := s.Stderr()
	t.Logf("exit %d; stderr:\n%s", code, stderr)
	if !continued && !strings.Contains(stderr, "session "+sessionOf(t, s.Events())+" ended") {
		t.Errorf("the session neither continued nor ended with its summary")
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
		t.Errorf("a stack trace on stderr")
	}
	f.noSwollLeft(f.agents, "", nothingLeftAfter-time.Since(restarted))
}

// TestFaultAgentKilledThenReplica: pass = when the agent process is killed (SIGKILL) on one node, the session
// says so and replaces the agent (reporting the untraced gap), and a replica scheduled on that node afterwards
// is traced; nothing is left after the session.
func TestFaultAgentKilledThenReplica(t *testing.T) {
	t.Parallel()
	faultCase(t, "agent process SIGKILLed on one node, then a replica scheduled there: agent replaced with the gap reported, replica traced")
	f := newF(t)
	agents := f.watchAgents(f.agents)
	s, _ := twoNodeSession(f)
	victim := suite.nodes[1]
	var agent *corev1.Pod
	for _, p := range agents.seen() {
		if p.Spec.NodeName == victim {
			agent = p
		}
	}
	if agent == nil {
		t.Fatalf("no agent pod on %s: %v", victim, podNames(agents.seen()))
	}
	killed := 0
	for _, pid := range containerPIDs(containerIDOf(f, agent)) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte("session")) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				killed++
			}
		}
	}
	if killed == 0 {
		t.Fatalf("no swoll-agent session process found in %s", agent.Name)
	}
	s.waitStderr(60*time.Second, victim+": replacement agent ready")
	replica := f.createPod(podSpec{name: "replica", labels: labels("app", "web"), node: victim})
	f.traffic(replica, "web", openURL(webPort, page))
	s.waitEvents(3, firstEventTimeout, "from the replica "+replica.Name, both(fromPod(replica), opened(page)))
	if !strings.Contains(s.Stderr(), "was not traced from") {
		t.Errorf("the gap is not reported:\n%s", s.Stderr())
	}
	s.stop(syscall.SIGINT)
	f.noSwollLeft(f.agents, "", goneTimeout)
	if !strings.Contains(agent.Name, agentpod.Name(sessionOf(t, s.Events()), victim)) {
		t.Errorf("agent pod %s is not named after its session's Job", agent.Name)
	}
}

// containerIDOf reads the agent pod's current container id.
func containerIDOf(f *F, pod *corev1.Pod) string {
	p, err := suite.cs.CoreV1().Pods(pod.Namespace).Get(f.ctx, pod.Name, metav1.GetOptions{})
	if err != nil || len(p.Status.ContainerStatuses) == 0 {
		return ""
	}
	return containerID(p, p.Status.ContainerStatuses[0].Name)
}
