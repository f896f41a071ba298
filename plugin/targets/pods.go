package targets

import (
	"context"
	"reflect"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/swoll-dev/swoll/plugin/kwatch"
	"github.com/swoll-dev/swoll/protocol"
)

// Pod is one selected pod on one node: what its node's agent is sent. A pod counts from the moment it is bound
// to a node (Pending, ContainerCreating and CrashLoopBackOff included), so that its node's agent starts while
// the kubelet still pulls images and selects the pod's cgroup before its first container runs. It stops
// counting once it is gone, or over (Succeeded, Failed: no process of it runs again).
type Pod struct {
	Node string
	protocol.Pod
}

// Key identifies a pod across updates: its UID (a pod recreated under the same name is another pod).
func (p *Pod) Key() string { return p.UID }

// podOf is a pod as the selection takes it, and whether it takes it: bound, not over, and with a container
// that -c names when it names some.
func (m *matcher) podOf(pod *corev1.Pod) (Pod, bool) {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return Pod{}, false
	}
	if m.pods != nil && !m.pods[pod.Name] {
		return Pod{}, false
	}
	if m.nodes != nil && !m.nodes[pod.Spec.NodeName] {
		return Pod{}, false
	}
	p := Pod{Node: pod.Spec.NodeName, Pod: protocol.Pod{
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
			return Pod{}, false
		}
	}
	return p, true
}

// PodOf is the pod as a selection takes it, and whether it takes it (exported for tests and dry runs).
func PodOf(pod *corev1.Pod, s *Selection) (Pod, bool) { return newMatcher(s).podOf(pod) }

// PodsFrom selects the pods of a list, in a stable order (node, namespace, name).
func PodsFrom(pods []*corev1.Pod, s *Selection) []Pod {
	m := newMatcher(s)
	var out []Pod
	for _, p := range pods {
		if sp, ok := m.podOf(p); ok {
			out = append(out, sp)
		}
	}
	SortPods(out)
	return out
}

// SortPods orders pods by node, namespace, name.
func SortPods(ps []Pod) {
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

// PodsByNode groups pods by node name.
func PodsByNode(ps []Pod) map[string][]Pod {
	out := map[string][]Pod{}
	for _, p := range ps {
		out[p.Node] = append(out[p.Node], p)
	}
	return out
}

// PodChangeKind is what happened to a selected pod.
type PodChangeKind int

const (
	// PodAdded: a pod is selected (bound to its node, or newly matching).
	PodAdded PodChangeKind = iota
	// PodUpdated: what the agent is told of a selected pod changed (labels, a container's id, restart count
	// or state).
	PodUpdated
	// PodRemoved: a pod is no longer selected (deleted, over, or no longer matching).
	PodRemoved
)

// PodChange is one change of the selected pods.
type PodChange struct {
	Kind PodChangeKind
	Pod  Pod
}

// PodTracker keeps the selected pods and turns pod updates into changes. It holds no client: the watch feeds
// it, which keeps the diffing pure and testable. It is not safe for concurrent use.
type PodTracker struct {
	m    *matcher
	pods map[string]Pod // by UID
}

// NewPodTracker starts empty.
func NewPodTracker(s *Selection) *PodTracker {
	return &PodTracker{m: newMatcher(s), pods: map[string]Pod{}}
}

// Update records a pod's current state and returns what changed for it.
func (t *PodTracker) Update(pod *corev1.Pod) []PodChange {
	uid := string(pod.UID)
	before, had := t.pods[uid]
	now, ok := t.m.podOf(pod)
	switch {
	case !ok && had:
		delete(t.pods, uid)
		return []PodChange{{Kind: PodRemoved, Pod: before}}
	case !ok:
		return nil
	case !had:
		t.pods[uid] = now
		return []PodChange{{Kind: PodAdded, Pod: now}}
	case !reflect.DeepEqual(before, now):
		t.pods[uid] = now
		return []PodChange{{Kind: PodUpdated, Pod: now}}
	}
	return nil
}

// Delete forgets a deleted pod.
func (t *PodTracker) Delete(pod *corev1.Pod) []PodChange {
	uid := string(pod.UID)
	before, had := t.pods[uid]
	if !had {
		return nil
	}
	delete(t.pods, uid)
	return []PodChange{{Kind: PodRemoved, Pod: before}}
}

// Pods lists the selected pods, sorted.
func (t *PodTracker) Pods() []Pod {
	out := make([]Pod, 0, len(t.pods))
	for _, p := range t.pods {
		out = append(out, p)
	}
	SortPods(out)
	return out
}

// Resync replaces the tracker's view with a fresh pod list (after a watch gap) and returns the differences.
func (t *PodTracker) Resync(pods []*corev1.Pod) []PodChange {
	var changes []PodChange
	seen := map[string]bool{}
	for _, p := range pods {
		seen[string(p.UID)] = true
		changes = append(changes, t.Update(p)...)
	}
	for uid, p := range t.pods {
		if !seen[uid] {
			delete(t.pods, uid)
			changes = append(changes, PodChange{Kind: PodRemoved, Pod: p})
		}
	}
	return changes
}

// WatchPods follows the selection from resourceVersion until ctx ends, sending every change of the selected
// pods (see Watch).
func (s *Source) WatchPods(ctx context.Context, resourceVersion string, changes chan<- []PodChange, onError func(error)) {
	send := func(cs []PodChange) {
		if len(cs) == 0 {
			return
		}
		select {
		case changes <- cs:
		case <-ctx.Done():
		}
	}
	s.follow(ctx, resourceVersion, kwatch.Handler{
		Listed: func(list runtime.Object) {
			if l, ok := list.(*corev1.PodList); ok {
				send(s.pods.Resync(podsOf(l)))
			}
		},
		Event: func(ev watch.Event) {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				return
			}
			if ev.Type == watch.Deleted {
				send(s.pods.Delete(pod))
			} else {
				send(s.pods.Update(pod))
			}
		},
	}, onError)
}

// Wait follows the selection from resourceVersion until a pod is selected (bound to a node), then lists it
// again and returns that resolution, or ctx's error.
func (s *Source) Wait(ctx context.Context, resourceVersion string, onError func(error)) (*Resolution, error) {
	wctx, found := context.WithCancel(ctx)
	defer found()
	m := newMatcher(s.sel)
	check := func(pods ...*corev1.Pod) {
		for _, p := range pods {
			if _, ok := m.podOf(p); ok {
				found()
				return
			}
		}
	}
	s.follow(wctx, resourceVersion, kwatch.Handler{
		Listed: func(list runtime.Object) {
			if l, ok := list.(*corev1.PodList); ok {
				check(podsOf(l)...)
			}
		},
		Event: func(ev watch.Event) {
			if pod, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
				check(pod)
			}
		},
	}, onError)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Resolve(ctx)
}

// listOptions are the selection's server-side selectors.
func (s *Source) listOptions(o *metav1.ListOptions) {
	o.LabelSelector, o.FieldSelector = s.sel.LabelSelector, s.field
}
