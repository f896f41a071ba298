//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// Capability bits (linux/capability.h).
const (
	capSysPtrace = 19
	capPerfmon   = 38
	capBPF       = 39
)

// TestFaultAgentLeastPrivilege: pass = the agent pod is admitted and traces with no privileged flag, every
// capability dropped but BPF, PERFMON and SYS_PTRACE (checked in the pod spec and in the running agent's
// CapEff), a read-only root file system, and no host path but the CRI socket.
func TestFaultAgentLeastPrivilege(t *testing.T) {
	t.Parallel()
	faultCase(t, "agent admitted and tracing, not privileged, CapEff = BPF+PERFMON+SYS_PTRACE, read-only root, only the CRI socket mounted")
	f := newF(t)
	s, agent, _ := tracedSession(f, suite.nodes[0])
	pod, err := suite.cs.CoreV1().Pods(agent.Namespace).Get(f.ctx, agent.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("no security context")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("the agent is privileged")
	case sc.Capabilities == nil || fmt.Sprint(sc.Capabilities.Drop) != "[ALL]":
		t.Errorf("capabilities %+v: want ALL dropped", sc.Capabilities)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("the root file system is writable")
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil && !strings.HasSuffix(v.HostPath.Path, ".sock") && v.HostPath.Path != agentpod.CgroupHostPath {
			t.Errorf("host path %s mounted: only the CRI socket and the cgroup hierarchies may be", v.HostPath.Path)
		}
	}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly && m.MountPath != "/tmp" {
			t.Errorf("mount %s is writable", m.MountPath)
		}
	}
	// the running session process: its effective capabilities are exactly the three
	want := uint64(1)<<capBPF | uint64(1)<<capPerfmon | uint64(1)<<capSysPtrace
	found := false
	for _, pid := range containerPIDs(containerID(pod, agentpod.ContainerName)) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !bytes.Contains(cmdline, []byte("session")) {
			continue
		}
		found = true
		got, err := capEff(pid)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("agent session (pid %d) CapEff %#x, want %#x (BPF, PERFMON, SYS_PTRACE)", pid, got, want)
		}
	}
	if !found {
		t.Error("no swoll-agent session process found in the agent container")
	}
	s.stop(syscall.SIGINT)
}

// TestFaultPreCreatedAgentName: pass = a Job that already has the name the session's next agent would get is
// refused (never adopted, never exec'd into) and reported; a pod carrying the session's labels that no Job of
// the session created is ignored and reported; nothing is traced on that node through either.
func TestFaultPreCreatedAgentName(t *testing.T) {
	t.Parallel()
	faultCase(t, "pre-created Job with the next agent's name and a pod with the session's labels: refused and reported, never exec'd into")
	f := newF(t)
	a := f.createPod(podSpec{name: "web-a", labels: labels("app", "web"), node: suite.nodes[0]})
	f.traffic(a, "web", openURL(webPort, page))
	s := f.trace("-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from "+a.Name, both(fromPod(a), opened(page)))
	session := sessionOf(t, s.Events())

	// the impostors: a Job named as the agent of the other node will be, and a pod with the session's labels
	impostor := shellContainer("agent", "sleep 3600")
	grace := int64(1)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: agentpod.Name(session, suite.nodes[1]), Namespace: f.agents},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			NodeName: suite.nodes[1], RestartPolicy: corev1.RestartPolicyNever, TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{impostor},
		}}},
	}
	if _, err := suite.cs.BatchV1().Jobs(f.agents).Create(f.ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fake := podSpec{name: agentpod.Name(session, suite.nodes[1]) + "-zzzzz", node: suite.nodes[1],
		labels: map[string]string{agentpod.LabelName: agentpod.NameValue, agentpod.LabelManagedBy: agentpod.ManagedByValue,
			agentpod.LabelSession: session},
		containers: []corev1.Container{impostor}}
	f.createPodsIn(f.agents, fake)

	// a target on the other node: the session wants an agent there now
	b := f.createPod(podSpec{name: "web-b", labels: labels("app", "web"), node: suite.nodes[1]})
	f.traffic(b, "web", openURL(webPort, page))
	for _, want := range []string{"refusing to use it", "ignoring pod " + f.agents + "/" + fake.name} {
		err := within(firstEventTimeout, func(context.Context) (bool, error) { return strings.Contains(s.Stderr(), want), nil },
			"the plugin to say %q", want)
		if err != nil {
			t.Fatalf("%v\nstderr:\n%s", err, s.Stderr())
		}
	}
	n := count(s.Events(), both(fromPod(a), opened(page)))
	s.waitEvents(n+3, 30*time.Second, "from "+a.Name+" still", both(fromPod(a), opened(page)))
	if got := count(s.Events(), fromPod(b)); got != 0 {
		t.Errorf("%d events from %s: something was traced through an impostor", got, b.Name)
	}
	// the impostor Job is still what it was: not adopted, not deleted
	if _, err := suite.cs.BatchV1().Jobs(f.agents).Get(f.ctx, job.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the pre-created Job: %v", err)
	}
	s.signal(syscall.SIGINT)
	if code := s.waitExit(exitTimeout); code != 1 {
		t.Errorf("exit %d, want 1 (a node could not be traced)", code)
	}
	f.noSwollLeft(f.agents, session, goneTimeout)
}

