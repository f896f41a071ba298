// Package teardown ends a session in layers and sums it up. First the agents are asked to stop through their
// control channel (they detach their probes and exit on their own); streams that linger are cut; the watches
// stop; the agent pods are deleted while the merge loop writes what it still holds; then the summary is
// printed. A second interrupt (Force) stops the waiting: the deletions are sent and the command exits.
//
// Run is called once per session, from the session's goroutine. It only calls the Steps it is given, so a
// test can check their order with fakes.
package teardown

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

const (
	// stopGrace is how long agents get to detach and exit after OpStop before their streams are cut.
	stopGrace = 1500 * time.Millisecond
	// cutGrace is how long agents get to notice a cut stream.
	cutGrace = 500 * time.Millisecond
	// mergeGrace is how long the merge loop gets to write what it holds.
	mergeGrace = 2 * time.Second
)

// ErrInterruptedTwice is returned when a second interrupt cut the teardown short.
var ErrInterruptedTwice = errors.New("interrupted twice")

// Agents is what teardown needs of the session's agents (package fleet).
type Agents interface {
	// Stop tells every agent to detach and exit, and no agent to start.
	Stop()
	// Done is closed when every agent is gone.
	Done() <-chan struct{}
}

// Merge is what teardown needs of the merge loop.
type Merge interface {
	Stop()
	Done() <-chan struct{}
}

// Steps are the parts of a session that teardown stops, in this order.
type Steps struct {
	Agents Agents
	// CutStreams cancels the agents' connections and requests (their streams then end).
	CutStreams func()
	// StopWatches ends the session's watches (targets, agent pods).
	StopWatches func()
	// DeletePods deletes the session's pods and waits until they are gone; forced uses grace 0.
	DeletePods func(forced bool) error
	// ForceDelete asks for every pod of the session to go at once, without waiting; it returns how many.
	ForceDelete func() int
	Merge       Merge
	// Force is closed on a second interrupt.
	Force <-chan struct{}
	Log   *userlog.Logger
	// Namespace is the agent namespace, for the message after a forced exit.
	Namespace string
}

// Run tears down. It returns the deletion's error, or ErrInterruptedTwice after a second interrupt (the summary
// is then not printed: the person asked to leave at once).
func Run(s Steps) error {
	s.Agents.Stop()
	forced := false
	waitAll := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.Agents.Done():
			return true
		case <-t.C:
			return false
		case <-s.Force:
			forced = true
			return false
		}
	}
	if !waitAll(stopGrace) {
		s.CutStreams()
		if !forced {
			waitAll(cutGrace)
		}
	}
	s.StopWatches()

	deleted := make(chan error, 1)
	go func() { deleted <- s.DeletePods(forced) }()
	s.Merge.Stop()
	t := time.NewTimer(mergeGrace)
	select {
	case <-s.Merge.Done():
	case <-t.C:
	}
	t.Stop()
	select {
	case err := <-deleted:
		return err
	case <-s.Force:
		// do not wait for the pods to go, but do make sure the deletions were sent before exiting
		n := s.ForceDelete()
		s.Log.Printf("forced exit: deletion of %d agent pod(s) requested without waiting; `kubectl swoll cleanup -n %s` removes leftovers",
			n, s.Namespace)
		return ErrInterruptedTwice
	}
}

// AgentSummary is one agent's line of the summary.
type AgentSummary struct {
	Node string
	// Events counts the events received from the agent; Lost those the kernel dropped; Limited those the
	// agent dropped over --max-rate; Filtered the calls the incident filters left out (asked for: not lost).
	// Dropped says which calls the lost events were (agents before it: nil).
	Events, Lost, Limited, Filtered uint64
	Dropped                         []event.DroppedCall
	// Failed: the agent failed and nothing took over; Replaced: it failed and a replacement took over.
	Failed, Replaced bool
}

// Summary is what a session did.
type Summary struct {
	Session string
	// Reason is why the session ended ("interrupted", "--duration 30s reached").
	Reason string
	// Started is when tracing started; Stopping when teardown began; FirstEvent when the first event was
	// written (zero when none was).
	Started, Stopping, FirstEvent time.Time
	// Emitted counts the events written to the output; Dropped those of them the output then dropped because
	// its reader was too slow.
	Emitted, Dropped uint64
	Agents           []AgentSummary
}

// Write prints the summary: one line for the session, one per agent, by node.
func (s *Summary) Write(log *userlog.Logger) {
	round := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	first := ""
	if !s.FirstEvent.IsZero() {
		first = fmt.Sprintf("; first event after %s", round(s.FirstEvent.Sub(s.Started)))
	}
	dropped := ""
	if s.Dropped > 0 {
		dropped = fmt.Sprintf(" (%d of them dropped in the plugin: the reader of stdout was too slow)", s.Dropped)
	}
	log.Printf("session %s ended (%s) after %s: %d events written%s%s; cleaned up in %s", s.Session, s.Reason,
		round(time.Since(s.Started)), s.Emitted, dropped, first, round(time.Since(s.Stopping)))
	agents := append([]AgentSummary(nil), s.Agents...)
	sort.SliceStable(agents, func(i, j int) bool { return agents[i].Node < agents[j].Node })
	for _, a := range agents {
		state := ""
		switch {
		case a.Failed:
			state = "; agent failed (see above)"
		case a.Replaced:
			state = "; agent failed and was replaced (see above)"
		}
		if a.Limited > 0 {
			state = fmt.Sprintf(", %d over --max-rate%s", a.Limited, state)
		}
		if a.Filtered > 0 {
			state = fmt.Sprintf(", %d filtered out%s", a.Filtered, state)
		}
		log.Printf("  %s: %d events, %d lost%s", a.Node, a.Events, a.Lost, state)
		if line := DroppedLine(a.Dropped, maxDroppedCalls); line != "" {
			log.Printf("    %s", line)
		}
	}
}

// maxDroppedCalls is how many calls an agent's dropped line names (the most dropped: the rest are summed).
const maxDroppedCalls = 8

// DroppedLine says which calls an agent's lost events were, the most dropped first, at most most of them:
// "dropped: openat 12,345 (ENOENT 9,001), close 3,210, ... and 4 more calls (17)". Empty when it says none.
// The names are the agent's, as it wrote them: the caller escapes the line (userlog does).
func DroppedLine(dropped []event.DroppedCall, most int) string {
	if len(dropped) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("dropped: ")
	for i, d := range dropped {
		if i == most {
			var rest uint64
			for _, o := range dropped[i:] {
				rest += o.Calls
			}
			fmt.Fprintf(&b, ", and %d more calls (%s)", len(dropped)-i, thousands(rest))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Syscall + " " + thousands(d.Calls))
		var parts []string
		for _, e := range sortedErrnos(d.Errors) {
			parts = append(parts, e+" "+thousands(d.Errors[e]))
		}
		if d.Unfinished > 0 {
			parts = append(parts, "unfinished "+thousands(d.Unfinished))
		}
		if len(parts) > 0 {
			b.WriteString(" (" + strings.Join(parts, ", ") + ")")
		}
	}
	return b.String()
}

// sortedErrnos are the errnos of m, the most frequent first.
func sortedErrnos(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// thousands writes n with a comma every three digits: 12,345.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Failures is an error when any agent failed, so that the exit status says the trace was incomplete.
func (s *Summary) Failures() error {
	failed := 0
	for _, a := range s.Agents {
		if a.Failed {
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d agents failed (see above)", failed, len(s.Agents))
}
