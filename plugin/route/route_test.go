package route

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/protocol"
)

func target(node, pod, id string) targets.Target {
	t := targets.Target{Node: node}
	t.ContainerID, t.Pod, t.Namespace, t.Container = id, pod, "shop", "app"
	return t
}

func ops(cmds []protocol.Command) string {
	var out []string
	for _, c := range cmds {
		id := c.ContainerID
		if c.Target != nil {
			id = c.Target.ContainerID
		}
		out = append(out, string(c.Op)+" "+id)
	}
	return strings.Join(out, ", ")
}

// TestTable: a node's targets are what was found at the start and changed since, in the session's order; names
// are kept for every container seen, added or removed.
func TestTable(t *testing.T) {
	tb := New([]targets.Target{target("node-a", "web-2", "containerd://a2"), target("node-a", "web-1", "containerd://a1"),
		target("node-b", "web-3", "containerd://b1")})
	for _, c := range []targets.Change{
		{Kind: targets.Removed, Target: target("node-a", "web-1", "containerd://a1")},
		{Kind: targets.Added, Target: target("node-a", "web-0", "containerd://a0")},
		{Kind: targets.Added, Target: target("node-c", "web-4", "containerd://c1")},
	} {
		tb.Apply(c)
	}
	for node, want := range map[string]string{
		"node-a": "add containerd://a0, add containerd://a2",
		"node-b": "add containerd://b1",
		"node-c": "add containerd://c1",
		"node-x": "",
	} {
		if got := ops(tb.Adds(node)); got != want || tb.Count(node) != len(tb.Adds(node)) {
			t.Errorf("%s: %q (count %d), want %q", node, got, tb.Count(node), want)
		}
	}
	for id, want := range map[string]string{
		"containerd://a1":                  "shop/web-1/app", // removed, still named
		"a0":                               "shop/web-0/app", // without the runtime prefix
		"containerd://0123456789abcdef000": "container 0123456789ab",
	} {
		if got := tb.Name(id); got != want {
			t.Errorf("Name(%q) = %q, want %q", id, got, want)
		}
	}
	if !tb.IsInitial("a1") || !tb.IsInitial("containerd://b1") || tb.IsInitial("containerd://a0") {
		t.Error("initial targets")
	}
}

func TestCommand(t *testing.T) {
	tg := target("node-a", "web-1", "containerd://a1")
	for _, tc := range []struct {
		kind targets.ChangeKind
		want string
	}{{targets.Added, "add containerd://a1"}, {targets.Removed, "remove containerd://a1"}} {
		c := targets.Change{Kind: tc.kind, Target: tg}
		if got := ops([]protocol.Command{Command(&c)}); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
