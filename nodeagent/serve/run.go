//go:build linux

package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/event/stack"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/lineout"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/nodeagent/stackstage"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/wire"
)

// maxCommandBytes bounds one command line (a target's labels are the only variable part).
const maxCommandBytes = 1 << 20

// maxQueuedCommands bounds the commands read but not yet handled (the reader never waits for the session).
const maxQueuedCommands = 1 << 16

// ErrHeartbeat ends a session whose plugin stopped sending commands.
var ErrHeartbeat = errors.New("no command from the plugin within the heartbeat timeout")

// errInputClosed is the dead-man switch's cause when the plugin's stream ended (EOF or a read error).
var errInputClosed = errors.New("the plugin closed the session")

// incoming is one line read from the plugin.
type incoming struct {
	cmd protocol.Command
	err error // a malformed line
}

// inbox holds the commands the reader took from stdin until the control loop handles them. The reader never
// waits for the control loop: it keeps reading (and keeps the heartbeat fresh) whatever the loop is doing.
type inbox struct {
	mu      sync.Mutex
	queue   []incoming
	ended   bool  // the reader stopped: EOF, or readErr
	readErr error // why, when it was not EOF
	dropped int
	ready   chan struct{} // one token: something was queued or the input ended
}

func (b *inbox) put(in incoming) {
	b.mu.Lock()
	if len(b.queue) < maxQueuedCommands {
		b.queue = append(b.queue, in)
	} else {
		b.dropped++
	}
	b.mu.Unlock()
	b.signal()
}

func (b *inbox) end(err error) {
	b.mu.Lock()
	b.ended, b.readErr = true, err
	b.mu.Unlock()
	b.signal()
}

func (b *inbox) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// take returns the queued commands, and whether the input has ended after them.
func (b *inbox) take() (cmds []incoming, ended bool, readErr error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cmds, b.queue = b.queue, nil
	return cmds, b.ended, b.readErr
}

// target is a container selected by its mount namespace: one the plugin added by id (OpAdd), or a running
// container of a pod target where cgroups cannot be read.
type target struct {
	id          uint32
	nsID        uint64
	pid         int       // the container's init when it was attached
	containerID string    // as the plugin sent it
	pod         *podState // its pod target; nil for OpAdd's
}

type session struct {
	cfg    Config
	out    *lineout.Writer // events and notices
	errOut *lineout.Writer // diagnostics: never waited for
	start  *protocol.Start
	in     *inbox
	// inputEnded is closed when the reader stopped (EOF or error): the dead-man switch's first trigger.
	inputEnded chan struct{}

	tracer  Tracer
	counter Counter // counting mode
	dec     Decoder
	// framing is what the session writes after its ready notice (package wire); enc, set with the ready
	// notice under the output lock in a binary framing, encodes its events and notices
	framing  string
	enc      *wire.Encoder
	resolver Resolver
	// stage symbolizes the events' stacks (OpStart's Stacks); nil without stacks
	stage *stackstage.Stage
	// bareFrames is writeLocked's buffer for a held record's stacks when the stage has no free slot (output lock)
	bareFrames []stack.Frame

	targets map[string]target // by normalized container id
	byNS    map[uint64]string // mount namespace id -> container id, to refuse two targets in one namespace
	exited  map[string]bool   // containers detached because they exited, until the plugin removes them
	nextID  uint32            // the last container target id given (podTargetBit clear)

	// Pod targets (OpPod) by UID and by target id; the control loop owns them.
	pods    map[string]*podState
	podByID map[uint32]*podState
	nextPod uint32
	// selection is how pods are selected (event.SelectionCgroup or SelectionMountNS); cg is the cgroup
	// selection, nil where the node's cgroups cannot be read.
	selection, selectionWhy string
	cg                      *cgroupSel
	// ctrs are the containers of pod targets by normalized id. The control loop changes the map (and its
	// entries' phase and stamp) with the output lock held; the per-event path reads it with the lock held.
	ctrs map[string]*ctr
	// hold keeps the records of containers not named yet (output lock); the event reader kicks holdKick
	// when it held one.
	hold     holdBuf
	holdKick chan struct{}
	// Runtime lookups run off the control loop (at most maxLookups at once) and answer on lookups.
	lookups     chan lookup
	lookupSem   chan struct{}
	lookupCtx   context.Context
	stopLookups context.CancelFunc
	lookupWG    sync.WaitGroup
	// stopReading ends the event reader (once MaxEvents was reached by held records).
	stopReading context.CancelFunc

	events   atomic.Uint64
	lostSeen uint64
	// limit is the --max-rate bucket (nil: no cap); limited counts what it dropped, limitedSeen what was
	// reported.
	limit       *bucket
	limited     atomic.Uint64
	limitedSeen uint64

	// lastCommand is the wall time (UnixNano) the reader last received a line: the heartbeat is judged on
	// it rather than on when the control loop got to the command, which can be later while a lookup runs.
	lastCommand atomic.Int64
	// done is closed when Run returns, releasing the command reader.
	done chan struct{}
}

