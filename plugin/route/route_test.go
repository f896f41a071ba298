package route

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

type fakeAgent struct {
	mu   sync.Mutex
	cmds []string
}

func (a *fakeAgent) Enqueue(c protocol.Command) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := c.ContainerID
	if c.Target != nil {
		id = c.Target.ContainerID
	}
	a.cmds = append(a.cmds, string(c.Op)+" "+id)
}

func (a *fakeAgent) String() string { return strings.Join(a.cmds, ", ") }

func target(node, pod, id string) targets.Target {
	t := targets.Target{Node: node}
	t.ContainerID, t.Pod, t.Namespace, t.Container = id, pod, "shop", "app"
	return t
}

func TestRouter(t *testing.T) {
	a, b, late := &fakeAgent{}, &fakeAgent{}, &fakeAgent{}
	var started []string
	var failed []string
	var log testutil.Buffer
	r := New(func(node string) (Agent, error) {
		started = append(started, node)
		if node == "node-x" {
			return nil, errors.New("no architecture")
		}
		return late, nil
	}, func(t *targets.Target, err error) { failed = append(failed, t.Pod+": "+err.Error()) }, userlog.New(&log, false))
	r.Add("node-a", a)
	r.Add("node-b", b)
	r.Initial([]targets.Target{target("node-a", "web-1", "containerd://a1"), target("node-b", "web-2", "containerd://b1")})
	r.Apply([]targets.Change{
		{Kind: targets.Added, Target: target("node-a", "web-3", "containerd://a2")},
		{Kind: targets.Removed, Target: target("node-b", "web-2", "containerd://b1")},
		{Kind: targets.Added, Target: target("node-c", "web-4", "containerd://c1")},
		{Kind: targets.Added, Target: target("node-c", "web-5", "containerd://c2")},
		{Kind: targets.Added, Target: target("node-x", "web-6", "containerd://x1")},
		{Kind: targets.Removed, Target: target("node-y", "web-7", "containerd://y1")},
	})
	for name, tc := range map[string]struct {
		got  *fakeAgent
		want string
	}{
		"node-a": {a, "add containerd://a1, add containerd://a2"},
		"node-b": {b, "add containerd://b1, remove containerd://b1"},
		"late":   {late, "add containerd://c1, add containerd://c2"},
	} {
		if tc.got.String() != tc.want {
			t.Errorf("%s: %s, want %s", name, tc.got, tc.want)
		}
	}
	if strings.Join(started, ",") != "node-c,node-x" {
		t.Errorf("started agents on %v (one per new node)", started)
	}
	if strings.Join(failed, ",") != "web-6: no architecture" {
		t.Errorf("failed %v", failed)
	}
	if !r.IsInitial("a1") || r.IsInitial("containerd://a2") {
		t.Error("initial targets")
	}
	if r.Name("a2") != "shop/web-3/app" || r.Name("containerd://0123456789abcdef") != "container 0123456789ab" {
		t.Errorf("names: %q %q", r.Name("a2"), r.Name("containerd://0123456789abcdef"))
	}
}

// A replacement gets the node's current targets; after Untraced, the node is said to be untraced once, and so
// is each target that appears there later.
func TestRouterReplaceAndUntraced(t *testing.T) {
	var log testutil.Buffer
	a, b := &fakeAgent{}, &fakeAgent{}
	r := New(func(string) (Agent, error) { return nil, errors.New("unused") }, func(*targets.Target, error) {}, userlog.New(&log, false))
	r.Add("node-a", a)
	r.Initial([]targets.Target{target("node-a", "web-1", "containerd://a1"), target("node-a", "web-2", "containerd://a2")})
	r.Apply([]targets.Change{{Kind: targets.Removed, Target: target("node-a", "web-1", "containerd://a1")},
		{Kind: targets.Added, Target: target("node-a", "web-3", "containerd://a3")}})
	r.Replace("node-a", b)
	got := strings.Split(b.String(), ", ")
	if len(got) != 2 || !strings.Contains(b.String(), "add containerd://a2") || !strings.Contains(b.String(), "add containerd://a3") {
		t.Fatalf("replacement got %v, want the node's two current targets", got)
	}
	r.Untraced("node-a", "its agent failed 4 times")
	r.Untraced("node-a", "again")
	r.Apply([]targets.Change{{Kind: targets.Added, Target: target("node-a", "web-4", "containerd://a4")}})
	want := "swoll: node-a: its 2 container(s) are no longer traced: its agent failed 4 times\n" +
		"swoll: node-a: not tracing shop/web-4: the node's agent failed (see above)\n"
	if log.String() != want || strings.Contains(b.String(), "a4") || !r.IsUntraced("node-a") {
		t.Fatalf("log:\n%s\nagent: %s", log.String(), b)
	}
}
