package session

import (
	"sync"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agent"
	"github.com/swoll-dev/swoll/plugin/route"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

// fleet is the session's set of agents: it counts them ready, tells the person how the start goes, and says
// when all have ended. It is the agents' Observer; its methods are safe for concurrent use.
type fleet struct {
	log     *userlog.Logger
	names   *route.Router
	started time.Time
	// allReady is closed when every agent that did not fail is ready: --duration counts from there
	allReady chan struct{}
	// exited gets a token whenever an agent finished
	exited chan struct{}

	mu       sync.Mutex
	agents   []*agent.Agent // by stream id
	readyAll bool
}

func newFleet(log *userlog.Logger, names *route.Router) *fleet {
	return &fleet{
		log:      log,
		names:    names,
		started:  time.Now(),
		allReady: make(chan struct{}),
		exited:   make(chan struct{}, 64),
	}
}

// add creates an agent with the next stream id and keeps it.
func (f *fleet) add(create func(id int) *agent.Agent) *agent.Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := create(len(f.agents))
	f.agents = append(f.agents, a)
	return a
}

func (f *fleet) list() []*agent.Agent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*agent.Agent(nil), f.agents...)
}

func (f *fleet) ready() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyAll
}

// counts counts agents that reported ready, and those that have not failed (mu held).
func (f *fleet) counts() (ready, total int) {
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
func (f *fleet) recount() (first bool, ready, total int) {
	ready, total = f.counts()
	if !f.readyAll && total > 0 && ready == total {
		f.readyAll = true
		close(f.allReady)
		return true, ready, total
	}
	return false, ready, total
}

// Phrase implements agent.Observer: progress with the overall count while the agents start.
func (f *fleet) Phrase(a *agent.Agent, phrase string) {
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

// Ready implements agent.Observer.
func (f *fleet) Ready(a *agent.Agent) {
	f.mu.Lock()
	was := f.readyAll
	first, ready, total := f.recount()
	f.mu.Unlock()
	elapsed := time.Since(f.started).Round(10 * time.Millisecond)
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
func (f *fleet) Notice(a *agent.Agent, n *event.Notice) {
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
func (f *fleet) Finished(*agent.Agent) {
	f.mu.Lock()
	// a failed agent no longer counts toward readiness: the others may now all be ready
	first, ready, total := f.recount()
	f.mu.Unlock()
	if first {
		f.log.Printf("agents ready %d/%d; tracing (Ctrl-C to stop)", ready, total)
	}
	select {
	case f.exited <- struct{}{}:
	default:
	}
}

func (f *fleet) allDone() bool {
	for _, a := range f.list() {
		select {
		case <-a.Done():
		default:
			return false
		}
	}
	return true
}
