// Package agent is the plugin's side of one node agent. An Agent creates its Job and waits until the Job's pod
// runs (package lifecycle), connects to `swoll-agent session` in it (package transport), writes its commands (start,
// targets as they come and go, a heartbeat, stop) to the agent's stdin, and pumps the agent's stdout into the
// merge loop's batches (package stream), keeping what the notices say: ready, events lost, exit, failure.
//
// Run is called once, from a goroutine of its own. Enqueue, Stop, Done, State, Node and ID are safe for
// concurrent use.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/transport"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

const (
	// maxShownMalformed malformed lines of an agent are shown; later ones are only counted.
	maxShownMalformed = 3
	// quietStart: the routine steps of a start are shown only when the start takes longer than this, so that a
	// normal session prints one line per agent rather than eight.
	quietStart = time.Second
	// silentAfter is how long an agent may say nothing (it writes a stats notice every
	// protocol.StatsInterval) before its node is named as silent.
	silentAfter = 3 * protocol.StatsInterval
	// podEndGrace is how long the stream may outlive its pod's end (its last lines may still be in flight)
	// before it is cut: a partitioned node's stream would otherwise hang until TCP gives up.
	podEndGrace = 3 * time.Second
)

// routinePhrases are the steps of a start that goes well.
var routinePhrases = map[string]bool{
	"pod created": true, "pod pending": true, "creating container": true, "image pulled": true,
	"container created": true, "container started": true, "attaching": true, "running": true,
}

// Observer hears about an agent. Calls for one agent never overlap: Phrase and Finished come from the Run
// goroutine, Ready and Notice from the goroutine reading the agent's output while Run waits for it.
type Observer interface {
	// Phrase reports a step of the agent's start worth showing ("pulling image", "ImagePullBackOff: ...").
	Phrase(a *Agent, phrase string)
	// Ready: the agent's probes are attached and it traces its targets.
	Ready(a *Agent)
	// Notice is called with every notice the agent sends, after the agent recorded what it says.
	Notice(a *Agent, n *event.Notice)
	// Finished: Run returned (the agent ended, failed or was stopped); Done is closed.
	Finished(a *Agent)
}

// Config is what one agent needs.
type Config struct {
	// ID is the agent's stream in the merge loop.
	ID   int
	Node string
	// Start is the first command: what to trace.
	Start *protocol.Start
	// NotReady, when set, is why the node cannot run an agent: the agent fails at once.
	NotReady string
	// Pods are the session's agents on the API server; Job is this agent's, as built by package agentpod.
	Pods *lifecycle.Pods
	Job  *batchv1.Job
	// Replacement: this agent takes over from a failed one on the same node.
	Replacement bool
	// StartTimeout bounds the wait until the pod runs (image pull included).
	StartTimeout time.Duration
	Transport    transport.Transport
	// Batches is the merge loop's input.
	Batches  chan<- stream.Batch
	Log      *userlog.Logger
	Observer Observer
}

// State is what an agent's notices and its end said so far.
type State struct {
	Ready bool
	// Failure says why the agent failed, "" when it did not.
	Failure string
	// Exit is the agent's exit notice, nil before it ended cleanly.
	Exit *event.Notice
	// Lost counts events the kernel dropped.
	Lost uint64
	// Limited counts events the agent dropped over --max-rate (never counted in Lost).
	Limited uint64
	// Filtered counts the calls the session's incident filters dropped in the kernel (--failed, -P...): asked
	// for, never counted in Lost.
	Filtered uint64
	// Malformed counts lines that were neither events nor notices.
	Malformed int
	// Removed: another client deleted the agent (cleanup); it is not to be replaced.
	Removed bool
}

// Agent is one node agent.
type Agent struct {
	cfg     Config
	pod     *lifecycle.Pod
	started time.Time
	stopCh  chan struct{}
	stopped sync.Once
	done    chan struct{}
	wake    chan struct{}

	// heard is when the agent last wrote a notice (Unix ns; it writes a stats notice every few seconds).
	heard atomic.Int64

	mu     sync.Mutex
	queue  []protocol.Command
	phrase string
	st     State
	silent bool // its silence was reported
}

