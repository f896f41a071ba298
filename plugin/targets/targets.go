// Package targets turns a selection (namespaces, selectors, pod names, container names, nodes) into the pods to
// trace, grouped by the node they are bound to, and keeps that set current while a session runs: a pod counts
// from the moment it is bound to a node (Pending, ContainerCreating and CrashLoopBackOff included), so that its
// node's agent selects its cgroup before its first container runs; its containers' ids, restart counts and
// states are updates of the pod; new replicas and pods landing on new nodes are added, gone ones removed.
// Source.Wait waits for a selection that matches no pod yet.
package targets

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Selection says which containers to trace. The zero value selects nothing useful: callers set at least one of
// Pods, LabelSelector or FieldSelector (checked by the command's validation, not here).
type Selection struct {
	// Namespace is the namespace to look in; ignored when AllNamespaces is set.
	Namespace     string
	AllNamespaces bool
	// Pods are pod names; empty means every pod the selectors match.
	Pods          []string
	LabelSelector string
	// FieldSelector is a server-side pod field selector (status.phase=Running, spec.nodeName=x).
	FieldSelector string
	// Containers restricts to these container names; empty means every container of the pod.
	Containers []string
	// Nodes restricts to pods on these nodes; empty means any node.
	Nodes []string
}

// ListNamespace is the namespace to list and watch in ("" for all namespaces).
func (s *Selection) ListNamespace() string {
	if s.AllNamespaces {
		return ""
	}
	return s.Namespace
}

// ParsedLabelSelector checks the label selector's syntax.
func (s *Selection) ParsedLabelSelector() (labels.Selector, error) {
	sel, err := labels.Parse(s.LabelSelector)
	if err != nil {
		return nil, fmt.Errorf("invalid label selector %q: %w", s.LabelSelector, err)
	}
	return sel, nil
}

// ServerFieldSelector is the field selector sent to the API server: the user's, narrowed to the node when
// exactly one --node is given (so that a large cluster sends only that node's pods).
func (s *Selection) ServerFieldSelector() (string, error) {
	parts := []string{}
	if s.FieldSelector != "" {
		if _, err := fields.ParseSelector(s.FieldSelector); err != nil {
			return "", fmt.Errorf("invalid field selector %q: %w", s.FieldSelector, err)
		}
		parts = append(parts, s.FieldSelector)
	}
	if len(s.Nodes) == 1 && !strings.Contains(s.FieldSelector, "spec.nodeName") {
		parts = append(parts, "spec.nodeName="+s.Nodes[0])
	}
	if len(s.Pods) == 1 && !strings.Contains(s.FieldSelector, "metadata.name") {
		parts = append(parts, "metadata.name="+s.Pods[0])
	}
	return strings.Join(parts, ","), nil
}

// Describe renders the selection for messages: `-l app=nginx in namespace default`.
func (s *Selection) Describe() string {
	var what []string
	if len(s.Pods) > 0 {
		what = append(what, "pods "+strings.Join(s.Pods, ", "))
	}
	if s.LabelSelector != "" {
		what = append(what, "-l "+s.LabelSelector)
	}
	if s.FieldSelector != "" {
		what = append(what, "--field-selector "+s.FieldSelector)
	}
	if len(s.Containers) > 0 {
		what = append(what, "-c "+strings.Join(s.Containers, ","))
	}
	if len(s.Nodes) > 0 {
		what = append(what, "--node "+strings.Join(s.Nodes, ","))
	}
	where := "in namespace " + s.Namespace
	if s.AllNamespaces {
		where = "in any namespace"
	}
	if len(what) == 0 {
		return where
	}
	return strings.Join(what, " ") + " " + where
}

// matcher is the client-side part of a selection: what the server cannot filter (several names, several
// nodes, container names).
type matcher struct {
	pods       map[string]bool
	containers map[string]bool
	nodes      map[string]bool
}

func newMatcher(s *Selection) *matcher {
	return &matcher{pods: set(s.Pods), containers: set(s.Containers), nodes: set(s.Nodes)}
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// MissingPods names the pods asked for by name that the list did not contain (so that a typo is an error, not
// an empty trace).
func MissingPods(pods []*corev1.Pod, s *Selection) []string {
	seen := map[string]bool{}
	for _, p := range pods {
		seen[p.Name] = true
	}
	var missing []string
	for _, name := range s.Pods {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	return missing
}
