//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/event"
)

type match func(*event.Event) bool

func fromPod(p *corev1.Pod) match {
	return func(ev *event.Event) bool {
		return ev.Container != nil && ev.Container.Namespace == p.Namespace && ev.Container.Pod == p.Name
	}
}

func fromContainer(p *corev1.Pod, container string) match {
	inPod := fromPod(p)
	return func(ev *event.Event) bool { return inPod(ev) && ev.Container.Name == container }
}

// opened matches open/openat calls of path.
func opened(path string) match {
	return func(ev *event.Event) bool {
		return (ev.Syscall.Name == "openat" || ev.Syscall.Name == "open") && argString(ev, "pathname") == path
	}
}

func both(a, b match) match { return func(ev *event.Event) bool { return a(ev) && b(ev) } }

// argString is the decoded string argument key of an event ("" when it is absent or not a string).
func argString(ev *event.Event, key string) string {
	var args map[string]any
	if json.Unmarshal(ev.Args, &args) != nil {
		return ""
	}
	s, _ := args[key].(string)
	return s
}

// checkTagged requires every event to come from one of pods (namespace, pod, a container of that pod, the
// pod's node) and to be one of the syscalls asked for.
func checkTagged(t *testing.T, evs []event.Event, pods []*corev1.Pod, syscalls ...string) {
	t.Helper()
	byName := map[string]*corev1.Pod{}
	for _, p := range pods {
		byName[p.Namespace+"/"+p.Name] = p
	}
	bad := 0
	for i := range evs {
		ev := &evs[i]
		if err := tagError(ev, byName, syscalls); err != nil {
			bad++
			if bad <= 5 {
				t.Errorf("event %d: %v: %s", i, err, describe(ev))
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d of %d events are wrong", bad, len(evs))
	}
}

func tagError(ev *event.Event, pods map[string]*corev1.Pod, syscalls []string) error {
	if len(syscalls) > 0 && !slices.Contains(syscalls, ev.Syscall.Name) {
		return fmt.Errorf("syscall %q was not asked for (%v)", ev.Syscall.Name, syscalls)
	}
	if ev.Container == nil {
		return fmt.Errorf("no container")
	}
	p, ok := pods[ev.Container.Namespace+"/"+ev.Container.Pod]
	if !ok {
		return fmt.Errorf("pod %s/%s was not selected", ev.Container.Namespace, ev.Container.Pod)
	}
	if !slices.ContainsFunc(p.Spec.Containers, func(c corev1.Container) bool { return c.Name == ev.Container.Name }) {
		return fmt.Errorf("pod %s has no container %q", p.Name, ev.Container.Name)
	}
	if ev.Node != p.Spec.NodeName {
		return fmt.Errorf("node %q, but the pod runs on %q", ev.Node, p.Spec.NodeName)
	}
	return nil
}

func describe(ev *event.Event) string {
	c := event.Container{}
	if ev.Container != nil {
		c = *ev.Container
	}
	return fmt.Sprintf("%s(%s) pid=%d comm=%q node=%q ns=%q pod=%q container=%q", ev.Syscall.Name, ev.Args, ev.Pid,
		ev.Comm, ev.Node, c.Namespace, c.Pod, c.Name)
}

// checkMergeOrder requires the merged stream to be ordered by finish time (the plugin's merge key). The plugin
// merges the nodes' streams in a bounded window; at this test's low event rate every event falls inside it.
func checkMergeOrder(t *testing.T, evs []event.Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Finish < evs[i-1].Finish {
			t.Errorf("event %d finished %s before event %d: %s then %s", i, time.Duration(evs[i-1].Finish-evs[i].Finish),
				i-1, describe(&evs[i-1]), describe(&evs[i]))
			return
		}
	}
}
