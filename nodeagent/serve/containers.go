//go:build linux

package serve

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/cgroups"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
)

const (
	// maxLookups bounds the runtime lookups in flight: a hung runtime ties up that many goroutines, not more.
	maxLookups = 4
	// endPoll and endWait: a container's cgroup is removed as its runtime deletes the task, a moment before
	// the runtime records the exit; its status is asked again every endPoll until it says how the run ended,
	// for at most endWait.
	endPoll = 50 * time.Millisecond
	endWait = 5 * time.Second
	// goneRetention is how long a container is remembered after its cgroup was removed (its last records are
	// read by then), before its names are forgotten.
	goneRetention = 30 * time.Second
)

// phase is where a container of a pod target stands.
type phase uint8

const (
	// phaseResolving: the runtime is being asked for its name; its records wait in the hold.
	phaseResolving phase = iota
	// phaseTraced: selected; its records carry its names (stamp).
	phaseTraced
	// phaseExcluded: not selected (-c, or the pod's sandbox), or not named in time under a -c selection
	// (unnamed): its records are dropped.
	phaseExcluded
)

// ctr is one container (one run: one container id) of a pod target. The control loop owns it; phase, stamp,
// unnamed and dropped are also read (and dropped counted) by the per-event path: both hold the output lock.
type ctr struct {
	id  string // normalized
	pod *podState
	// since is when its trace began (its pod's selection, or its attach by mount namespace).
	since time.Time

	phase   phase
	stamp   uint32 // its target id: the decoder's names for it, and the kernel's for its cgroup
	unnamed bool   // its phase was decided without its name (the runtime did not answer in time)
	dropped uint64 // records dropped because it is unnamed, since the last report

	cgroup   cgroups.Cgroup // its own cgroup; zero until the watcher reported it
	kernel   bool           // its cgroup is a kernel target (stamp)
	name     string
	kind     protocol.ContainerKind
	restarts int
	// answered: the runtime answered about its start; started, ended: its notices were written.
	answered, started, ended bool
	gone                     time.Time // its cgroup was removed (or, by mount namespace, it exited)
	end                      *lookup   // how it ended, when the runtime said so before it named it
}

// lookup is the runtime's answer about a container, for the control loop.
type lookup struct {
	id  string
	end bool
	st  *cri.Status
	err error
}

// container returns the container of a pod with this id, making it (and asking the runtime for its name) when
// it is new.
func (s *session) container(ps *podState, id string) *ctr {
	id = cri.NormalizeID(id)
	if c := s.ctrs[id]; c != nil {
		return c
	}
	c := &ctr{id: id, pod: ps, since: ps.since, phase: phaseResolving}
	if s.cg == nil {
		c.since = s.cfg.Now()
	}
	s.out.Lock()
	s.ctrs[id] = c
	s.out.Unlock()
	s.ask(id, false)
	return c
}

// ask has the runtime asked about a container, off the control loop; the answer comes back on s.lookups.
func (s *session) ask(id string, end bool) {
	s.lookupWG.Add(1)
	go func() {
		defer s.lookupWG.Done()
		select {
		case s.lookupSem <- struct{}{}:
		case <-s.lookupCtx.Done():
			return
		}
		st, err := s.status(s.lookupCtx, id, end)
		<-s.lookupSem
		select {
		case s.lookups <- lookup{id: id, end: end, st: st, err: err}:
		case <-s.lookupCtx.Done():
		}
	}()
}

// status asks the runtime about a container; for its end, until the runtime says it exited.
func (s *session) status(ctx context.Context, id string, end bool) (*cri.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ResolveTimeout)
	defer cancel()
	if !end {
		return s.resolver.Status(ctx, id)
	}
	ctx, cancelWait := context.WithTimeout(ctx, endWait)
	defer cancelWait()
	poll := time.NewTicker(endPoll)
	defer poll.Stop()
	for {
		st, err := s.resolver.Status(ctx, id)
		if err != nil || st.State == cri.StateExited {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, nil // it says no more: the notice says what it knows
		case <-poll.C:
		}
	}
}

