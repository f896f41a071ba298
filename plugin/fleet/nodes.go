package fleet

import (
	"errors"
	"fmt"
	"time"

	"github.com/swoll-dev/swoll/plugin/route"
	"github.com/swoll-dev/swoll/plugin/targets"
)

// node is one node of the session: its current agent (the node→agent map is the fleet's nodes).
type node struct {
	name string
	// cur is its agent now (nil: none yet, or none could be started).
	cur *attempt
	// waiting are targets that asked for its first agent while that is being planned (told if it cannot be).
	waiting      []targets.Target
	replacements int
	// tried: it has (had) an agent (it counts toward --max-nodes); untraced: its containers are not traced any
	// more (its agent failed for good), said once.
	tried, untraced bool
}

func (f *Fleet) node(name string) *node {
	n := f.nodes[name]
	if n == nil {
		n = &node{name: name}
		f.nodes[name] = n
	}
	return n
}

// apply routes target changes to the agents of their nodes, starting an agent on a node that had none. An
// agent still starting is given its node's targets as they are when it attaches.
func (f *Fleet) apply(cs []targets.Change) {
	for i := range cs {
		c, t := &cs[i], &cs[i].Target
		f.route.Apply(*c)
		n := f.node(t.Node)
		a := n.cur
		switch {
		case f.stopping:
		case c.Kind == targets.Added && n.untraced:
			f.cfg.Log.Printf("%s: not tracing %s/%s: the node's agent failed (see above)", t.Node, t.Namespace, t.Name)
		case c.Kind != targets.Removed && a == nil && !n.untraced:
			f.startLate(n, t)
		case c.Kind == targets.Added && a != nil && a.state == preparing:
			n.waiting = append(n.waiting, *t)
		case a != nil && a.conn != nil && a.state != gone:
			a.conn.Send(route.Command(c))
		}
	}
}

// startLate starts an agent on a node that gained targets during the session.
func (f *Fleet) startLate(n *node, t *targets.Target) {
	tried := 0
	for _, o := range f.nodes {
		if o.tried || o.cur != nil {
			tried++
		}
	}
	var err error
	switch {
	case f.cfg.MaxNodes > 0 && tried >= f.cfg.MaxNodes:
		err = fmt.Errorf("the session has agents on %d nodes already (--max-nodes %d)", tried, f.cfg.MaxNodes)
	case f.cfg.Prepare == nil:
		err = errors.New("no agent can be started mid-session")
	default:
		n.waiting = append(n.waiting, *t)
		f.prepare(n, 1, nil)
		return
	}
	f.cfg.Log.Printf("%s: cannot trace %s/%s there: %v", n.name, t.Namespace, t.Name, err)
}

// untraced notes that node's containers are no longer traced and, the first time, says so with why ("": the
// agent's failure said it already).
func (f *Fleet) untraced(n *node, why string) {
	if !n.untraced && why != "" {
		f.cfg.Log.Printf("%s: its %d pod(s) are no longer traced: %s", n.name, f.route.Count(n.name), why)
	}
	n.untraced = true
}

// counts counts agents that reported ready, and those that have not failed.
func (f *Fleet) counts() (ready, total int) {
	for _, a := range f.attempts {
		if a.ready {
			ready++
		}
		if a.failure == "" || a.ready {
			total++
		}
	}
	return ready, total
}

// recount closes AllReady when every agent that did not fail is ready; it says whether it did.
func (f *Fleet) recount() (first bool, ready, total int) {
	ready, total = f.counts()
	if !f.readyAll && total > 0 && ready == total {
		f.readyAll = true
		close(f.allReady)
		return true, ready, total
	}
	return false, ready, total
}

// phrase tells a step of a's start: while the agents start, with the overall count; routine steps only when
// the start takes a while.
func (f *Fleet) phrase(a *attempt, p string) {
	if p == "" || p == a.phrase {
		return
	}
	a.phrase = p
	if routinePhrases[p] && time.Since(a.started) < f.waits.quietStart {
		return
	}
	switch ready, total := f.counts(); {
	case !f.readyAll:
		f.cfg.Log.Printf("agents ready %d/%d; %s: %s", ready, total, a.node.name, p)
	case p != "pod created":
		f.cfg.Log.Printf("%s: %s", a.node.name, p)
	}
}

// readied tells that a is ready; a replacement's readiness reports the gap it closes.
func (f *Fleet) readied(a *attempt) {
	was := f.readyAll
	first, ready, total := f.recount()
	elapsed := time.Since(f.Started).Round(10 * time.Millisecond)
	if old := a.replaces; old != nil {
		from, now := old.heard, time.Now()
		f.cfg.Log.Printf("%s: replacement agent ready; the node was not traced from %s to %s (%s)", a.node.name,
			from.Format("15:04:05"), now.Format("15:04:05"), now.Sub(from).Round(100*time.Millisecond))
		return
	}
	switch {
	case first:
		f.cfg.Log.Printf("agents ready %d/%d after %s; tracing (Ctrl-C to stop)", ready, total, elapsed)
	case was:
		f.cfg.Log.Printf("%s: agent ready after %s", a.node.name, time.Since(a.started).Round(10*time.Millisecond))
	default:
		f.cfg.Log.Printf("agents ready %d/%d; %s: ready after %s", ready, total, a.node.name, elapsed)
	}
}
