package fleet

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agent"
	"github.com/swoll-dev/swoll/plugin/lifecycle"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/podstatus"
	"github.com/swoll-dev/swoll/protocol"
)

const (
	// quietStart: the routine steps of a start are shown only when the start takes longer than this, so that a
	// normal session prints one line per agent rather than eight.
	quietStart = time.Second
	// silentAfter is how long an agent may say nothing (it writes a stats notice every
	// protocol.StatsInterval) before its node is named as silent.
	silentAfter = 3 * protocol.StatsInterval
	// podEndGrace is how long the stream may outlive its pod's end (its last lines may still be in flight)
	// before it is cut: a partitioned node's stream would otherwise hang until TCP gives up.
	podEndGrace = 3 * time.Second
	// maxHeldPhrases bounds the events kept for an agent whose Job is still being created.
	maxHeldPhrases = 8
)

// routinePhrases are the steps of a start that goes well.
var routinePhrases = map[string]bool{
	"pod created": true, "pod pending": true, "creating container": true, "image pulled": true,
	"container created": true, "container started": true, "attaching": true, "running": true,
}

// state is where one agent of a node is. A node has one current agent (its generation); a failed one is
// replaced by the next generation, which starts over at preparing.
type state int

const (
	preparing state = iota // its node and Job are being read and built (a node new mid-session, a replacement)
	creating               // its Job is being created; pods of that name are held until the Job's UID is known
	created                // the Job exists; its pod is not seen yet
	scheduled              // its pod is seen (bound to the node, image pulling, container creating)
	attaching              // the pod runs: read again (ours by UID?), exec'd into, start command and targets sent
	streaming              // the agent said it is ready: its probes are attached
	ending                 // it ended unasked (its pod, its stream); the API server is read to tell why
	gone                   // ended, failed or stopped; a failed agent that had been streaming is replaced
)

// podRole says what an update of the agent's pod (or an event about it) does in a state.
type podRole int

const (
	ignored  podRole = iota
	held             // kept until the Job's UID is known (pod), or until it is created (event)
	progress         // moves the start along; events are shown as steps of the start
	watched          // its end cuts the stream after podEndGrace; warning events are shown
)

// stopRole says what Stop does to an agent in a state.
type stopRole int

const (
	dropIt      stopRole = iota // it goes at once
	awaitCreate                 // it goes when the creation returns (the Job may exist: teardown deletes it)
	detach                      // OpStop and the end of its stdin; it goes when its stream ends
)

// states describes each state: its name, what it may become, and what pod updates and Stop do there.
var states = [...]struct {
	name string
	next []state
	pod  podRole
	stop stopRole
}{
	preparing: {"preparing", []state{creating, gone}, ignored, dropIt},
	creating:  {"creating", []state{created, gone}, held, awaitCreate},
	created:   {"created", []state{scheduled, gone}, progress, dropIt},
	scheduled: {"scheduled", []state{attaching, ending, gone}, progress, dropIt},
	attaching: {"attaching", []state{streaming, ending, gone}, watched, detach},
	streaming: {"streaming", []state{ending}, watched, detach},
	ending:    {"ending", []state{gone}, ignored, dropIt},
	gone:      {"gone", nil, ignored, dropIt},
}

func (s state) String() string { return states[s].name }

// allowed tells whether the machine moves from one state to the other.
func allowed(from, to state) bool {
	for _, s := range states[from].next {
		if s == to {
			return true
		}
	}
	return false
}

// attempt is one agent: one generation of a node's agent, one Job, one stream.
type attempt struct {
	node     *node
	gen      int
	id       int // stream id in the merge loop, from creating on
	state    state
	plan     Plan
	started  time.Time
	replaces *attempt // the failed agent it takes over from

	ctx    context.Context // its requests and stream; cancelled when it is gone
	cancel context.CancelFunc
	cut    context.CancelFunc // cuts the stream only
	timers []*time.Timer      // the start timeout, the cut after its pod ended

	job         lifecycle.Job // its Job and pod as the watch tells them
	heldPhrases []string      // events about them before the Job's creation returned
	cutting     bool          // its pod ended: its stream is cut after podEndGrace
	phrase      string        // the last step of its start told
	note        string        // why it ended (ending), while the API server is read for a better word

	conn   *agent.Conn
	heard  time.Time // when it last wrote a notice
	silent bool      // its silence was reported

	ready         bool
	selection     string // how its agent selects pods (event.Notice.Selection), said once
	failure       string
	exit          *event.Notice
	lost, limited uint64
	filtered      uint64              // calls the incident filters dropped (stats and exit notices): asked for, not lost
	dropped       []event.DroppedCall // the calls of the events lost, from its last notice that said
	removed       bool                // another client deleted it: not to be replaced
	replaced      bool                // a replacement took over
}

