//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// page is the file every webserver request of these tests opens.
const page = "/srv/index.html"

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// The main job: two app=nginx replicas serving requests; their opens arrive tagged with the right pod,
// namespace, container and node; a pod labelled otherwise making the same opens is not traced; --duration ends
// the session by itself.
func TestTraceLabelSelectorReplicas(t *testing.T) {
	t.Parallel()
	f := newF(t)
	nginx := f.createDeployment("nginx", labels("app", "nginx"), 2, "")
	other := f.createPod(podSpec{name: "other", labels: labels("app", "other")})
	for _, p := range nginx {
		f.traffic(p, "web", openURL(webPort, page))
	}
	otherTraffic := f.traffic(other, "web", openURL(webPort, page))

	const duration = 20 * time.Second
	s := f.trace("-n", f.ns, "-l", "app=nginx", "-s", "openat", "--duration", duration.String(), "--agent-namespace", f.agents)
	for _, p := range nginx {
		s.waitEvents(3, firstEventTimeout, "opening "+page+" in "+p.Name, both(fromPod(p), opened(page)))
	}
	otherTraffic.waitRequests() // the unselected pod made the same opens while traced

	if code := s.waitExit(duration + 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after --duration, want 0; stderr:\n%s", code, s.Stderr())
	}
	if took := time.Since(s.start); took < duration {
		t.Errorf("--duration %s: the session ended after %s", duration, took.Round(time.Millisecond))
	}
	evs := s.Events()
	checkTagged(t, evs, nginx, "openat")
	for i := range evs {
		if c := evs[i].Container; c != nil && c.Labels != nil && c.Labels["app"] != "nginx" {
			t.Errorf("event carries pod labels %v, want app=nginx: %s", c.Labels, describe(&evs[i]))
			break
		}
	}
	if n := count(evs, fromPod(other)); n > 0 {
		t.Errorf("%d events from pod %s, which -l app=nginx does not select", n, other.Name)
	}
}

// -c traces only the named container of a pod whose other container makes the same opens.
func TestTraceContainerFlag(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pod := f.createPod(podSpec{name: "two", labels: labels("app", "two"),
		containers: []corev1.Container{webContainer("web"), webContainerOn("side", webPort+1)}})
	f.traffic(pod, "web", openURL(webPort, page))
	side := f.traffic(pod, "side", openURL(webPort+1, page))

	s := f.trace("-n", f.ns, "-l", "app=two", "-c", "web", "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(5, firstEventTimeout, "opens in container web", both(fromContainer(pod, "web"), opened(page)))
	side.waitRequests()
	s.stop(syscall.SIGINT)

	evs := s.Events()
	checkTagged(t, evs, []*corev1.Pod{pod}, "openat")
	if n := count(evs, fromContainer(pod, "side")); n > 0 {
		t.Errorf("%d events from container side, but -c web was given", n)
	}
}

// A hostPID workload shares the host's pid namespace, so only its mount namespace/cgroup says which container a
// process belongs to: the same shell loop (same comm, same opens) in another hostPID pod and on the host itself
// must not be reported.
func TestTraceHostPIDPodOnlyItsContainer(t *testing.T) {
	t.Parallel()
	f := newF(t)
	const loop = `while :; do read x < /etc/hostname; sleep 0.1; done`
	node := suite.nodes[0]
	pods := f.createPods(
		podSpec{name: "target", labels: labels("role", "target"), node: node, hostPID: true,
			containers: []corev1.Container{shellContainer("loop", loop)}},
		podSpec{name: "decoy", labels: labels("role", "decoy"), node: node, hostPID: true,
			containers: []corev1.Container{shellContainer("loop", loop)}},
	)
	target, decoy := pods[0], pods[1]
	host := exec.Command("/bin/sh", "-c", loop)
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })

	s := f.trace("-n", f.ns, "-l", "role=target", "-s", "openat,open", "--agent-namespace", f.agents)
	s.waitEvents(20, firstEventTimeout, "opens of /etc/hostname", opened("/etc/hostname"))
	s.stop(syscall.SIGINT)

	targetPIDs := containerPIDs(containerID(target, "loop"))
	decoyPIDs := append(containerPIDs(containerID(decoy, "loop")), host.Process.Pid)
	if len(targetPIDs) == 0 || len(decoyPIDs) < 2 {
		t.Fatalf("could not find the loops' host pids (target %v, decoys %v)", targetPIDs, decoyPIDs)
	}
	evs := s.Events()
	checkTagged(t, evs, []*corev1.Pod{target}, "openat", "open")
	for i := range evs {
		ev := &evs[i]
		if slices.Contains(decoyPIDs, ev.Pid) {
			t.Fatalf("event of a decoy process (pids %v): %s", decoyPIDs, describe(ev))
		}
		if opened("/etc/hostname")(ev) && !slices.Contains(targetPIDs, ev.Pid) {
			t.Fatalf("open of /etc/hostname by pid %d, which is not in the target container (%v): %s", ev.Pid, targetPIDs, describe(ev))
		}
	}
}

