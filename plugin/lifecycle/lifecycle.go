// Package lifecycle owns a session's agents on the API server: it creates each agent's Job (package
// agentpod), follows the Jobs' pods and the events about them (one watch of each for the whole session), tells
// each agent when its pod runs or why it cannot, and when the pod ended, explains a pod that ended under the
// session, and deletes the session's Jobs and pods at the end.
//
// Agents are ours by UID: only a pod whose controller is the Job this session created (the UID the create
// returned) is followed, and it is read again right before an exec (Verify). A Job name that exists already
// is refused, never adopted; a pod with the session's labels that none of its Jobs created is reported once.
//
// It knows nothing of the connection to the agent (package transport) or of what flows over it (package
// agent). Pods is safe for concurrent use; each Pod is driven by one agent goroutine, while Pods.Watch feeds
// it from another (Pod's methods are safe for that).
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/apierr"
	"github.com/swoll-dev/swoll/plugin/cleanup"
	"github.com/swoll-dev/swoll/plugin/kwatch"
	"github.com/swoll-dev/swoll/plugin/podstatus"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

const (
	// logTimeout bounds reading the last lines an agent logged (why it exited).
	logTimeout = 3 * time.Second
	// logTail is how many lines of the agent's log are read to find its last one.
	logTail = 5
	// endReasonTimeout bounds the look at a pod whose stream ended; the pod's status may lag the end of the
	// stream by a moment, so it is read every endReasonPoll until then.
	endReasonTimeout = 3 * time.Second
	endReasonPoll    = 200 * time.Millisecond
	// deleteTimeout bounds the deletion of the session's pods and the wait until they are gone.
	deleteTimeout = 20 * time.Second
	// forceDeleteTimeout bounds the grace-0 deletion after a second interrupt.
	forceDeleteTimeout = 3 * time.Second
	// eventSlack: events about the session's pods this much older than the watch are still shown (clock skew).
	eventSlack = time.Second
	// verifyTimeout bounds the read of the pod right before an exec into it.
	verifyTimeout = 10 * time.Second
)

// createBackoff spreads the retries of a Job creation over about a minute: an agent (often a replacement) may be
// created while the API server restarts.
var createBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.6, Steps: 10, Cap: 15 * time.Second}

// ErrStopped is returned by Pod.WaitRunning when the session stopped waiting.
var ErrStopped = errors.New("stopped")

// Pods are the agent pods of one session.
type Pods struct {
	client kubernetes.Interface // short requests
	watch  kubernetes.Interface // watches (no request timeout)
	ns     string
	id     string
	log    *userlog.Logger

	mu      sync.Mutex
	byName  map[string]*Pod // by Job name
	created int
	foreign map[types.UID]bool // pods with the session's labels but of no Job of it, reported
}

// New returns the pods of session id in namespace. watchClient carries the long-lived watches; it defaults to
// client.
func New(client, watchClient kubernetes.Interface, namespace, session string, log *userlog.Logger) *Pods {
	if watchClient == nil {
		watchClient = client
	}
	return &Pods{client: client, watch: watchClient, ns: namespace, id: session, log: log, byName: map[string]*Pod{}}
}

// Add registers the Job one agent will run in, before it is created, so that no status is missed. onPhrase
// receives each step of its start ("pod created", "pulling image", ...) from the goroutine that runs
// WaitRunning or Create.
func (ps *Pods) Add(spec *batchv1.Job, onPhrase func(string)) *Pod {
	p := &Pod{
		pods:     ps,
		spec:     spec,
		onPhrase: onPhrase,
		updates:  make(chan *corev1.Pod, 1),
		phrases:  make(chan string, 8),
		ended:    make(chan struct{}),
	}
	ps.mu.Lock()
	ps.byName[spec.Name] = p
	ps.mu.Unlock()
	return p
}

func (ps *Pods) get(name string) *Pod {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.byName[name]
}