// to moves a to state s.
func (f *Fleet) to(a *attempt, s state) {
	if !allowed(a.state, s) {
		f.cfg.Log.Debugf("%s: agent %d: unexpected transition %s → %s", a.node.name, a.gen, a.state, s)
	} else {
		f.cfg.Log.Debugf("%s: agent %d: %s → %s", a.node.name, a.gen, a.state, s)
	}
	from := a.state
	a.state = s
	if f.onTransition != nil {
		f.onTransition(a.node.name, a.gen, from, s)
	}
	if s == gone {
		for _, t := range a.timers {
			t.Stop()
		}
		a.cancel()
		f.finish(a)
	}
}

// after runs fn on Run's goroutine after d, unless a is gone by then.
func (f *Fleet) after(a *attempt, d time.Duration, fn func()) {
	a.timers = append(a.timers, time.AfterFunc(d, func() {
		f.post(func() {
			if a.state != gone {
				fn()
			}
		})
	}))
}

// newAttempt makes generation gen of n's agent its current one.
func (f *Fleet) newAttempt(n *node, gen int) *attempt {
	a := &attempt{node: n, gen: gen, state: preparing, id: -1}
	a.ctx, a.cancel = context.WithCancel(f.ctx)
	n.cur = a
	if f.onTransition != nil {
		f.onTransition(n.name, gen, preparing, preparing)
	}
	return a
}

// begin makes plan node n's current agent (replacing old, when set) and creates its Job.
func (f *Fleet) begin(n *node, plan Plan, old *attempt) {
	a := n.cur
	if a == nil || a.state != preparing {
		a = f.newAttempt(n, 1) // an initial agent: planned by the session
	}
	f.to(a, creating)
	a.plan, a.started, a.id, a.replaces = plan, time.Now(), len(f.attempts), old
	n.tried = true
	a.job.Spec = plan.Job
	f.attempts = append(f.attempts, a)
	f.jobs[plan.Job.Name] = a
	if old != nil {
		old.replaced = true
	}
	if plan.NotReady != "" {
		// a pod bound to a node that is down would only wait for the start timeout
		f.fail(a, "%s; its containers are not traced", plan.NotReady)
		f.to(a, gone)
		return
	}
	job, replacement := plan.Job, a.gen > 1
	f.spawn(func() func() {
		uid, err := f.cfg.Jobs.Create(a.ctx, job, replacement)
		return func() { f.created(a, uid, err) }
	})
}

// prepare starts generation gen of node n's agent: its plan is made in a goroutine (it may read the node).
func (f *Fleet) prepare(n *node, gen int, old *attempt) {
	a := f.newAttempt(n, gen)
	f.cfg.Log.Debugf("%s: agent %d: preparing", n.name, gen)
	f.spawn(func() func() {
		plan, err := f.cfg.Prepare(a.ctx, n.name, gen)
		return func() { f.prepared(a, old, plan, err) }
	})
}

func (f *Fleet) prepared(a, old *attempt, plan Plan, err error) {
	n := a.node
	switch {
	case a.state != preparing:
	case err != nil:
		f.to(a, gone)
		n.cur = old // a failed agent stays its node's; a new node has none (its next target tries again)
		if old != nil {
			f.untraced(n, err.Error())
			break
		}
		for _, t := range n.waiting {
			f.cfg.Log.Printf("%s: cannot trace %s/%s there: %v", n.name, t.Namespace, t.Name, err)
		}
	default:
		f.begin(n, plan, old)
		if old == nil {
			f.cfg.Log.Printf("%s: new node with targets; starting an agent", n.name)
		}
	}
	n.waiting = nil
}

