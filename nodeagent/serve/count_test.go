//go:build linux

package serve

import (
	"sync"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/protocol"
)

// fakeCounter is counting mode: the fake tracer's filter, and snapshots naming the targets it was given.
type fakeCounter struct {
	*fakeTracer
	mu        sync.Mutex
	targets   map[uint32]string
	removed   []uint32
	entries   int
	noLatency bool
}

func (c *fakeCounter) SetTarget(id uint32, t *protocol.Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets[id] = t.Pod
}

func (c *fakeCounter) RemoveTarget(id uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed = append(c.removed, id)
}

func (c *fakeCounter) SymbolStats() *event.SymbolStats { return nil }

func (c *fakeCounter) Snapshot(node, session string, now time.Time) (*event.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &event.Snapshot{Node: node, Session: session, To: now.UnixNano(), Overflow: 2}
	for _, pod := range c.targets {
		s.Rows = append(s.Rows, event.Count{Syscall: event.Syscall{Name: "openat"}, Error: "ENOENT", Calls: 3,
			Container: &event.Container{Pod: pod}})
	}
	return s, nil
}

func TestCountingModeWritesSnapshots(t *testing.T) {
	var counter *fakeCounter
	h := newHarness(t, func(c *Config) {
		c.NewCounter = func(start *protocol.Start) (CountTracer, error) {
			counter = &fakeCounter{fakeTracer: newFakeTracer(), targets: map[uint32]string{}, entries: start.CountEntries,
				noLatency: start.NoLatency}
			return counter, nil
		}
	})
	h.start(`,"count":true,"count_interval_ms":20,"count_entries":64,"no_latency":true`)
	if h.tracers.Load() != 0 || counter == nil || counter.entries != 64 || !counter.noLatency {
		t.Fatalf("counting mode loaded the tracer (%d) or no counter (%v)", h.tracers.Load(), counter)
	}
	h.send(`{"op":"add","target":{"container_id":"c1","pod":"web-1","namespace":"ns","container":"web"}}`)
	for { // snapshots come every 20 ms from the start, empty ones too: the notice may follow some
		l := h.next()
		if l.Snapshot != nil && len(l.Snapshot.Rows) == 0 {
			continue
		}
		if l.Notice == nil || l.Notice.Kind != event.NoticeTargetAttached {
			t.Fatalf("got %+v, want the target_attached notice", l)
		}
		break
	}
	var snap *event.Snapshot
	for snap == nil || len(snap.Rows) == 0 {
		l := h.next()
		if l.Event != nil {
			t.Fatalf("counting mode wrote an event: %+v", l.Event)
		}
		snap = l.Snapshot
	}
	if snap.Node != "node-a" || snap.Session != "s1" || snap.Rows[0].Container.Pod != "web-1" || snap.Overflow != 2 {
		t.Errorf("snapshot %+v", snap)
	}
	h.send(`{"op":"remove","container_id":"c1"}`)
	for {
		l := h.next()
		if l.Notice != nil && l.Notice.Kind == event.NoticeTargetDetached {
			break
		}
	}
	counter.mu.Lock()
	removed := append([]uint32(nil), counter.removed...)
	counter.mu.Unlock()
	if len(removed) != 1 {
		t.Errorf("removed targets %v, want the one added", removed)
	}
	h.send(`{"op":"stop"}`)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestCountingModeUnsupported(t *testing.T) {
	h := newHarness(t, nil)
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1","count":true}}`)
	n := h.expectNotice(event.NoticeError)
	if n.Message == "" {
		t.Error("no reason given")
	}
	if err := h.wait(); err == nil {
		t.Error("the session ran without a counter")
	}
}
