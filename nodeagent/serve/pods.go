//go:build linux

package serve

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/cgroups"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
)

// podTargetBit marks the kernel target ids of pods (a pod's cgroup): their records are named after their
// container on the per-event path (the record's own cgroup). Every other target id is a container's, whose
// records carry its names already.
const podTargetBit = 1 << 31

// podState is one pod target (OpPod). The control loop owns it.
type podState struct {
	pod protocol.Pod // the latest the plugin sent, labels bounded
	// id is the pod's target id (podTargetBit set): the kernel's for the pod's cgroup, and the decoder's for
	// records of the pod that name no container.
	id uint32
	// cgroup is the pod's cgroup once found; since is when the kernel started selecting it: a container that
	// started before was not traced from its first call.
	cgroup cgroups.Cgroup
	found  bool
	since  time.Time
}

// cgroupSel is the selection of pods by cgroup: the watcher finding their cgroups, and the attributor naming
// a record's container from its cgroup.
type cgroupSel struct {
	h *cgroups.Hierarchy
	w *cgroups.Watcher
	// at is used with the output lock held (the per-event path asks it).
	at   *cgroups.Attributor
	stop context.CancelFunc
	done chan error // the watcher's Run returned
}

// setUpCgroups chooses how pods are selected: by cgroup when the node's cgroups can be read and the probe can
// match on their hierarchy, else by mount namespace. It returns the ready notice's selection and why.
func (s *session) setUpCgroups() (selection, why string) {
	if s.cfg.Cgroups == nil {
		return event.SelectionMountNS, "this agent does not read cgroups"
	}
	h, err := s.cfg.Cgroups()
	if err != nil {
		return event.SelectionMountNS, err.Error()
	}
	if err := s.tracer.SetCgroupHierarchy(h.Controller); err != nil {
		return event.SelectionMountNS, err.Error()
	}
	w, err := cgroups.NewWatcher(h)
	if err != nil {
		return event.SelectionMountNS, err.Error()
	}
	s.cg = &cgroupSel{h: h, w: w, at: cgroups.NewAttributor(h, 0), done: make(chan error, 1)}
	return event.SelectionCgroup, h.String()
}

// runCgroups starts the watcher; it runs until stopCgroups.
func (s *session) runCgroups(ctx context.Context) <-chan cgroups.Event {
	if s.cg == nil {
		return nil
	}
	ctx, s.cg.stop = context.WithCancel(ctx)
	go func() { s.cg.done <- s.cg.w.Run(ctx) }()
	return s.cg.w.Events()
}

// stopCgroups stops the watcher and waits for it (before the tracer is closed).
func (s *session) stopCgroups() {
	if s.cg == nil || s.cg.stop == nil {
		return
	}
	s.cg.stop()
	for range s.cg.w.Events() { // what it found meanwhile is of no use now
	}
	if err := <-s.cg.done; err != nil {
		s.logf("watching cgroups: %v", err)
	}
}

