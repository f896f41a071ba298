// Package route sends each target to the agent of its node: the containers found at the start, then every
// change the targets watch reports while the session runs (an added container to its node's agent, starting an
// agent for a node that had none; a removed one taken off). It also remembers every target's name, so that
// messages about a container say "namespace/pod/container" rather than an id, and the current targets of each
// node, so that an agent that replaces a failed one is given them all (Replace). A node whose containers can no
// longer be traced (Untraced) is said so once, and so is each target that appears there later.
//
// A Router is safe for concurrent use.
package route

import (
	"strings"
	"sync"

	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

// Agent is what the router needs of an agent.
type Agent interface {
	Enqueue(protocol.Command)
}

// StartFunc starts an agent on a node that gained targets during the session.
type StartFunc func(node string) (Agent, error)

// Router routes targets to agents by node.
type Router struct {
	start StartFunc
	// failed reports a target that could not be routed (no agent could be started on its node).
	failed func(t *targets.Target, err error)
	log    *userlog.Logger

	mu       sync.Mutex
	agents   map[string]Agent                      // by node
	names    map[string]string                     // container id (without runtime prefix) -> namespace/pod/container
	initial  map[string]bool                       // container ids (without runtime prefix) traced from the start
	byNode   map[string]map[string]protocol.Target // node -> container id (without prefix) -> target
	untraced map[string]bool                       // nodes whose containers are not traced any more
}

// New returns a router that starts late agents with start, reports targets it cannot route to failed, and
// writes what it says of untraced nodes to log.
func New(start StartFunc, failed func(t *targets.Target, err error), log *userlog.Logger) *Router {
	return &Router{start: start, failed: failed, log: log, agents: map[string]Agent{}, names: map[string]string{},
		initial: map[string]bool{}, byNode: map[string]map[string]protocol.Target{}, untraced: map[string]bool{}}
}

// Initial routes the targets found at the start to the agents of their nodes (which Add registered).
func (r *Router) Initial(ts []targets.Target) {
	for _, t := range ts {
		r.mu.Lock()
		r.remember(&t)
		r.track(&t, true)
		r.initial[stripRuntime(t.ContainerID)] = true
		a := r.agents[t.Node]
		r.mu.Unlock()
		if a != nil {
			a.Enqueue(protocol.Command{Op: protocol.OpAdd, Target: &t.Target})
		}
	}
}

// Add registers the agent of a node.
func (r *Router) Add(node string, a Agent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.agents[node] = a
}

// Apply routes target changes, starting an agent on a node that had none.
func (r *Router) Apply(cs []targets.Change) {
	for _, c := range cs {
		t := c.Target
		r.mu.Lock()
		r.remember(&t)
		r.track(&t, c.Kind == targets.Added)
		a, untraced := r.agents[t.Node], r.untraced[t.Node]
		r.mu.Unlock()
		switch c.Kind {
		case targets.Added:
			if untraced {
				r.log.Printf("%s: not tracing %s/%s: the node's agent failed (see above)", t.Node, t.Namespace, t.Pod)
				continue
			}
			if a == nil {
				var err error
				if a, err = r.start(t.Node); err != nil {
					r.failed(&t, err)
					continue
				}
				r.Add(t.Node, a)
			}
			a.Enqueue(protocol.Command{Op: protocol.OpAdd, Target: &t.Target})
		case targets.Removed:
			if a != nil {
				a.Enqueue(protocol.Command{Op: protocol.OpRemove, ContainerID: t.ContainerID})
			}
		}
	}
}

// Replace makes a the agent of node in place of a failed one, and sends it the node's current targets.
func (r *Router) Replace(node string, a Agent) {
	r.mu.Lock()
	r.agents[node] = a
	ts := make([]protocol.Target, 0, len(r.byNode[node]))
	for _, t := range r.byNode[node] {
		ts = append(ts, t)
	}
	r.mu.Unlock()
	for i := range ts {
		a.Enqueue(protocol.Command{Op: protocol.OpAdd, Target: &ts[i]})
	}
}

// Untraced notes that node's containers are no longer traced and, the first time, says so with why ("": the
// agent's failure said it already).
func (r *Router) Untraced(node, why string) {
	r.mu.Lock()
	seen := r.untraced[node]
	r.untraced[node] = true
	n := len(r.byNode[node])
	r.mu.Unlock()
	if !seen && why != "" {
		r.log.Printf("%s: its %d container(s) are no longer traced: %s", node, n, why)
	}
}

// IsUntraced tells whether Untraced was called for node.
func (r *Router) IsUntraced(node string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.untraced[node]
}

// track records (add) or forgets a target of its node (mu held).
func (r *Router) track(t *targets.Target, add bool) {
	m := r.byNode[t.Node]
	if m == nil {
		m = map[string]protocol.Target{}
		r.byNode[t.Node] = m
	}
	if add {
		m[stripRuntime(t.ContainerID)] = t.Target
	} else {
		delete(m, stripRuntime(t.ContainerID))
	}
}

func (r *Router) remember(t *targets.Target) {
	r.names[stripRuntime(t.ContainerID)] = t.Namespace + "/" + t.Pod + "/" + t.Container
}

// Name is "namespace/pod/container" of a container id seen in a target, "container <short id>" otherwise.
func (r *Router) Name(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.names[stripRuntime(id)]; ok {
		return n
	}
	return "container " + shortID(id)
}

// IsInitial tells whether a container was among the targets found at the start.
func (r *Router) IsInitial(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initial[stripRuntime(id)]
}

// stripRuntime drops the "containerd://" style prefix of a pod status's container id.
func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

func shortID(id string) string {
	id = stripRuntime(id)
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
