// Package testutil is the one home of the plugin's test helpers: a fake clientset that behaves enough like an
// API server for the engine's watches, a fake kubelet that runs agent pods, and a fake transport with a
// scripted agent at the other end of the pipe. Only tests import it.
package testutil

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// Kubelet decides what becomes of an agent Job's pod: it sets the pod's status before the pod is stored, and
// returns false for a pod that never comes (the Job controller or the node is down).
type Kubelet func(pod *corev1.Pod) bool

// Running is a healthy node's kubelet: the agent container runs at once.
func Running(pod *corev1.Pod) bool {
	SetRunning(pod)
	return true
}

// Pending is a node's kubelet that has bound the pod and pulls its image; the test moves it on (UpdatePod).
func Pending(pod *corev1.Pod) bool {
	pod.Status.Phase = corev1.PodPending
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:  agentpod.ContainerName,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}}
	return true
}

// Absent is the kubelet of a node whose Job controller never creates the pod.
func Absent(*corev1.Pod) bool { return false }

// SetRunning gives pod the status of a running agent.
func SetRunning(pod *corev1.Pod) {
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:  agentpod.ContainerName,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
	}}
}

// SetTerminated gives pod the status of an agent that exited with code (restartPolicy Never: the pod failed).
func SetTerminated(pod *corev1.Pod, code int32, message string) {
	pod.Status.Phase = corev1.PodFailed
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:  agentpod.ContainerName,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: message}},
	}}
}

// RunAgentPods makes c behave like the Job controller and a kubelet for agents whose containers run at once
// (RunAgentPodsWith Running).
func RunAgentPods(c *fake.Clientset) { RunAgentPodsWith(c, Running) }

// RunAgentPodsWith makes c behave like the Job controller and kubelets for agents: every Job and pod created
// gets a UID; each agent Job created gets its pod (named after it, controlled by it, created just after the
// Job's create returned), with the status kubelet gives it.
func RunAgentPodsWith(c *fake.Clientset, kubelet Kubelet) {
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
		if !ok || job.Labels[agentpod.LabelName] != agentpod.NameValue {
			return false, nil, nil
		}
		pod := agentpod.Pod(job)
		pod.Name = job.Name + "-" + strconv.FormatInt(1e4+uids.Add(1), 36)
		pod.UID = types.UID("uid-" + strconv.FormatInt(uids.Add(1), 10))
		pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}
		if !kubelet(pod) {
			return false, nil, nil
		}
		// after the Job's create returned, as a controller would (reactors run under the fake's lock)
		go func() {
			_, _ = c.CoreV1().Pods(job.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
		}()
		return false, nil, nil
	})
}

// AgentPod waits until the pod of the agent Job named job exists and returns it.
func AgentPod(t testing.TB, c *fake.Clientset, namespace, job string) *corev1.Pod {
	t.Helper()
	var found *corev1.Pod
	WaitFor(t, "the pod of job "+job, func() bool {
		list, err := c.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for i := range list.Items {
			if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.Name == job {
				found = &list.Items[i]
				return true
			}
		}
		return false
	})
	return found
}

// UpdatePod reads a pod, changes it with change and stores it (the watches see the update).
func UpdatePod(t testing.TB, c *fake.Clientset, pod *corev1.Pod, change func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	got, err := c.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading pod %s: %v", pod.Name, err)
	}
	change(got)
	got, err = c.CoreV1().Pods(pod.Namespace).Update(context.Background(), got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("updating pod %s: %v", pod.Name, err)
	}
	return got
}

// WaitBound bounds every WaitFor: a condition that does not hold by then is taken to never hold.
const WaitBound = 30 * time.Second

// WaitFor waits until cond holds (it is polled), failing the test after WaitBound with what was awaited.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(WaitBound)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("waited %s for %s", WaitBound, what)
		case <-tick.C:
		}
	}
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
