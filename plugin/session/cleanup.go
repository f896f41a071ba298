package session

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// DeleteAndWait deletes the pods matching selector in namespace ("" for all namespaces) and waits until the
// API server no longer has them. It returns "namespace/name" of each pod removed. A pod still there when ctx
// ends is force-deleted (grace 0) on the way out. force, when closed, switches to grace 0 at once.
func DeleteAndWait(ctx context.Context, client kubernetes.Interface, namespace, selector string, grace int64, force <-chan struct{}) ([]string, error) {
	pods := client.CoreV1().Pods(namespace)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing agent pods: %s", apiMessage(err))
	}
	remaining := map[string]corev1.Pod{}
	for _, p := range list.Items {
		remaining[p.Namespace+"/"+p.Name] = p
	}
	removed := make([]string, 0, len(remaining))
	for k := range remaining {
		removed = append(removed, k)
	}
	sort.Strings(removed)
	if len(remaining) == 0 {
		return removed, nil
	}
	// watch first, from the list's version, so that no deletion is missed between delete and wait
	w, werr := pods.Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
	// in parallel: one slow deletion must not hold up the others
	deleteAll := func(g int64) error {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var first error
		gone := []string{}
		for key, p := range remaining {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &g})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case apierrors.IsNotFound(err):
					gone = append(gone, key)
				case err != nil && first == nil:
					first = fmt.Errorf("deleting pod %s/%s: %s", p.Namespace, p.Name, apiMessage(err))
				}
			}()
		}
		wg.Wait()
		for _, k := range gone {
			delete(remaining, k)
		}
		return first
	}
	if err := deleteAll(grace); err != nil {
		return removed, err
	}
	if werr != nil {
		return removed, nil // deleted; cannot confirm
	}
	defer w.Stop()
	for len(remaining) > 0 {
		select {
		case <-ctx.Done():
			g := int64(0)
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			for _, p := range remaining {
				_ = client.CoreV1().Pods(p.Namespace).Delete(fctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &g})
			}
			cancel()
			return removed, fmt.Errorf("%d agent pod(s) still terminating; force-deleted", len(remaining))
		case <-force:
			force = nil
			_ = deleteAll(0)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return removed, nil
			}
			if p, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type == watch.Deleted {
				delete(remaining, p.Namespace+"/"+p.Name)
			}
		}
	}
	return removed, nil
}

// Cleanup removes every agent pod of every session in namespace ("" for all namespaces) and waits until they
// are gone.
func Cleanup(ctx context.Context, client kubernetes.Interface, namespace string) ([]string, error) {
	return DeleteAndWait(ctx, client, namespace, agentpod.AllAgentsSelector, 1, nil)
}