// New prepares an agent; Run starts it. The start command is queued first.
func New(cfg Config) *Agent {
	a := &Agent{
		cfg:     cfg,
		started: time.Now(),
		stopCh:  make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
	a.pod = cfg.Pods.Add(cfg.Job, a.setPhrase)
	a.Enqueue(protocol.Command{Op: protocol.OpStart, Start: cfg.Start})
	return a
}

// ID is the agent's stream id.
func (a *Agent) ID() int { return a.cfg.ID }

// Node is the node the agent runs on.
func (a *Agent) Node() string { return a.cfg.Node }

// PodName is the agent's pod once seen, else its Job's name.
func (a *Agent) PodName() string {
	if n := a.pod.PodName(); n != "" {
		return n
	}
	return a.cfg.Job.Name
}

// Started is when the agent was created.
func (a *Agent) Started() time.Time { return a.started }

// LastHeard is when the agent last said anything (zero before it streamed).
func (a *Agent) LastHeard() time.Time {
	if ns := a.heard.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Done is closed when Run returned.
func (a *Agent) Done() <-chan struct{} { return a.done }

// State returns a copy of what the agent knows about itself.
func (a *Agent) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// Enqueue adds a command for the agent; commands wait until the connection is up.
func (a *Agent) Enqueue(c protocol.Command) {
	a.mu.Lock()
	a.queue = append(a.queue, c)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Stop asks the agent to detach and exit (OpStop, then stdin closed); a start still waiting stops waiting.
func (a *Agent) Stop() { a.stopped.Do(func() { close(a.stopCh) }) }

// Stopping tells whether Stop was called.
func (a *Agent) Stopping() bool {
	select {
	case <-a.stopCh:
		return true
	default:
		return false
	}
}

func (a *Agent) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.mu.Lock()
	a.st.Failure = msg
	a.mu.Unlock()
	a.cfg.Log.Printf("%s: %s", a.cfg.Node, msg)
}

func (a *Agent) setPhrase(p string) {
	if p == "" {
		return
	}
	a.mu.Lock()
	changed := p != a.phrase
	a.phrase = p
	a.mu.Unlock()
	if changed && (!routinePhrases[p] || time.Since(a.started) >= quietStart) {
		a.cfg.Observer.Phrase(a, p)
	}
}

// Run creates the Job, waits until its pod runs, and streams until the agent ends or is stopped. ctx carries the
// connection: cancelling it cuts the stream (the teardown's last resort after Stop).
func (a *Agent) Run(ctx context.Context) {
	defer func() {
		close(a.done)
		a.cfg.Observer.Finished(a)
	}()
	if why := a.cfg.NotReady; why != "" {
		// a pod bound to a node that is down would only wait for the start timeout
		a.fail("%s; its containers are not traced", why)
		return
	}
	if err := a.pod.Create(ctx, a.cfg.Replacement); err != nil {
		a.fail("%v", err)
		return
	}
	waitCtx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-a.stopCh:
			cancel()
		case <-waitCtx.Done():
		}
	}()
	err := a.pod.WaitRunning(waitCtx, a.cfg.StartTimeout)
	cancel()
	switch {
	case errors.Is(err, lifecycle.ErrStopped):
		return
	case err != nil:
		a.fail("%v", err)
		return
	}
	a.stream(ctx)
}

