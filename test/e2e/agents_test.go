//go:build e2e

package e2e

import (
	"context"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// agentWatch records every agent pod that exists at any moment while it runs, so that a test can say how
// many agents a session started and where, even if they are gone again by the time it looks.
type agentWatch struct {
	f  *F
	ns string // "" for every namespace

	mu      sync.Mutex
	pods    map[types.UID]*corev1.Pod // latest version seen
	deleted map[types.UID]bool
	changed chan struct{}
	stop    context.CancelFunc
}

// watchAgents starts recording agent pods in ns ("" = all namespaces). It stops when the test ends.
func (f *F) watchAgents(ns string) *agentWatch {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &agentWatch{f: f, ns: ns, pods: map[types.UID]*corev1.Pod{}, deleted: map[types.UID]bool{},
		changed: make(chan struct{}), stop: cancel}
	list, err := suite.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: agentLabel})
	if err != nil {
		f.t.Fatalf("listing agent pods: %v", err)
	}
	for i := range list.Items {
		w.pods[list.Items[i].UID] = &list.Items[i]
	}
	wi, err := suite.cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{
		LabelSelector: agentLabel, ResourceVersion: list.ResourceVersion})
	if err != nil {
		f.t.Fatalf("watching agent pods: %v", err)
	}
	go func() {
		defer wi.Stop()
		for ev := range wi.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue // a watch error: the test's own checks will notice missing data
			}
			w.mu.Lock()
			w.pods[pod.UID] = pod
			if ev.Type == watch.Deleted {
				w.deleted[pod.UID] = true
			}
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
	}()
	f.t.Cleanup(cancel)
	return w
}

// seen returns every agent pod recorded since the watch started (including ones that existed then).
func (w *agentWatch) seen() []*corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*corev1.Pod
	for _, p := range w.pods {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// nodes counts recorded agent pods per node.
func (w *agentWatch) nodes() map[string]int {
	n := map[string]int{}
	for _, p := range w.seen() {
		n[p.Spec.NodeName]++
	}
	return n
}

// waitSeen waits until cond holds for the recorded pods.
func (w *agentWatch) waitSeen(timeout time.Duration, what string, cond func([]*corev1.Pod) bool) {
	w.f.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		changed := w.changed
		w.mu.Unlock()
		if cond(w.seen()) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			w.f.t.Fatalf("timed out after %s waiting for agent pods: %s (seen: %v)", timeout, what, podNames(w.seen()))
		}
	}
}

// agentPods lists the agent pods that exist now in ns ("" = all namespaces), of one session when session is set.
func agentPods(ctx context.Context, ns, session string) ([]corev1.Pod, error) {
	sel := agentLabel
	if session != "" {
		sel += "," + sessionLabel + "=" + session
	}
	list, err := suite.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// waitNoAgents waits until no agent pod is left in ns ("" = all namespaces).
func (f *F) waitNoAgents(ns string, timeout time.Duration) { f.waitNoAgentsOf(ns, "", timeout) }

// waitNoAgentsOf waits until no agent pod of the session (any session when "") is left in ns.
func (f *F) waitNoAgentsOf(ns, session string, timeout time.Duration) {
	f.t.Helper()
	var left []corev1.Pod
	jobs := 0
	err := within(timeout, func(ctx context.Context) (bool, error) {
		pods, err := agentPods(ctx, ns, session)
		left = pods
		sel := agentLabel
		if session != "" {
			sel += "," + sessionLabel + "=" + session
		}
		js, jerr := suite.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if jerr == nil {
			jobs = len(js.Items)
		}
		return err == nil && jerr == nil && len(pods) == 0 && jobs == 0, nil
	}, "no agent pods or Jobs of session %q in namespace %q", session, ns)
	if err != nil {
		names := make([]string, len(left))
		for i, p := range left {
			names[i] = p.Namespace + "/" + p.Name + " (" + string(p.Status.Phase) + ")"
		}
		f.t.Fatalf("%v; left: %v and %d Job(s)", err, names, jobs)
	}
}

func podNames(pods []*corev1.Pod) []string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Namespace + "/" + p.Name + "@" + p.Spec.NodeName
	}
	return names
}
