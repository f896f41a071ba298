package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/swoll-dev/swoll/plugin/agent"
	"github.com/swoll-dev/swoll/plugin/fleet"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/merge"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/route"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/teardown"
	"github.com/swoll-dev/swoll/protocol"
)

const (
	// lateNodeTimeout bounds reading a node that gained targets during the session.
	lateNodeTimeout = 10 * time.Second
	// dropReportInterval is how often events the output dropped for a slow reader are reported.
	dropReportInterval = 5 * time.Second
	// changeQueue is how many target changes may wait for the session's loop.
	changeQueue = 64
)

// tracing is the live part of a session: its agents, their pods, the router and the merge loop.
type tracing struct {
	*session
	pods    *lifecycle.Pods
	loop    *merge.Loop
	router  *route.Router
	fleet   *fleet.Fleet
	execCtx context.Context
}

// trace starts the agents and runs until the session ends, then tears down.
func (s *session) trace(ctx context.Context, src *targets.Source, res *targets.Resolution, jobs []*batchv1.Job,
	starts map[string]*protocol.Start) error {
	cfg := s.cfg
	// the agents' streams and the watches outlive an interrupt: teardown ends them, in order
	execCtx, cutStreams := context.WithCancel(context.WithoutCancel(ctx))
	defer cutStreams()
	watchCtx, stopWatches := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatches()

	t := &tracing{
		session: s,
		pods:    lifecycle.New(cfg.Client, cfg.StreamClient, cfg.AgentNamespace, cfg.SessionID, s.log),
		loop:    merge.NewLoop(merge.LoopConfig{Window: cfg.Window, Sink: cfg.Sink, MaxEvents: cfg.MaxEvents}),
		execCtx: execCtx,
	}
	t.router = route.New(t.startLate, func(tg *targets.Target, err error) {
		s.log.Printf("%s: cannot trace %s/%s there: %v", tg.Node, tg.Namespace, tg.Pod, err)
	}, s.log)
	t.fleet = fleet.New(s.log, t.router, t.replace, 0)
	s.log.Printf("session %s: tracing %d container(s) in %d pod(s) on %d node(s); starting %d agent(s) in namespace %s",
		cfg.SessionID, len(res.Targets), targets.CountPods(res.Targets), len(jobs), len(jobs), cfg.AgentNamespace)

	var watches sync.WaitGroup
	watches.Add(1)
	go func() { defer watches.Done(); t.pods.Watch(watchCtx) }()
	go t.loop.Run()
	agents := make([]*agent.Agent, 0, len(jobs))
	for _, j := range jobs {
		node := j.Spec.Template.Spec.NodeName
		a := t.newAgent(node, j, starts[node], false)
		t.router.Add(node, a)
		agents = append(agents, a)
	}
	t.router.Initial(res.Targets)
	for _, a := range agents {
		go a.Run(execCtx)
	}
	changes := make(chan []targets.Change, changeQueue)
	watches.Add(1)
	go func() {
		defer watches.Done()
		src.Watch(watchCtx, res.ResourceVersion, changes, func(err error) { s.log.Printf("%v (retrying)", err) })
	}()

	reason, outErr := t.wait(ctx, changes)
	stopping := time.Now()
	t.fleet.Ending()
	steps := teardown.Steps{
		CutStreams: cutStreams,
		StopWatches: func() {
			stopWatches()
			watches.Wait()
		},
		DeletePods: func(forced bool) error {
			return t.pods.Delete(context.WithoutCancel(ctx), forced, cfg.Force)
		},
		ForceDelete: func() int { return t.pods.ForceDelete(context.WithoutCancel(ctx)) },
		Merge:       t.loop,
		Force:       cfg.Force,
		Log:         s.log,
		Namespace:   cfg.AgentNamespace,
	}
	for _, a := range t.fleet.List() {
		steps.Agents = append(steps.Agents, a)
	}
	err := teardown.Run(steps)
	if !errors.Is(err, teardown.ErrInterruptedTwice) {
		sum := t.summary(reason, stopping)
		sum.Write(s.log)
		if err == nil {
			err = sum.Failures()
		}
	}
	if outErr != nil && !output.IsBrokenPipe(outErr) {
		return fmt.Errorf("writing events: %w", outErr)
	}
	return err
}

