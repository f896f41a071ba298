package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/swoll-dev/swoll/plugin/audit"
	"github.com/swoll-dev/swoll/plugin/fleet"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/merge"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/teardown"
)

const (
	// lateNodeTimeout bounds reading a node that gained targets during the session.
	lateNodeTimeout = 10 * time.Second
	// dropReportInterval is how often events the output dropped for a slow reader are reported.
	dropReportInterval = 5 * time.Second
	// changeQueue is how many target changes may wait for the session's loop, and then for the fleet's; podQueue
	// likewise for what the agent pods watch saw.
	changeQueue = 64
	podQueue    = 64
)

// tracing is the live part of a session: its agents (the fleet, which owns their state) and the merge loop.
type tracing struct {
	*session
	loop  *merge.Loop
	fleet *fleet.Fleet
	trail *audit.Trail
	// toFleet carries the target changes on to the fleet (the session's loop tells the audit trail first).
	toFleet chan<- []targets.Change
}

// trace starts the agents and runs until the session ends, then tears down.
func (s *session) trace(ctx context.Context, src *targets.Source, res *targets.Resolution, plans []fleet.Plan) error {
	cfg := s.cfg
	// the agents' streams and the watches outlive an interrupt: teardown ends them, in order
	execCtx, cutStreams := context.WithCancel(context.WithoutCancel(ctx))
	defer cutStreams()
	watchCtx, stopWatches := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatches()

	jobs := lifecycle.New(cfg.Client, cfg.StreamClient, cfg.AgentNamespace, cfg.SessionID, s.log)
	changes, toFleet := make(chan []targets.Change, changeQueue), make(chan []targets.Change, changeQueue)
	pods := make(chan lifecycle.Update, podQueue)
	t := &tracing{
		session: s,
		toFleet: toFleet,
		loop:    merge.NewLoop(merge.LoopConfig{Window: cfg.Window, Sink: cfg.Sink, MaxEvents: cfg.MaxEvents}),
	}
	t.fleet = fleet.New(fleet.Config{
		Jobs: jobs, Transport: cfg.Transport, Batches: t.loop.Batches(), Log: s.log,
		Initial: plans, Targets: res.Targets, Changes: toFleet, Pods: pods,
		Prepare: t.prepare, StartTimeout: cfg.AgentTimeout, MaxNodes: cfg.MaxNodes,
	})
	s.log.Printf("session %s: tracing %d pod(s) on %d node(s); starting %d agent(s) in namespace %s",
		cfg.SessionID, len(res.Targets), len(plans), len(plans), cfg.AgentNamespace)
	// the audit trail: an Event on every traced pod, now and at the end
	t.trail = audit.Start(ctx, cfg.Client, audit.Record{Session: cfg.SessionID, User: s.requestedBy, Host: audit.Host(),
		Syscalls: cfg.Syscalls, CaptureData: cfg.CaptureData, Count: cfg.Count}, res.Targets, s.log)

	var watches sync.WaitGroup
	watches.Add(2)
	go func() { defer watches.Done(); jobs.Watch(watchCtx, pods) }()
	go func() {
		defer watches.Done()
		src.Watch(watchCtx, res.ResourceVersion, changes, func(err error) { s.log.Printf("%v (retrying)", err) })
	}()
	go t.loop.Run()
	go t.fleet.Run(execCtx)

	reason, outErr := t.wait(ctx, changes)
	stopping := time.Now()
	err := teardown.Run(teardown.Steps{
		Agents:     t.fleet,
		CutStreams: cutStreams,
		StopWatches: func() {
			stopWatches()
			watches.Wait()
		},
		DeletePods: func(forced bool) error {
			return jobs.Delete(context.WithoutCancel(ctx), forced, cfg.Force)
		},
		ForceDelete: func() int { return jobs.ForceDelete(context.WithoutCancel(ctx)) },
		Merge:       t.loop,
		Force:       cfg.Force,
		Log:         s.log,
		Namespace:   cfg.AgentNamespace,
	})
	t.trail.End(reason)
	cutStreams()
	if !errors.Is(err, teardown.ErrInterruptedTwice) {
		sum := t.summary(reason, stopping)
		sum.Write(s.log)
		if err == nil {
			err = sum.Failures()
		}
		select {
		case <-t.fleet.Done():
			<-t.fleet.Finished() // what is left are requests, cut above
		default: // a stream that ignored the cut: not waited for
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
	allReady := t.fleet.AllReady()
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
			t.trail.Changes(cs)
			t.toFleet <- cs // the fleet's loop never waits long
		case <-t.fleet.Ended():
			reason = "every agent ended"
		}
	}
	return reason, outErr
}

// prepare plans the agent of a node that gained targets during the session (generation 1: the node is read
// first) or of a replacement (fleet.Config.Prepare).
func (t *tracing) prepare(ctx context.Context, node string, generation int) (fleet.Plan, error) {
	if generation == 1 {
		ctx, cancel := context.WithTimeout(ctx, lateNodeTimeout)
		defer cancel()
		t.nodes.Lookup(ctx, node)
	}
	return t.planFor(node, generation)
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
	for _, r := range t.fleet.Reports() {
		sum.Agents = append(sum.Agents, teardown.AgentSummary{
			Node: r.Node, Events: st.Received[r.ID], Lost: r.Lost, Limited: r.Limited, Filtered: r.Filtered,
			Dropped: r.Dropped,
			Failed:  r.Failed, Replaced: r.Replaced,
		})
	}
	return sum
}
