// Package cleanup removes agents (their Jobs, then their pods) and waits until the API server no longer has the
// pods: a session's own agents when it ends, and, for `kubectl swoll cleanup`, those of sessions that are over,
// past their deadline, the caller's own, or anyone's when forced (rules.go). Agents are found
// by label (package agentpod), never by name, so that one whose creation the session did not see finish is
// removed too.
//
// The functions hold no state and are safe for concurrent use.
package cleanup

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/swoll-dev/swoll/plugin/kwatch"
)

// lastResortTimeout bounds the grace-0 deletions sent when the wait for the pods ran out of time.
const lastResortTimeout = 2 * time.Second

// DeleteAndWait deletes the Jobs and pods matching selector in namespace ("" for all namespaces) and waits
// until the API server no longer has the pods. It returns "namespace/name" of each pod removed. A pod still
// there when ctx ends is force-deleted (grace 0) on the way out. force, when closed, switches to grace 0 at
// once.
func DeleteAndWait(ctx context.Context, client kubernetes.Interface, namespace, selector string, grace int64, force <-chan struct{}) ([]string, error) {
	// the Jobs first, so that no controller replaces a pod deleted below
	if err := deleteJobs(ctx, client, namespace, selector); err != nil {
		return nil, err
	}
	pods := client.CoreV1().Pods(namespace)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing agent pods: %w", err)
	}
	removed := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		removed = append(removed, key(&p))
	}
	sort.Strings(removed)
	if len(list.Items) == 0 {
		return removed, nil
	}
	// in parallel: one slow deletion must not hold up the others
	if err := deleteEach(ctx, client, list.Items, grace); err != nil {
		return removed, err
	}
	// what is still terminating, and the version to watch its deletion from
	left, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil || len(left.Items) == 0 {
		return removed, nil // deleted; cannot confirm, or confirmed
	}
	r := &remaining{pods: map[string]corev1.Pod{}}
	for _, p := range left.Items {
		r.pods[key(&p)] = p
	}
	stopForce := make(chan struct{})
	defer close(stopForce)
	go func() {
		select {
		case <-force:
			_ = deleteEach(ctx, client, r.list(), 0)
		case <-stopForce:
		}
	}()
	lw := kwatch.ListWatch(pods, func(o *metav1.ListOptions) { o.LabelSelector = selector })
	_, err = watchtools.Until(ctx, left.ResourceVersion, lw, func(ev watch.Event) (bool, error) {
		if p, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type == watch.Deleted {
			r.remove(key(p))
		}
		return r.empty(), nil
	})
	if err == nil || ctx.Err() == nil {
		return removed, nil // gone, or the watch was refused: deleted, cannot confirm
	}
	last, cancel := context.WithTimeout(context.WithoutCancel(ctx), lastResortTimeout)
	defer cancel()
	still := r.list()
	_ = deleteEach(last, client, still, 0)
	return removed, fmt.Errorf("%d agent pod(s) still terminating; force-deleted", len(still))
}

// ForceDelete asks for every Job and pod matching selector to be deleted at once (grace 0) without waiting for
// them to go, and returns how many pods there were.
func ForceDelete(ctx context.Context, client kubernetes.Interface, namespace, selector string) int {
	_ = deleteJobs(ctx, client, namespace, selector)
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return 0
	}
	_ = deleteEach(ctx, client, list.Items, 0)
	return len(list.Items)
}

// deleteJobs deletes the Jobs matching selector in parallel (their pods are deleted in the background; the
// callers delete and await them too).
func deleteJobs(ctx context.Context, client kubernetes.Interface, namespace, selector string) error {
	jobs, err := client.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Errorf("listing agent jobs: %w", err)
	}
	background := metav1.DeletePropagationBackground
	return inParallel(jobs.Items, func(j *batchv1.Job) error {
		err := client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &background})
		return wrapDelete(err, "job", j.Namespace, j.Name)
	})
}

// deleteEach deletes pods in parallel with the given grace period and returns the first failure (a pod
// already gone is not one).
func deleteEach(ctx context.Context, client kubernetes.Interface, pods []corev1.Pod, grace int64) error {
	return inParallel(pods, func(p *corev1.Pod) error {
		err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
		return wrapDelete(err, "pod", p.Namespace, p.Name)
	})
}

// inParallel runs del on every item at once and returns the first failure.
func inParallel[T any](items []T, del func(*T) error) error {
	var g errgroup.Group
	for i := range items {
		g.Go(func() error { return del(&items[i]) })
	}
	return g.Wait()
}

// wrapDelete names what a failed deletion was of; an object already gone is not a failure.
func wrapDelete(err error, kind, namespace, name string) error {
	if err == nil || apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("deleting %s %s/%s: %w", kind, namespace, name, err)
}

func key(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// remaining is the set of pods not seen deleted yet, shared by the wait and a forced deletion.
type remaining struct {
	mu   sync.Mutex
	pods map[string]corev1.Pod
}

func (r *remaining) remove(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pods, k)
}

func (r *remaining) empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pods) == 0
}

func (r *remaining) list() []corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]corev1.Pod, 0, len(r.pods))
	for _, p := range r.pods {
		out = append(out, p)
	}
	return out
}
