// Package kwatch follows a list of Kubernetes objects for as long as a session runs: it lists once, then
// watches through client-go's RetryWatcher from the list's resource version (RetryWatcher reconnects and
// resumes where the previous watch stopped). When the server no longer has that version (the watch was down
// longer than the server keeps history), it lists again and starts over. Failed lists and watches are retried
// with apimachinery's backoff. It is the only place in the plugin that reads a watch's result channel.
//
// Follow calls its Handler from the goroutine that runs Follow, one call at a time; several Follow calls may
// run concurrently.
package kwatch

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/clock"
)

// retryBackoff spaces out failed lists and watches: 100 ms doubling up to 5 s, back to 100 ms after
// backoffReset.
var retryBackoff = wait.Backoff{Duration: 100 * time.Millisecond, Cap: 5 * time.Second, Factor: 2, Jitter: 0.1, Steps: 64}

const backoffReset = time.Minute

// Handler receives what Follow sees. Nil functions are skipped.
type Handler struct {
	// Listed is called with each fresh list: the first one (unless Follow continues from a version) and the
	// one after the watched version expired, so the receiver can diff against what it knew.
	Listed func(list runtime.Object)
	// Event is called with every Added, Modified and Deleted event, in the server's order.
	Event func(watch.Event)
	// Failed is called with an *Error when a list or watch fails; Follow retries it. (An expired version is
	// not a failure: Follow lists again.)
	Failed func(error)
}

// Op says what failed.
type Op string

// What Follow does.
const (
	List  Op = "list"
	Watch Op = "watch"
)

// Error is a failed list or watch.
type Error struct {
	Op  Op
	Err error
}

func (e *Error) Error() string { return string(e.Op) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Follow lists and watches lw until ctx ends. resourceVersion, when not empty, continues from an earlier list
// of the caller (Listed is then not called until the version expires).
func Follow(ctx context.Context, lw *cache.ListWatch, resourceVersion string, h Handler) {
	rv := resourceVersion
	delay := retryBackoff.DelayWithReset(clock.RealClock{}, backoffReset)
	_ = delay.Until(ctx, true, true, func(ctx context.Context) (bool, error) {
		if rv == "" {
			list, err := lw.ListWithContext(ctx, metav1.ListOptions{})
			if err == nil {
				rv, err = versionOf(list)
			}
			if err != nil {
				h.failed(ctx, List, err)
				return false, nil
			}
			if h.Listed != nil {
				h.Listed(list)
			}
		}
		rv = h.watch(ctx, lw, rv)
		return false, nil
	})
}

// watch follows one RetryWatcher until it ends and returns the version to continue from ("" to list again).
func (h *Handler) watch(ctx context.Context, lw *cache.ListWatch, rv string) string {
	w, err := watchtools.NewRetryWatcherWithContext(ctx, rv, lw)
	if err != nil {
		h.failed(ctx, Watch, err)
		return ""
	}
	defer func() {
		w.Stop()
		<-w.Done() // its goroutine is gone when Follow returns
	}()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			err := apierrors.FromObject(ev.Object)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				return ""
			}
			h.failed(ctx, Watch, err)
			return rv // RetryWatcher gave up (forbidden, unauthorized): resume after a backoff
		}
		if o, ok := ev.Object.(metav1.Object); ok {
			rv = o.GetResourceVersion()
		}
		if h.Event != nil {
			h.Event(ev)
		}
	}
	return rv
}

func (h *Handler) failed(ctx context.Context, op Op, err error) {
	if h.Failed != nil && ctx.Err() == nil {
		h.Failed(&Error{Op: op, Err: err})
	}
}

// Client is what a typed client of one resource offers (CoreV1().Pods(ns), CoreV1().Events(ns), ...).
type Client[L runtime.Object] interface {
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// ListWatch lists and watches through c, with set applied to the options of every request (selectors).
func ListWatch[L runtime.Object](c Client[L], set func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			set(&o)
			return c.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			set(&o)
			return c.Watch(ctx, o)
		},
	}
}

func versionOf(list runtime.Object) (string, error) {
	m, err := meta.ListAccessor(list)
	if err != nil {
		return "", fmt.Errorf("reading a list's resource version: %w", err)
	}
	if m.GetResourceVersion() == "" {
		return "", fmt.Errorf("the server returned a list without a resource version")
	}
	return m.GetResourceVersion(), nil
}
