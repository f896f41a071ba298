package cmd

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentns"
	"github.com/swoll-dev/swoll/plugin/rbac"
)

// kubectl swoll rbac prints the roles and the bindings for who and where, contacting no cluster (the
// kubeconfig's server listens nowhere), and refuses incomplete input in one line.
func TestRBACCommand(t *testing.T) {
	kc := testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)
	tests := []struct {
		name    string
		env     string
		args    []string
		want    []string // in stdout
		absent  []string
		stderr  string
		failing bool
	}{
		{name: "the kubeconfig's namespace, the suggested agent namespace", args: []string{"--user", "alice"},
			want: []string{"name: swoll-targets:alice\n  namespace: shop", "name: swoll-agents:alice\n  namespace: swoll",
				"pod-security.kubernetes.io/enforce: privileged", "kind: ClusterRoleBinding", "name: swoll-capture\n"},
			absent: []string{"name: swoll-capture:alice"}},
		{name: "the agent namespace set once", env: "tracing", args: []string{"web", "--group", "sre", "--capture"},
			want: []string{"name: swoll-targets:group:sre\n  namespace: web", "name: swoll-agents:group:sre\n  namespace: tracing",
				"name: swoll-capture:group:sre\n  namespace: web"}},
		{name: "everywhere, no extras", args: []string{"-A", "--serviceaccount", "ci:bot", "--nodes=false", "--with-namespace=false"},
			want:   []string{"kind: ClusterRoleBinding\nmetadata:\n  labels:\n    app.kubernetes.io/name: swoll\n  name: swoll-targets:sa:ci:bot"},
			absent: []string{"kind: Namespace", "swoll-nodes:"}},
		{name: "agents beside the targets: warned", args: []string{"shop", "--user", "a", "--agent-namespace", "shop"},
			want: []string{"name: swoll-agents:a\n  namespace: shop"}, stderr: "swoll: warning: the agents would run in namespace shop"},
		{name: "nobody", args: []string{"shop"}, failing: true, stderr: "say who may trace"},
		{name: "a ServiceAccount as a user", args: []string{"--user", "system:serviceaccount:ci:bot"}, failing: true, stderr: "say --serviceaccount ci:bot"},
		{name: "bad ServiceAccount", args: []string{"--serviceaccount", "bot"}, failing: true, stderr: "want NAMESPACE:NAME"},
		{name: "-A and namespaces", args: []string{"-A", "shop", "--user", "a"}, failing: true, stderr: "cannot be combined with --all-namespaces"},
		{name: "bad agent namespace", args: []string{"--user", "a", "--agent-namespace", "No"}, failing: true, stderr: `invalid namespace "No"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(agentns.EnvVar, tc.env)
			code, stdout, stderr := run(t, append([]string{"rbac", "--kubeconfig", kc}, tc.args...)...)
			if tc.failing {
				if code == 0 || stdout != "" || !strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "\n") != 1 {
					t.Fatalf("exit %d, stdout %q, stderr %q: want one error line", code, stdout, stderr)
				}
			} else if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tc.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(stdout, a) {
					t.Errorf("stdout holds %q:\n%s", a, stdout)
				}
			}
		})
	}
}

func TestRBACRolesOnlyIsTheManifest(t *testing.T) {
	var want strings.Builder
	if err := rbac.WriteManifest(&want); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "rbac", "--roles-only")
	if code != 0 || stdout != want.String() {
		t.Fatalf("exit %d, stderr %q; stdout differs from deploy/rbac.yaml's rendering:\n%s", code, stderr, stdout)
	}
}