// ofPod is the agent whose Job's pod name is name (<job>-<suffix without a dash>), nil when none.
func (ps *Pods) ofPod(name string) *Pod {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p := ps.byName[name]; p != nil {
		return p // an event about the Job itself
	}
	for job, p := range ps.byName {
		if rest, ok := strings.CutPrefix(name, job+"-"); ok && rest != "" && !strings.Contains(rest, "-") {
			return p
		}
	}
	return nil
}

// Created counts the Jobs whose creation was attempted.
func (ps *Pods) Created() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.created
}

// Watch follows the session's pods and the events about them until ctx ends, handing each status and progress
// phrase to its Pod. A watch (not polling) is what makes an agent start streaming the moment its container
// runs. Without permission to watch events, progress is told from pod status alone.
func (ps *Pods) Watch(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ps.watchPods(ctx) }()
	go func() { defer wg.Done(); ps.watchEvents(ctx) }()
	wg.Wait()
}

func (ps *Pods) watchPods(ctx context.Context) {
	pods := ps.watch.CoreV1().Pods(ps.ns)
	selector := agentpod.SessionSelector(ps.id)
	deliver := func(obj runtime.Object, deleted bool) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		ps.log.Debugf("pod %s: phase=%s", pod.Name, pod.Status.Phase)
		ref := metav1.GetControllerOf(pod)
		var p *Pod
		if ref != nil && ref.Kind == "Job" {
			p = ps.get(ref.Name)
		}
		switch {
		case p == nil:
			ps.foreignPod(pod) // the session's labels, but none of its Jobs: never ours
		case !p.routes(pod, ref.UID):
			// not (yet) known to be ours: held until Create returns the Job's UID, else reported
		case deleted:
			p.markEnded()
		default:
			p.deliver(pod)
		}
	}
	kwatch.Follow(ctx, kwatch.ListWatch(pods, func(o *metav1.ListOptions) { o.LabelSelector = selector }), "", kwatch.Handler{
		Listed: func(list runtime.Object) {
			if l, ok := list.(*corev1.PodList); ok {
				for i := range l.Items {
					deliver(&l.Items[i], false)
				}
			}
		},
		Event: func(ev watch.Event) {
			if ev.Type == watch.Added || ev.Type == watch.Modified || ev.Type == watch.Deleted {
				deliver(ev.Object, ev.Type == watch.Deleted)
			}
		},
		Failed: func(err error) { ps.log.Debugf("watching agent pods: %v", err) },
	})
}

// foreignPod reports, once per pod, a pod with the session's labels that none of its Jobs created.
func (ps *Pods) foreignPod(pod *corev1.Pod) {
	ps.mu.Lock()
	if ps.foreign == nil {
		ps.foreign = map[types.UID]bool{}
	}
	seen := ps.foreign[pod.UID]
	ps.foreign[pod.UID] = true
	ps.mu.Unlock()
	if !seen && pod.DeletionTimestamp == nil {
		ps.log.Printf("ignoring pod %s/%s (uid %s): it carries this session's labels but none of its agent Jobs created it",
			pod.Namespace, pod.Name, pod.UID)
	}
}

// watchEvents follows events about the session's Jobs and pods: they name causes that pod status does not
// (pulling an image, a volume that cannot mount, a pod the Job controller could not create).
func (ps *Pods) watchEvents(ctx context.Context) {
	prefix := "swoll-" + ps.id + "-"
	since := time.Now().Add(-eventSlack)
	lw := kwatch.ListWatch(ps.watch.CoreV1().Events(ps.ns), func(o *metav1.ListOptions) {
		if o.ResourceVersion == "" {
			// a list (kwatch lists without a version): only its version matters, events from before the
			// session are not about its pods
			o.Limit = 1
		}
	})
	kwatch.Follow(ctx, lw, "", kwatch.Handler{
		Event: func(ev watch.Event) {
			e, ok := ev.Object.(*corev1.Event)
			if !ok || ev.Type == watch.Deleted || !strings.HasPrefix(e.InvolvedObject.Name, prefix) ||
				e.InvolvedObject.Kind != "Pod" && e.InvolvedObject.Kind != "Job" {
				return
			}
			if last := eventTime(e); !last.IsZero() && last.Before(since) {
				return
			}
			if p := ps.ofPod(e.InvolvedObject.Name); p != nil {
				p.deliverPhrase(podstatus.EventPhrase(e))
			}
		},
		Failed: func(err error) { ps.log.Debugf("watching agent pod events: %v", err) },
	})
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.FirstTimestamp.Time
	}
}

