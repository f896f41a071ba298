package targets

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Resolution is the outcome of the first list of a selection.
type Resolution struct {
	// Pods are every pod the server returned for the selection (before container filtering).
	Pods []*corev1.Pod
	// Targets are the traceable containers, sorted.
	Targets []Target
	// ResourceVersion is where a watch continues from.
	ResourceVersion string
}

// Source lists and watches the pods of one selection.
type Source struct {
	client kubernetes.Interface
	// WatchClient, when set, is used for the long-lived watch (a client without a request timeout, which
	// would otherwise cut the watch); client is used for lists.
	WatchClient kubernetes.Interface
	sel         *Selection
	field       string
	// Tracker holds the current targets; only the goroutine running Watch uses it after Resolve.
	tracker *Tracker
}

// NewSource checks the selectors' syntax.
func NewSource(client kubernetes.Interface, sel *Selection) (*Source, error) {
	if _, err := sel.ParsedLabelSelector(); err != nil {
		return nil, err
	}
	field, err := sel.ServerFieldSelector()
	if err != nil {
		return nil, err
	}
	return &Source{client: client, sel: sel, field: field, tracker: NewTracker(sel)}, nil
}

func (s *Source) list(ctx context.Context) ([]*corev1.Pod, string, error) {
	list, err := s.client.CoreV1().Pods(s.sel.ListNamespace()).List(ctx, metav1.ListOptions{
		LabelSelector: s.sel.LabelSelector,
		FieldSelector: s.field,
	})
	if err != nil {
		return nil, "", err
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return pods, list.ResourceVersion, nil
}

// Resolve lists the selection once and primes the tracker with it.
func (s *Source) Resolve(ctx context.Context) (*Resolution, error) {
	pods, rv, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing pods %s: %w", s.sel.Describe(), err)
	}
	s.tracker.Resync(pods)
	return &Resolution{Pods: pods, Targets: s.tracker.Targets(), ResourceVersion: rv}, nil
}

// Watch follows the selection from resourceVersion until ctx ends, sending every change. It re-watches when the
// server closes the stream and re-lists (diffing against what it knew) when the resource version expired, so no
// change is lost across reconnects. Errors that persist are reported through onError and retried with backoff.
func (s *Source) Watch(ctx context.Context, resourceVersion string, changes chan<- []Change, onError func(error)) {
	rv := resourceVersion
	backoff := 200 * time.Millisecond
	send := func(cs []Change) bool {
		if len(cs) == 0 {
			return true
		}
		select {
		case changes <- cs:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		if rv == "" {
			pods, newRV, err := s.list(ctx)
			if err != nil {
				if ctx.Err() == nil {
					onError(fmt.Errorf("re-listing pods %s: %w", s.sel.Describe(), err))
				}
				sleep(ctx, &backoff)
				continue
			}
			if !send(s.tracker.Resync(pods)) {
				return
			}
			rv = newRV
		}
		wc := s.client
		if s.WatchClient != nil {
			wc = s.WatchClient
		}
		w, err := wc.CoreV1().Pods(s.sel.ListNamespace()).Watch(ctx, metav1.ListOptions{
			LabelSelector:       s.sel.LabelSelector,
			FieldSelector:       s.field,
			ResourceVersion:     rv,
			AllowWatchBookmarks: true,
		})
		if err != nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = ""
				continue
			}
			if ctx.Err() == nil {
				onError(fmt.Errorf("watching pods %s: %w", s.sel.Describe(), err))
			}
			sleep(ctx, &backoff)
			continue
		}
		var healthy bool
		rv, healthy = s.consume(ctx, w, rv, send)
		if healthy {
			backoff = 200 * time.Millisecond
		} else {
			sleep(ctx, &backoff)
		}
	}
}

// consume reads one watch until it ends and returns the resource version to continue from ("" to re-list),
// and whether the watch worked (delivered something) before it ended.
func (s *Source) consume(ctx context.Context, w watch.Interface, rv string, send func([]Change) bool) (string, bool) {
	defer w.Stop()
	healthy := false
	for {
		select {
		case <-ctx.Done():
			return rv, true
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, healthy
			}
			if ev.Type != watch.Error {
				healthy = true
			}
			switch ev.Type {
			case watch.Error:
				if st := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(st) || apierrors.IsGone(st) {
					return "", healthy
				}
				return rv, false
			case watch.Bookmark:
				if m, err := metaRV(ev.Object); err == nil {
					rv = m
				}
			case watch.Added, watch.Modified, watch.Deleted:
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				rv = pod.ResourceVersion
				var cs []Change
				if ev.Type == watch.Deleted {
					cs = s.tracker.Delete(pod)
				} else {
					cs = s.tracker.Update(pod)
				}
				if !send(cs) {
					return rv, true
				}
			}
		}
	}
}

func metaRV(obj interface{}) (string, error) {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetResourceVersion(), nil
	}
	return "", fmt.Errorf("object without metadata")
}

func sleep(ctx context.Context, backoff *time.Duration) {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	if *backoff < 5*time.Second {
		*backoff *= 2
	}
}
