package teardown

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

// recorder notes the steps in the order they happen.
type recorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps = append(r.steps, s)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.steps, " ")
}

// fakeAgents are a session's agents.
type fakeAgents struct {
	rec  *recorder
	done chan struct{}
	// obey: the agents exit when stopped (agents that do not must be cut)
	obey bool
}

func (a *fakeAgents) Stop() {
	a.rec.add("stop")
	if a.obey {
		close(a.done)
	}
}
func (a *fakeAgents) Done() <-chan struct{} { return a.done }

type fakeMerge struct {
	rec  *recorder
	done chan struct{}
}

func (m *fakeMerge) Stop()                 { m.rec.add("merge-stop"); close(m.done) }
func (m *fakeMerge) Done() <-chan struct{} { return m.done }

func steps(rec *recorder, agents *fakeAgents, force chan struct{}) Steps {
	return Steps{
		Agents: agents,
		CutStreams: func() {
			rec.add("cut")
			if !agents.obey {
				close(agents.done)
			}
		},
		StopWatches: func() { rec.add("watches") },
		DeletePods: func(forced bool) error {
			if forced {
				rec.add("delete-forced")
			} else {
				rec.add("delete")
			}
			return nil
		},
		ForceDelete: func() int { rec.add("force-delete"); return 2 },
		Merge:       &fakeMerge{rec: rec, done: make(chan struct{})},
		Force:       force,
		Log:         userlog.New(&bytes.Buffer{}, false),
	}
}

func TestTeardownOrder(t *testing.T) {
	tests := []struct {
		name string
		obey bool
		want string
	}{
		{"agents exit when stopped", true, "stop watches"},
		{"streams that linger are cut", false, "stop cut watches"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			agents := &fakeAgents{rec: rec, done: make(chan struct{}), obey: tc.obey}
			if err := Run(steps(rec, agents, nil)); err != nil {
				t.Fatal(err)
			}
			// deletion and the merge loop's last writes run side by side, after the watches stopped
			got := rec.String()
			if !strings.HasPrefix(got, tc.want+" ") || !strings.Contains(got, "merge-stop") || !strings.Contains(got, " delete") {
				t.Fatalf("steps %q, want %q then merge-stop and delete", got, tc.want)
			}
		})
	}
}

func TestTeardownForced(t *testing.T) {
	rec := &recorder{}
	force := make(chan struct{})
	close(force)
	s := steps(rec, &fakeAgents{rec: rec, done: make(chan struct{})}, force)
	block := make(chan struct{})
	defer close(block)
	s.DeletePods = func(bool) error { <-block; return nil } // the API server does not answer
	var out bytes.Buffer
	s.Log = userlog.New(&out, false)
	s.Namespace = "swoll"
	ran := make(chan error, 1)
	go func() { ran <- Run(s) }()
	select { // waiting for the deletion would be forever: any generous bound tells the two apart
	case err := <-ran:
		if !errors.Is(err, ErrInterruptedTwice) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a forced teardown waited for the pods to go")
	}
	if got := rec.String(); !strings.HasPrefix(got, "stop cut watches") || !strings.HasSuffix(got, "force-delete") {
		t.Fatalf("steps %q", got)
	}
	if !strings.Contains(out.String(), "deletion of 2 agent pod(s) requested without waiting; `kubectl swoll cleanup -n swoll` removes leftovers") {
		t.Fatalf("message: %s", out.String())
	}
}

func TestSummary(t *testing.T) {
	// minutes ago, so that the wall-clock durations keep their leading figures however slowly the test runs
	start := time.Now().Add(-10 * time.Minute)
	s := &Summary{
		Session: "abc", Reason: "interrupted", Started: start, Stopping: time.Now().Add(-time.Minute),
		FirstEvent: start.Add(2 * time.Second), Emitted: 42,
		Agents: []AgentSummary{{Node: "node-b", Events: 40, Lost: 3, Filtered: 1000, Limited: 5}, {Node: "node-a", Events: 2, Failed: true}},
	}
	var out bytes.Buffer
	s.Write(userlog.New(&out, false))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%q", out.String())
	}
	if !strings.HasPrefix(lines[0], "swoll: session abc ended (interrupted) after 10m") ||
		!strings.Contains(lines[0], ": 42 events written; first event after 2s; cleaned up in 1m") {
		t.Errorf("first line %q", lines[0])
	}
	if lines[1] != "swoll:   node-a: 2 events, 0 lost; agent failed (see above)" || lines[2] != "swoll:   node-b: 40 events, 3 lost, 1000 filtered out, 5 over --max-rate" {
		t.Errorf("agent lines %q", lines[1:])
	}
	if err := s.Failures(); err == nil || err.Error() != "1 of 2 agents failed (see above)" {
		t.Errorf("failures %v", err)
	}
	s.Agents[1].Failed = false
	if err := s.Failures(); err != nil {
		t.Errorf("failures %v", err)
	}
}

// An agent's lost events are named by call under its line, the most dropped first, errnos and all; the line
// stops at a few calls, and escapes what it prints.
func TestSummaryNamesDroppedCalls(t *testing.T) {
	s := &Summary{Session: "abc", Reason: "interrupted", Started: time.Now(), Stopping: time.Now(),
		Agents: []AgentSummary{{Node: "node-a", Events: 40, Lost: 12350, Dropped: []event.DroppedCall{
			{Syscall: "openat", Calls: 12345, Errors: map[string]uint64{"ENOENT": 9001, "EACCES": 2}},
			{Syscall: "close", Calls: 4, Unfinished: 1},
			{Syscall: "x\x1b[31m", Calls: 1},
		}}}}
	var out bytes.Buffer
	s.Write(userlog.New(&out, false))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := `swoll:     dropped: openat 12,345 (ENOENT 9,001, EACCES 2), close 4 (unfinished 1), x\x1b[31m 1`
	if len(lines) != 3 || lines[2] != want {
		t.Fatalf("got %q, want the third line %q", lines, want)
	}
	tests := []struct {
		dropped []event.DroppedCall
		most    int
		want    string
	}{
		{nil, 8, ""},
		{[]event.DroppedCall{{Syscall: "a", Calls: 3}, {Syscall: "b", Calls: 2}, {Syscall: "c", Calls: 1000}}, 1,
			"dropped: a 3, and 2 more calls (1,002)"},
		{[]event.DroppedCall{{Syscall: "read", Calls: 1234567}}, 8, "dropped: read 1,234,567"},
	}
	for _, tt := range tests {
		if got := DroppedLine(tt.dropped, tt.most); got != tt.want {
			t.Errorf("DroppedLine(%v, %d) = %q, want %q", tt.dropped, tt.most, got, tt.want)
		}
	}
}