// Run runs a session until the plugin ends it, the plugin disappears, MaxEvents is reached or ctx is done.
// It returns nil for those ends, ErrHeartbeat when the plugin went silent, and an error (after writing an
// error notice) when the session could not start. Everything attached is detached before it returns.
//
// The dead-man switch (stdin EOF, heartbeat) runs on its own goroutine and needs nothing from the control
// loop or the output: when the plugin is gone and the session does not end within AbortGrace (its output is
// stalled, say), the output is aborted, which releases every writer; HardStop is the last resort.
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	s := &session{
		cfg:        cfg,
		out:        lineout.New(cfg.Stdout, cfg.OutputBytes, cfg.FlushInterval),
		errOut:     lineout.New(cfg.Stderr, stderrBytes, cfg.FlushInterval),
		in:         &inbox{ready: make(chan struct{}, 1)},
		inputEnded: make(chan struct{}),
		targets:    map[string]target{},
		byNS:       map[uint64]string{},
		exited:     map[string]bool{},
		pods:       map[string]*podState{},
		podByID:    map[uint32]*podState{},
		ctrs:       map[string]*ctr{},
		holdKick:   make(chan struct{}, 1),
		lookups:    make(chan lookup),
		lookupSem:  make(chan struct{}, maxLookups),
		done:       make(chan struct{}),
	}
	defer close(s.done)
	defer func() {
		_ = s.out.Close()
		_ = s.errOut.Close()
	}()
	s.lastCommand.Store(cfg.Now().UnixNano())
	runCtx, trip := context.WithCancelCause(ctx)
	defer trip(nil)
	go s.readCommands()
	go s.deadMan(trip)

	// The first command must say what to trace.
	var first incoming
	for got := false; !got; {
		select {
		case <-runCtx.Done():
			switch cause := context.Cause(runCtx); {
			case errors.Is(cause, ErrHeartbeat):
				s.logf("%v; stopping", ErrHeartbeat)
				return ErrHeartbeat
			case errors.Is(cause, errInputClosed):
				s.logf("the plugin closed the session before starting it")
				return nil
			default:
				s.logf("stopping before the session started: %v", cause)
				return nil
			}
		case <-s.in.ready:
			cmds, ended, readErr := s.in.take()
			switch {
			case len(cmds) > 0:
				first, got = cmds[0], true
				s.requeue(cmds[1:])
			case readErr != nil:
				return s.fatal(fmt.Errorf("reading commands: %w", readErr))
			case ended:
				s.logf("the plugin closed the session before starting it")
				return nil
			}
		}
	}
	switch {
	case first.err != nil:
		return s.fatal(first.err)
	case first.cmd.Op != protocol.OpStart || first.cmd.Start == nil:
		return s.fatal(fmt.Errorf("the first command must be %q with its settings, got %q", protocol.OpStart, first.cmd.Op))
	case first.cmd.Start.Version != protocol.Version:
		return s.fatal(protocol.VersionMismatch(first.cmd.Start.Version))
	}
	if _, err := wire.Choose(first.cmd.Start.Framings); err != nil {
		return s.fatal(err)
	}
	s.start = first.cmd.Start
	if s.start.MaxRate > 0 {
		s.limit = newBucket(s.start.MaxRate)
	}
	if err := s.setUp(); err != nil {
		return s.fatal(err)
	}
	defer s.tearDown()

	s.lookupCtx, s.stopLookups = context.WithCancel(runCtx)
	cgEvents := s.runCgroups(runCtx)
	readCtx, stopReading := context.WithCancel(runCtx)
	defer stopReading()
	s.stopReading = stopReading
	readDone := make(chan error, 1)
	go func() { readDone <- s.tracer.Read(readCtx, s.onRecord) }()
	s.framing = s.chooseFraming()
	s.notice(event.Notice{Kind: event.NoticeReady, Selection: s.selection, Message: s.selectionWhy, Framing: s.framing})
	s.logf("session %q ready on node %q; pods selected by %s: %s; events in %s", s.start.Session, s.start.Node,
		s.selection, s.selectionWhy, s.framing)

	lostTick := time.NewTicker(cfg.LostInterval)
	defer lostTick.Stop()
	statsTick := time.NewTicker(cfg.StatsInterval)
	defer statsTick.Stop()
	var holdTick <-chan time.Time
	if s.cg != nil {
		t := time.NewTicker(holdTimeout / 3)
		defer t.Stop()
		holdTick = t.C
	}
	var countTick <-chan time.Time
	if s.counter != nil {
		t := time.NewTicker(s.countInterval())
		defer t.Stop()
		countTick = t.C
	}
	var reason string
	var result error