// wait runs until the session should end and says why; outErr is the sink's error when it failed.
func (t *tracing) wait(ctx context.Context, changes <-chan []targets.Change) (reason string, outErr error) {
	// --duration is tracing time: it starts when the agents are ready, not while images are pulled
	var deadline <-chan time.Time
	allReady := t.fleet.AllReady
	var drops <-chan time.Time
	var reported uint64
	if t.cfg.OutputDropped != nil {
		tick := time.NewTicker(dropReportInterval)
		defer tick.Stop()
		drops = tick.C
	}
	for reason == "" {
		select {
		case <-drops:
			if d := t.cfg.OutputDropped(); d > reported {
				t.log.Printf("%d events dropped in the plugin: the reader of stdout is too slow (total %d)", d-reported, d)
				reported = d
			}
		case <-ctx.Done():
			reason = "interrupted"
		case <-allReady:
			allReady = nil
			if t.cfg.Duration > 0 {
				timer := time.NewTimer(t.cfg.Duration)
				defer timer.Stop()
				deadline = timer.C
			}
		case <-deadline:
			reason = fmt.Sprintf("--duration %s reached", t.cfg.Duration)
		case <-t.loop.MaxReached():
			reason = fmt.Sprintf("--max-events %d reached", t.cfg.MaxEvents)
		case outErr = <-t.loop.Failed():
			reason = "output closed"
		case cs := <-changes:
			t.router.Apply(cs)
		case <-t.fleet.Exited:
			if t.fleet.AllDone() {
				reason = "every agent ended"
			}
		}
	}
	return reason, outErr
}

func (t *tracing) newAgent(node string, job *batchv1.Job, start *protocol.Start, replacement bool) *agent.Agent {
	return t.fleet.Add(func(id int) *agent.Agent {
		return agent.New(agent.Config{
			ID:           id,
			Node:         node,
			Start:        start,
			NotReady:     t.nodes.Get(node).NotReady,
			Pods:         t.pods,
			Job:          job,
			Replacement:  replacement,
			StartTimeout: t.cfg.AgentTimeout,
			Transport:    t.cfg.Transport,
			Batches:      t.loop.Batches(),
			Log:          t.log,
			Observer:     t.fleet,
		})
	})
}

// startLate starts an agent on a node that gained targets during the session (route.StartFunc).
func (t *tracing) startLate(node string) (route.Agent, error) {
	if n := t.fleet.Nodes(); t.cfg.MaxNodes > 0 && n >= t.cfg.MaxNodes {
		return nil, fmt.Errorf("the session has agents on %d nodes already (--max-nodes %d)", n, t.cfg.MaxNodes)
	}
	ctx, cancel := context.WithTimeout(t.execCtx, lateNodeTimeout)
	defer cancel()
	t.nodes.Lookup(ctx, node)
	start, err := t.startFor(node)
	if err != nil {
		return nil, err
	}
	a := t.newAgent(node, t.jobFor(node, 1), start, false)
	t.log.Printf("%s: new node with targets; starting an agent", node)
	go a.Run(t.execCtx)
	return a, nil
}

// replace starts an agent that takes over from a failed one on node, with the node's current targets
// (fleet.ReplaceFunc).
func (t *tracing) replace(node string, generation int) (*agent.Agent, error) {
	start, err := t.startFor(node)
	if err != nil {
		return nil, err
	}
	a := t.newAgent(node, t.jobFor(node, generation), start, true)
	t.router.Replace(node, a)
	go a.Run(t.execCtx)
	return a, nil
}

func (t *tracing) summary(reason string, stopping time.Time) *teardown.Summary {
	st := t.loop.Stats()
	sum := &teardown.Summary{
		Session: t.cfg.SessionID, Reason: reason, Started: t.fleet.Started, Stopping: stopping,
		FirstEvent: st.FirstEvent, Emitted: st.Emitted,
	}
	if t.cfg.OutputDropped != nil {
		sum.Dropped = t.cfg.OutputDropped()
	}
	for _, a := range t.fleet.List() {
		as := a.State()
		replaced := t.fleet.Replaced(a)
		sum.Agents = append(sum.Agents, teardown.AgentSummary{
			Node: a.Node(), Events: st.Received[a.ID()], Lost: as.Lost, Limited: as.Limited, Filtered: as.Filtered,
			Failed: as.Failure != "" && !replaced, Replaced: replaced,
		})
	}
	return sum
}