// addPod takes a pod target, new or updated.
func (s *session) addPod(ctx context.Context, p *protocol.Pod) {
	if p == nil || p.UID == "" {
		s.logf("ignoring %q without a pod uid", protocol.OpPod)
		return
	}
	if err := cgroups.ValidUID(p.UID); err != nil {
		s.notice(event.Notice{Kind: event.NoticeTargetError, PodUID: p.UID, Pod: p.Name, Namespace: p.Namespace, Message: err.Error()})
		return
	}
	bounded, left := boundLabels(p.Labels, s.maxLabelBytes())
	pod := *p
	pod.Labels = bounded
	if left > 0 {
		s.logf("pod %s/%s: %d label(s) left out of its events: more than %d bytes of labels", p.Namespace, p.Name, left, s.maxLabelBytes())
	}
	ps, ok := s.pods[p.UID]
	if !ok {
		s.nextPod++
		ps = &podState{id: podTargetBit | s.nextPod}
		s.pods[p.UID] = ps
		s.podByID[ps.id] = ps
	}
	relabel := ok && !maps.Equal(ps.pod.Labels, pod.Labels)
	ps.pod = pod
	s.setTarget(ps.id, &protocol.Target{Pod: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels})
	if relabel {
		for _, c := range s.ctrs {
			if c.pod == ps && c.phase == phaseTraced && c.name != "" {
				s.named(c, c.name, c.restarts, nil) // its events carry the new labels (it started already)
			}
		}
	}
	if s.cg == nil {
		s.attachRunning(ctx, ps)
		return
	}
	if !ok {
		if err := s.cg.w.Add(ctx, p.UID); err != nil {
			s.notice(event.Notice{Kind: event.NoticeTargetError, PodUID: p.UID, Pod: p.Name, Namespace: p.Namespace, Message: err.Error()})
		}
		return
	}
	// The plugin's word on container ids names containers the runtime could not.
	for _, c := range pod.Containers {
		if id := cri.NormalizeID(c.ID); id != "" {
			if cs := s.ctrs[id]; cs != nil && cs.pod == ps && cs.name == "" {
				s.named(cs, c.Name, c.RestartCount, nil)
			}
		}
	}
}

// forgetPod stops tracing a pod.
func (s *session) forgetPod(ctx context.Context, uid string) {
	ps, ok := s.pods[uid]
	if !ok {
		s.notice(event.Notice{Kind: event.NoticeTargetDetached, PodUID: uid, Message: "not traced"})
		return
	}
	if s.cg != nil {
		if err := s.cg.w.Remove(ctx, uid); err != nil {
			s.logf("pod %s: %v", uid, err)
		}
		if ps.found {
			if err := s.tracer.RemoveCgroup(ps.cgroup.ID); err != nil {
				s.logf("pod %s/%s: detaching: %v", ps.pod.Namespace, ps.pod.Name, err)
			}
		}
	}
	if ps.found {
		s.observe(cgroups.Event{Kind: cgroups.PodRemoved, PodUID: uid, Cgroup: ps.cgroup})
	}
	for id, c := range s.ctrs {
		if c.pod != ps {
			continue
		}
		s.dropContainer(c)
		s.out.Lock()
		delete(s.ctrs, id) // the decoder keeps the names: records in the ring still carry them
		s.hold.take(id, func(*record.Record) {})
		s.out.Unlock()
	}
	for key, t := range s.targets {
		if t.pod == ps {
			s.remove(key)
		}
	}
	s.forgetCounts(ps.id)
	delete(s.pods, uid)
	delete(s.podByID, ps.id)
	s.notice(event.Notice{Kind: event.NoticeTargetDetached, PodUID: uid, Pod: ps.pod.Name, Namespace: ps.pod.Namespace})
}

