//go:build linux

package serve

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/nodeagent/cri"
	"github.com/swoll-dev/swoll/nodeagent/decode"
	"github.com/swoll-dev/swoll/nodeagent/record"
	"github.com/swoll-dev/swoll/protocol"
	"github.com/swoll-dev/swoll/syscalls"
	"github.com/swoll-dev/swoll/wire"
)

// ownStackRecord is a record of this process whose user stack is this goroutine's, as the probe gives one,
// with the names the Go runtime gives its frames.
func ownStackRecord(t *testing.T) (record.Record, []string) {
	t.Helper()
	pcs := make([]uintptr, 64)
	n := runtime.Callers(1, pcs)
	rec := record.Record{Nr: 257, Pid: uint32(os.Getpid())}
	var names []string
	for _, pc := range pcs[:n] {
		rec.UserStack.Data = binary.LittleEndian.AppendUint64(rec.UserStack.Data, uint64(pc))
		names = append(names, runtime.FuncForPC(pc-1).Name())
	}
	return rec, names
}

// With stacks, events carry their user stack, symbolized, in the order they came; the stats and exit notices
// carry the symbol cache's state, and the exit notice comes after the last event.
func TestStacks(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StatsInterval = 20 * time.Millisecond })
	h.start(`,"stacks":1,"max_events":3`)
	rec, names := ownStackRecord(t)
	go func() {
		for i := range 3 {
			r := rec
			r.Tid = uint32(i + 1)
			h.tracer.feed <- r
		}
	}()
	events, stats := 0, 0
	for {
		l := h.next()
		if l.Notice != nil {
			switch l.Notice.Kind {
			case event.NoticeStats:
				if l.Notice.Symbols == nil || l.Notice.Symbols.Budget <= 0 {
					t.Errorf("stats notice without the symbol cache: %+v", l.Notice)
				}
				stats++
				continue
			case event.NoticeExit:
			default:
				t.Fatalf("notice %+v", l.Notice)
			}
			if events != 3 || l.Notice.Symbols == nil || l.Notice.Symbols.Processes != 1 || l.Notice.Symbols.Hits == 0 {
				t.Errorf("exit notice after %d events: %+v (symbols %+v)", events, l.Notice, l.Notice.Symbols)
			}
			break
		}
		events++
		ev := l.Event
		if len(ev.Stack) != len(names) || ev.StackTruncated {
			t.Fatalf("event %d: %d frames (truncated %v), want %d", events, len(ev.Stack), ev.StackTruncated, len(names))
		}
		for i, f := range ev.Stack {
			if f.Symbol != names[i] {
				t.Errorf("event %d frame %d: %+v, want %s", events, i, f, names[i])
			}
		}
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

// Without stacks asked for, no stage runs: events have no stack and notices no symbol cache.
func TestNoStacks(t *testing.T) {
	h := newHarness(t, nil)
	h.start(`,"max_events":1`)
	rec, _ := ownStackRecord(t) // a stack the session did not ask for is not symbolized
	h.feed(rec)
	if l := h.next(); l.Event == nil || l.Stack != nil || l.StackTruncated {
		t.Fatalf("line %+v", l)
	}
	if n := h.expectNotice(event.NoticeExit); n.Symbols != nil {
		t.Errorf("exit notice with symbols: %+v", n.Symbols)
	}
}

// The records of a container not named yet keep their stacks while they wait (the hold copies them out of the
// ring's memory, which the reader reuses) and are symbolized like the others once the container is named.
func TestHeldRecordsKeepTheirStacks(t *testing.T) {
	tree := newCgroupTree(t)
	podCg := podCgroup(testPodUID)
	podID := tree.mkdir(podCg)
	h := newPodHarness(t, tree, nil)
	h.start(`,"stacks":1`)
	h.sendPod(protocol.Pod{UID: testPodUID, Name: "web", Namespace: "shop",
		Containers: []protocol.Container{{Name: "web", Kind: protocol.KindRegular}}})
	h.expectNotice(event.NoticeTargetAttached)
	pod := h.kernelTarget(podID)

	web := ctrID(1)
	release, _ := h.runtime.hold(web)
	h.runtime.set(web, cri.Status{Name: "web", State: cri.StateRunning})
	webCg := tree.mkdir(podCg + "/" + web)
	rec, names := ownStackRecord(t)
	rec.TargetID, rec.Cgroup = pod.target, webCg
	ring := make([][]byte, 3)
	for i := range ring {
		r := rec
		r.Nr = 300 + uint32(i) // the order, which the test's decoder writes
		ring[i] = append([]byte(nil), rec.UserStack.Data...)
		r.UserStack.Data = ring[i]
		h.feed(r)
	}
	h.feed(record.Record{Nr: 39, Pid: 1, TargetID: pod.target, Cgroup: webCg}) // the feeds before it are held
	for _, b := range ring {
		clear(b) // the ring's memory, written over
	}
	release()
	h.expectNotice(event.NoticeContainerStarted)
	for i := range ring {
		ev := h.expectEvent()
		if ev.Syscall.Nr != 300+i || len(ev.Stack) != len(names) || ev.StackTruncated {
			t.Fatalf("event %d: nr %d, %d frames (truncated %v), want %d", i, ev.Syscall.Nr, len(ev.Stack), ev.StackTruncated, len(names))
		}
		for j, f := range ev.Stack {
			if f.Symbol != names[j] {
				t.Errorf("event %d frame %d: %+v, want %s", i, j, f, names[j])
			}
		}
	}
	if ev := h.expectEvent(); ev.Syscall.Nr != 39 || len(ev.Stack) != 0 || !ev.StackTruncated {
		t.Errorf("the stackless call: %+v (stack %v, truncated %v), want an empty stack marked truncated", ev.Syscall, ev.Stack, ev.StackTruncated)
	}
	h.send(`{"op":"stop"}`)
	if n := h.expectNotice(event.NoticeExit); n.Events != 4 {
		t.Fatalf("exit notice %+v, want 4 events", n)
	}
}

// With stacks the session writes JSON lines whatever framing the plugin prefers (its ready notice says so): the
// stage closes each event's line with its stack keys, which the binary framing's parts do not carry.
func TestStacksWriteJSONLines(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.NewDecoder = func(start *protocol.Start) Decoder {
			return decode.New(decode.Options{Arch: syscalls.Native().Arch(), Node: start.Node, Session: start.Session})
		}
	})
	h.send(`{"op":"start","start":{"version":2,"node":"node-a","session":"s1","syscalls":["openat"],"stacks":1,"max_events":1,"framings":["` +
		wire.Binary + `","` + wire.JSON + `"]}}`)
	if n := h.expectNotice(event.NoticeReady); n.Framing != wire.JSON {
		t.Fatalf("ready notice names %q, want %q", n.Framing, wire.JSON)
	}
	rec, names := ownStackRecord(t)
	h.feed(rec)
	if ev := h.expectEvent(); len(ev.Stack) != len(names) || ev.Stack[0].Symbol != names[0] {
		t.Fatalf("stack %+v, want %d frames from %s", ev.Stack, len(names), names[0])
	}
	h.expectNotice(event.NoticeExit)
}
