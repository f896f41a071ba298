package kwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

func pod(name, rv string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: rv}}
}

// script is a ListWatch whose lists and watches play what the test wrote, in order, and record the
// versions they were asked for.
type script struct {
	mu      sync.Mutex
	lists   []func() (runtime.Object, error)
	watches [][]watch.Event // each watch sends these, then stays open
	asked   []string        // "list" or "watch@RV", in order
}

func (s *script) lw() *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(_ context.Context, _ metav1.ListOptions) (runtime.Object, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.asked = append(s.asked, "list")
			if len(s.lists) == 0 {
				return nil, errors.New("no more lists scripted")
			}
			next := s.lists[0]
			s.lists = s.lists[1:]
			return next()
		},
		WatchFuncWithContext: func(_ context.Context, o metav1.ListOptions) (watch.Interface, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.asked = append(s.asked, "watch@"+o.ResourceVersion)
			w := watch.NewRaceFreeFake()
			if len(s.watches) > 0 {
				for _, ev := range s.watches[0] {
					w.Action(ev.Type, ev.Object)
				}
				s.watches = s.watches[1:]
			}
			return w, nil
		},
	}
}

func (s *script) calls() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.asked, " ")
}

func list(rv string, names ...string) func() (runtime.Object, error) {
	return func() (runtime.Object, error) {
		l := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: rv}}
		for _, n := range names {
			l.Items = append(l.Items, *pod(n, rv))
		}
		return l, nil
	}
}

func gone() watch.Event {
	st := apierrors.NewResourceExpired("too old resource version").Status()
	return watch.Event{Type: watch.Error, Object: &st}
}

// TestFollow: what a session's watches go through, and what the handler sees, in order.
func TestFollow(t *testing.T) {
	tests := []struct {
		name     string
		from     string
		lists    []func() (runtime.Object, error)
		watches  [][]watch.Event
		want     []string // handler calls, in order; Follow is stopped after the last
		wantAsks string
	}{
		{
			name:     "list then watch from the list's version",
			lists:    []func() (runtime.Object, error){list("10", "a")},
			watches:  [][]watch.Event{{{Type: watch.Added, Object: pod("b", "11")}, {Type: watch.Deleted, Object: pod("a", "12")}}},
			want:     []string{"listed 10 [a]", "ADDED b@11", "DELETED a@12"},
			wantAsks: "list watch@10",
		},
		{
			name:     "a failed list is reported and retried",
			lists:    []func() (runtime.Object, error){func() (runtime.Object, error) { return nil, errors.New("connection refused") }, list("7")},
			watches:  [][]watch.Event{{{Type: watch.Added, Object: pod("a", "8")}}},
			want:     []string{"failed list: connection refused", "listed 7 []", "ADDED a@8"},
			wantAsks: "list list watch@7",
		},
		{
			name:  "an expired version lists again and watches from the new list",
			lists: []func() (runtime.Object, error){list("10", "a"), list("20", "a", "b")},
			watches: [][]watch.Event{
				{{Type: watch.Added, Object: pod("b", "11")}, gone()},
				{{Type: watch.Modified, Object: pod("b", "21")}},
			},
			want:     []string{"listed 10 [a]", "ADDED b@11", "listed 20 [a b]", "MODIFIED b@21"},
			wantAsks: "list watch@10 list watch@20",
		},
		{
			name:     "continuing from a caller's version does not list",
			from:     "42",
			watches:  [][]watch.Event{{{Type: watch.Added, Object: pod("c", "43")}}},
			want:     []string{"ADDED c@43"},
			wantAsks: "watch@42",
		},
		{
			name:  "an error mid-watch resumes from the last version seen (RetryWatcher's own retry)",
			lists: []func() (runtime.Object, error){list("5")},
			watches: [][]watch.Event{
				{{Type: watch.Added, Object: pod("a", "6")}, forbidden()},
				{{Type: watch.Added, Object: pod("b", "7")}},
			},
			want:     []string{"listed 5 []", "ADDED a@6", "ADDED b@7"},
			wantAsks: "list watch@5 watch@6",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{lists: tc.lists, watches: tc.watches}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var mu sync.Mutex
			var got []string
			add := func(l string) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, l)
				if len(got) == len(tc.want) {
					cancel()
				}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Follow(ctx, s.lw(), tc.from, Handler{
					Listed: func(l runtime.Object) {
						pl := l.(*corev1.PodList)
						var names []string
						for _, p := range pl.Items {
							names = append(names, p.Name)
						}
						add(fmt.Sprintf("listed %s %v", pl.ResourceVersion, names))
					},
					Event: func(ev watch.Event) {
						p := ev.Object.(*corev1.Pod)
						add(fmt.Sprintf("%s %s@%s", ev.Type, p.Name, p.ResourceVersion))
					},
					Failed: func(err error) {
						var e *Error
						if !errors.As(err, &e) {
							t.Errorf("Failed got %T, want *Error", err)
						}
						msg := e.Err.Error()
						if apierrors.IsForbidden(e.Err) {
							msg = "forbidden"
						}
						add(fmt.Sprintf("failed %s: %s", e.Op, msg))
					},
				})
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("Follow did not end; handler saw %q, server was asked %q", got, s.calls())
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("handler saw\n  %q\nwant\n  %q", got, tc.want)
			}
			if asks := s.calls(); asks != tc.wantAsks {
				t.Errorf("server was asked %q, want %q", asks, tc.wantAsks)
			}
		})
	}
}

func forbidden() watch.Event {
	st := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no")).Status()
	return watch.Event{Type: watch.Error, Object: &st}
}
