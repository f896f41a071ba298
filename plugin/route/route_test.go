package route

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/protocol"
)

// target is a pod of namespace shop on node with one container, app, whose run has id (none: "").
func target(node, pod, id string) targets.Target {
	t := targets.Target{Node: node}
	t.UID, t.Name, t.Namespace = "uid-"+pod, pod, "shop"
	t.Containers = []protocol.Container{{Name: "app", Kind: protocol.KindRegular, ID: id}}
	return t
}

func ops(cmds []protocol.Command) string {
	var out []string
	for _, c := range cmds {
		what := c.PodUID
		if c.Pod != nil {
			what = c.Pod.Name
		}
		out = append(out, string(c.Op)+" "+what)
	}
	return strings.Join(out, ", ")
}

// TestTable: a node's pods are what was found at the start and changed since, in the session's order; names
// are kept for every pod and container run seen, added or removed.
func TestTable(t *testing.T) {
	tb := New([]targets.Target{target("node-a", "web-2", "containerd://a2"), target("node-a", "web-1", "containerd://a1"),
		target("node-b", "web-3", "")})
	for _, c := range []targets.Change{
		{Kind: targets.Removed, Target: target("node-a", "web-1", "containerd://a1")},
		{Kind: targets.Added, Target: target("node-a", "web-0", "")},
		{Kind: targets.Updated, Target: target("node-b", "web-3", "containerd://b1")}, // its container started
		{Kind: targets.Added, Target: target("node-c", "web-4", "containerd://c1")},
	} {
		tb.Apply(c)
	}
	for node, want := range map[string]string{
		"node-a": "pod web-0, pod web-2",
		"node-b": "pod web-3",
		"node-c": "pod web-4",
		"node-x": "",
	} {
		if got := ops(tb.Adds(node)); got != want || tb.Count(node) != len(tb.Adds(node)) {
			t.Errorf("%s: %q (count %d), want %q", node, got, tb.Count(node), want)
		}
	}
	if got := tb.Adds("node-b")[0].Pod.Containers[0].ID; got != "containerd://b1" {
		t.Errorf("node-b's pod has container id %q, want the update's", got)
	}
	for _, tc := range []struct {
		n    event.Notice
		want string
	}{
		{event.Notice{ContainerID: "containerd://a1"}, "shop/web-1/app"}, // removed, still named
		{event.Notice{ContainerID: "b1"}, "shop/web-3/app"},              // without the runtime prefix
		{event.Notice{ContainerID: "containerd://0123456789abcdef000"}, "container 0123456789ab"},
		{event.Notice{PodUID: "uid-web-0"}, "shop/web-0"},
		{event.Notice{PodUID: "uid-web-0", Container: "app"}, "shop/web-0/app"},
		{event.Notice{PodUID: "uid-other", Pod: "other", Namespace: "ns"}, "ns/other"},
	} {
		if got := tb.Name(&tc.n); got != tc.want {
			t.Errorf("Name(%+v) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if !tb.IsInitial(&event.Notice{PodUID: "uid-web-1"}) || tb.IsInitial(&event.Notice{PodUID: "uid-web-0"}) {
		t.Error("initial pods")
	}
}

func TestCommand(t *testing.T) {
	tg := target("node-a", "web-1", "containerd://a1")
	for _, tc := range []struct {
		kind targets.ChangeKind
		want string
	}{{targets.Added, "pod web-1"}, {targets.Updated, "pod web-1"}, {targets.Removed, "forget uid-web-1"}} {
		c := targets.Change{Kind: tc.kind, Target: tg}
		if got := ops([]protocol.Command{Command(&c)}); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