// stream runs `swoll-agent session` in the pod and pumps its output until it ends.
func (a *Agent) stream(ctx context.Context) {
	a.setPhrase("attaching")
	podName, err := a.pod.Verify(ctx)
	if err != nil {
		a.fail("%v", err)
		return
	}
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	stderr := userlog.NewPrefixWriter(a.cfg.Log, "swoll-agent["+a.cfg.Node+"]: ")
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		a.writeCommands(stdinW)
	}()
	a.cfg.Batches <- stream.Batch{Stream: a.cfg.ID} // registers the stream with the merger
	pumpDone := make(chan error, 1)
	go func() { pumpDone <- stream.Pump(stdoutR, a.cfg.ID, a.cfg.Batches, a) }()
	streamCtx, cut := context.WithCancel(ctx)
	defer cut()
	a.heard.Store(time.Now().UnixNano())
	watchDone := make(chan struct{})
	defer close(watchDone)
	go a.watchStreaming(cut, watchDone)

	err = a.cfg.Transport.Exec(streamCtx, transport.Request{
		Namespace: a.cfg.Job.Namespace, Pod: podName, Container: agentpod.ContainerName,
		Command: []string{agentpod.AgentBinary, "session"},
	}, transport.Stdio{Stdin: stdinR, Stdout: stdoutW, Stderr: stderr})
	_ = stdoutW.Close()
	_ = stderr.Close()
	_ = stdinW.Close() // ends the transport's stdin copy cleanly (EOF) and unblocks a command write in flight
	perr := <-pumpDone
	<-writerDone
	var setup *transport.SetupError
	if errors.As(err, &setup) {
		a.fail("preparing exec into %s: %v", podName, setup.Err)
		return
	}
	if a.Stopping() {
		return
	}
	st := a.State()
	if st.Exit == nil {
		if why, removed := a.pod.EndReason(ctx); why != "" {
			a.mu.Lock()
			a.st.Removed = removed
			a.mu.Unlock()
			a.fail("%s", why)
			return
		}
	}
	switch {
	case err != nil:
		a.fail("the agent's session ended: %s", describe(err))
	case perr != nil:
		a.fail("reading the agent's output: %v", perr)
	case st.Exit == nil && st.Failure == "":
		a.fail("the agent's session ended without saying why")
	}
}

// watchStreaming runs beside the exec stream: it names the node when its agent goes silent (Notice says when
// it is heard from again), and cuts the stream when the pod ended or is being deleted, whatever the connection
// does.
func (a *Agent) watchStreaming(cut context.CancelFunc, done <-chan struct{}) {
	tick := time.NewTicker(protocol.StatsInterval)
	defer tick.Stop()
	podEnded := a.pod.Ended()
	warnings := a.pod.Warnings()
	var cutAt <-chan time.Time
	for {
		select {
		case <-done:
			return
		case <-podEnded:
			podEnded = nil
			a.cfg.Log.Debugf("%s: agent pod %s ended; cutting its stream in %s", a.cfg.Node, a.PodName(), podEndGrace)
			t := time.NewTimer(podEndGrace)
			defer t.Stop()
			cutAt = t.C
		case <-cutAt:
			cut()
			return
		case w := <-warnings:
			if !routinePhrases[w] && w != "pulling image" { // a late event of the start is no news
				a.cfg.Log.Printf("%s: %s", a.cfg.Node, w) // eviction, OOM, ...; the logger escapes it
			}
		case <-tick.C:
			quiet := time.Since(a.LastHeard())
			a.mu.Lock()
			was := a.silent
			a.silent = quiet >= silentAfter
			now := a.silent
			a.mu.Unlock()
			if now && !was {
				a.cfg.Log.Printf("%s: silent for %s: nothing from its agent (node or network trouble?)", a.cfg.Node, quiet.Round(time.Second))
			}
		}
	}
}

// heardFrom notes a sign of life, and says so when the node had been named as silent.
func (a *Agent) heardFrom() {
	now := time.Now()
	before := a.heard.Swap(now.UnixNano())
	a.mu.Lock()
	was := a.silent
	a.silent = false
	a.mu.Unlock()
	if was {
		a.cfg.Log.Printf("%s: its agent is heard from again after %s of silence", a.cfg.Node, now.Sub(time.Unix(0, before)).Round(time.Second))
	}
}

