package session

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// watchAgentPods follows the session's agent pods and hands each status to its agent. A watch (not polling)
// is what makes an agent start streaming the moment its container runs.
func (s *Session) watchAgentPods(ctx context.Context) {
	opts := metav1.ListOptions{LabelSelector: agentpod.SessionSelector(s.id)}
	pods := s.cfg.StreamClient.CoreV1().Pods(s.cfg.AgentNamespace)
	handle := func(obj runtime.Object) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		s.log.debugf("pod %s: phase=%s", pod.Name, pod.Status.Phase)
		if a := s.agentByPod(pod.Name); a != nil {
			a.deliverPod(pod)
		}
	}
	s.watchLoop(ctx, "agent pods", func(ctx context.Context) (string, error) {
		list, err := pods.List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			handle(&list.Items[i])
		}
		return list.ResourceVersion, nil
	}, func(ctx context.Context, rv string) (watch.Interface, error) {
		o := opts
		o.ResourceVersion = rv
		o.AllowWatchBookmarks = true
		return pods.Watch(ctx, o)
	}, handle)
}

// watchAgentEvents follows events about agent pods: they name the causes that pod status does not (pulling
// an image, a volume that cannot mount). Without permission to watch events, progress is reported from pod
// status alone.
func (s *Session) watchAgentEvents(ctx context.Context) {
	prefix := "swoll-" + s.id + "-"
	since := time.Now().Add(-time.Second)
	opts := metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod"}
	events := s.cfg.StreamClient.CoreV1().Events(s.cfg.AgentNamespace)
	handle := func(obj runtime.Object) {
		e, ok := obj.(*corev1.Event)
		if !ok || !strings.HasPrefix(e.InvolvedObject.Name, prefix) {
			return
		}
		if last := eventTime(e); !last.IsZero() && last.Before(since) {
			return
		}
		if a := s.agentByPod(e.InvolvedObject.Name); a != nil {
			if p := eventPhrase(e); p != "" {
				a.deliverPhrase(p)
			}
		}
	}
	s.watchLoop(ctx, "agent pod events", func(ctx context.Context) (string, error) {
		// only the version matters: events from before the session are not about its pods
		o := opts
		o.Limit = 1
		list, err := events.List(ctx, o)
		if err != nil {
			return "", err
		}
		return list.ResourceVersion, nil
	}, func(ctx context.Context, rv string) (watch.Interface, error) {
		o := opts
		o.ResourceVersion = rv
		o.AllowWatchBookmarks = true
		return events.Watch(ctx, o)
	}, handle)
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.FirstTimestamp.Time
	}
}

func (s *Session) agentByPod(name string) *agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.streams {
		if a.pod.Name == name {
			return a
		}
	}
	return nil
}

// watchLoop lists, then watches from the list's resource version, until ctx ends; it re-watches from the
// last version seen when the server closes the stream, and lists again when that version expired. (A watch
// without a resource version is avoided: servers differ in what it means, and some refuse it.) Failures are
// retried with backoff.
func (s *Session) watchLoop(ctx context.Context, what string, list func(context.Context) (string, error),
	open func(context.Context, string) (watch.Interface, error), handle func(runtime.Object)) {
	rv := ""
	backoff := 100 * time.Millisecond
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
		return true
	}
	for ctx.Err() == nil {
		if rv == "" {
			v, err := list(ctx)
			if err != nil {
				s.log.debugf("listing %s: %v", what, err)
				if !pause() {
					return
				}
				continue
			}
			rv = v
		}
		w, err := open(ctx, rv)
		if err != nil {
			s.log.debugf("watching %s: %v", what, err)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = ""
			}
			if !pause() {
				return
			}
			continue
		}
		var healthy bool
		rv, healthy = s.consumeWatch(ctx, w, rv, what, handle)
		if healthy {
			backoff = 100 * time.Millisecond
		} else if !pause() {
			return
		}
	}
}

// consumeWatch reads one watch until it ends; it returns the version to continue from ("" to list again) and
// whether the watch delivered anything before it ended.
func (s *Session) consumeWatch(ctx context.Context, w watch.Interface, rv, what string, handle func(runtime.Object)) (string, bool) {
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
			if ev.Type == watch.Error {
				err := apierrors.FromObject(ev.Object)
				s.log.debugf("watching %s: %v", what, err)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return "", healthy
				}
				return rv, false
			}
			healthy = true
			if o, ok := ev.Object.(metav1.Object); ok {
				rv = o.GetResourceVersion()
			}
			if ev.Type == watch.Added || ev.Type == watch.Modified {
				handle(ev.Object)
			}
		}
	}
}