// TestFaultCleanupBySecondUser: pass = `cleanup` run by another user (bound to the same Role) during a live
// session leaves it alone and says so, and the session keeps tracing; with --force it removes the agents, the
// session says they were deleted, and nothing is left.
func TestFaultCleanupBySecondUser(t *testing.T) {
	t.Parallel()
	faultCase(t, "cleanup by a second user during a live session: session untouched and named; with --force removed and reported")
	if tracerUser == "" {
		t.Fatal("needs the suite's RBAC user (SWOLL_E2E_AS must not be -)")
	}
	f := newF(t)
	other := "swoll-e2e-other-" + f.ns[len(f.ns)-6:]
	f.bindUser(other, rbacv1.Subject{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: other})
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[0]})
	f.traffic(pod, "web", openURL(webPort, page))
	s := f.trace("-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents)
	ours := both(fromPod(pod), opened(page))
	s.waitEvents(3, firstEventTimeout, "from "+pod.Name, ours)

	r := f.run(time.Minute, "cleanup", "-n", f.agents, "--as", other)
	if r.code != 0 || !strings.Contains(r.stderr, "left alone") || strings.Contains(r.stdout, "removed") {
		t.Fatalf("cleanup by %s: exit %d\nstdout:\n%s\nstderr:\n%s", other, r.code, r.stdout, r.stderr)
	}
	n := count(s.Events(), ours)
	s.waitEvents(n+3, 30*time.Second, "after another user's cleanup", ours)

	r = f.run(time.Minute, "cleanup", "-n", f.agents, "--as", other, "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "removed") {
		t.Fatalf("cleanup --force by %s: exit %d\nstdout:\n%s\nstderr:\n%s", other, r.code, r.stdout, r.stderr)
	}
	err := within(30*time.Second, func(context.Context) (bool, error) {
		return strings.Contains(s.Stderr(), "deleted by another client"), nil
	}, "the session to report its agent deleted")
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, s.Stderr())
	}
	// its one agent removed and not replaced, the session ends on its own ("every agent ended"), incomplete
	if code := s.waitExit(exitTimeout); code != 1 {
		t.Errorf("exit %d after its agent was removed, want 1\nstderr:\n%s", code, s.Stderr())
	}
	f.noSwollLeft(f.agents, "", goneTimeout)
}

// TestFaultCredentialsStayLocal: pass = a session run with --token (a real ServiceAccount token bound to the
// shipped Role) leaves its value in no Job or pod it created; a run with --username/--password (which the API
// server refuses: no basic auth) creates nothing and leaves the password nowhere either.
func TestFaultCredentialsStayLocal(t *testing.T) {
	t.Parallel()
	faultCase(t, "--token (a real session) and --password (refused) values found in no created Job or pod")
	f := newF(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "tracer", Namespace: f.ns}}
	if _, err := suite.cs.CoreV1().ServiceAccounts(f.ns).Create(f.ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.bindUser("sa", rbacv1.Subject{Kind: "ServiceAccount", Name: "tracer", Namespace: f.ns})
	exp := int64(600)
	tr, err := suite.cs.CoreV1().ServiceAccounts(f.ns).CreateToken(f.ctx, "tracer",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token, password := tr.Status.Token, "pw-"+f.ns
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[1]})
	f.traffic(pod, "web", openURL(webPort, page))
	// a kubeconfig with the cluster and no user: the flags say who runs
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	ca := suite.config.CAData
	if len(ca) == 0 {
		var err error
		if ca, err = os.ReadFile(suite.config.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	noUser := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: %q, certificate-authority-data: %q}\n"+
		"users:\n- name: nobody\n  user: {}\ncontexts:\n- name: c\n  context: {cluster: c, user: nobody}\ncurrent-context: c\n",
		suite.config.Host, base64.StdEncoding.EncodeToString(ca))
	if err := os.WriteFile(kc, []byte(noUser), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := f.run(time.Minute, "trace", "--as=", "--kubeconfig", kc, "--username", "someone", "--password", password,
		"-n", f.ns, "-l", "app=web", "--agent-namespace", f.agents); r.code == 0 {
		t.Errorf("a session with a refused password succeeded:\n%s", r.stderr)
	}
	// --as= undoes the suite's impersonation: the token is who runs this session
	s := f.trace("--as=", "--kubeconfig", kc, "--token", token, "-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.agents)
	s.waitEvents(3, firstEventTimeout, "from "+pod.Name, both(fromPod(pod), opened(page)))
	jobs, err := suite.cs.BatchV1().Jobs(f.agents).List(f.ctx, metav1.ListOptions{LabelSelector: agentLabel})
	if err != nil || len(jobs.Items) == 0 {
		t.Fatalf("agent jobs: %v (%d)", err, len(jobs.Items))
	}
	pods, err := agentPods(f.ctx, f.agents, "")
	if err != nil || len(pods) == 0 {
		t.Fatalf("agent pods: %v (%d)", err, len(pods))
	}
	dump, _ := json.Marshal(struct {
		Jobs []batchv1.Job
		Pods []corev1.Pod
	}{jobs.Items, pods})
	for name, secret := range map[string]string{"--token": token, "--password": password} {
		if bytes.Contains(dump, []byte(secret)) {
			t.Errorf("the value of %s is in a created object", name)
		}
	}
	if cmd := jobs.Items[0].Annotations[agentpod.AnnotationCommand]; !strings.Contains(cmd, "--selector=app=web") {
		t.Errorf("the command annotation %q lost the trace's own flags", cmd)
	}
	s.stop(syscall.SIGINT)
}

// hostile is a name made of everything a terminal must not receive raw: ESC/CSI, OSC with BEL, CR, C1 CSI,
// a bidi override and bytes that are not UTF-8.
const hostile = "h\x1b[31mred\x1b]0;title\x07\rcr\xc2\x9bc1\xe2\x80\xaebidi\xff\xfe"

// rawUnsafe describes the first byte sequence of b a terminal would interpret ("" when there is none).
// Newlines end lines; tabs are fine.
func rawUnsafe(b []byte) string {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				return fmt.Sprintf("raw %#x at %d: %q", c, i, b[max(0, i-20):min(len(b), i+20)])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Sprintf("invalid UTF-8 %#x at %d", c, i)
		case r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			return fmt.Sprintf("raw %U at %d", r, i)
		}
		i += size
	}
	return ""
}

