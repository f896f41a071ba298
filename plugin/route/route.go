// Package route keeps what a session traces where: each node's current targets, so that an agent (a late one
// or a replacement included) is given every target of its node when it attaches and each change after, and
// every target's name, so that messages about a container say "namespace/pod/container" rather than an id.
//
// A Table is a plain value: one goroutine owns it (package fleet's loop, which also owns the node→agent map).
package route

import (
	"strings"

	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/protocol"
)

// Table is the session's targets by node, and their names.
type Table struct {
	byNode  map[string]map[string]targets.Target // node -> container id (without runtime prefix) -> target
	names   map[string]string                    // container id (without runtime prefix) -> namespace/pod/container
	initial map[string]bool                      // container ids (without runtime prefix) traced from the start
}

// New returns a table of the targets found at the start.
func New(initial []targets.Target) *Table {
	t := &Table{byNode: map[string]map[string]targets.Target{}, names: map[string]string{}, initial: map[string]bool{}}
	for i := range initial {
		t.Apply(targets.Change{Kind: targets.Added, Target: initial[i]})
		t.initial[stripRuntime(initial[i].ContainerID)] = true
	}
	return t
}

// Apply records a change: a target added to its node, or taken off. Its name is kept either way.
func (t *Table) Apply(c targets.Change) {
	id := stripRuntime(c.Target.ContainerID)
	t.names[id] = c.Target.Namespace + "/" + c.Target.Pod + "/" + c.Target.Container
	m := t.byNode[c.Target.Node]
	if m == nil {
		m = map[string]targets.Target{}
		t.byNode[c.Target.Node] = m
	}
	if c.Kind == targets.Added {
		m[id] = c.Target
	} else {
		delete(m, id)
	}
}

// Count is how many targets node has.
func (t *Table) Count(node string) int { return len(t.byNode[node]) }

// Adds are the commands that give an agent every current target of node, in the session's order.
func (t *Table) Adds(node string) []protocol.Command {
	ts := make([]targets.Target, 0, len(t.byNode[node]))
	for _, tg := range t.byNode[node] {
		ts = append(ts, tg)
	}
	targets.Sort(ts)
	cmds := make([]protocol.Command, len(ts))
	for i := range ts {
		cmds[i] = protocol.Command{Op: protocol.OpAdd, Target: &ts[i].Target}
	}
	return cmds
}

// Command is what tells an agent of a change.
func Command(c *targets.Change) protocol.Command {
	if c.Kind == targets.Added {
		return protocol.Command{Op: protocol.OpAdd, Target: &c.Target.Target}
	}
	return protocol.Command{Op: protocol.OpRemove, ContainerID: c.Target.ContainerID}
}

// Name is "namespace/pod/container" of a container id seen in a target, "container <short id>" otherwise.
func (t *Table) Name(id string) string {
	id = stripRuntime(id)
	if n, ok := t.names[id]; ok {
		return n
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return "container " + id
}

// IsInitial tells whether a container was among the targets found at the start.
func (t *Table) IsInitial(id string) bool { return t.initial[stripRuntime(id)] }

// stripRuntime drops the "containerd://" style prefix of a pod status's container id.
func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}