// onLookup takes the runtime's answer.
func (s *session) onLookup(l lookup) {
	c := s.ctrs[l.id]
	if c == nil {
		return // its pod was forgotten meanwhile
	}
	if l.end {
		if c.phase == phaseResolving {
			c.end = &l // said once it is named
			s.logf("container %s of pod %s/%s ended before the runtime named it", short(c.id), c.pod.pod.Namespace, c.pod.pod.Name)
			return
		}
		s.ended(c, l.st, l.err)
		return
	}
	c.answered = true
	defer func() {
		if c.end != nil && c.phase != phaseResolving {
			s.ended(c, c.end.st, c.end.err)
			c.end = nil
		}
	}()
	switch {
	case l.err != nil:
		s.logf("container %s of pod %s/%s: %v", short(c.id), c.pod.pod.Namespace, c.pod.pod.Name, l.err)
		// The plugin's word, if it has the id already; else the hold decides when its records are overdue.
		for _, pc := range c.pod.pod.Containers {
			if cri.NormalizeID(pc.ID) == c.id {
				s.named(c, pc.Name, pc.RestartCount, nil)
			}
		}
	case l.st.Sandbox:
		s.setPhase(c, phaseExcluded, c.stamp, false) // the pod's infrastructure, not one of its containers
	default:
		s.named(c, l.st.Name, l.st.RestartCount, l.st)
	}
}

// named decides a container's selection from its name, names its records and says it started (st: what the
// runtime said, nil when it did not).
func (s *session) named(c *ctr, name string, restarts int, st *cri.Status) {
	ps := c.pod
	c.name, c.restarts = name, restarts
	c.kind = protocol.KindRegular
	image := ""
	if pc := ps.pod.Container(name); pc != nil {
		c.kind, image = pc.Kind, pc.Image
	}
	if !ps.pod.Selects(name) {
		s.setPhase(c, phaseExcluded, c.stamp, false)
		return
	}
	stamp := s.stampOf(c)
	n := restarts
	s.setTarget(stamp, &protocol.Target{ContainerID: c.id, Pod: ps.pod.Name, Namespace: ps.pod.Namespace,
		Container: name, Image: image, Labels: ps.pod.Labels, RestartCount: &n})
	if st != nil || c.answered {
		// before its held records. (Named by the plugin before the runtime answered: the answer says it, with
		// its times.)
		s.startedNotice(c, st)
	}
	s.setPhase(c, phaseTraced, stamp, false)
	s.selectContainer(c)
}

// unnamedAfterHold decides, for a container whose records waited the hold's time while the runtime did not
// name it: a pod traced whole takes its records without the name, a -c selection (which cannot tell) drops
// them and says so.
func (s *session) unnamedAfterHold(c *ctr) {
	ps := c.pod
	if len(ps.pod.Select) > 0 {
		s.setPhase(c, phaseExcluded, c.stamp, true)
		return
	}
	stamp := s.stampOf(c)
	s.setTarget(stamp, &protocol.Target{ContainerID: c.id, Pod: ps.pod.Name, Namespace: ps.pod.Namespace, Labels: ps.pod.Labels})
	s.setPhase(c, phaseTraced, stamp, true)
	s.selectContainer(c)
}

// stampOf is a container's target id, a new one when it has none yet.
func (s *session) stampOf(c *ctr) uint32 {
	if c.stamp != 0 {
		return c.stamp
	}
	s.nextID++
	return s.nextID
}

