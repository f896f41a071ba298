//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/audit"
	"github.com/swoll-dev/swoll/plugin/rbac"
)

// auditTimeout bounds the wait for a session's audit Events to be listed (they are written as it starts and
// within 3 s of its end).
const auditTimeout = 30 * time.Second

// lpUser is a person set up as the README says: kubectl swoll rbac's output for targets in the test's
// namespace (Pod Security baseline: it never admits the agents) and agents in a namespace that output
// declares, applied with kubectl. Its plugin runs carry --as and that agent namespace.
type lpUser struct {
	f      *F
	name   string
	agents string
}

// newLPUser applies `kubectl swoll rbac f.ns --user NAME --agent-namespace AGENTS extra...` and labels the
// targets' namespace baseline.
func newLPUser(f *F, extra ...string) *lpUser {
	f.t.Helper()
	u := &lpUser{f: f, name: "swoll-e2e-lp-" + f.ns[len(f.ns)-6:], agents: uniqueName("e2e-lp-agents")}
	f.t.Cleanup(func() { f.deleteNamespace(u.agents) })
	u.grant(extra...)
	if out, err := kubectl("label", "namespace", f.ns, rbac.PodSecurityEnforceLabel+"=baseline", "--overwrite").CombinedOutput(); err != nil {
		f.t.Fatalf("labelling %s baseline: %v\n%s", f.ns, err, out)
	}
	return u
}

// grant pipes kubectl swoll rbac's output for the user into kubectl apply, as an administrator does.
func (u *lpUser) grant(extra ...string) {
	u.f.t.Helper()
	r := u.f.run(time.Minute, append([]string{"rbac", u.f.ns, "--user", u.name, "--agent-namespace", u.agents}, extra...)...)
	if r.code != 0 {
		u.f.t.Fatalf("kubectl swoll rbac: exit %d\n%s", r.code, r.stderr)
	}
	apply := kubectl("apply", "-f", "-")
	apply.Stdin = strings.NewReader(r.stdout)
	if out, err := apply.CombinedOutput(); err != nil {
		u.f.t.Fatalf("kubectl apply -f - of kubectl swoll rbac's output: %v\n%s\n--- input:\n%s", err, out, r.stdout)
	}
	// the authorizer sees new bindings a moment later
	err := within(auditTimeout, func(context.Context) (bool, error) {
		reads, _ := canI(u.name, u.f.ns, "watch", "pods")
		writes, _ := canI(u.name, u.agents, "create", "pods", "--subresource=exec")
		return reads && writes, nil
	}, "the rights of %s to take effect", u.name)
	if err != nil {
		u.f.t.Fatal(err)
	}
}

// cmd is the plugin run as the user, with the user's agent namespace set once.
func (u *lpUser) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := u.f.pluginCmd(ctx, append([]string{args[0], "--as", u.name}, args[1:]...)...)
	cmd.Env = append(cmd.Env, "SWOLL_AGENT_NAMESPACE="+u.agents)
	return cmd
}

func (u *lpUser) trace(args ...string) *session {
	u.f.t.Helper()
	return u.f.traceWith(u.cmd, args...)
}

// run runs the plugin to completion as the user.
func (u *lpUser) run(timeout time.Duration, args ...string) result {
	u.f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := u.cmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		u.f.t.Fatalf("kubectl-swoll %s did not finish within %s\nstderr:\n%s", strings.Join(args, " "), timeout, stderr.String())
	}
	return result{args: args, stdout: stdout.String(), stderr: stderr.String(), code: exitCode(err)}
}

// canI is kubectl auth can-i as the user (a SubjectAccessReview answered by the cluster's authorizer).
func canI(user, ns string, args ...string) (bool, string) {
	cmd := kubectl(append([]string{"auth", "can-i", "--as", user, "-n", ns}, args...)...)
	out, err := cmd.CombinedOutput()
	return err == nil && strings.TrimSpace(string(out)) == "yes", strings.TrimSpace(string(out))
}

// allowed asks the cluster's authorizer (a SubjectAccessReview) whether user may verb group/resource in ns: what
// kubectl auth can-i cannot ask for a group no API server serves.
func allowed(user, ns, verb, group, resource string) bool {
	r, err := suite.cs.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: group, Resource: resource}},
	}, metav1.CreateOptions{})
	return err == nil && r.Status.Allowed
}

