package rbac

import (
	"bufio"
	"bytes"
	"flag"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite deploy/rbac.yaml from Roles")

const manifest = "../../deploy/rbac.yaml"

// deploy/rbac.yaml is WriteManifest's output byte for byte: the shipped file and the command's roles are one.
func TestManifestIsGenerated(t *testing.T) {
	var b bytes.Buffer
	if err := WriteManifest(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(manifest, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Fatalf("deploy/rbac.yaml is not what plugin/rbac renders (go test ./plugin/rbac -update):\n%s", b.String())
	}
}

// The manifest parses back into exactly the roles: the comments and the hand-written flow lists lose nothing.
func TestManifestParsesToRoles(t *testing.T) {
	have, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	docs := utilyaml.NewYAMLReader(bufioReader(bytes.NewReader(have)))
	var got []*rbacv1.ClusterRole
	for {
		doc, err := docs.Read()
		if err != nil {
			break
		}
		var cr rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(doc, &cr); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		if cr.Kind != "" {
			got = append(got, &cr)
		}
	}
	var want []*rbacv1.ClusterRole
	for _, r := range Roles {
		want = append(want, r.ClusterRole())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deploy/rbac.yaml holds\n%+v\nwant\n%+v", got, want)
	}
}

// The split the issue asks for: nothing where the targets are grants exec, pod creation or deletion, or any
// Job; every write of the agents is in the role bound in the agent namespace only.
func TestTargetsRoleOnlyReads(t *testing.T) {
	for _, r := range Roles {
		if r.Scope != InTargetNamespaces {
			continue
		}
		for _, rl := range r.Rules {
			for _, res := range rl.Resources {
				for _, v := range rl.Verbs {
					write := v != "get" && v != "list" && v != "watch"
					switch {
					case res == "events" && v == "create": // the audit record
					case res == CaptureResource && rl.APIGroups[0] == CaptureGroup && v == CaptureVerb:
					case write || strings.Contains(res, "/") || res == "secrets" || res == "*" || v == "*":
						t.Errorf("%s grants %s %s where the targets are", r.Name, v, res)
					}
				}
			}
		}
	}
	agents, _ := Find(AgentsRole)
	if agents.Scope != InAgentNamespace || !grants(agents, "", "pods/exec", "create") || !grants(agents, "batch", "jobs", "create") {
		t.Errorf("%s must hold the writes, bound in the agent namespace: %+v", AgentsRole, agents)
	}
}

func grants(r Role, group, resource, verb string) bool {
	for _, rl := range r.Rules {
		if contains(rl.APIGroups, group) && contains(rl.Resources, resource) && contains(rl.Verbs, verb) {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func sa(t *testing.T, s string) rbacv1.Subject {
	t.Helper()
	subj, err := ServiceAccount(s)
	if err != nil {
		t.Fatal(err)
	}
	return subj
}

// kindNsName lists objects as "Kind ns/name -> role" for comparison.
func kindNsName(objs []runtime.Object) []string {
	var out []string
	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.Namespace:
			out = append(out, "Namespace "+v.Name+" "+v.Labels[PodSecurityEnforceLabel])
		case *rbacv1.RoleBinding:
			out = append(out, "RoleBinding "+v.Namespace+"/"+v.Name+" -> "+v.RoleRef.Name)
		case *rbacv1.ClusterRoleBinding:
			out = append(out, "ClusterRoleBinding "+v.Name+" -> "+v.RoleRef.Name)
		}
	}
	return out
}

func TestGrantObjects(t *testing.T) {
	tests := []struct {
		name  string
		grant Grant
		want  []string
	}{
		{"one user, two namespaces", Grant{Subjects: []rbacv1.Subject{User("alice")}, TargetNamespaces: []string{"web", "shop", "web"},
			AgentNamespace: "swoll", Nodes: true, Namespace: true}, []string{
			"Namespace swoll privileged",
			"RoleBinding shop/swoll-targets:alice -> swoll-targets",
			"RoleBinding web/swoll-targets:alice -> swoll-targets",
			"RoleBinding swoll/swoll-agents:alice -> swoll-agents",
			"ClusterRoleBinding swoll-nodes:alice -> swoll-nodes",
		}},
		{"a group with data capture, no extras", Grant{Subjects: []rbacv1.Subject{Group("sre")}, TargetNamespaces: []string{"shop"},
			AgentNamespace: "tools", Capture: true}, []string{
			"RoleBinding shop/swoll-targets:group:sre -> swoll-targets",
			"RoleBinding tools/swoll-agents:group:sre -> swoll-agents",
			"RoleBinding shop/swoll-capture:group:sre -> swoll-capture",
		}},
		{"a ServiceAccount everywhere", Grant{Subjects: []rbacv1.Subject{sa(t, "ci:bot")}, AllNamespaces: true, AgentNamespace: "swoll", Capture: true}, []string{
			"ClusterRoleBinding swoll-targets:sa:ci:bot -> swoll-targets",
			"RoleBinding swoll/swoll-agents:sa:ci:bot -> swoll-agents",
			"ClusterRoleBinding swoll-capture:sa:ci:bot -> swoll-capture",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.grant.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := kindNsName(tc.grant.Objects()); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("objects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestGrantValidate(t *testing.T) {
	tests := []struct {
		name  string
		grant Grant
		want  string
	}{
		{"nobody", Grant{TargetNamespaces: []string{"shop"}, AgentNamespace: "swoll"}, "say who may trace"},
		{"nowhere", Grant{Subjects: []rbacv1.Subject{User("a")}, AgentNamespace: "swoll"}, "say where the pods to trace are"},
		{"bad namespace", Grant{Subjects: []rbacv1.Subject{User("a")}, TargetNamespaces: []string{"Shop"}, AgentNamespace: "swoll"}, `invalid namespace "Shop"`},
		{"no agent namespace", Grant{Subjects: []rbacv1.Subject{User("a")}, TargetNamespaces: []string{"shop"}}, `invalid namespace ""`},
	}
	for _, tc := range tests {
		err := tc.grant.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestBindingNames(t *testing.T) {
	tests := []struct {
		subject rbacv1.Subject
		want    string
	}{
		{User("alice"), "swoll-targets:alice"},
		{User("alice@example.com"), "swoll-targets:alice@example.com"},
		{Group("system:masters"), "swoll-targets:group:system:masters"},
		{sa(t, "ci:bot"), "swoll-targets:sa:ci:bot"},
	}
	for _, tc := range tests {
		if got := BindingName(TargetsRole, tc.subject); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.subject, got, tc.want)
		}
	}
	// untidy names stay valid and distinct
	a := BindingName(TargetsRole, User("https://issuer.example/#Alice"))
	b := BindingName(TargetsRole, User("https://issuer.example/#alice"))
	long := BindingName(TargetsRole, User(strings.Repeat("x", 400)))
	for _, n := range []string{a, b, long} {
		if errs := content.IsPathSegmentName(n); len(errs) > 0 || len(n) > 253 {
			t.Errorf("%q: %v (%d characters)", n, errs, len(n))
		}
	}
	if a == b {
		t.Errorf("two subjects share the binding name %q", a)
	}
}

func TestSubjectOfAndCommand(t *testing.T) {
	if got := SubjectOf("system:serviceaccount:ci:bot"); got.Kind != rbacv1.ServiceAccountKind || got.Namespace != "ci" || got.Name != "bot" {
		t.Errorf("ServiceAccount user: %+v", got)
	}
	if got := SubjectOf("alice"); got.Kind != rbacv1.UserKind || got.Name != "alice" {
		t.Errorf("user: %+v", got)
	}
	g := Grant{Subjects: []rbacv1.Subject{User("O'Brien"), SubjectOf("system:serviceaccount:ci:bot")},
		TargetNamespaces: []string{"web", "shop"}, AgentNamespace: "swoll", Capture: true}
	want := `kubectl swoll rbac shop web --user 'O'\''Brien' --serviceaccount ci:bot --agent-namespace swoll --capture`
	if got := Command(g); got != want {
		t.Errorf("Command:\n%s\nwant\n%s", got, want)
	}
	if got := Command(Grant{Subjects: []rbacv1.Subject{Group("sre")}, AllNamespaces: true, AgentNamespace: "swoll"}); got != "kubectl swoll rbac -A --group sre --agent-namespace swoll" {
		t.Errorf("Command -A: %s", got)
	}
}

// Write's stream is what kubectl apply takes: every document decodes strictly into its kind.
func TestWriteDecodes(t *testing.T) {
	g := Grant{Subjects: []rbacv1.Subject{User("alice")}, TargetNamespaces: []string{"shop"}, AgentNamespace: "swoll",
		Nodes: true, Namespace: true, Capture: true}
	var b bytes.Buffer
	if err := Write(&b, g); err != nil {
		t.Fatal(err)
	}
	docs := utilyaml.NewYAMLReader(bufioReader(&b))
	kinds := map[string]int{}
	for {
		doc, err := docs.Read()
		if err != nil {
			break
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		var into any
		switch meta.Kind {
		case "":
			continue
		case "ClusterRole":
			into = &rbacv1.ClusterRole{}
		case "RoleBinding":
			into = &rbacv1.RoleBinding{}
		case "ClusterRoleBinding":
			into = &rbacv1.ClusterRoleBinding{}
		case "Namespace":
			into = &corev1.Namespace{}
			if strings.Contains(string(doc), "status") || strings.Contains(string(doc), "creationTimestamp") {
				t.Errorf("server-side fields in:\n%s", doc)
			}
		default:
			t.Fatalf("unexpected kind %q", meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		kinds[meta.Kind]++
	}
	want := map[string]int{"ClusterRole": len(Roles), "Namespace": 1, "RoleBinding": 3, "ClusterRoleBinding": 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
