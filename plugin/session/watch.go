package session

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// watchAgentPods follows the session's agent pods and hands each status to its agent. A watch (not polling)
// is what makes an agent start streaming the moment its container runs.
func (s *Session) watchAgentPods(ctx context.Context) {
	opts := metav1.ListOptions{LabelSelector: agentpod.SessionSelector(s.id)}
	s.watchLoop(ctx, func(ctx context.Context, rv string) (watch.Interface, error) {
		o := opts
		o.ResourceVersion = rv
		o.AllowWatchBookmarks = true
		return s.cfg.StreamClient.CoreV1().Pods(s.cfg.AgentNamespace).Watch(ctx, o)
	}, func(ev watch.Event) {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted {
			return
		}
		if a := s.agentByPod(pod.Name); a != nil {
			a.deliverPod(pod)
		}
	})
}

// watchAgentEvents follows events about agent pods: they name the causes that pod status does not (pulling
// an image, a volume that cannot mount). Without permission to watch events, progress is reported from pod
// status alone.
func (s *Session) watchAgentEvents(ctx context.Context) {
	prefix := "swoll-" + s.id + "-"
	since := time.Now().Add(-time.Second)
	s.watchLoop(ctx, func(ctx context.Context, rv string) (watch.Interface, error) {
		return s.cfg.StreamClient.CoreV1().Events(s.cfg.AgentNamespace).Watch(ctx, metav1.ListOptions{
			FieldSelector:   "involvedObject.kind=Pod",
			ResourceVersion: rv,
		})
	}, func(ev watch.Event) {
		e, ok := ev.Object.(*corev1.Event)
		if !ok || ev.Type == watch.Deleted || !strings.HasPrefix(e.InvolvedObject.Name, prefix) {
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
	})
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

// watchLoop keeps a watch open until ctx ends, continuing from the last resource version it saw and starting
// afresh (with the current state replayed as additions) when that version expired.
func (s *Session) watchLoop(ctx context.Context, open func(context.Context, string) (watch.Interface, error), handle func(watch.Event)) {
	rv := ""
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		w, err := open(ctx, rv)
		if err != nil {
			rv = ""
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if backoff < 5*time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 100 * time.Millisecond
		rv = consumeWatch(ctx, w, rv, handle)
	}
}

func consumeWatch(ctx context.Context, w watch.Interface, rv string, handle func(watch.Event)) string {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			if ev.Type == watch.Error {
				return ""
			}
			if o, ok := ev.Object.(metav1.Object); ok {
				rv = o.GetResourceVersion()
			}
			if ev.Type != watch.Bookmark {
				handle(ev)
			}
		}
	}
}
