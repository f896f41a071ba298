// Package targets turns a selection (namespaces, selectors, pod names, container names, nodes) into the pods to
// trace from the moment they are bound to a node (Pod, PodTracker, Source.WatchPods, Source.Wait for a selection
// that matches none yet) and, for the plugin of protocol 1, into the set of
// running containers to trace, grouped by the node that runs them, and keeps that set current while a session
// runs: new replicas, restarted containers and pods landing on new nodes are added, gone ones removed.
package targets

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/swoll-dev/swoll/protocol"
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

// Target is one running container on one node.
type Target struct {
	Node string
	// PodUID tells a recreated pod of the same name from the old one.
	PodUID string
	protocol.Target
}

// Key identifies a target across updates: container ids are unique per runtime instance, so a restarted
// container is a new target.
func (t *Target) Key() string { return t.ContainerID }

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

// Containers lists the traceable containers of one pod under a selection: the pod is scheduled, not being
// deleted, and the container is running with a container id. Init and ephemeral containers count too (a
// running debug container is a process like any other).
func (m *matcher) containersOf(pod *corev1.Pod) []Target {
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
		return nil
	}
	if m.pods != nil && !m.pods[pod.Name] {
		return nil
	}
	if m.nodes != nil && !m.nodes[pod.Spec.NodeName] {
		return nil
	}
	images := map[string]string{}
	for _, c := range pod.Spec.Containers {
		images[c.Name] = c.Image
	}
	for _, c := range pod.Spec.InitContainers {
		images[c.Name] = c.Image
	}
	var out []Target
	add := func(statuses []corev1.ContainerStatus) {
		for _, st := range statuses {
			if st.State.Running == nil || st.ContainerID == "" {
				continue
			}
			if m.containers != nil && !m.containers[st.Name] {
				continue
			}
			image := images[st.Name]
			if image == "" {
				image = st.Image
			}
			out = append(out, Target{
				Node:   pod.Spec.NodeName,
				PodUID: string(pod.UID),
				Target: protocol.Target{
					ContainerID: st.ContainerID,
					Pod:         pod.Name,
					Namespace:   pod.Namespace,
					Container:   st.Name,
					Image:       image,
					Labels:      pod.Labels,
				},
			})
		}
	}
	add(pod.Status.InitContainerStatuses)
	add(pod.Status.ContainerStatuses)
	add(pod.Status.EphemeralContainerStatuses)
	return out
}

// ContainersOf is containersOf for one pod and a selection (exported for tests and dry runs).
func ContainersOf(pod *corev1.Pod, s *Selection) []Target {
	return newMatcher(s).containersOf(pod)
}

// FromPods selects the targets of a pod list, in a stable order (namespace, pod, container).
func FromPods(pods []*corev1.Pod, s *Selection) []Target {
	m := newMatcher(s)
	var out []Target
	for _, p := range pods {
		out = append(out, m.containersOf(p)...)
	}
	Sort(out)
	return out
}

// Sort orders targets by node, namespace, pod, container.
func Sort(ts []Target) {
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Pod != b.Pod {
			return a.Pod < b.Pod
		}
		return a.Container < b.Container
	})
}

// ByNode groups targets by node name.
func ByNode(ts []Target) map[string][]Target {
	out := map[string][]Target{}
	for _, t := range ts {
		out[t.Node] = append(out[t.Node], t)
	}
	return out
}

// Nodes lists the nodes of a grouping, sorted.
func Nodes(byNode map[string][]Target) []string {
	out := make([]string, 0, len(byNode))
	for n := range byNode {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CountPods counts the pods the targets belong to.
func CountPods(ts []Target) int {
	seen := map[string]bool{}
	for _, t := range ts {
		seen[t.Namespace+"/"+t.Pod] = true
	}
	return len(seen)
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
