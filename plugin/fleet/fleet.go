// Package fleet is a session's set of agents: it counts them ready, tells the person how the start goes, says
// when all have ended, and replaces an agent that fails after it had been tracing (its pod killed, its stream
// broken, the API server restarted): a new agent (a new Job) takes over the node's current targets, up to
// MaxReplacements times per node, and the untraced gap is reported when it is ready. An agent that failed before
// it was ready, or that another client deleted, is not replaced: its node is reported untraced, once.
//
// A Fleet is the agents' Observer; its methods are safe for concurrent use. Replace is called from the failed
// agent's goroutine, without the fleet's lock. An agent counts as done once the fleet heard its Finished (its
// replacement, if any, is in the fleet by then), not when its Done channel closes, which comes just before.
package fleet

import (
	"fmt"
	"sync"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agent"
	"github.com/swoll-dev/swoll/plugin/route"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

// DefaultMaxReplacements bounds how many times a node's failed agent is replaced in one session.
const DefaultMaxReplacements = 3

// ReplaceFunc starts an agent on node that takes over from a failed one (generation 2, 3, ...): it adds it to
// the fleet (Add), gives it the node's targets and runs it.
type ReplaceFunc func(node string, generation int) (*agent.Agent, error)

// Fleet is the session's set of agents.
type Fleet struct {
	log     *userlog.Logger
	names   *route.Router
	replace ReplaceFunc
	max     int
	// Started is when the fleet was made (the session's tracing start).
	Started time.Time
	// AllReady is closed when every agent that did not fail is ready: --duration counts from there.
	AllReady chan struct{}
	// Exited gets a token whenever an agent finished (after its replacement, if any, was added).
	Exited chan struct{}

	mu           sync.Mutex
	agents       []*agent.Agent // by stream id
	current      map[string]*agent.Agent
	replaces     map[*agent.Agent]*agent.Agent // replacement -> the failed agent it took over from
	replaced     map[*agent.Agent]bool
	pending      map[string]*agent.Agent // by node: the failed agent whose replacement is being added
	finished     map[*agent.Agent]bool   // Finished was heard (and any replacement added)
	replacements map[string]int          // by node
	replacing    sync.WaitGroup          // replacements being started
	readyAll     bool
	ending       bool
}

// New returns an empty fleet. names is the session's router (container names, untraced nodes); replace starts
// replacements (nil: none), at most maxReplacements per node (DefaultMaxReplacements when 0).
func New(log *userlog.Logger, names *route.Router, replace ReplaceFunc, maxReplacements int) *Fleet {
	if maxReplacements <= 0 {
		maxReplacements = DefaultMaxReplacements
	}
	return &Fleet{
		log:          log,
		names:        names,
		replace:      replace,
		max:          maxReplacements,
		Started:      time.Now(),
		AllReady:     make(chan struct{}),
		Exited:       make(chan struct{}, 64),
		current:      map[string]*agent.Agent{},
		replaces:     map[*agent.Agent]*agent.Agent{},
		replaced:     map[*agent.Agent]bool{},
		pending:      map[string]*agent.Agent{},
		finished:     map[*agent.Agent]bool{},
		replacements: map[string]int{},
	}
}

// Add creates an agent with the next stream id and keeps it as its node's agent. A replacement is known as
// one from here, before it runs (ReplaceFunc adds, then runs).
func (f *Fleet) Add(create func(id int) *agent.Agent) *agent.Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := create(len(f.agents))
	f.agents = append(f.agents, a)
	f.current[a.Node()] = a
	if old := f.pending[a.Node()]; old != nil {
		f.replaces[a] = old
		f.replaced[old] = true
		delete(f.pending, a.Node())
	}
	return a
}

// Nodes counts the nodes that have (or had) an agent of the session.
func (f *Fleet) Nodes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.current)
}

// Ending stops replacements: the session is being torn down. It returns once the replacements already being
// started are in the fleet (starting one is quick: no API call), so that List then holds every agent to stop.
func (f *Fleet) Ending() {
	f.mu.Lock()
	f.ending = true
	f.mu.Unlock()
	f.replacing.Wait()
}

// Replaced tells whether a replacement took over from a (which failed).
func (f *Fleet) Replaced(a *agent.Agent) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replaced[a]
}

// List returns the agents by stream id.
func (f *Fleet) List() []*agent.Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*agent.Agent(nil), f.agents...)
}

func (f *Fleet) ready() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyAll
}

// counts counts agents that reported ready, and those that have not failed (mu held).
func (f *Fleet) counts() (ready, total int) {
	for _, a := range f.agents {
		st := a.State()
		if st.Ready {
			ready++
		}
		if st.Failure == "" || st.Ready {
			total++
		}
	}
	return ready, total
}