func (f *Fleet) created(a *attempt, uid types.UID, err error) {
	switch {
	case a.state != creating:
	case err != nil:
		if !f.stopping {
			f.fail(a, "%v", err)
		}
		f.to(a, gone)
	case f.stopping:
		f.to(a, gone)
	default:
		held := a.job.Created(uid)
		f.to(a, created)
		f.after(a, f.cfg.StartTimeout, func() {
			if states[a.state].pod == progress {
				f.startTimedOut(a)
			}
		})
		f.phrase(a, "pod created")
		for _, p := range a.heldPhrases {
			f.phrase(a, p)
		}
		a.heldPhrases = nil
		for _, p := range held {
			f.podOf(a, p, false)
		}
	}
}

// podUpdate takes what the agent pods watch saw to the agent it is about.
func (f *Fleet) podUpdate(u lifecycle.Update) {
	if u.Pod == nil {
		for job, a := range f.jobs {
			if lifecycle.JobOf(u.Object, job) {
				f.podPhrase(a, u.Phrase)
			}
		}
		return
	}
	pod := u.Pod
	job, _ := lifecycle.Controller(pod)
	a := f.jobs[job]
	if a == nil {
		// the session's labels, but none of its Jobs: never ours
		if !f.foreign[pod.UID] && pod.DeletionTimestamp == nil {
			f.cfg.Log.Printf("ignoring pod %s/%s (uid %s): it carries this session's labels but none of its agent Jobs created it",
				pod.Namespace, pod.Name, pod.UID)
		}
		f.foreign[pod.UID] = true
		return
	}
	f.podOf(a, pod, u.Deleted)
}

// podOf handles an update of a pod whose controller bears a's Job's name: only when its UID is the one this
// session's Job got is the pod a's.
func (f *Fleet) podOf(a *attempt, pod *corev1.Pod, deleted bool) {
	if states[a.state].pod == held {
		a.job.Hold(pod)
		return
	}
	switch a.job.See(pod, deleted) {
	case lifecycle.Refused:
		f.cfg.Log.Printf("ignoring pod %s/%s (uid %s): its Job has this session's agent name but was not created by it",
			pod.Namespace, pod.Name, pod.UID)
		return
	case lifecycle.Ignored:
		return
	}
	switch states[a.state].pod {
	case progress:
		if a.state == created {
			f.to(a, scheduled)
		}
		f.startStep(a, pod, deleted)
	case watched:
		if a.job.Ended && !a.cutting {
			a.cutting = true
			f.cfg.Log.Debugf("%s: agent pod %s ended; cutting its stream in %s", a.node.name, pod.Name, f.waits.podEndGrace)
			f.after(a, f.waits.podEndGrace, a.cut) // harmless once the stream ended
		}
	}
}

// startStep reads the status of a pod being started: running (attach), a cause waiting will not fix (fail), or
// a step to show.
func (f *Fleet) startStep(a *attempt, pod *corev1.Pod, deleted bool) {
	st := podstatus.Interpret(pod)
	if deleted {
		st = podstatus.State{Fatal: "the agent pod is being deleted"}
	}
	switch {
	case st.Running:
		f.attach(a)
	case st.Fatal != "" && st.Terminated && !strings.Contains(st.Fatal, ": "):
		// its last log line says why it exited
		a.note = fmt.Sprintf("agent pod %s cannot run: %s", pod.Name, st.Fatal)
		f.to(a, ending)
		name := pod.Name
		f.spawn(func() func() {
			line := f.cfg.Jobs.LastLogLine(a.ctx, name)
			return func() {
				if a.state == ending {
					if line != "" {
						a.note += ": " + line
					}
					f.fail(a, "%s", a.note)
					f.to(a, gone)
				}
			}
		})
	case st.Fatal != "":
		f.fail(a, "agent pod %s cannot run: %s", pod.Name, st.Fatal)
		f.to(a, gone)
	default:
		f.phrase(a, st.Phrase)
	}
}

func (f *Fleet) startTimedOut(a *attempt) {
	what := "job/" + a.plan.Job.Name
	if a.job.Pod != nil {
		what = "pod/" + a.job.Pod.Name
	}
	f.fail(a, "agent %s not running after %s (last state: %s); see kubectl describe -n %s %s",
		what, f.cfg.StartTimeout, a.phrase, a.plan.Job.Namespace, what)
	f.to(a, gone)
}