loop:
	for {
		select {
		case <-runCtx.Done():
			switch cause := context.Cause(runCtx); {
			case errors.Is(cause, ErrHeartbeat):
				reason, result = ErrHeartbeat.Error(), ErrHeartbeat
			case errors.Is(cause, errInputClosed):
				reason = errInputClosed.Error()
			default:
				reason = "stopped by signal"
			}
			break loop
		case <-s.in.ready:
			cmds, ended, readErr := s.in.take()
			for _, in := range cmds {
				if in.err != nil {
					s.logf("ignoring a command: %v", in.err)
					continue
				}
				if stop := s.handle(runCtx, in.cmd); stop {
					reason = "stopped by the plugin"
					break loop
				}
			}
			switch {
			case readErr != nil:
				reason = fmt.Sprintf("reading commands: %v", readErr)
				break loop
			case ended:
				reason = errInputClosed.Error()
				break loop
			}
		case ev, ok := <-cgEvents:
			if !ok {
				cgEvents = nil
				s.logf("no longer watching cgroups: pods whose cgroup is not found yet will not be traced")
				continue
			}
			s.onCgroup(ev)
		case l := <-s.lookups:
			s.onLookup(l)
		case <-s.holdKick:
			s.onHold()
		case <-holdTick:
			s.expireHolds(s.cfg.Now())
		case <-lostTick.C:
			s.reportDrops()
			s.detachExited()
			s.forgetGone(s.cfg.Now())
		case <-statsTick.C:
			s.notice(event.Notice{Kind: event.NoticeStats, Events: s.events.Load(), FilteredTotal: s.filtered(),
				Symbols: s.symbolStats()})
		case <-countTick:
			s.snapshot()
		case err := <-readDone:
			readDone = nil
			switch {
			case runCtx.Err() != nil: // the reader saw the end first
				continue
			case err != nil && !errors.Is(err, context.Canceled):
				reason, result = fmt.Sprintf("reading events: %v", err), fmt.Errorf("reading events: %w", err)
			case s.out.Err() != nil:
				reason, result = "the event stream is closed", fmt.Errorf("writing events: %w", s.out.Err())
			case s.start.MaxEvents > 0 && s.events.Load() >= s.start.MaxEvents:
				reason = fmt.Sprintf("reached the limit of %d events", s.start.MaxEvents)
			default:
				reason, result = "the event reader stopped", errors.New("the event reader stopped")
			}
			break loop
		}
	}
	stopReading()
	if readDone != nil {
		select {
		case err := <-readDone:
			readDone = nil
			if err != nil && !errors.Is(err, context.Canceled) {
				s.logf("reading events: %v", err)
			}
		case <-time.After(readerStopTimeout):
			s.logf("the event reader did not stop within %s", readerStopTimeout)
		}
	}
	if readDone == nil && s.stage != nil {
		// the reader has returned: the events it handed over are written before the exit notice
		s.stage.Close()
	}
	s.reportDrops()
	if s.counter != nil {
		s.snapshot() // the calls counted since the last one
	}
	filtered := s.filtered()
	s.logf("%s; %d events, %d lost, %d over --max-rate, %d filtered out", reason, s.events.Load(), s.lostSeen,
		s.limitedSeen, filtered)
	if st := s.symbolStats(); st != nil {
		s.logf("symbols: %d binaries, %d processes, %d KiB held (budget %d KiB, kernel %d KiB), %d frames cached, %d read",
			st.Modules, st.Processes, st.Bytes>>10, st.Budget>>10, st.KernelBytes>>10, st.Hits, st.Misses)
	}
	exit := event.Notice{Kind: event.NoticeExit, Events: s.events.Load(), LostTotal: s.lostSeen,
		LimitedTotal: s.limitedSeen, FilteredTotal: filtered, Symbols: s.symbolStats(), Message: reason}
	if s.lostSeen > 0 {
		exit.DroppedCalls = s.droppedCalls()
	}
	s.notice(exit)
	return result
}