// Delete removes the session's Jobs and pods and waits until the pods are gone (bounded by deleteTimeout).
// forced uses grace 0; force, when closed during the wait, switches to grace 0.
func (ps *Pods) Delete(ctx context.Context, forced bool, force <-chan struct{}) error {
	if ps.Created() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	grace := int64(1)
	if forced {
		grace = 0
	}
	if _, err := cleanup.DeleteAndWait(ctx, ps.client, ps.ns, agentpod.SessionSelector(ps.id), grace, force); err != nil {
		return fmt.Errorf("removing agents (run `kubectl swoll cleanup`): %w", err)
	}
	return nil
}

// ForceDelete asks for every Job and pod of the session to go at once (grace 0) without waiting, and returns
// how many pods there were.
func (ps *Pods) ForceDelete(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, forceDeleteTimeout)
	defer cancel()
	return cleanup.ForceDelete(ctx, ps.client, ps.ns, agentpod.SessionSelector(ps.id))
}

// Pod is one agent's Job and the pod its controller creates.
type Pod struct {
	pods     *Pods
	spec     *batchv1.Job
	onPhrase func(string)
	updates  chan *corev1.Pod
	phrases  chan string
	ended    chan struct{} // closed once the pod ended or is being deleted

	mu   sync.Mutex
	last string // the last phrase reported, for a timeout message
	// jobUID is the UID the API server gave the Job this session created: only a pod it controls is followed
	// (and so exec'd into). held is a pod seen before that UID was known; reported is set once a pod of
	// another Job with this name was reported.
	jobUID   types.UID
	held     *corev1.Pod
	reported bool
	// pod is the newest status of the Job's pod; endedOnce guards ended.
	pod       *corev1.Pod
	endedOnce bool
	// deletedLive: the pod was seen with a deletion timestamp before it finished.
	deletedLive bool
}

// routes says whether a pod controlled by a Job of this name (controller UID uid) is to be delivered: only when
// uid is the Job's this session created. One seen before the create returned is held until then.
func (p *Pod) routes(pod *corev1.Pod, uid types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.jobUID {
	case "":
		p.held = pod
		return false
	case uid:
		return true
	}
	if !p.reported {
		p.reported = true
		p.pods.log.Printf("ignoring pod %s/%s (uid %s): its Job has this session's agent name but was not created by it",
			pod.Namespace, pod.Name, pod.UID)
	}
	return false
}

// Ended is closed once the Job's pod ended (succeeded, failed) or is being deleted.
func (p *Pod) Ended() <-chan struct{} { return p.ended }

func (p *Pod) markEnded() {
	p.mu.Lock()
	first := !p.endedOnce
	p.endedOnce = true
	p.mu.Unlock()
	if first {
		close(p.ended)
	}
}

// PodName is the name of the Job's pod once seen ("" before).
func (p *Pod) PodName() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pod == nil {
		return ""
	}
	return p.pod.Name
}

// Name is the Job's name.
func (p *Pod) Name() string { return p.spec.Name }

// Spec is the Job as it was built.
func (p *Pod) Spec() *batchv1.Job { return p.spec }

// deliver hands the newest status to the waiting agent, replacing an unread older one.
func (p *Pod) deliver(pod *corev1.Pod) {
	finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	p.mu.Lock()
	p.pod = pod
	if pod.DeletionTimestamp != nil && !finished {
		// deleted before it finished: by a client (or the Job's deadline), not by the TTL of a finished Job
		p.deletedLive = true
	}
	p.mu.Unlock()
	if pod.DeletionTimestamp != nil || finished {
		p.markEnded()
	}
	for {
		select {
		case p.updates <- pod:
			return
		default:
		}
		select {
		case <-p.updates:
		default:
		}
	}
}

