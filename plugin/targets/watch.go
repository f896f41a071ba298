package targets

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/kwatch"
)

// Resolution is the outcome of the first list of a selection.
type Resolution struct {
	// Pods are every pod the server returned for the selection (before the client-side filtering).
	Pods []*corev1.Pod
	// Targets are the selected pods (bound to a node), sorted.
	Targets []Target
	// ResourceVersion is where a watch continues from.
	ResourceVersion string
}

// Source lists and watches the pods of one selection. Resolve, then Watch, are called from one goroutine at a
// time.
type Source struct {
	client kubernetes.Interface
	// WatchClient, when set, is used for the long-lived watch (a client without a request timeout, which
	// would otherwise cut the watch); client is used for lists.
	WatchClient kubernetes.Interface
	sel         *Selection
	field       string
	// tracker holds the selected pods; only the goroutine running Watch uses it after Resolve.
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

func podsOf(list *corev1.PodList) []*corev1.Pod {
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return pods
}

// Resolve lists the selection once and primes the tracker with it.
func (s *Source) Resolve(ctx context.Context) (*Resolution, error) {
	var opts metav1.ListOptions
	s.listOptions(&opts)
	list, err := s.client.CoreV1().Pods(s.sel.ListNamespace()).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing pods %s: %w", s.sel.Describe(), err)
	}
	pods := podsOf(list)
	s.tracker.Resync(pods)
	return &Resolution{Pods: pods, Targets: s.tracker.Targets(), ResourceVersion: list.ResourceVersion}, nil
}

// Watch follows the selection from resourceVersion until ctx ends, sending every change. Reconnects are
// client-go's (package kwatch); when the resource version expired it re-lists and diffs against what it knew,
// so no change is lost across reconnects. Failures that persist are reported through onError and retried.
func (s *Source) Watch(ctx context.Context, resourceVersion string, changes chan<- []Change, onError func(error)) {
	send := func(cs []Change) {
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
				send(s.tracker.Resync(podsOf(l)))
			}
		},
		Event: func(ev watch.Event) {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				return
			}
			if ev.Type == watch.Deleted {
				send(s.tracker.Delete(pod))
			} else {
				send(s.tracker.Update(pod))
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
			if _, ok := m.targetOf(p); ok {
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

// follow watches the selection's pods from resourceVersion until ctx ends (kwatch), reporting failures that
// persist through onError.
func (s *Source) follow(ctx context.Context, resourceVersion string, h kwatch.Handler, onError func(error)) {
	wc := s.client
	if s.WatchClient != nil {
		wc = s.WatchClient
	}
	lw := kwatch.ListWatch(wc.CoreV1().Pods(s.sel.ListNamespace()), s.listOptions)
	h.Failed = func(err error) {
		what := "watching"
		var ke *kwatch.Error
		if errors.As(err, &ke) && ke.Op == kwatch.List {
			what, err = "re-listing", ke.Err
		} else if ke != nil {
			err = ke.Err
		}
		onError(fmt.Errorf("%s pods %s: %w", what, s.sel.Describe(), err))
	}
	kwatch.Follow(ctx, lw, resourceVersion, h)
}