// requeue puts commands back in front of the inbox (the first command was taken with others behind it).
func (s *session) requeue(cmds []incoming) {
	if len(cmds) == 0 {
		return
	}
	s.in.mu.Lock()
	s.in.queue = append(cmds, s.in.queue...)
	s.in.mu.Unlock()
	s.in.signal()
}

// deadMan is the dead-man switch. It ends the session when the plugin's stream ends (at once when the
// control loop sees that itself; otherwise within AbortGrace) or when no command arrived for
// HeartbeatTimeout. It waits on nothing but timers and the reader: when the session has not ended AbortGrace
// after the trigger, the output is aborted (a stalled stdout releases every writer) and in-flight work is
// cancelled; HardStopAfter later, HardStop is called.
func (s *session) deadMan(trip context.CancelCauseFunc) {
	hb := time.NewTimer(s.cfg.HeartbeatTimeout)
	defer hb.Stop()
	var cause error
	for cause == nil {
		select {
		case <-s.done:
			return
		case <-s.inputEnded:
			// The control loop sees the end in order after the last commands (a stop, say) and ends on its own.
			cause = errInputClosed
		case <-hb.C:
			idle := s.cfg.Now().Sub(time.Unix(0, s.lastCommand.Load()))
			if idle < s.cfg.HeartbeatTimeout {
				hb.Reset(s.cfg.HeartbeatTimeout - idle)
				continue
			}
			cause = ErrHeartbeat
			trip(cause)
		}
	}
	grace := time.NewTimer(s.cfg.AbortGrace)
	defer grace.Stop()
	select {
	case <-s.done:
		return
	case <-grace.C:
	}
	trip(cause)
	s.out.Abort()
	s.errOut.Abort()
	hard := time.NewTimer(s.cfg.HardStopAfter)
	defer hard.Stop()
	select {
	case <-s.done:
	case <-hard.C:
		if s.cfg.HardStop != nil {
			s.cfg.HardStop(fmt.Errorf("%w, and the session did not end within %s", cause, s.cfg.AbortGrace+s.cfg.HardStopAfter))
		}
	}
}

// setUp builds the tracer, decoder and resolver from OpStart.
func (s *session) setUp() error {
	calls, err := s.cfg.Syscalls(s.start.Syscalls)
	if err != nil {
		return fmt.Errorf("syscalls: %w", err)
	}
	s.resolver, err = s.cfg.NewResolver(s.start.CRISocket)
	if err != nil && s.start.CRISocket != "" {
		// The plugin's hint (a node annotation) may be stale: detection is still worth a try.
		s.logf("%v; detecting the CRI socket instead", err)
		s.resolver, err = s.cfg.NewResolver("")
	}
	if err != nil {
		return err
	}
	s.dec = s.cfg.NewDecoder(s.start)
	if s.start.Count {
		var ct CountTracer
		if s.cfg.NewCounter == nil {
			err = errors.New("this agent has no counting mode")
		} else if ct, err = s.cfg.NewCounter(s.start); err == nil {
			s.tracer, s.counter = ct, ct
		}
	} else {
		s.tracer, err = s.cfg.NewTracer(s.start)
	}
	if err != nil {
		_ = s.resolver.Close()
		return err
	}
	if err := s.tracer.Select(calls); err != nil {
		_ = s.tracer.Close()
		_ = s.resolver.Close()
		return fmt.Errorf("selecting syscalls: %w", err)
	}
	s.selection, s.selectionWhy = s.setUpCgroups()
	if s.start.Stacks > 0 && !s.start.Count {
		s.stage = stackstage.New(stackstage.Config{Out: s.out, Format: stackstage.JSON, Logf: s.logf})
	}
	return nil
}