func (p *Pod) deliverPhrase(s string) {
	if s == "" {
		return
	}
	select {
	case p.phrases <- s:
	default:
	}
}

func (p *Pod) report(s string) {
	if s == "" {
		return
	}
	p.mu.Lock()
	p.last = s
	p.mu.Unlock()
	if p.onPhrase != nil {
		p.onPhrase(s)
	}
}

func (p *Pod) lastPhrase() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Create creates the Job, retrying while the API server cannot be reached (a restart). A Job of that name
// that exists already is not this session's (the name holds the session's random id): it is refused, never
// adopted. replacement also rides out a restarted server's refusals while its authorizer warms up: the session
// was allowed this before.
func (p *Pod) Create(ctx context.Context, replacement bool) error {
	p.pods.mu.Lock()
	p.pods.created++
	p.pods.mu.Unlock()
	retriable := transient
	if replacement {
		retriable = func(err error) bool {
			return transient(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
		}
	}
	var created *batchv1.Job
	err := retry.OnError(createBackoff, retriable, func() error {
		var err error
		created, err = p.pods.client.BatchV1().Jobs(p.spec.Namespace).Create(ctx, p.spec, metav1.CreateOptions{})
		return err
	})
	switch {
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("a Job named %s exists already in namespace %s and was not created by this session: refusing to use it",
			p.spec.Name, p.spec.Namespace)
	case err != nil:
		return fmt.Errorf("creating agent job %s: %s", p.spec.Name, apierr.Message(err))
	}
	p.mu.Lock()
	p.jobUID = created.UID
	held := p.held
	p.held = nil
	p.mu.Unlock()
	p.report("pod created")
	if held != nil {
		if ref := metav1.GetControllerOf(held); ref != nil && p.routes(held, ref.UID) {
			p.deliver(held)
		}
	}
	return nil
}

// transient says whether a request may succeed if retried: the server could not be reached or was not ready.
func transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err) || strings.Contains(err.Error(), "connection refused")
}

// Verify reads the pod again right before an exec into it: it must still be the pod seen (same UID) and
// controlled by this session's Job. Anything else is refused.
func (p *Pod) Verify(ctx context.Context) (string, error) {
	p.mu.Lock()
	seen, uid := p.pod, p.jobUID
	p.mu.Unlock()
	if seen == nil {
		return "", fmt.Errorf("no pod of agent job %s seen", p.spec.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	got, err := p.pods.client.CoreV1().Pods(seen.Namespace).Get(ctx, seen.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading agent pod %s before attaching: %s", seen.Name, apierr.Message(err))
	}
	ref := metav1.GetControllerOf(got)
	if got.UID != seen.UID || ref == nil || ref.Kind != "Job" || ref.UID != uid {
		return "", fmt.Errorf("pod %s/%s (uid %s) is not the pod this session's Job created: refusing to exec into it",
			got.Namespace, got.Name, got.UID)
	}
	return got.Name, nil
}

// WaitRunning follows the pod's status until its container runs. It fails when the pod cannot run or does not
// within timeout, and returns ErrStopped when ctx ends first.
func (p *Pod) WaitRunning(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case pod := <-p.updates:
			st := podstatus.Interpret(pod)
			if st.Running {
				return nil
			}
			if st.Fatal != "" {
				msg := st.Fatal
				if st.Terminated && !strings.Contains(msg, ": ") {
					if l := p.lastLogLine(ctx); l != "" {
						msg += ": " + l
					}
				}
				return fmt.Errorf("agent pod %s cannot run: %s", pod.Name, msg)
			}
			if pod.Status.Phase == corev1.PodSucceeded {
				return fmt.Errorf("agent pod %s ended before the session attached", pod.Name)
			}
			p.report(st.Phrase)
		case s := <-p.phrases:
			p.report(s)
		case <-t.C:
			what := "job/" + p.spec.Name
			if n := p.PodName(); n != "" {
				what = "pod/" + n
			}
			return fmt.Errorf("agent %s not running after %s (last state: %s); see kubectl describe -n %s %s",
				what, timeout, p.lastPhrase(), p.spec.Namespace, what)
		case <-ctx.Done():
			return ErrStopped
		}
	}
}

