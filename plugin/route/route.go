// Package route keeps what a session traces where: each node's current pods, so that an agent (a late one or a
// replacement included) is given every pod of its node when it attaches and each change after, and the names
// of the pods and of their containers' runs, so that messages about a target say "namespace/pod" or
// "namespace/pod/container" rather than an id.
//
// A Table is a plain value: one goroutine owns it (package fleet's loop, which also owns the node→agent map).
package route

import (
	"strings"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/protocol"
)

// Table is the session's pods by node, and their names.
type Table struct {
	byNode  map[string]map[string]targets.Target // node -> pod UID -> pod
	pods    map[string]string                    // pod UID -> namespace/pod
	names   map[string]string                    // container id (without runtime prefix) -> namespace/pod/container
	initial map[string]bool                      // pod UIDs selected from the start
}

// New returns a table of the pods found at the start.
func New(initial []targets.Target) *Table {
	t := &Table{byNode: map[string]map[string]targets.Target{}, pods: map[string]string{}, names: map[string]string{},
		initial: map[string]bool{}}
	for i := range initial {
		t.Apply(targets.Change{Kind: targets.Added, Target: initial[i]})
		t.initial[initial[i].UID] = true
	}
	return t
}

// Apply records a change: a pod added to its node or updated, or taken off. Names are kept either way.
func (t *Table) Apply(c targets.Change) {
	tg := &c.Target
	t.pods[tg.UID] = tg.Namespace + "/" + tg.Name
	for _, ctr := range tg.Containers {
		if ctr.ID != "" {
			t.names[stripRuntime(ctr.ID)] = tg.Namespace + "/" + tg.Name + "/" + ctr.Name
		}
	}
	m := t.byNode[tg.Node]
	if m == nil {
		m = map[string]targets.Target{}
		t.byNode[tg.Node] = m
	}
	if c.Kind == targets.Removed {
		delete(m, tg.UID)
	} else {
		m[tg.UID] = *tg
	}
}

// Count is how many pods node has.
func (t *Table) Count(node string) int { return len(t.byNode[node]) }

// Adds are the commands that give an agent every current pod of node, in the session's order.
func (t *Table) Adds(node string) []protocol.Command {
	ts := make([]targets.Target, 0, len(t.byNode[node]))
	for _, tg := range t.byNode[node] {
		ts = append(ts, tg)
	}
	targets.Sort(ts)
	cmds := make([]protocol.Command, len(ts))
	for i := range ts {
		cmds[i] = protocol.Command{Op: protocol.OpPod, Pod: &ts[i].Pod}
	}
	return cmds
}

// Command is what tells an agent of a change.
func Command(c *targets.Change) protocol.Command {
	if c.Kind == targets.Removed {
		return protocol.Command{Op: protocol.OpForget, PodUID: c.Target.UID}
	}
	return protocol.Command{Op: protocol.OpPod, Pod: &c.Target.Pod}
}

// Name is what an agent's target notice is about: "namespace/pod" of a pod (by its UID, or as the notice names
// it), "namespace/pod/container" of a container the pods' statuses named, "container <short id>" otherwise.
func (t *Table) Name(n *event.Notice) string {
	if n.PodUID != "" || n.Pod != "" {
		name, ok := t.pods[n.PodUID]
		if !ok {
			name = n.Namespace + "/" + n.Pod
		}
		if n.Container != "" {
			name += "/" + n.Container
		}
		return name
	}
	id := stripRuntime(n.ContainerID)
	if name, ok := t.names[id]; ok {
		return name
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return "container " + id
}

// IsInitial tells whether a target notice is about a pod selected from the start.
func (t *Table) IsInitial(n *event.Notice) bool { return t.initial[n.PodUID] }

// stripRuntime drops the "containerd://" style prefix of a pod status's container id.
func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}
