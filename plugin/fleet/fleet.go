// Package fleet owns a session's node agents: for every node it runs one state machine (machine.go) that takes
// its agent from a Job being created to a stream that ended, replaces an agent that failed after it had been
// tracing, and sends the node's targets to it as they come and go (nodes.go, with package route's table). It
// also tells the person how the start goes, when every agent is ready and when all have ended.
//
// One goroutine owns all of it: Run. Everything else reaches the state over channels: the targets watch
// (Config.Changes), the agent pods watch (Config.Pods), and the goroutines Run starts for slow work (creating a
// Job, reading a pod, an exec stream, whose notices and end come back the same way). No lock guards agent
// state, no callback crosses packages: a replacement is a transition of its node's machine, and the node→agent
// map is the nodes map below, kept once.
//
// Run is called once. Stop, Done, AllReady, Ended, Finished and Reports are safe for concurrent use.
package fleet

import (
	"context"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/route"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

// DefaultMaxReplacements bounds how many times a node's failed agent is replaced in one session.
const DefaultMaxReplacements = 3

// Plan is what one agent runs.
type Plan struct {
	Node string
	// Start is the agent's first command; the node's targets follow it.
	Start *protocol.Start
	// Job is the agent's Job, as built by package agentpod.
	Job *batchv1.Job
	// NotReady, when set, is why the node cannot run an agent: the agent fails at once.
	NotReady string
}

// Config is what a fleet needs.
type Config struct {
	Jobs      *lifecycle.Jobs
	Transport transport.Transport
	// Batches is the merge loop's input.
	Batches chan<- stream.Batch
	Log     *userlog.Logger
	// Initial are the agents to start at once (one per node) and Targets the containers found at the start.
	Initial []Plan
	Targets []targets.Target
	// Changes are the targets watch's changes; Pods what the agent pods watch sees (lifecycle.Jobs.Watch).
	Changes <-chan []targets.Change
	Pods    <-chan lifecycle.Update
	// Prepare plans the agent of a node that gained targets during the session (generation 1) or a replacement
	// (generation 2, 3, ...); nil: neither is started. It runs in a goroutine of its own and may read the API
	// server.
	Prepare func(ctx context.Context, node string, generation int) (Plan, error)
	// StartTimeout bounds the wait until an agent's pod runs (image pull included).
	StartTimeout time.Duration
	// MaxReplacements per node (DefaultMaxReplacements when 0); MaxNodes bounds the nodes with an agent (0: no
	// bound).
	MaxReplacements, MaxNodes int
}

// Report is one agent's part of the summary.
type Report struct {
	// ID is the agent's stream in the merge loop.
	ID   int
	Node string
	// Lost counts events the kernel dropped; Limited those the agent dropped over --max-rate; Filtered the calls
	// the incident filters left out (asked for: not lost). Dropped says which calls the lost events were
	// (event.Notice.DroppedCalls), when the agent says.
	Lost, Limited, Filtered uint64
	Dropped                 []event.DroppedCall
	// Failed: the agent failed and nothing took over; Replaced: it failed and a replacement took over.
	Failed, Replaced bool
}

// Fleet is a session's set of agents.
type Fleet struct {
	cfg Config
	// Started is when the fleet was made (the session's tracing start).
	Started time.Time

	in       chan func() // results of the goroutines Run started, run on Run's goroutine
	stop     chan struct{}
	stopOnce sync.Once
	allReady chan struct{}
	ended    chan struct{}
	done     chan struct{}
	finished chan struct{}

	// Run's goroutine alone reads and writes what follows.
	ctx      context.Context
	nodes    map[string]*node    // the node→agent map
	attempts []*attempt          // every agent, by stream id
	jobs     map[string]*attempt // by Job name
	route    *route.Table        // targets by node, and their names
	foreign  map[types.UID]bool  // pods with the session's labels but of no Job of it, reported
	helpers  int                 // goroutines started and not yet heard back from
	readyAll bool
	stopping bool
	// waits are the constants of machine.go; tests shorten them.
	waits waits
	// onTransition, when set (tests), hears every transition, and a new agent (from and to preparing).
	onTransition func(node string, generation int, from, to state)
}

type waits struct{ silenceCheck, silentAfter, podEndGrace, quietStart time.Duration }

// New returns a fleet; Run starts its agents.
func New(cfg Config) *Fleet {
	if cfg.MaxReplacements <= 0 {
		cfg.MaxReplacements = DefaultMaxReplacements
	}
	return &Fleet{
		cfg:      cfg,
		Started:  time.Now(),
		in:       make(chan func()),
		stop:     make(chan struct{}),
		allReady: make(chan struct{}),
		ended:    make(chan struct{}),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
		nodes:    map[string]*node{},
		jobs:     map[string]*attempt{},
		route:    route.New(cfg.Targets),
		foreign:  map[types.UID]bool{},
		waits:    waits{protocol.StatsInterval, silentAfter, podEndGrace, quietStart},
	}
}

// AllReady is closed when every agent that did not fail is ready: --duration counts from there.
func (f *Fleet) AllReady() <-chan struct{} { return f.allReady }

// Ended is closed when every agent ended on its own (none left to wait for) before Stop.
func (f *Fleet) Ended() <-chan struct{} { return f.ended }

// Stop ends the fleet: no agent starts or is replaced after it, those being started stop waiting, streaming
// ones are told to detach and exit (OpStop, then their stdin closed).
func (f *Fleet) Stop() { f.stopOnce.Do(func() { close(f.stop) }) }

// Done is closed once Stop was called and every agent is gone (its stream ended, its start given up).
func (f *Fleet) Done() <-chan struct{} { return f.done }

// Finished is closed when Run returned: after Done, once the last request it started came back (cancelling
// Run's context cuts what is still running).
func (f *Fleet) Finished() <-chan struct{} { return f.finished }

// Reports returns every agent's part of the summary, by stream id.
func (f *Fleet) Reports() []Report {
	reply := make(chan []Report, 1)
	select {
	case f.in <- func() { reply <- f.reports() }:
		return <-reply
	case <-f.finished:
		return f.reports() // Run returned: its state is final
	}
}

func (f *Fleet) reports() []Report {
	out := make([]Report, 0, len(f.attempts))
	for _, a := range f.attempts {
		out = append(out, Report{ID: a.id, Node: a.node.name, Lost: a.lost, Limited: a.limited, Filtered: a.filtered,
			Dropped: a.dropped,
			Failed:  a.failure != "" && !a.replaced, Replaced: a.replaced})
	}
	return out
}

// Run starts the initial agents and runs every node's machine until Stop (or ctx's end) and the end of every
// agent. ctx carries the agents' connections and requests: cancelling it cuts them.
func (f *Fleet) Run(ctx context.Context) {
	defer close(f.finished)
	f.ctx = ctx
	tick := time.NewTicker(f.waits.silenceCheck)
	defer tick.Stop()
	for _, p := range f.cfg.Initial {
		f.begin(f.node(p.Node), p, nil)
	}
	stop, cancelled := f.stop, ctx.Done()
	for !f.stopping || f.helpers > 0 || !f.allGone() {
		select {
		case fn := <-f.in:
			fn()
		case u := <-f.cfg.Pods:
			f.podUpdate(u)
		case cs := <-f.cfg.Changes:
			f.apply(cs)
		case <-tick.C:
			f.checkSilence()
		case <-stop:
			stop = nil
			f.stopAll()
		case <-cancelled:
			cancelled = nil
			f.stopAll()
		}
		f.settle()
	}
}

// post hands a result to Run's goroutine.
func (f *Fleet) post(fn func()) {
	select {
	case f.in <- fn:
	case <-f.finished:
	}
}

// spawn runs work in a goroutine of its own; what it returns runs on Run's goroutine. Run returns only once
// every such goroutine came back.
func (f *Fleet) spawn(work func() func()) {
	f.helpers++
	go func() {
		then := work()
		f.post(func() {
			f.helpers--
			then()
		})
	}()
}

// settle closes the channels whose condition now holds.
func (f *Fleet) settle() {
	gone := f.allGone()
	switch {
	case gone && f.stopping:
		closeOnce(f.done)
	case gone && len(f.attempts) > 0:
		closeOnce(f.ended)
	}
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}