// symbolStats is the symbol caches' state for the stats notices (the stack stage's, or counting by caller's);
// nil without stacks.
func (s *session) symbolStats() *event.SymbolStats {
	switch {
	case s.stage != nil:
		return s.stage.Stats()
	case s.counter != nil:
		return s.counter.SymbolStats()
	}
	return nil
}

// tearDown stops what finds pods and containers, then detaches the probe.
func (s *session) tearDown() {
	s.stopCgroups()
	if s.stopLookups != nil {
		s.stopLookups()
	}
	s.lookupWG.Wait()
	if err := s.tracer.Close(); err != nil {
		s.logf("detaching the probe: %v", err)
	}
	if err := s.resolver.Close(); err != nil {
		s.logf("closing the CRI connection: %v", err)
	}
}

// onRecord is the per-event path: encode into the output buffer, no allocation. It waits while the output
// buffer is full (the kernel ring then fills and counts its drops).
//
// A record of a pod's cgroup (podTargetBit) is named after its container first (attribute): its container's
// names when known, the pod's when the record is the pod's own cgroup's; a record whose container is not named
// yet is held (or, not selected, dropped).
func (s *session) onRecord(rec *record.Record) bool {
	if s.limit != nil && !s.limit.take(rec.Finish) {
		s.limited.Add(1)
		return true
	}
	var slot stackstage.Slot
	if s.stage != nil {
		// taken before the output lock, which the stage's goroutine needs to give slots back
		slot = s.stage.Take()
	}
	s.out.Lock()
	if rec.TargetID&podTargetBit != 0 && s.cg != nil && !s.attribute(rec) {
		s.out.Unlock()
		s.stage.Release(slot)
		return true
	}
	if s.start.MaxEvents > 0 && s.events.Load() >= s.start.MaxEvents {
		s.out.Unlock() // reached by held records the control loop wrote
		s.stage.Release(slot)
		return false
	}
	var err error
	if s.stage != nil {
		// the line without its stacks, which the stage symbolizes and adds on its own goroutine
		line := s.dec.AppendJSONOpen(slot.Line(), rec)
		s.out.Unlock()
		err = s.stage.Submit(slot, line, rec)
	} else {
		buf := s.dec.AppendJSON(s.out.AvailableBuffer(), rec)
		err = s.out.WriteLocked(buf)
		s.out.Unlock()
	}
	if err != nil {
		return false
	}
	n := s.events.Add(1)
	return s.start.MaxEvents == 0 || n < s.start.MaxEvents
}

// handle runs one command; it reports whether the session must end.
func (s *session) handle(ctx context.Context, cmd protocol.Command) (stop bool) {
	switch cmd.Op {
	case protocol.OpPing:
	case protocol.OpStop:
		return true
	case protocol.OpPod:
		s.addPod(ctx, cmd.Pod)
	case protocol.OpForget:
		s.forgetPod(ctx, cmd.PodUID)
	case protocol.OpAdd:
		s.add(ctx, cmd.Target)
	case protocol.OpRemove:
		s.remove(cmd.ContainerID)
	case protocol.OpStart:
		s.logf("ignoring %q: the session has started already", cmd.Op)
	default:
		s.logf("ignoring unknown command %q", cmd.Op)
	}
	return false
}

func (s *session) add(ctx context.Context, t *protocol.Target) {
	if t == nil || t.ContainerID == "" {
		s.logf("ignoring %q without a target container id", protocol.OpAdd)
		return
	}
	key := cri.NormalizeID(t.ContainerID)
	maxLabels := s.maxLabelBytes()
	bounded, left := boundLabels(t.Labels, maxLabels)
	if left > 0 {
		c := *t
		c.Labels = bounded
		t = &c
	}
	msg := ""
	if left > 0 {
		msg = fmt.Sprintf("%d label(s) left out of its events: more than %d bytes of labels", left, maxLabels)
	}
	if cur, ok := s.targets[key]; ok {
		s.setTarget(cur.id, t) // new metadata for a container already traced
		s.notice(event.Notice{Kind: event.NoticeTargetAttached, ContainerID: t.ContainerID, Message: msg})
		return
	}
	if err := s.attach(ctx, key, t); err != nil {
		s.logf("container %s: %v", t.ContainerID, err)
		s.notice(event.Notice{Kind: event.NoticeTargetError, ContainerID: t.ContainerID, Message: err.Error()})
		return
	}
	s.notice(event.Notice{Kind: event.NoticeTargetAttached, ContainerID: t.ContainerID, Message: msg})
}