// recount closes allReady when every agent that did not fail is ready (mu held); it says whether it did.
func (f *Fleet) recount() (first bool, ready, total int) {
	ready, total = f.counts()
	if !f.readyAll && total > 0 && ready == total {
		f.readyAll = true
		close(f.AllReady)
		return true, ready, total
	}
	return false, ready, total
}

// Phrase implements agent.Observer: progress with the overall count while the agents start.
func (f *Fleet) Phrase(a *agent.Agent, phrase string) {
	f.mu.Lock()
	ready, total := f.counts()
	quiet := f.readyAll
	f.mu.Unlock()
	switch {
	case quiet && phrase != "pod created":
		f.log.Printf("%s: %s", a.Node(), phrase)
	case !quiet:
		f.log.Printf("agents ready %d/%d; %s: %s", ready, total, a.Node(), phrase)
	}
}

// Ready implements agent.Observer; a replacement's readiness reports the gap it closes.
func (f *Fleet) Ready(a *agent.Agent) {
	f.mu.Lock()
	was := f.readyAll
	first, ready, total := f.recount()
	f.mu.Unlock()
	elapsed := time.Since(f.Started).Round(10 * time.Millisecond)
	f.mu.Lock()
	old := f.replaces[a]
	f.mu.Unlock()
	if old != nil {
		from, now := old.LastHeard(), time.Now()
		f.log.Printf("%s: replacement agent ready; the node was not traced from %s to %s (%s)", a.Node(),
			from.Format("15:04:05"), now.Format("15:04:05"), now.Sub(from).Round(100*time.Millisecond))
		return
	}
	switch {
	case first:
		f.log.Printf("agents ready %d/%d after %s; tracing (Ctrl-C to stop)", ready, total, elapsed)
	case was:
		f.log.Printf("%s: agent ready after %s", a.Node(), time.Since(a.Started()).Round(10*time.Millisecond))
	default:
		f.log.Printf("agents ready %d/%d; %s: ready after %s", ready, total, a.Node(), elapsed)
	}
}

// Notice implements agent.Observer: news about targets once the session runs.
func (f *Fleet) Notice(a *agent.Agent, n *event.Notice) {
	switch n.Kind {
	case event.NoticeTargetAttached:
		// the initial targets were announced in the session's first line; later ones are news
		if f.ready() && !f.names.IsInitial(n.ContainerID) {
			f.log.Printf("%s: tracing %s", a.Node(), f.names.Name(n.ContainerID))
		}
	case event.NoticeTargetDetached:
		if f.ready() && !a.Stopping() {
			msg := ""
			if n.Message != "" {
				msg = " (" + n.Message + ")"
			}
			f.log.Printf("%s: no longer tracing %s%s", a.Node(), f.names.Name(n.ContainerID), msg)
		}
	case event.NoticeTargetError:
		f.log.Printf("%s: cannot trace %s: %s", a.Node(), f.names.Name(n.ContainerID), n.Message)
	}
}

// Finished implements agent.Observer.
func (f *Fleet) Finished(a *agent.Agent) {
	f.failed(a)
	f.mu.Lock()
	f.finished[a] = true
	// a failed agent no longer counts toward readiness: the others may now all be ready
	first, ready, total := f.recount()
	f.mu.Unlock()
	if first {
		f.log.Printf("agents ready %d/%d; tracing (Ctrl-C to stop)", ready, total)
	}
	select {
	case f.Exited <- struct{}{}:
	default:
	}
}

// failed replaces an agent that failed after it had been tracing, or says its node is untraced.
func (f *Fleet) failed(a *agent.Agent) {
	st := a.State()
	node := a.Node()
	// decided under the lock Ending takes: no replacement starts after it, and Ending waits for those before
	f.mu.Lock()
	skip := st.Failure == "" || a.Stopping() || f.ending || f.current[node] != a
	n := f.replacements[node]
	replace := !skip && !st.Removed && st.Ready && f.replace != nil && n < f.max
	if replace {
		f.replacements[node] = n + 1
		f.pending[node] = a
		f.replacing.Add(1)
	}
	f.mu.Unlock()
	switch {
	case skip:
		return
	case st.Removed:
		f.names.Untraced(node, "its agent was deleted by another client")
		return
	case !st.Ready || f.replace == nil:
		f.names.Untraced(node, "") // its failure said why
		return
	case n >= f.max:
		f.names.Untraced(node, fmt.Sprintf("its agent failed %d times", n+1))
		return
	}
	defer f.replacing.Done()
	f.log.Printf("%s: starting a replacement agent (%d of at most %d)", node, n+1, f.max)
	if _, err := f.replace(node, n+2); err != nil {
		f.mu.Lock()
		delete(f.pending, node)
		f.mu.Unlock()
		f.names.Untraced(node, err.Error())
	}
}

// AllDone tells whether every agent finished: its Finished was heard, so any replacement of it is in the fleet
// (and counted here).
func (f *Fleet) AllDone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.agents {
		if !f.finished[a] {
			return false
		}
	}
	return true
}