// TestFaultHostileText: pass = paths, comm, a pod event and agent diagnostics made of control, C1, bidi and
// non-UTF-8 bytes never reach the terminal raw, in -o json (every line valid JSON) and -o cli, on stdout
// and stderr.
func TestFaultHostileText(t *testing.T) {
	t.Parallel()
	faultCase(t, "ESC/CSI/OSC/BEL/CR/C1/bidi/invalid UTF-8 in paths, comm and a pod event: never raw on stdout or stderr, JSON lines valid")
	f := newF(t)
	script := `H=$(printf 'h\033[31mred\033]0;title\007\rcr\302\233c1\342\200\256bidi\377\376'); cp /bin/busybox "/tmp/$H"; ` +
		`while :; do cat "/tmp/$H.conf" 2>/dev/null; "/tmp/$H" true 2>/dev/null; sleep 0.2; done`
	pod := f.createPod(podSpec{name: "hostile", labels: labels("app", "hostile"), node: suite.nodes[0],
		containers: []corev1.Container{shellContainer("sh", script)}})
	agents := f.watchAgents(f.agents)
	var cliMu sync.Mutex
	var cliOut bytes.Buffer
	cli := f.startRaw(lockedWriter{&cliMu, &cliOut}, "-n", f.ns, "-l", "app=hostile", "--agent-namespace", f.agents, "-o", "cli")
	s := f.trace("-n", f.ns, "-l", "app=hostile", "--agent-namespace", f.agents)
	s.waitFor(firstEventTimeout, "an event with the hostile path", func(evs []event.Event) bool {
		for i := range evs {
			if strings.Contains(string(evs[i].Args), "bidi") && fromPod(pod)(&evs[i]) {
				return true
			}
		}
		return false
	})
	// a hostile Warning event about an agent pod: the plugin shows such warnings
	agents.waitSeen(firstEventTimeout, "two agent pods", func(p []*corev1.Pod) bool { return len(p) >= 2 })
	for _, a := range agents.seen() {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "hostile-", Namespace: f.agents},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: a.Name, Namespace: f.agents, UID: a.UID},
			Type:           corev1.EventTypeWarning, Reason: "Hostile", Message: "event " + hostile,
			FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
			Source: corev1.EventSource{Component: "e2e"},
		}
		if _, err := suite.cs.CoreV1().Events(f.agents).Create(f.ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := within(30*time.Second, func(context.Context) (bool, error) {
		return strings.Contains(s.Stderr(), "Hostile") && strings.Contains(cli.Stderr(), "Hostile"), nil
	}, "both sessions to show the hostile event")
	if err != nil {
		t.Errorf("%v\nstderr:\n%s", err, s.Stderr())
	}
	s.stop(syscall.SIGINT)
	cli.stop(t)
	s.mu.Lock()
	raw := append([]byte(nil), s.raw.Bytes()...)
	s.mu.Unlock()
	cliMu.Lock()
	cliText := append([]byte(nil), cliOut.Bytes()...)
	cliMu.Unlock()
	outputs := map[string][]byte{
		"-o json stdout": raw, "-o json stderr": []byte(s.Stderr()),
		"-o cli stdout": cliText, "-o cli stderr": []byte(cli.Stderr()),
	}
	names := make([]string, 0, len(outputs))
	for k := range outputs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if why := rawUnsafe(outputs[name]); why != "" {
			t.Errorf("%s: %s", name, why)
		}
	}
	if !regexp.MustCompile(`\\x1b|\\u001b|\\033`).Match(cliText) {
		t.Errorf("-o cli shows no escaped ESC: the hostile path was not printed at all?\n%.2000s", cliText)
	}
}