// podPhrase handles an event about a's Job or pod.
func (f *Fleet) podPhrase(a *attempt, p string) {
	switch states[a.state].pod {
	case held:
		if len(a.heldPhrases) < maxHeldPhrases {
			a.heldPhrases = append(a.heldPhrases, p)
		}
	case progress:
		f.phrase(a, p)
	case watched:
		if !routinePhrases[p] && p != "pulling image" { // a late event of the start is no news
			f.cfg.Log.Printf("%s: %s", a.node.name, p) // eviction, OOM, ...; the logger escapes it
		}
	}
}

// attach reads the running pod again (ours?) and opens the stream, with the start command and the node's
// targets queued first.
func (f *Fleet) attach(a *attempt) {
	f.to(a, attaching)
	f.phrase(a, "attaching")
	a.heard = time.Now()
	a.conn = agent.New(agent.Config{
		ID: a.id, Node: a.node.name, Namespace: a.plan.Job.Namespace, Transport: f.cfg.Transport,
		Batches: f.cfg.Batches, Log: f.cfg.Log,
		Notice: func(n *event.Notice) { f.post(func() { f.notice(a, n) }) },
	})
	a.conn.Send(protocol.Command{Op: protocol.OpStart, Start: a.plan.Start})
	a.conn.Send(f.route.Adds(a.node.name)...)
	streamCtx, cut := context.WithCancel(a.ctx)
	a.cut = cut
	seen, uid, conn := a.job.Pod, a.job.UID, a.conn
	f.spawn(func() func() {
		defer cut()
		name, err := f.cfg.Jobs.Verify(a.ctx, seen, uid)
		if err != nil {
			return func() {
				f.fail(a, "%v", err)
				f.to(a, gone)
			}
		}
		end := conn.Run(streamCtx, name)
		return func() { f.streamEnded(a, end) }
	})
}

// notice handles what an agent says.
func (f *Fleet) notice(a *attempt, n *event.Notice) {
	now := time.Now()
	if a.silent {
		f.cfg.Log.Printf("%s: its agent is heard from again after %s of silence", a.node.name, now.Sub(a.heard).Round(time.Second))
	}
	a.heard, a.silent = now, false
	a.filtered = max(a.filtered, n.FilteredTotal)
	node := a.node.name
	switch n.Kind {
	case event.NoticeReady:
		if n.Selection == "" {
			// an agent of protocol 1 ignores the version it was sent, and would ignore the pods
			f.fail(a, "%v", protocol.ErrOldAgent)
			a.conn.Stop()
			return
		}
		if a.selection != n.Selection {
			a.selection = n.Selection
			f.cfg.Log.Printf("%s: %s", node, output.Describe(n))
		}
		a.ready = true
		if a.state == attaching {
			f.to(a, streaming)
		}
		f.readied(a)
	case event.NoticeLost:
		a.lost = n.LostTotal
		if n.DroppedCalls != nil {
			a.dropped = n.DroppedCalls
		}
		f.cfg.Log.Printf("%s: %d events lost in the kernel (total %d)", node, n.Lost, n.LostTotal)
	case event.NoticeRateLimited:
		a.limited = n.LimitedTotal
		f.cfg.Log.Printf("%s: %d events over --max-rate dropped (total %d)", node, n.Limited, n.LimitedTotal)
	case event.NoticeError:
		f.fail(a, "agent error: %s", n.Message)
	case event.NoticeExit:
		a.exit = n
		a.lost, a.limited = max(a.lost, n.LostTotal), max(a.limited, n.LimitedTotal)
		if n.DroppedCalls != nil {
			a.dropped = n.DroppedCalls
		}
	case event.NoticeTargetAttached:
		// the initial pods were announced in the session's first line; later ones are news
		if f.readyAll && !f.route.IsInitial(n) {
			f.cfg.Log.Printf("%s: tracing %s", node, f.route.Name(n))
		}
	case event.NoticeTargetDetached:
		if f.readyAll && !f.stopping {
			msg := ""
			if n.Message != "" {
				msg = " (" + n.Message + ")"
			}
			f.cfg.Log.Printf("%s: no longer tracing %s%s", node, f.route.Name(n), msg)
		}
	case event.NoticeTargetError:
		f.cfg.Log.Printf("%s: cannot trace %s: %s", node, f.route.Name(n), n.Message)
	case event.NoticeContainerStarted, event.NoticeContainerEnded, event.NoticeUnattributed:
		f.cfg.Log.Printf("%s: %s", node, output.Describe(n))
	}
}