// setPhase changes a container's phase, target id and unnamed mark and, in the same critical section, writes
// or drops its held records: records read later find the new phase, after the held ones.
func (s *session) setPhase(c *ctr, p phase, stamp uint32, unnamed bool) {
	s.out.Lock()
	defer s.out.Unlock()
	c.phase, c.stamp, c.unnamed = p, stamp, unnamed
	s.hold.take(c.id, func(rec *record.Record) {
		if p == phaseExcluded {
			if c.unnamed {
				c.dropped++
			}
			return
		}
		rec.TargetID = c.stamp
		s.writeLocked(rec)
	})
}

// selectContainer makes a traced container's own cgroup a kernel target: its records then carry its names
// from the kernel on (no lookup on the per-event path), and counting mode counts it apart from its pod.
func (s *session) selectContainer(c *ctr) {
	if s.cg == nil || c.kernel || c.phase != phaseTraced || c.cgroup.ID == 0 || !c.gone.IsZero() {
		return
	}
	if err := s.tracer.AddCgroup(c.cgroup.ID, c.cgroup.Level, c.stamp); err != nil {
		s.logf("container %s: its own cgroup stays selected through its pod's: %v", short(c.id), err)
		return
	}
	c.kernel = true
}

// containerGone notes that a container's run is over (its cgroup was removed, or by mount namespace its init
// exited) and asks the runtime how it ended.
func (s *session) containerGone(c *ctr) {
	if !c.gone.IsZero() {
		return
	}
	c.gone = s.cfg.Now()
	s.dropContainer(c)
	if c.phase != phaseExcluded {
		s.ask(c.id, true)
	}
}

// dropContainer removes a container's kernel target.
func (s *session) dropContainer(c *ctr) {
	if !c.kernel {
		return
	}
	if err := s.tracer.RemoveCgroup(c.cgroup.ID); err != nil {
		s.logf("container %s: detaching: %v", short(c.id), err)
	}
	c.kernel = false
}

// startedNotice says that a traced container's run started, and how late its trace began if it had started
// before.
func (s *session) startedNotice(c *ctr, st *cri.Status) {
	if c.started {
		return
	}
	c.started = true
	n := s.containerNotice(c, event.NoticeContainerStarted)
	if st != nil && !st.CreatedAt.IsZero() {
		n.Time = st.CreatedAt.UnixNano() // before its first call, which a reader sees after the notice
	}
	if st != nil && !st.StartedAt.IsZero() {
		if late := c.since.Sub(st.StartedAt); late > 0 {
			n.TracedFromNs = late.Nanoseconds()
			n.Message = fmt.Sprintf("started %s before its pod was traced: traced from its %s second", late.Round(time.Millisecond), ordinal(int(late/time.Second)+1))
		}
	}
	s.notice(n)
}

// ended says how a traced container's run ended.
func (s *session) ended(c *ctr, st *cri.Status, err error) {
	if c.ended || c.phase != phaseTraced {
		return // not selected: nothing was said of it
	}
	c.ended = true
	n := s.containerNotice(c, event.NoticeContainerEnded)
	switch {
	case err != nil:
		n.Message = "the runtime did not say how it ended: " + err.Error()
	case st.State != cri.StateExited:
		n.Message = fmt.Sprintf("the runtime still says %s", st.State)
	default:
		code := st.ExitCode
		n.ExitCode = &code
		n.Reason = st.Reason
		n.OOMKilled = st.Reason == "OOMKilled"
		if !st.FinishedAt.IsZero() {
			n.Time = st.FinishedAt.UnixNano()
		}
		if code > 128 && code <= 128+64 {
			n.Signal = unix.SignalName(syscall.Signal(code - 128))
		}
	}
	s.notice(n)
}

// containerNotice is a notice about a container with its names.
func (s *session) containerNotice(c *ctr, kind event.NoticeKind) event.Notice {
	n := event.Notice{Kind: kind, ContainerID: c.id, PodUID: c.pod.pod.UID, Pod: c.pod.pod.Name, Namespace: c.pod.pod.Namespace,
		Container: c.name}
	if c.name != "" {
		r := c.restarts
		n.RestartCount = &r
		n.ContainerKind = string(c.kind)
	}
	return n
}