// lastLogLine fetches the last line the agent container logged (why it exited).
func (p *Pod) lastLogLine(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logTimeout)
	defer cancel()
	tail := int64(logTail)
	name := p.PodName()
	if name == "" {
		return ""
	}
	b, err := p.pods.client.CoreV1().Pods(p.spec.Namespace).GetLogs(name, &corev1.PodLogOptions{
		Container: agentpod.ContainerName, TailLines: &tail,
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return podstatus.LastLine(string(b))
}

// Warnings carries what events say about the pod once it runs (warnings: eviction, OOM, a failed probe...),
// for the stream's watcher to show; WaitRunning reads the same channel before.
func (p *Pod) Warnings() <-chan string { return p.phrases }

// EndReason explains a pod that ended under the session: killed for its deadline, or deleted by someone else
// (`kubectl swoll cleanup`, a namespace deletion: removed is then true, and the agent is not to be replaced).
// "" when the pod says nothing.
func (p *Pod) EndReason(ctx context.Context) (why string, removed bool) {
	name := p.PodName()
	if name == "" {
		return "", false
	}
	deleted := func() (string, bool) {
		if p.deadlineExceeded(ctx) {
			return fmt.Sprintf("the agent reached its deadline (activeDeadlineSeconds %d); use a larger --agent-deadline for longer sessions",
				deadlineOf(p.spec)), false
		}
		return fmt.Sprintf("the agent pod %s was deleted by another client (kubectl swoll cleanup?)", name), true
	}
	_ = wait.PollUntilContextTimeout(ctx, endReasonPoll, endReasonTimeout, true, func(ctx context.Context) (bool, error) {
		got, err := p.pods.client.CoreV1().Pods(p.spec.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// a finished Job's pod goes at once (ttlSecondsAfterFinished 0): only a pod gone while it ran
			// was deleted
			if last := p.lastPod(); last == nil || last.Status.Phase == corev1.PodRunning || p.wasDeletedLive() {
				why, removed = deleted()
			}
		case err != nil:
		case p.wasDeletedLive():
			// its deletion was seen while it ran: the kill that followed is not the agent's own failure
			why, removed = deleted()
		case got.Status.Reason == "DeadlineExceeded":
			why = fmt.Sprintf("the agent reached its deadline (activeDeadlineSeconds %d); use a larger --agent-deadline for longer sessions",
				deadlineOf(p.spec))
		case got.DeletionTimestamp != nil && got.Status.Phase == corev1.PodRunning:
			why, removed = deleted()
		case got.Status.Phase == corev1.PodRunning:
			return false, nil // the status may lag the end of the stream by a moment
		}
		return true, nil
	})
	return why, removed
}

// wasDeletedLive tells whether the pod was seen being deleted before it finished.
func (p *Pod) wasDeletedLive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.deletedLive
}

func (p *Pod) lastPod() *corev1.Pod {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pod
}

// deadlineExceeded says whether the Job failed for its activeDeadlineSeconds (its controller then deletes the
// running pod).
func (p *Pod) deadlineExceeded(ctx context.Context) bool {
	job, err := p.pods.client.BatchV1().Jobs(p.spec.Namespace).Get(ctx, p.spec.Name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
			return true
		}
	}
	return false
}

func deadlineOf(job *batchv1.Job) int64 {
	if d := job.Spec.ActiveDeadlineSeconds; d != nil {
		return *d
	}
	return 0
}