// streamEnded: the exec returned. Unasked and without the agent's goodbye, the pod is read to tell why.
func (f *Fleet) streamEnded(a *attempt, end agent.End) {
	f.to(a, ending)
	said := a.exit != nil || a.failure != ""
	switch {
	case end.Setup != nil:
		f.fail(a, "%s", end.Failure(said))
	case f.stopping:
	case a.exit == nil && a.job.Pod != nil:
		// what the stream says, unless the pod says more (read while a Stop would drop it)
		a.note = end.Failure(said)
		job, name, ctx := a.plan.Job, a.job.Pod.Name, a.ctx
		f.spawn(func() func() {
			read := f.cfg.Jobs.ReadEnd(ctx, job, name)
			return func() {
				if a.state != ending {
					return
				}
				if why, removed := a.job.Reason(read); why != "" {
					a.removed, a.note = removed, why
				}
				if a.note != "" {
					f.fail(a, "%s", a.note)
				}
				f.to(a, gone)
			}
		})
		return
	default:
		if msg := end.Failure(said); msg != "" {
			f.fail(a, "%s", msg)
		}
	}
	f.to(a, gone)
}

// stopAll stops every agent: no agent starts or is replaced after this.
func (f *Fleet) stopAll() {
	f.stopping = true
	for _, n := range f.nodes {
		a := n.cur
		if a == nil || a.state == gone {
			continue
		}
		switch states[a.state].stop {
		case dropIt:
			if a.state == ending && a.note != "" {
				f.fail(a, "%s", a.note) // it failed before the stop: say so without the pod's word
			}
			f.to(a, gone)
		case detach:
			a.conn.Stop()
		case awaitCreate:
		}
	}
}

// fail records why a failed and says it.
func (f *Fleet) fail(a *attempt, format string, args ...any) {
	a.failure = fmt.Sprintf(format, args...)
	f.cfg.Log.Printf("%s: %s", a.node.name, a.failure)
}

// finish: a is gone. An agent that failed after it had been tracing is replaced, else its node is said to be
// untraced.
func (f *Fleet) finish(a *attempt) {
	defer func() {
		// a failed agent no longer counts toward readiness: the others may now all be ready
		if first, ready, total := f.recount(); first {
			f.cfg.Log.Printf("agents ready %d/%d; tracing (Ctrl-C to stop)", ready, total)
		}
	}()
	n := a.node
	if a.id < 0 || a.failure == "" || f.stopping || n.cur != a {
		return
	}
	switch {
	case a.removed:
		f.untraced(n, "its agent was deleted by another client")
	case !a.ready || f.cfg.Prepare == nil:
		f.untraced(n, "") // its failure said why
	case n.replacements >= f.cfg.MaxReplacements:
		f.untraced(n, fmt.Sprintf("its agent failed %d times", n.replacements+1))
	default:
		n.replacements++
		f.cfg.Log.Printf("%s: starting a replacement agent (%d of at most %d)", n.name, n.replacements, f.cfg.MaxReplacements)
		f.prepare(n, a.gen+1, a)
	}
}

// checkSilence names a node whose agent has said nothing for silentAfter.
func (f *Fleet) checkSilence() {
	for _, n := range f.nodes {
		a := n.cur
		if a == nil || states[a.state].pod != watched || a.silent {
			continue
		}
		if quiet := time.Since(a.heard); quiet >= f.waits.silentAfter {
			a.silent = true
			f.cfg.Log.Printf("%s: silent for %s: nothing from its agent (node or network trouble?)", n.name, quiet.Round(time.Second))
		}
	}
}

// allGone tells whether no agent runs or is being started.
func (f *Fleet) allGone() bool {
	for _, n := range f.nodes {
		if n.cur != nil && n.cur.state != gone {
			return false
		}
	}
	return true
}