// forgetGone forgets containers whose cgroup was removed goneRetention ago, and reports the records dropped
// because their container could not be named.
func (s *session) forgetGone(now time.Time) {
	var drops []event.Notice
	var forget []uint32
	s.out.Lock()
	for id, c := range s.ctrs {
		if c.dropped > 0 {
			n := s.containerNotice(c, event.NoticeUnattributed)
			n.Dropped = c.dropped
			n.Message = "the runtime did not name its container in time, and -c selects containers by name"
			drops = append(drops, n)
			c.dropped = 0
		}
		if !c.gone.IsZero() && now.Sub(c.gone) > goneRetention {
			delete(s.ctrs, id)
			if c.stamp != 0 {
				s.dec.RemoveTarget(c.stamp)
				forget = append(forget, c.stamp)
			}
		}
	}
	if s.hold.dropped > 0 {
		drops = append(drops, event.Notice{Kind: event.NoticeUnattributed, Dropped: s.hold.dropped,
			Message: fmt.Sprintf("more than %d events waited for their containers' names", maxHeldRecords)})
		s.hold.dropped = 0
	}
	s.out.Unlock()
	for _, id := range forget {
		s.forgetCounts(id)
	}
	for _, n := range drops {
		s.notice(n)
	}
}

// onHold looks at what the event reader held: a container no watcher event named yet is asked for.
func (s *session) onHold() {
	type unknown struct {
		id     string
		target uint32
	}
	var ask []unknown
	s.out.Lock()
	for i := range s.hold.recs {
		e := &s.hold.recs[i]
		if s.ctrs[e.container] == nil {
			ask = append(ask, unknown{e.container, e.rec.TargetID})
		}
	}
	s.out.Unlock()
	for _, u := range ask {
		if ps := s.podFor(u.target); ps != nil && s.ctrs[u.id] == nil {
			s.container(ps, u.id)
		}
	}
}

// expireHolds decides for the containers whose records waited holdTimeout.
func (s *session) expireHolds(now time.Time) {
	s.out.Lock()
	overdue := s.hold.overdue(now.Add(-holdTimeout))
	s.out.Unlock()
	for _, id := range overdue {
		c := s.ctrs[id]
		switch {
		case c == nil: // its pod was forgotten
			s.out.Lock()
			s.hold.take(id, func(*record.Record) {})
			s.out.Unlock()
		case c.phase == phaseResolving:
			s.unnamedAfterHold(c)
		}
	}
}

// attribute names the container of a pod's record from its cgroup (output lock held): it re-targets rec to the
// container and reports true to write it, or holds or drops it and reports false.
func (s *session) attribute(rec *record.Record) bool {
	id := s.cg.at.ContainerID(rec.Cgroup)
	if id == "" {
		return true // the pod's own cgroup: the pod's names
	}
	c := s.ctrs[id]
	switch {
	case c == nil || c.phase == phaseResolving:
		if s.hold.put(rec, id, s.cfg.Now()) {
			select {
			case s.holdKick <- struct{}{}:
			default:
			}
		}
		return false
	case c.phase == phaseExcluded:
		if c.unnamed {
			c.dropped++
		}
		return false
	}
	rec.TargetID = c.stamp
	return true
}

// writeLocked writes one record (output lock held).
func (s *session) writeLocked(rec *record.Record) {
	if s.start.MaxEvents > 0 && s.events.Load() >= s.start.MaxEvents {
		return
	}
	buf := s.dec.AppendJSON(s.out.AvailableBuffer(), rec)
	if s.out.WriteLocked(buf) != nil {
		return
	}
	if n := s.events.Add(1); s.start.MaxEvents > 0 && n >= s.start.MaxEvents && s.stopReading != nil {
		s.stopReading() // the reader would see it at its next record only
	}
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
