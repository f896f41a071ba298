//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/swoll-dev/swoll/plugin/rbac"
)

// Bad input gives one clear line on stderr, a non-zero exit, and creates nothing: no agent pod appears anywhere,
// not even briefly. Not parallel, so that "anywhere" can be checked: no other session runs meanwhile.
func TestBadInput(t *testing.T) {
	f := newF(t)
	f.createPod(podSpec{name: "web", labels: labels("app", "web")})
	restricted := f.createNamespace(uniqueName("e2e-restricted"),
		labels("pod-security.kubernetes.io/enforce", "restricted", "pod-security.kubernetes.io/enforce-version", "latest"))
	if tracerUser != "" {
		// the right to run agents there: what refuses them is the namespace's Pod Security level
		f.bindRole(restricted, rbac.AgentsRole, rbac.User(tracerUser))
	}
	lister := f.podListerAccount()

	cases := []struct {
		name string
		args []string
		// want is what the line must mention (case-insensitive) to be clear about the cause.
		want string
	}{
		{"unknown syscall", []string{"-n", f.ns, "-l", "app=web", "-s", "openat,notasyscall"}, "notasyscall"},
		{"bad label selector", []string{"-n", f.ns, "-l", "app in (web", "-s", "openat"}, "selector"},
		{"bad field selector", []string{"-n", f.ns, "--field-selector", "spec.nodeName", "-s", "openat"}, "selector"},
		{"missing namespace", []string{"-n", "e2e-no-such-namespace", "-l", "app=web", "-s", "openat"}, "e2e-no-such-namespace"},
		{"no matching pods", []string{"-n", f.ns, "-l", "app=nothing-matches", "-s", "openat"}, "app=nothing-matches"},
		{"denied by RBAC", []string{"--as", lister, "-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", f.ns}, "not allowed"},
		{"restricted agent namespace", []string{"-n", f.ns, "-l", "app=web", "-s", "openat", "--agent-namespace", restricted}, restricted},
	}
	agents := f.watchAgents("")
	before := uids(agents.seen())
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			r := f.run(time.Minute, append([]string{"trace", "-o", "json", "--duration", "30s"}, tc.args...)...)
			if r.code == 0 {
				t.Errorf("exit code 0, want non-zero")
			}
			t.Logf("stderr: %s", strings.TrimSpace(r.stderr))
			lines := nonEmptyLines(r.stderr)
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want one:\n%s", len(lines), r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr holds a Go stack trace:\n%s", r.stderr)
			}
			if !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(tc.want)) {
				t.Errorf("stderr does not mention %q:\n%s", tc.want, r.stderr)
			}
			if strings.TrimSpace(r.stdout) != "" {
				t.Errorf("stdout is not empty:\n%s", r.stdout)
			}
			for _, p := range agents.seen() {
				if !before[p.UID] {
					t.Errorf("agent pod %s/%s on %q was created", p.Namespace, p.Name, p.Spec.NodeName)
					before[p.UID] = true // reported once
				}
			}
		})
	}
}

// podListerAccount makes a ServiceAccount that may only read pods in the test's namespace and returns the
// user name to impersonate it with --as.
func (f *F) podListerAccount() string {
	f.t.Helper()
	ctx, ns := f.ctx, f.ns
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "pod-lister"}}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-lister"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-lister"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-lister"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "pod-lister", Namespace: ns}},
	}
	if _, err := suite.cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := suite.cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := suite.cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	user := "system:serviceaccount:" + ns + ":pod-lister"
	// The authorizer's informers lag the binding: a session started before they see it is refused its first
	// list of pods instead of the creation of its Job that the tests expect to be refused.
	f.waitAllowed(user, ns, "list", "pods", "", "")
	return user
}

func uids(pods []*corev1.Pod) map[types.UID]bool {
	m := map[types.UID]bool{}
	for _, p := range pods {
		m[p.UID] = true
	}
	return m
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
