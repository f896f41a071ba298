// Package testutil is the one home of the plugin's test helpers: a fake clientset that behaves enough like an
// API server for the engine's watches, a fake kubelet that runs agent pods, and a fake transport with a
// scripted agent at the other end of the pipe. Only tests import it.
package testutil

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// Clientset is client-go's fake clientset made to behave like a server for watches that resume from a
// resource version (client-go's RetryWatcher): every object stored gets a new version, and a watch replays
// what was stored after the version it starts from before it goes live. (A replayed object may come twice;
// the engine's handlers are idempotent, as they must be against a real server after a re-list.) Dry-run
// creates are admitted and not stored. SelfSubjectAccessReviews allow everything.
func Clientset(objs ...runtime.Object) *fake.Clientset {
	h := &history{last: 1} // "0" is not a version a watch can resume from
	for _, o := range objs {
		h.stamp(o)
	}
	c := fake.NewClientset(objs...)
	c.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			if len(a.CreateOptions.DryRun) > 0 {
				return true, a.GetObject(), nil // admitted, not stored
			}
			h.record(a.GetResource(), a.GetNamespace(), a.GetObject())
		case k8stesting.UpdateActionImpl:
			h.record(a.GetResource(), a.GetNamespace(), a.GetObject())
		}
		return false, nil, nil
	})
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r, ok := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		if !ok {
			return false, nil, nil
		}
		r.Status.Allowed = true
		return true, r, nil
	})
	c.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		la := a.(k8stesting.ListActionImpl)
		obj, err := c.Tracker().List(la.GetResource(), la.GetKind(), la.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		if m, err := meta.ListAccessor(obj); err == nil {
			m.SetResourceVersion(h.current())
		}
		return true, obj, nil
	})
	c.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		wa := a.(k8stesting.WatchActionImpl)
		live, err := c.Tracker().Watch(a.GetResource(), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		past := h.since(a.GetResource(), a.GetNamespace(), wa.WatchRestrictions.ResourceVersion)
		if len(past) == 0 {
			return true, live, nil
		}
		return true, replay(past, live), nil
	})
	return c
}

// RunAgentPods makes c behave like the Job controller and a kubelet for agents: every Job and pod created gets a
// UID; each agent Job created gets its pod (named after it, controlled by it, created just after); each agent
// pod created is stored already running.
func RunAgentPods(c *fake.Clientset) {
	var uids atomic.Int64
	c.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := a.(k8stesting.CreateActionImpl)
		if !ok || len(ca.CreateOptions.DryRun) > 0 {
			return false, nil, nil
		}
		if m, err := meta.Accessor(ca.GetObject()); err == nil && m.GetUID() == "" {
			m.SetUID(types.UID("uid-" + strconv.FormatInt(uids.Add(1), 10)))
		}
		job, ok := ca.GetObject().(*batchv1.Job)
		if ok && job.Labels[agentpod.LabelName] == agentpod.NameValue {
			pod := agentpod.Pod(job)
			pod.Name = job.Name + "-" + strconv.FormatInt(1e4+uids.Add(1), 36)
			pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}
			// after the Job's create returned, as a controller would (reactors run under the fake's lock)
			go func() {
				_, _ = c.CoreV1().Pods(job.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
			}()
		}
		return false, nil, nil
	})
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod, ok := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if ok && pod.Labels[agentpod.LabelName] == agentpod.NameValue {
			pod.Status.Phase = corev1.PodRunning
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:  agentpod.ContainerName,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
			}}
		}
		return false, nil, nil
	})
}

// history is what the fake server stored, with versions.
type history struct {
	mu      sync.Mutex
	last    int64
	entries []entry
}

type entry struct {
	gvr schema.GroupVersionResource
	ns  string
	rv  int64
	obj runtime.Object
}

func (h *history) stamp(obj runtime.Object) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last++
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(h.last, 10))
	}
	return h.last
}

func (h *history) current() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strconv.FormatInt(h.last, 10)
}

func (h *history) record(gvr schema.GroupVersionResource, ns string, obj runtime.Object) {
	rv := h.stamp(obj)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entries = append(h.entries, entry{gvr: gvr, ns: ns, rv: rv, obj: obj.DeepCopyObject()})
}

func (h *history) since(gvr schema.GroupVersionResource, ns, rv string) []watch.Event {
	from, _ := strconv.ParseInt(rv, 10, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []watch.Event
	for _, e := range h.entries {
		if e.gvr == gvr && (ns == "" || e.ns == ns) && e.rv > from {
			out = append(out, watch.Event{Type: watch.Modified, Object: e.obj.DeepCopyObject()})
		}
	}
	return out
}

// replay sends past, then what live sends, until stopped.
func replay(past []watch.Event, live watch.Interface) watch.Interface {
	ch := make(chan watch.Event)
	out := watch.NewProxyWatcher(ch)
	go func() {
		defer close(ch)
		defer live.Stop()
		send := func(ev watch.Event) bool {
			select {
			case ch <- ev:
				return true
			case <-out.StopChan():
				return false
			}
		}
		for _, ev := range past {
			if !send(ev) {
				return
			}
		}
		for {
			select {
			case ev, ok := <-live.ResultChan():
				if !ok || !send(ev) {
					return
				}
			case <-out.StopChan():
				return
			}
		}
	}()
	return out
}