// --field-selector narrows what the label selector matched, by pod name and by node.
func TestTraceFieldSelector(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pods := f.createPods(webPods("fs", labels("app", "fs"), suite.nodes[0], suite.nodes[1])...)
	var tr []*traffic
	for _, p := range pods {
		tr = append(tr, f.traffic(p, "web", openURL(webPort, page)))
	}
	byName := f.trace("-n", f.ns, "-l", "app=fs", "--field-selector", "metadata.name="+pods[0].Name, "-s", "openat", "--agent-namespace", f.agents)
	byNode := f.trace("-n", f.ns, "-l", "app=fs", "--field-selector", "spec.nodeName="+suite.nodes[1], "-s", "openat", "--agent-namespace", f.agents)
	byName.waitEvents(3, firstEventTimeout, "from "+pods[0].Name, both(fromPod(pods[0]), opened(page)))
	byNode.waitEvents(3, firstEventTimeout, "from "+pods[1].Name, both(fromPod(pods[1]), opened(page)))
	tr[0].waitRequests()
	tr[1].waitRequests()
	byName.stop(syscall.SIGINT)
	byNode.stop(syscall.SIGINT)
	checkTagged(t, byName.Events(), pods[:1], "openat")
	checkTagged(t, byNode.Events(), pods[1:], "openat")
}

// -A looks in every namespace; the label selector still applies.
func TestTraceAllNamespaces(t *testing.T) {
	t.Parallel()
	f := newF(t)
	second := f.createNamespace(uniqueName("e2e-all-namespaces-b"), nil)
	key := "swoll.dev/e2e-all" // a value unique to this test: other tests' pods never match
	a := f.createPods(podSpec{name: "a", labels: labels(key, f.ns)})[0]
	bc := f.createPodsIn(second, podSpec{name: "b", labels: labels(key, f.ns)}, podSpec{name: "c", labels: labels(key, "other")})
	b, c := bc[0], bc[1]
	for _, p := range []*corev1.Pod{a, b} {
		f.traffic(p, "web", openURL(webPort, page))
	}
	ctr := f.traffic(c, "web", openURL(webPort, page))

	s := f.trace("-A", "-l", key+"="+f.ns, "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from "+a.Namespace+"/a", both(fromPod(a), opened(page)))
	s.waitEvents(3, firstEventTimeout, "from "+b.Namespace+"/b", both(fromPod(b), opened(page)))
	ctr.waitRequests()
	s.stop(syscall.SIGINT)
	checkTagged(t, s.Events(), []*corev1.Pod{a, b}, "openat")
}

// Pod names as arguments select exactly those pods.
func TestTracePodNames(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pods := f.createPods(webPods("p", labels("app", "pos"), suite.nodes[0], suite.nodes[0], suite.nodes[0])...)
	var tr []*traffic
	for _, p := range pods {
		tr = append(tr, f.traffic(p, "web", openURL(webPort, page)))
	}
	s := f.trace("-n", f.ns, pods[0].Name, pods[2].Name, "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from "+pods[0].Name, both(fromPod(pods[0]), opened(page)))
	s.waitEvents(3, firstEventTimeout, "from "+pods[2].Name, both(fromPod(pods[2]), opened(page)))
	tr[1].waitRequests()
	s.stop(syscall.SIGINT)
	checkTagged(t, s.Events(), []*corev1.Pod{pods[0], pods[2]}, "openat")
}

// -f reads a seed-style Trace document: its namespace, label selector and syscalls select what the flags would.
func TestTraceFile(t *testing.T) {
	t.Parallel()
	f := newF(t)
	pods := f.createPods(podSpec{name: "tf", labels: labels("app", "tf")}, podSpec{name: "nt", labels: labels("app", "not-tf")})
	f.traffic(pods[0], "web", openURL(webPort, page))
	// A connect per request too: the syscall list of the file must keep it out.
	f.traffic(pods[0], "web", fmt.Sprintf("http://127.0.0.1:%d/connect?addr=127.0.0.1:%d", webPort, webPort))
	other := f.traffic(pods[1], "web", openURL(webPort, page))

	spec := filepath.Join(t.TempDir(), "trace.yaml")
	doc := fmt.Sprintf(`apiVersion: swoll.dev/v1alpha1
kind: Trace
metadata:
  name: e2e
  namespace: %s
spec:
  labelSelector:
    matchLabels:
      app: tf
  syscalls: [openat]
`, f.ns)
	if err := os.WriteFile(spec, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := f.trace("-f", spec, "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from tf", both(fromPod(pods[0]), opened(page)))
	other.waitRequests()
	s.stop(syscall.SIGINT)
	checkTagged(t, s.Events(), pods[:1], "openat")
}
