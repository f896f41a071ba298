// Package rbac is what a person needs to run kubectl swoll, as data: the ClusterRoles swoll ships (each rule with
// why it is there), where each is bound (where the targets are, where the agents run, cluster-wide), and the
// bindings that grant them to users, groups or ServiceAccounts for a set of namespaces. deploy/rbac.yaml is
// Render of Roles, and `kubectl swoll rbac` prints Roles and Grant's bindings ready for kubectl apply.
//
// The split is the point: where the targets are, swoll only reads (and writes one audit Event per traced pod);
// the writes (Jobs, pods, pods/exec) are granted in the agent namespace alone, so a person who may trace the
// pods of a namespace cannot exec into, create or delete anything there. Copying data out of processes
// (--capture-data) is a permission of its own, on a virtual resource no API server serves: only swoll's
// preflight asks for it.
//
// Everything here is immutable data and pure functions: safe for concurrent use.
package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// Names of the shipped ClusterRoles.
const (
	TargetsRole = "swoll-targets"
	AgentsRole  = "swoll-agents"
	NodesRole   = "swoll-nodes"
	CaptureRole = "swoll-capture"
)

// The data capture permission: a SelfSubjectAccessReview for CaptureVerb on CaptureResource in CaptureGroup, in
// the targets' namespace, must pass before a session copies what processes read and write. No API server serves
// this group: RBAC grants it like any other rule, and nothing but swoll's preflight asks.
const (
	CaptureGroup    = "swoll.dev"
	CaptureResource = "pods"
	CaptureVerb     = "capture"
)

// Scope says where a role is bound.
type Scope int

const (
	// InTargetNamespaces: a RoleBinding in each namespace whose pods are traced (a ClusterRoleBinding for
	// sessions across all namespaces, -A).
	InTargetNamespaces Scope = iota
	// InAgentNamespace: a RoleBinding in the agent namespace only.
	InAgentNamespace
	// ClusterWide: a ClusterRoleBinding.
	ClusterWide
)

// Rule is one rule of a role and why swoll needs it.
type Rule struct {
	Why string
	rbacv1.PolicyRule
}

// Role is one shipped ClusterRole.
type Role struct {
	Name string
	// Doc says what the role is for and how to bind it (comment lines above it in deploy/rbac.yaml).
	Doc   []string
	Scope Scope
	// Optional: swoll works without it (with less checking, no audit record, or no data capture).
	Optional bool
	Rules    []Rule
}

func rule(why string, groups, resources, verbs []string) Rule {
	return Rule{Why: why, PolicyRule: rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs}}
}

var (
	core  = []string{""}
	batch = []string{"batch"}
)

// Roles are the ClusterRoles swoll ships, in the order deploy/rbac.yaml holds them.
var Roles = []Role{
	{
		Name: TargetsRole,
		Doc: []string{
			"Where the pods you trace are: read them, and leave an audit record on each. Nothing else is written here:",
			"no exec, no pod is created or deleted. Bind it with a RoleBinding in each namespace you trace in (a",
			"ClusterRoleBinding to trace with --all-namespaces).",
		},
		Scope: InTargetNamespaces,
		Rules: []Rule{
			rule("find the pods to trace and follow them as they come and go", core, []string{"pods"}, []string{"get", "list", "watch"}),
			rule("the audit trail: one Event on each traced pod when a session starts and one when it ends (who, from\n"+
				"which host, which calls, whether data was captured); without it swoll traces and warns that no record\n"+
				"was written. list, watch: read the records (kubectl get events --field-selector reason=SwollTraceStarted)",
				core, []string{"events"}, []string{"create", "list", "watch"}),
		},
	},
	{
		Name: AgentsRole,
		Doc: []string{
			"Where the agents run: a namespace of their own (--agent-namespace, SWOLL_AGENT_NAMESPACE) that admits Pod",
			"Security level privileged and holds nothing else. Bind it with a RoleBinding in that namespace only.",
		},
		Scope: InAgentNamespace,
		Rules: []Rule{
			rule("one agent Job per node per session; a finished Job deletes itself (ttlSecondsAfterFinished 0); get: why\n"+
				"an agent ended (its deadline)", batch, []string{"jobs"}, []string{"get", "list", "create", "delete"}),
			rule("follow the agents' pods, delete them, submit one as a dry run (the admission check)",
				core, []string{"pods"}, []string{"get", "list", "watch", "create", "delete"}),
			rule("talk to the agents (only to pods of the session's own Jobs, checked by UID)",
				core, []string{"pods/exec"}, []string{"create"}),
			rule("why an agent exited (the tail of its log)", core, []string{"pods/log"}, []string{"get"}),
			rule("progress while the agents start (image pulls, mount failures)", core, []string{"events"}, []string{"list", "watch"}),
		},
	},
	{
		Name: NodesRole,
		Doc: []string{
			"Optional, cluster-wide reads: a node's architecture, runtime, kernel, CRI socket and readiness (without it,",
			"amd64, the containerd socket and a current kernel are assumed); whether a namespace exists and its Pod",
			"Security level (without it, the admission dry run alone decides); list: shell completion of -n and --node.",
			"Bind it with a ClusterRoleBinding.",
		},
		Scope:    ClusterWide,
		Optional: true,
		Rules: []Rule{
			rule("nodes and namespaces, read one by one (and listed for completion)", core, []string{"nodes", "namespaces"}, []string{"get", "list"}),
		},
	},
	{
		Name: CaptureRole,
		Doc: []string{
			"Optional: the right to copy the data processes read and write (--capture-data: file contents, network",
			"payloads, secrets included). A virtual permission no API server serves: swoll asks for it (a",
			"SelfSubjectAccessReview) before such a session and refuses without it. Bind it, next to swoll-targets, in",
			"the namespaces whose data the person may see.",
		},
		Scope:    InTargetNamespaces,
		Optional: true,
		Rules: []Rule{
			rule("--capture-data and anything else that copies buffers out of traced processes",
				[]string{CaptureGroup}, []string{CaptureResource}, []string{CaptureVerb}),
		},
	},
}

// Find returns the shipped role called name.
func Find(name string) (Role, bool) {
	for _, r := range Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// Label marks every object swoll ships or generates (kubectl get clusterroles -l app.kubernetes.io/name=swoll).
var Label = map[string]string{"app.kubernetes.io/name": "swoll"}

// ClusterRole is r as the API object.
func (r Role) ClusterRole() *rbacv1.ClusterRole {
	cr := &rbacv1.ClusterRole{}
	cr.APIVersion = rbacv1.SchemeGroupVersion.String()
	cr.Kind = "ClusterRole"
	cr.Name = r.Name
	cr.Labels = copyMap(Label)
	for _, rl := range r.Rules {
		cr.Rules = append(cr.Rules, *rl.DeepCopy())
	}
	return cr
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