// TestRBACCanI: pass = a user bound by kubectl swoll rbac's output may read pods and write audit Events where
// the targets are and nothing else there (no exec, no pod created or deleted, no Job, no data capture), and
// may run the agents (Jobs, pods, pods/exec) in the agent namespace alone; the suite's own tracer user, with
// every test's targets readable, cannot exec into them either.
func TestRBACCanI(t *testing.T) {
	t.Parallel()
	f := newF(t)
	u := newLPUser(f)
	tests := []struct {
		ns   string
		args []string
		want bool
	}{
		{f.ns, []string{"list", "pods"}, true},
		{f.ns, []string{"watch", "pods"}, true},
		{f.ns, []string{"get", "pods"}, true},
		{f.ns, []string{"create", "events"}, true},
		{f.ns, []string{"create", "pods", "--subresource=exec"}, false},
		{f.ns, []string{"create", "pods/exec"}, false},
		{f.ns, []string{"create", "pods"}, false},
		{f.ns, []string{"delete", "pods"}, false},
		{f.ns, []string{"patch", "pods"}, false},
		{f.ns, []string{"create", "pods", "--subresource=ephemeralcontainers"}, false},
		{f.ns, []string{"get", "pods", "--subresource=log"}, false},
		{f.ns, []string{"create", "jobs.batch"}, false},
		{f.ns, []string{"get", "secrets"}, false},
		{u.agents, []string{"create", "jobs.batch"}, true},
		{u.agents, []string{"delete", "jobs.batch"}, true},
		{u.agents, []string{"create", "pods", "--subresource=exec"}, true},
		{u.agents, []string{"create", "pods"}, true},
		{u.agents, []string{"get", "pods", "--subresource=log"}, true},
		{u.agents, []string{"get", "secrets"}, false},
		{"default", []string{"create", "pods", "--subresource=exec"}, false},
		{"kube-system", []string{"create", "jobs.batch"}, false},
	}
	for _, tc := range tests {
		got, out := canI(u.name, tc.ns, tc.args...)
		if got != tc.want {
			t.Errorf("kubectl auth can-i %s -n %s --as %s: %s, want %v", strings.Join(tc.args, " "), tc.ns, u.name, out, tc.want)
		}
	}
	if allowed(u.name, f.ns, rbac.CaptureVerb, rbac.CaptureGroup, rbac.CaptureResource) {
		t.Errorf("%s may capture data in %s without --capture", u.name, f.ns)
	}
	if tracerUser != "" {
		for _, args := range [][]string{{"create", "pods", "--subresource=exec"}, {"create", "pods"}, {"delete", "pods"}, {"create", "jobs.batch"}} {
			if got, out := canI(tracerUser, f.ns, args...); got {
				t.Errorf("the suite's tracer user may %s in a targets' namespace (%s)", strings.Join(args, " "), out)
			}
		}
		if got, out := canI(tracerUser, f.agents, "create", "pods", "--subresource=exec"); !got {
			t.Errorf("the suite's tracer user may not exec in its agent namespace (%s)", out)
		}
	}
	list := kubectl("auth", "can-i", "--list", "--as", u.name, "-n", f.ns)
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl auth can-i --list: %v\n%s", err, out)
	}
	t.Logf("kubectl auth can-i --list --as %s -n %s (targets' namespace):\n%s", u.name, f.ns, out)
	_ = os.WriteFile(filepath.Join(suite.root, "_output", "rbac-can-i-list.txt"), out, 0o644)
	if bytes.Contains(out, []byte("pods/exec")) || bytes.Contains(out, []byte("jobs.batch")) || bytes.Contains(out, []byte("swoll.dev")) {
		t.Errorf("the list shows a write where the targets are:\n%s", out)
	}
}