func (s *session) attach(ctx context.Context, key string, t *protocol.Target) error {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.ResolveTimeout)
	defer cancel()
	pid, err := s.resolver.ContainerPID(rctx, t.ContainerID)
	if err != nil {
		return err
	}
	nsID, err := s.cfg.MountNSID(pid)
	if err != nil {
		return fmt.Errorf("container %q (pid %d): %w", t.ContainerID, pid, err)
	}
	if other, ok := s.byNS[nsID]; ok {
		return fmt.Errorf("container %q shares its mount namespace with container %q, which is traced already", t.ContainerID, other)
	}
	s.nextID++
	id := s.nextID
	s.setTarget(id, t) // before the filter, so that its first events carry the metadata
	if err := s.tracer.AddMountNS(nsID, id); err != nil {
		s.removeTarget(id)
		return fmt.Errorf("tracing container %q: %w", t.ContainerID, err)
	}
	s.targets[key] = target{id: id, nsID: nsID, pid: pid, containerID: t.ContainerID}
	s.byNS[nsID] = t.ContainerID
	s.logf("tracing container %s (pid %d, mount namespace %d) as target %d", t.ContainerID, pid, nsID, id)
	return nil
}

func (s *session) remove(containerID string) {
	key := cri.NormalizeID(containerID)
	cur, ok := s.targets[key]
	if !ok {
		if s.exited[key] {
			delete(s.exited, key) // the plugin was told when it exited
			return
		}
		s.notice(event.Notice{Kind: event.NoticeTargetDetached, ContainerID: containerID, Message: "not traced"})
		return
	}
	if err := s.tracer.RemoveMountNS(cur.nsID); err != nil {
		s.logf("container %s: detaching: %v", containerID, err)
	}
	// The decoder keeps the metadata: records already in the ring buffer still carry this target's id.
	s.forgetCounts(cur.id)
	delete(s.targets, key)
	delete(s.byNS, cur.nsID)
	s.notice(event.Notice{Kind: event.NoticeTargetDetached, ContainerID: containerID})
	if c := s.ctrs[key]; c != nil {
		s.containerGone(c)
	}
}

// detachExited drops containers whose init is gone (or is another process now), so that the plugin learns of
// an exit without waiting for the API server; a restarted container comes back under a new id.
func (s *session) detachExited() {
	for key, t := range s.targets {
		if nsID, err := s.cfg.MountNSID(t.pid); err == nil && nsID == t.nsID {
			continue
		}
		if err := s.tracer.RemoveMountNS(t.nsID); err != nil {
			s.logf("container %s: detaching: %v", t.containerID, err)
		}
		s.forgetCounts(t.id)
		delete(s.targets, key)
		delete(s.byNS, t.nsID)
		s.exited[key] = true
		s.logf("container %s exited", t.containerID)
		s.notice(event.Notice{Kind: event.NoticeTargetDetached, ContainerID: t.containerID, Message: "container exited"})
		if c := s.ctrs[key]; c != nil {
			s.containerGone(c)
		}
	}
}

func (s *session) setTarget(id uint32, t *protocol.Target) {
	s.out.Lock() // the decoder is shared with the event reader
	s.dec.SetTarget(id, t)
	s.out.Unlock()
	if s.counter != nil {
		s.counter.SetTarget(id, t)
	}
}

func (s *session) removeTarget(id uint32) {
	s.out.Lock()
	s.dec.RemoveTarget(id)
	s.out.Unlock()
	if s.counter != nil {
		s.counter.RemoveTarget(id)
	}
}

// forgetCounts lets the counter drop a detached target's counters once its last calls were reported.
func (s *session) forgetCounts(id uint32) {
	if s.counter != nil {
		s.counter.RemoveTarget(id)
	}
}

// countInterval is OpStart's snapshot interval (default one second).
func (s *session) countInterval() time.Duration {
	if s.start.CountIntervalMs > 0 {
		return time.Duration(s.start.CountIntervalMs) * time.Millisecond
	}
	return time.Second
}

