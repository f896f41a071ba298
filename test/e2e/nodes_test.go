//go:build e2e

package e2e

import (
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Targets on one node start exactly one agent, on that node.
func TestOneNodeOneAgent(t *testing.T) {
	t.Parallel()
	f := newF(t)
	node := suite.nodes[1]
	pods := f.createPods(webPods("one", labels("app", "one"), node, node)...)
	for _, p := range pods {
		f.traffic(p, "web", openURL(webPort, page))
	}
	agents := f.watchAgents(f.agents)
	s := f.trace("-n", f.ns, "-l", "app=one", "-s", "openat", "--agent-namespace", f.agents)
	for _, p := range pods {
		s.waitEvents(3, firstEventTimeout, "from "+p.Name, both(fromPod(p), opened(page)))
	}
	s.stop(syscall.SIGINT)
	if got := agents.nodes(); len(got) != 1 || got[node] != 1 {
		t.Errorf("agent pods per node during the session: %v, want exactly one on %s (%v)", got, node, podNames(agents.seen()))
	}
	checkTagged(t, s.Events(), pods, "openat")
}

// Targets on both nodes start one agent per node, and both nodes' events arrive in one stream, ordered by time
// within the plugin's merge window.
func TestTwoNodesOneStream(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pods := f.createPods(webPods("both", labels("app", "both"), suite.nodes[0], suite.nodes[1])...)
	for _, p := range pods {
		f.traffic(p, "web", openURL(webPort, page))
	}
	agents := f.watchAgents(f.agents)
	s := f.trace("-n", f.ns, "-l", "app=both", "-s", "openat", "--agent-namespace", f.agents)
	for _, p := range pods {
		s.waitEvents(10, firstEventTimeout, "from "+p.Name+" on "+p.Spec.NodeName, both(fromPod(p), opened(page)))
	}
	s.stop(syscall.SIGINT)
	got := agents.nodes()
	if len(got) != 2 || got[suite.nodes[0]] != 1 || got[suite.nodes[1]] != 1 {
		t.Errorf("agent pods per node: %v, want one on each of %v (%v)", got, suite.nodes[:2], podNames(agents.seen()))
	}
	evs := s.Events()
	checkTagged(t, evs, pods, "openat")
	checkMergeOrder(t, evs)
}

// A replica created mid-session is traced: one on a node that already has an agent, and one on a node that had
// none (the plugin must start an agent there).
func TestReplicaAddedMidSession(t *testing.T) {
	t.Parallel()
	f := newF(t)
	first, second := suite.nodes[0], suite.nodes[1]
	depLabels := labels("app", "mid", "tier", "deployed") // the bare pod below must not be adopted by the ReplicaSet
	initial := f.createDeployment("mid", depLabels, 1, first)
	f.traffic(initial[0], "web", openURL(webPort, page))
	agents := f.watchAgents(f.agents)

	s := f.trace("-n", f.ns, "-l", "app=mid", "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from the first replica", both(fromPod(initial[0]), opened(page)))
	if n := agents.nodes()[second]; n != 0 {
		t.Fatalf("%d agents on %s before any target ran there", n, second)
	}

	var added *corev1.Pod
	for _, p := range f.scaleDeployment("mid", depLabels, 2) {
		if p.Name != initial[0].Name {
			added = p
		}
	}
	f.traffic(added, "web", openURL(webPort, page))
	s.waitEvents(3, firstEventTimeout, "from the replica added on "+added.Spec.NodeName, both(fromPod(added), opened(page)))

	late := f.createPod(podSpec{name: "late", labels: labels("app", "mid", "tier", "late"), hostname: second})
	f.traffic(late, "web", openURL(webPort, page))
	s.waitEvents(3, firstEventTimeout, "from the pod added on "+second, both(fromPod(late), opened(page)))
	agents.waitSeen(10*time.Second, "an agent on "+second, func(pods []*corev1.Pod) bool {
		for _, p := range pods {
			if p.Spec.NodeName == second {
				return true
			}
		}
		return false
	})
	s.stop(syscall.SIGINT)
	checkTagged(t, s.Events(), []*corev1.Pod{initial[0], added, late}, "openat")
}