// onCgroup acts on what the watcher found.
func (s *session) onCgroup(ev cgroups.Event) {
	ps := s.pods[ev.PodUID]
	switch ev.Kind {
	case cgroups.Trouble:
		s.logf("pod %s: %v", ev.PodUID, ev.Err)
		return
	case cgroups.PodRemoved:
		s.observe(ev)
		if ps != nil && ps.found && ps.cgroup.ID == ev.Cgroup.ID {
			if err := s.tracer.RemoveCgroup(ev.Cgroup.ID); err != nil {
				s.logf("pod %s/%s: detaching: %v", ps.pod.Namespace, ps.pod.Name, err)
			}
			ps.found = false
			s.notice(event.Notice{Kind: event.NoticeTargetDetached, PodUID: ev.PodUID, Pod: ps.pod.Name,
				Namespace: ps.pod.Namespace, Message: "the pod's cgroup was removed"})
		}
		return
	}
	if ps == nil {
		return // forgotten meanwhile
	}
	switch ev.Kind {
	case cgroups.PodFound:
		s.observe(ev) // before the kernel selects it: its records must find it
		if err := s.tracer.AddCgroup(ev.Cgroup.ID, ev.Cgroup.Level, ps.id); err != nil {
			s.notice(event.Notice{Kind: event.NoticeTargetError, PodUID: ev.PodUID, Pod: ps.pod.Name, Namespace: ps.pod.Namespace,
				Message: fmt.Sprintf("tracing the pod's cgroup %s: %v", ev.Cgroup.Path, err)})
			return
		}
		ps.cgroup, ps.found, ps.since = ev.Cgroup, true, s.cfg.Now()
		s.logf("tracing pod %s/%s (cgroup %s, id %d) as target %d", ps.pod.Namespace, ps.pod.Name, ev.Cgroup.Path, ev.Cgroup.ID, ps.id)
		s.notice(event.Notice{Kind: event.NoticeTargetAttached, PodUID: ev.PodUID, Pod: ps.pod.Name, Namespace: ps.pod.Namespace,
			Message: "cgroup " + ev.Cgroup.Path})
	case cgroups.ContainerFound:
		s.observe(ev)
		if !ps.found || ev.ContainerID == "" || ev.Cgroup.Level != ps.cgroup.Level+1 {
			return // a cgroup below a container's: the attributor names its records
		}
		c := s.container(ps, ev.ContainerID)
		c.cgroup = ev.Cgroup
		if c.phase == phaseTraced && !c.kernel {
			s.selectContainer(c)
		}
	case cgroups.ContainerRemoved:
		// The attributor keeps the cgroup: records still in the ring carry its id.
		if ev.Cgroup.Level != ps.cgroup.Level+1 {
			return
		}
		if c := s.ctrs[ev.ContainerID]; c != nil {
			s.containerGone(c)
		}
	}
}

// observe hands a watcher event to the attributor, which the event reader shares.
func (s *session) observe(ev cgroups.Event) {
	s.out.Lock()
	s.cg.at.Observe(ev)
	s.out.Unlock()
}

// attachRunning traces a pod's running containers by mount namespace (no cgroups) and lets go of those that
// are not its running containers any more.
func (s *session) attachRunning(ctx context.Context, ps *podState) {
	running := map[string]bool{}
	for _, c := range ps.pod.Containers {
		id := cri.NormalizeID(c.ID)
		if id == "" || !c.Running || !ps.pod.Selects(c.Name) {
			continue
		}
		running[id] = true
		if _, ok := s.targets[id]; ok {
			continue
		}
		n := c.RestartCount
		t := &protocol.Target{ContainerID: c.ID, Pod: ps.pod.Name, Namespace: ps.pod.Namespace, Container: c.Name,
			Image: c.Image, Labels: ps.pod.Labels, RestartCount: &n}
		if err := s.attach(ctx, id, t); err != nil {
			s.logf("container %s: %v", c.ID, err)
			s.notice(event.Notice{Kind: event.NoticeTargetError, ContainerID: c.ID, PodUID: ps.pod.UID, Pod: ps.pod.Name,
				Namespace: ps.pod.Namespace, Container: c.Name, Message: err.Error()})
			continue
		}
		tg := s.targets[id]
		tg.pod = ps
		s.targets[id] = tg
		s.notice(event.Notice{Kind: event.NoticeTargetAttached, ContainerID: c.ID, PodUID: ps.pod.UID, Pod: ps.pod.Name,
			Namespace: ps.pod.Namespace, Container: c.Name})
		cs := s.container(ps, id) // the runtime's answer says when it started
		cs.stamp = tg.id
		s.named(cs, c.Name, c.RestartCount, nil)
	}
	for key, t := range s.targets {
		if t.pod == ps && !running[key] {
			s.remove(key)
		}
	}
}

// maxLabelBytes is OpStart's bound on the label bytes stamped per event.
func (s *session) maxLabelBytes() int {
	if s.start.MaxLabelBytes > 0 {
		return s.start.MaxLabelBytes
	}
	return protocol.DefaultMaxLabelBytes
}

// podFor returns the pod of a record's target id (nil for a container's).
func (s *session) podFor(targetID uint32) *podState {
	if targetID&podTargetBit == 0 {
		return nil
	}
	return s.podByID[targetID]
}