// snapshot writes the counting mode's snapshot line and has it written at once, as a notice: one line per
// interval.
func (s *session) snapshot() {
	snap, err := s.counter.Snapshot(s.start.Node, s.start.Session, s.cfg.Now())
	if err != nil {
		s.logf("counting: %v", err)
		return
	}
	line, err := json.Marshal(event.Line{Snapshot: snap})
	if err != nil {
		s.logf("encoding a snapshot: %v", err)
		return
	}
	if _, err := s.out.Write(append(line, '\n')); err == nil {
		s.out.FlushSoon()
	}
}

// filtered is what the incident filters dropped so far (0 before OpStart).
func (s *session) filtered() uint64 {
	if s.tracer == nil {
		return 0
	}
	return s.tracer.Filtered()
}

// reportDrops reports, when they grew, the kernel's drops (ring buffer full) and the rate cap's drops,
// each in its own notice.
func (s *session) reportDrops() {
	if s.tracer == nil {
		return
	}
	if lost := s.tracer.Lost(); lost > s.lostSeen {
		s.notice(event.Notice{Kind: event.NoticeLost, Lost: lost - s.lostSeen, LostTotal: lost, DroppedCalls: s.droppedCalls()})
		s.lostSeen = lost
	}
	if limited := s.limited.Load(); limited > s.limitedSeen {
		s.notice(event.Notice{Kind: event.NoticeRateLimited, Limited: limited - s.limitedSeen, LimitedTotal: limited})
		s.limitedSeen = limited
	}
}

// droppedCaller is a Tracer that says which calls the kernel dropped (tracer.Tracer).
type droppedCaller interface {
	DroppedCalls() ([]event.DroppedCall, error)
}

// droppedCalls is what the tracer dropped, by call (event.Notice.DroppedCalls), when it says.
func (s *session) droppedCalls() []event.DroppedCall {
	d, ok := s.tracer.(droppedCaller)
	if !ok {
		return nil
	}
	calls, err := d.DroppedCalls()
	if err != nil {
		s.logf("%v", err)
		return nil
	}
	return calls
}

// readCommands parses the plugin's lines into the inbox until EOF or an error; it never waits for the
// control loop, so that every line, pings included, refreshes the heartbeat as it arrives.
func (s *session) readCommands() {
	defer close(s.inputEnded)
	sc := bufio.NewScanner(s.cfg.Stdin)
	sc.Buffer(make([]byte, 0, 64<<10), maxCommandBytes)
	for sc.Scan() {
		s.lastCommand.Store(s.cfg.Now().UnixNano())
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var in incoming
		if err := json.Unmarshal(line, &in.cmd); err != nil {
			in.err = fmt.Errorf("malformed command %q: %w", truncate(line, 80), err)
		}
		s.in.put(in)
	}
	s.in.end(sc.Err())
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// notice writes a notice line and has it written at once: notices are rare and the plugin waits on some of
// them. It waits only for room in the buffer (an aborted output releases it). Its time is now unless set (a
// container's start or end, as the runtime says).
func (s *session) notice(n event.Notice) {
	if s.start != nil {
		n.Node = s.start.Node
	}
	if n.Time == 0 {
		n.Time = s.cfg.Now().UnixNano()
	}
	line, err := json.Marshal(struct {
		Notice *event.Notice `json:"notice"`
	}{&n})
	if err != nil {
		s.logf("encoding a notice: %v", err)
		return
	}
	line = append(line, '\n')
	s.out.Lock()
	if s.enc != nil { // a binary framing (after the ready notice): the line is an op
		line = s.enc.AppendLine(s.out.AvailableBuffer(), line)
	}
	err = s.out.WriteLocked(line)
	if n.Kind == event.NoticeReady && err == nil {
		s.switchFramingLocked()
	}
	s.out.Unlock()
	if err == nil {
		s.out.FlushSoon()
	}
}

// fatal reports an error that prevents the session from running, on both streams.
func (s *session) fatal(err error) error {
	s.logf("%v", err)
	s.notice(event.Notice{Kind: event.NoticeError, Message: err.Error()})
	return err
}

// logf writes a diagnostic line to stderr without ever waiting: stderr travels over the same connection as
// stdout and can stall with it; a line that does not fit then is dropped.
func (s *session) logf(format string, args ...any) {
	s.errOut.TryWrite(fmt.Appendf(nil, "swoll-agent: "+format+"\n", args...))
	s.errOut.FlushSoon()
}