// describe says in a few words why a stream ended: the agent's exit code, a closed connection, or the error.
func describe(err error) string {
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return fmt.Sprintf("swoll-agent exited with code %d", exitErr.ExitStatus())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection to the agent closed"
	}
	return err.Error()
}

// writeCommands writes queued commands to the agent's stdin and pings it every heartbeat interval. On stop it
// sends OpStop and closes stdin: both tell the agent to detach and exit.
func (a *Agent) writeCommands(w *io.PipeWriter) {
	defer func() { _ = w.Close() }()
	ping := time.NewTicker(protocol.HeartbeatInterval)
	defer ping.Stop()
	var buf []byte
	write := func(cmds []protocol.Command) bool {
		buf = buf[:0]
		for i := range cmds {
			b, err := json.Marshal(&cmds[i])
			if err != nil {
				continue
			}
			buf = append(append(buf, b...), '\n')
		}
		_, err := w.Write(buf)
		return err == nil
	}
	for {
		a.mu.Lock()
		cmds := a.queue
		a.queue = nil
		a.mu.Unlock()
		if len(cmds) > 0 && !write(cmds) {
			return
		}
		select {
		case <-a.wake:
		case <-ping.C:
			if !write([]protocol.Command{{Op: protocol.OpPing}}) {
				return
			}
		case <-a.stopCh:
			a.mu.Lock()
			cmds := append(a.queue, protocol.Command{Op: protocol.OpStop})
			a.queue = nil
			a.mu.Unlock()
			write(cmds)
			return
		}
	}
}

// Notice implements stream.Handler.
func (a *Agent) Notice(n *event.Notice) {
	a.heardFrom()
	switch n.Kind {
	case event.NoticeReady:
		a.mu.Lock()
		a.st.Ready = true
		a.mu.Unlock()
		a.cfg.Observer.Ready(a)
	case event.NoticeLost:
		a.mu.Lock()
		a.st.Lost = n.LostTotal
		a.mu.Unlock()
		a.cfg.Log.Printf("%s: %d events lost in the kernel (total %d)", a.cfg.Node, n.Lost, n.LostTotal)
	case event.NoticeRateLimited:
		a.mu.Lock()
		a.st.Limited = n.LimitedTotal
		a.mu.Unlock()
		a.cfg.Log.Printf("%s: %d events over --max-rate dropped (total %d)", a.cfg.Node, n.Limited, n.LimitedTotal)
	case event.NoticeError:
		a.fail("agent error: %s", n.Message)
	case event.NoticeExit:
		a.mu.Lock()
		a.st.Exit = n
		a.st.Lost = max(a.st.Lost, n.LostTotal)
		a.st.Limited = max(a.st.Limited, n.LimitedTotal)
		a.st.Filtered = max(a.st.Filtered, n.FilteredTotal)
		a.mu.Unlock()
	case event.NoticeStats:
		a.mu.Lock()
		a.st.Filtered = max(a.st.Filtered, n.FilteredTotal)
		a.mu.Unlock()
	}
	a.cfg.Observer.Notice(a, n)
}

// Snapshot implements stream.Handler: a counting agent's counts go to the sink; what its counter table had no
// room for is said at once.
func (a *Agent) Snapshot(snap *event.Snapshot) {
	a.mu.Lock()
	a.st.Filtered = max(a.st.Filtered, snap.FilteredTotal)
	a.mu.Unlock()
	if snap.Overflow > 0 {
		a.cfg.Log.Printf("%s: %d calls not counted in the last interval: the agent's counter table is full (total %d)",
			a.cfg.Node, snap.Overflow, snap.OverflowTotal)
	}
}

// Malformed implements stream.Handler: shown, never silently dropped (a few times, then counted).
func (a *Agent) Malformed(line []byte, err error) {
	a.mu.Lock()
	a.st.Malformed++
	n := a.st.Malformed
	a.mu.Unlock()
	if n <= maxShownMalformed {
		a.cfg.Log.Printf("%s: ignoring a malformed line from the agent (%v): %.200s", a.cfg.Node, err, line)
	}
}
