package targets

import (
	corev1 "k8s.io/api/core/v1"
)

// ChangeKind is what happened to a target.
type ChangeKind int

const (
	// Added: a container started being traceable (new pod, new replica, restarted container).
	Added ChangeKind = iota
	// Removed: a container stopped (terminated, pod deleted or being deleted).
	Removed
)

// Change is one addition or removal.
type Change struct {
	Kind   ChangeKind
	Target Target
}

// Tracker keeps the current targets per pod and turns pod updates into changes. It holds no client: the watch
// loop feeds it pods, which keeps the diffing pure and testable.
type Tracker struct {
	m *matcher
	// byPod maps pod UID to the targets last seen for it, keyed by container id.
	byPod map[string]map[string]Target
}

// NewTracker starts empty.
func NewTracker(s *Selection) *Tracker {
	return &Tracker{m: newMatcher(s), byPod: map[string]map[string]Target{}}
}

// Update records the pod's current state and returns what changed since the previous update of that pod.
func (t *Tracker) Update(pod *corev1.Pod) []Change {
	uid := string(pod.UID)
	now := map[string]Target{}
	for _, tg := range t.m.containersOf(pod) {
		now[tg.Key()] = tg
	}
	before := t.byPod[uid]
	var changes []Change
	for k, tg := range before {
		if _, ok := now[k]; !ok {
			changes = append(changes, Change{Kind: Removed, Target: tg})
		}
	}
	var added []Target
	for k, tg := range now {
		if _, ok := before[k]; !ok {
			added = append(added, tg)
		}
	}
	Sort(added)
	for _, tg := range added {
		changes = append(changes, Change{Kind: Added, Target: tg})
	}
	if len(now) == 0 {
		delete(t.byPod, uid)
	} else {
		t.byPod[uid] = now
	}
	return changes
}

// Delete forgets the pod and returns a removal for each of its targets.
func (t *Tracker) Delete(pod *corev1.Pod) []Change {
	uid := string(pod.UID)
	before := t.byPod[uid]
	delete(t.byPod, uid)
	changes := make([]Change, 0, len(before))
	for _, tg := range before {
		changes = append(changes, Change{Kind: Removed, Target: tg})
	}
	return changes
}

// Targets lists every current target, sorted.
func (t *Tracker) Targets() []Target {
	var out []Target
	for _, byID := range t.byPod {
		for _, tg := range byID {
			out = append(out, tg)
		}
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
	for uid, byID := range t.byPod {
		if seen[uid] {
			continue
		}
		delete(t.byPod, uid)
		for _, tg := range byID {
			changes = append(changes, Change{Kind: Removed, Target: tg})
		}
	}
	return changes
}
