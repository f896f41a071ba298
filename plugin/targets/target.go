package targets

import (
	"reflect"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/protocol"
)

// Target is one selected pod on one node: what its node's agent is sent. A pod counts from the moment it is
// bound to a node (Pending, ContainerCreating and CrashLoopBackOff included), so that its node's agent starts
// while the kubelet still pulls images and selects the pod's cgroup before its first container runs. It stops
// counting once it is gone, or over (Succeeded, Failed: no process of it runs again).
type Target struct {
	Node string
	protocol.Pod
}

// Key identifies a pod across updates: its UID (a pod recreated under the same name is another pod).
func (t *Target) Key() string { return t.UID }

// ContainerName is "namespace/pod/container" of one of the pod's containers by (a run's) id, and whether the
// pod's status names that id.
func (t *Target) ContainerName(id string) (string, bool) {
	id = stripRuntime(id)
	for _, c := range t.Containers {
		if c.ID != "" && stripRuntime(c.ID) == id {
			return t.Namespace + "/" + t.Name + "/" + c.Name, true
		}
	}
	return "", false
}

// stripRuntime drops the "containerd://" style prefix of a pod status's container id.
func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// targetOf is a pod as the selection takes it, and whether it takes it: bound, not over, and with a container
// that -c names when it names some.
func (m *matcher) targetOf(pod *corev1.Pod) (Target, bool) {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return Target{}, false
	}
	if m.pods != nil && !m.pods[pod.Name] {
		return Target{}, false
	}
	if m.nodes != nil && !m.nodes[pod.Spec.NodeName] {
		return Target{}, false
	}
	p := Target{Node: pod.Spec.NodeName, Pod: protocol.Pod{
		UID:       string(pod.UID),
		Name:      pod.Name,
		Namespace: pod.Namespace,
		Labels:    pod.Labels,
		QoS:       string(pod.Status.QOSClass),
	}}
	statuses := map[string]*corev1.ContainerStatus{}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses,
		pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			statuses[list[i].Name] = &list[i]
		}
	}
	add := func(name, image string, kind protocol.ContainerKind) {
		c := protocol.Container{Name: name, Kind: kind, Image: image}
		if st := statuses[name]; st != nil {
			c.ID, c.RestartCount, c.Running = st.ContainerID, int(st.RestartCount), st.State.Running != nil
		}
		p.Containers = append(p.Containers, c)
	}
	for _, c := range pod.Spec.InitContainers {
		add(c.Name, c.Image, protocol.KindInit)
	}
	for _, c := range pod.Spec.Containers {
		add(c.Name, c.Image, protocol.KindRegular)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		add(c.Name, c.Image, protocol.KindEphemeral)
	}
	if m.containers != nil {
		for name := range m.containers {
			p.Select = append(p.Select, name)
		}
		sort.Strings(p.Select)
		named := false
		for _, c := range p.Containers {
			named = named || m.containers[c.Name]
		}
		if !named {
			return Target{}, false
		}
	}
	return p, true
}

// TargetOf is the pod as a selection takes it, and whether it takes it (exported for tests and dry runs).
func TargetOf(pod *corev1.Pod, s *Selection) (Target, bool) { return newMatcher(s).targetOf(pod) }

// FromPods selects the pods of a list, in a stable order (node, namespace, name).
func FromPods(pods []*corev1.Pod, s *Selection) []Target {
	m := newMatcher(s)
	var out []Target
	for _, p := range pods {
		if t, ok := m.targetOf(p); ok {
			out = append(out, t)
		}
	}
	Sort(out)
	return out
}

// Sort orders targets by node, namespace, name.
func Sort(ps []Target) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
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

// ChangeKind is what happened to a selected pod.
type ChangeKind int

const (
	// Added: a pod is selected (bound to its node, or newly matching).
	Added ChangeKind = iota
	// Updated: what the agent is told of a selected pod changed (labels, a container's id, restart count or
	// state).
	Updated
	// Removed: a pod is no longer selected (deleted, over, or no longer matching).
	Removed
)

// Change is one change of the selected pods.
type Change struct {
	Kind   ChangeKind
	Target Target
}

// Tracker keeps the selected pods and turns pod updates into changes. It holds no client: the watch feeds it,
// which keeps the diffing pure and testable. It is not safe for concurrent use.
type Tracker struct {
	m    *matcher
	pods map[string]Target // by UID
}

// NewTracker starts empty.
func NewTracker(s *Selection) *Tracker {
	return &Tracker{m: newMatcher(s), pods: map[string]Target{}}
}

// Update records a pod's current state and returns what changed for it.
func (t *Tracker) Update(pod *corev1.Pod) []Change {
	uid := string(pod.UID)
	before, had := t.pods[uid]
	now, ok := t.m.targetOf(pod)
	switch {
	case !ok && had:
		delete(t.pods, uid)
		return []Change{{Kind: Removed, Target: before}}
	case !ok:
		return nil
	case !had:
		t.pods[uid] = now
		return []Change{{Kind: Added, Target: now}}
	case !reflect.DeepEqual(before, now):
		t.pods[uid] = now
		return []Change{{Kind: Updated, Target: now}}
	}
	return nil
}

// Delete forgets a deleted pod.
func (t *Tracker) Delete(pod *corev1.Pod) []Change {
	uid := string(pod.UID)
	before, had := t.pods[uid]
	if !had {
		return nil
	}
	delete(t.pods, uid)
	return []Change{{Kind: Removed, Target: before}}
}

// Targets lists the selected pods, sorted.
func (t *Tracker) Targets() []Target {
	out := make([]Target, 0, len(t.pods))
	for _, p := range t.pods {
		out = append(out, p)
	}
	Sort(out)
	return out
}

// Resync replaces the tracker's view with a fresh pod list (after a watch gap) and returns the differences.
func (t *Tracker) Resync(pods []*corev1.Pod) []Change {
	var changes []Change
	seen := map[string]bool{}
	for _, p := range pods {
		seen[string(p.UID)] = true
		changes = append(changes, t.Update(p)...)
	}
	for uid, p := range t.pods {
		if !seen[uid] {
			delete(t.pods, uid)
			changes = append(changes, Change{Kind: Removed, Target: p})
		}
	}
	return changes
}