// TestRBACLeastPrivilegeSession: pass = as a user who only reads where the targets are (Pod Security baseline
// there) and writes in an agent namespace of its own, trace streams events, its agent Job carries the audit
// annotations, every traced pod gets a start and an end Event naming the user, the host, the calls and the data
// capture; top counts; cleanup works; a SIGKILLed session leaves nothing; asking to run the agents beside the
// targets is refused with a namespace of their own proposed, never the targets' namespace relabelled.
func TestRBACLeastPrivilegeSession(t *testing.T) {
	t.Parallel()
	f := newF(t)
	u := newLPUser(f)
	pods := f.createPods(webPods("web", labels("app", "web"), suite.nodes...)...)
	for _, p := range pods {
		f.traffic(p, "web", openURL(webPort, page))
	}
	host, _ := os.Hostname()

	s := u.trace("-n", f.ns, "-l", "app=web", "-s", "openat")
	for _, p := range pods {
		s.waitEvents(3, firstEventTimeout, "from "+p.Name, both(fromPod(p), opened(page)))
	}
	session := sessionOf(t, s.Events())
	jobs, err := suite.cs.BatchV1().Jobs(u.agents).List(f.ctx, metav1.ListOptions{LabelSelector: sessionLabel + "=" + session})
	if err != nil || len(jobs.Items) != len(suite.nodes) {
		t.Fatalf("agent Jobs of %s in %s: %d (%v), want %d", session, u.agents, len(jobs.Items), err, len(suite.nodes))
	}
	for _, j := range jobs.Items {
		a := j.Annotations
		if a[agentpod.AnnotationRequestedBy] != u.name || a[agentpod.AnnotationRequestedFrom] != host ||
			a[agentpod.AnnotationSyscalls] != "openat" || a[agentpod.AnnotationCaptureData] != "0" {
			t.Errorf("Job %s: annotations %v", j.Name, a)
		}
	}
	s.stop(syscall.SIGINT)
	for _, p := range pods {
		f.waitAuditEvents(p, session, u.name, host, "openat", "0")
	}

	// top, and cleanup in the agent namespace set once
	top := u.run(2*time.Minute, "top", "-n", f.ns, "-l", "app=web", "-s", "openat", "-o", "json", "--interval", "1s", "--duration", "3s")
	if top.code != 0 || !strings.Contains(top.stdout, `"snapshot"`) {
		t.Errorf("top as %s: exit %d\nstdout:\n%.2000s\nstderr:\n%s", u.name, top.code, top.stdout, top.stderr)
	}
	if r := u.run(time.Minute, "cleanup"); r.code != 0 || !strings.Contains(r.stdout, "no swoll agent pods in namespace "+u.agents) {
		t.Errorf("cleanup as %s: exit %d\nstdout:\n%s\nstderr:\n%s", u.name, r.code, r.stdout, r.stderr)
	}

	// SIGKILL: the agents go on their own, within the bound, without cleanup
	k := u.trace("-n", f.ns, "-l", "app=web", "-s", "openat")
	k.waitEvents(3, firstEventTimeout, "before the kill", both(fromPod(pods[0]), opened(page)))
	k.signal(syscall.SIGKILL)
	killed := time.Now()
	k.waitExit(exitTimeout)
	f.noSwollLeft(u.agents, "", nothingLeftAfter-time.Since(killed))

	// the agents beside the targets: refused, and the targets' namespace is never asked to admit them
	r := u.run(time.Minute, "trace", "-n", f.ns, "-l", "app=web", "--agent-namespace", f.ns)
	lines := nonEmptyLines(r.stderr)
	if r.code == 0 || len(lines) != 1 || !strings.Contains(r.stderr, "give them one of their own") ||
		strings.Contains(r.stderr, "label namespace "+f.ns) {
		t.Errorf("agents beside the targets: exit %d, want one line proposing a namespace of their own:\n%s", r.code, r.stderr)
	}
}

// waitAuditEvents waits for the start and end Events of session on pod and checks what they say.
func (f *F) waitAuditEvents(pod *corev1.Pod, session, user, host, syscalls, capture string) {
	f.t.Helper()
	var evs []corev1.Event
	err := within(auditTimeout, func(ctx context.Context) (bool, error) {
		list, err := suite.cs.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: sessionLabel + "=" + session,
			FieldSelector: "involvedObject.name=" + pod.Name,
		})
		if err != nil {
			return false, nil
		}
		evs = list.Items
		return len(evs) >= 2, nil
	}, "the audit Events of session %s on %s", session, pod.Name)
	if err != nil {
		f.t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range evs {
		reasons[e.Reason] = true
		a := e.Annotations
		if e.InvolvedObject.UID != pod.UID || a[agentpod.AnnotationRequestedBy] != user || a[agentpod.AnnotationRequestedFrom] != host ||
			a[agentpod.AnnotationSyscalls] != syscalls || a[agentpod.AnnotationCaptureData] != capture || a[audit.AnnotationStarted] == "" {
			f.t.Errorf("audit Event %s on %s: involved %+v, annotations %v", e.Name, pod.Name, e.InvolvedObject, a)
		}
		if !strings.Contains(e.Message, "by "+user+" from host "+host) {
			f.t.Errorf("audit Event %s: message %q", e.Name, e.Message)
		}
		if e.Reason == audit.ReasonEnded && a[audit.AnnotationEnded] == "" {
			f.t.Errorf("audit Event %s: no end time: %v", e.Name, a)
		}
	}
	if !reasons[audit.ReasonStarted] || !reasons[audit.ReasonEnded] || len(evs) != 2 {
		f.t.Errorf("audit Events on %s: %d, reasons %v; want one %s and one %s", pod.Name, len(evs), reasons, audit.ReasonStarted, audit.ReasonEnded)
	}
}

// TestRBACCaptureData: pass = --capture-data by a user without the data capture permission is refused before
// anything is created, in one line naming the permission and the kubectl swoll rbac --capture line that grants
// it; once that output is applied, the same session captures data and its records say so.
func TestRBACCaptureData(t *testing.T) {
	t.Parallel()
	f := newF(t)
	u := newLPUser(f)
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[0]})
	f.traffic(pod, "web", openURL(webPort, page))
	args := []string{"-n", f.ns, "-l", "app=web", "-s", "openat,read", "--capture-data", "64"}

	r := u.run(time.Minute, append([]string{"trace", "-o", "json"}, args...)...)
	lines := nonEmptyLines(r.stderr)
	want := fmt.Sprintf("kubectl swoll rbac %s --user %s --agent-namespace %s --capture | kubectl apply -f -", f.ns, u.name, u.agents)
	if r.code == 0 || len(lines) != 1 || !strings.Contains(r.stderr, "--capture-data") ||
		!strings.Contains(r.stderr, "capture pods.swoll.dev in namespace "+f.ns) || !strings.Contains(r.stderr, want) {
		t.Fatalf("capture without the permission: exit %d, want one line naming it and %q:\n%s", r.code, want, r.stderr)
	}
	if jobs, err := suite.cs.BatchV1().Jobs(u.agents).List(f.ctx, metav1.ListOptions{}); err != nil || len(jobs.Items) != 0 {
		t.Fatalf("a refused session created %d Job(s) (%v)", len(jobs.Items), err)
	}

	u.grant("--capture")
	f.waitAllowed(u.name, f.ns, rbac.CaptureVerb, rbac.CaptureResource, "", rbac.CaptureGroup)
	list, err := kubectl("auth", "can-i", "--list", "--as", u.name, "-n", f.ns).CombinedOutput()
	if err != nil || !regexp.MustCompile(`pods\.swoll\.dev +\[\] +\[\] +\[capture\]`).Match(list) {
		t.Errorf("kubectl auth can-i --list after kubectl swoll rbac --capture: %v, want pods.swoll.dev [capture]:\n%s", err, list)
	}
	s := u.trace(args...)
	s.waitEvents(3, firstEventTimeout, "from "+pod.Name, both(fromPod(pod), opened(page)))
	session := sessionOf(t, s.Events())
	s.stop(syscall.SIGINT)
	host, _ := os.Hostname()
	f.waitAuditEvents(pod, session, u.name, host, "openat,read", "64")
}

// TestRBACNoAuditRight: pass = a user who may read pods where the targets are but not create Events there
// traces all the same, with one warning that no audit record was written in that namespace.
func TestRBACNoAuditRight(t *testing.T) {
	t.Parallel()
	f := newF(t)
	user := "swoll-e2e-noaudit-" + f.ns[len(f.ns)-6:]
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := suite.cs.RbacV1().Roles(f.ns).Create(f.ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
		Subjects:   []rbacv1.Subject{rbac.User(user)},
	}
	if _, err := suite.cs.RbacV1().RoleBindings(f.ns).Create(f.ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.bindRole(f.agents, rbac.AgentsRole, rbac.User(user))
	f.bindClusterRole(user, rbac.NodesRole, rbac.User(user)) // this cluster's CRI sockets are where nodes say
	pod := f.createPod(podSpec{name: "web", labels: labels("app", "web"), node: suite.nodes[1]})
	f.traffic(pod, "web", openURL(webPort, page))

	s := f.trace("--as", user, "-n", f.ns, "-l", "app=web", "-s", "openat")
	s.waitEvents(3, firstEventTimeout, "from "+pod.Name, both(fromPod(pod), opened(page)))
	warning := "swoll: warning: no audit record of this session on the pods of namespace " + f.ns
	err := within(auditTimeout, func(context.Context) (bool, error) { return strings.Contains(s.Stderr(), warning), nil },
		"the warning that no record was written")
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, s.Stderr())
	}
	s.stop(syscall.SIGINT)
	if n := strings.Count(s.Stderr(), warning); n != 1 {
		t.Errorf("the warning came %d times, want once:\n%s", n, s.Stderr())
	}
}
