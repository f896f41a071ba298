// Package lifecycle is the API server's side of a session's agents: it creates an agent's Job (package
// agentpod), follows the session's agent pods and the events about them (one watch of each for the whole
// session), reads a pod again right before an exec into it, reads what a pod that ended under the session says
// about why, and deletes the session's Jobs and pods at the end.
//
// Agents are ours by UID: a Job (the value) takes as its pod only one whose controller is the Job this session
// created (the UID Create returned), and Verify reads it again before an exec. A Job name that exists already
// is refused, never adopted. What the session knows of each agent is owned by one goroutine (package fleet's):
// Jobs is stateless and safe for concurrent use (it counts the Jobs it was asked to create); a Job is a plain
// value its owner alone uses.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
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

// ExistsError is Create's error for a Job name that exists already: that Job was not created by this session
// (the name holds the session's random id) and is never adopted. It wraps the server's AlreadyExists.
type ExistsError struct {
	Name, Namespace string
	Err             error
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("a Job named %s exists already in namespace %s and was not created by this session: refusing to use it",
		e.Name, e.Namespace)
}

func (e *ExistsError) Unwrap() error { return e.Err }

// Jobs are the agent Jobs of one session on the API server.
type Jobs struct {
	client kubernetes.Interface // short requests
	watch  kubernetes.Interface // watches (no request timeout)
	ns     string
	id     string
	log    *userlog.Logger
	// created counts the Jobs whose creation was attempted: the session's end deletes nothing without one.
	created atomic.Int64
}

// New returns the Jobs of session id in namespace. watchClient carries the long-lived watches; it defaults to
// client.
func New(client, watchClient kubernetes.Interface, namespace, session string, log *userlog.Logger) *Jobs {
	if watchClient == nil {
		watchClient = client
	}
	return &Jobs{client: client, watch: watchClient, ns: namespace, id: session, log: log}
}

// Update is one thing the watches saw: a pod with the session's labels (Pod, Deleted when it is gone), or an
// event about one of the session's Jobs or pods (Object is their name, Phrase what the event means).
type Update struct {
	Pod     *corev1.Pod
	Deleted bool
	Object  string
	Phrase  string
}

// Watch follows the session's pods and the events about them until ctx ends, sending what it sees to out. A
// watch (not polling) is what makes an agent start streaming the moment its container runs. Without permission
// to watch events, progress is told from pod status alone.
func (j *Jobs) Watch(ctx context.Context, out chan<- Update) {
	send := func(u Update) {
		select {
		case out <- u:
		case <-ctx.Done():
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); j.watchPods(ctx, send) }()
	go func() { defer wg.Done(); j.watchEvents(ctx, send) }()
	wg.Wait()
}

func (j *Jobs) watchPods(ctx context.Context, send func(Update)) {
	pods := j.watch.CoreV1().Pods(j.ns)
	selector := agentpod.SessionSelector(j.id)
	deliver := func(obj runtime.Object, deleted bool) {
		if pod, ok := obj.(*corev1.Pod); ok {
			j.log.Debugf("pod %s: phase=%s", pod.Name, pod.Status.Phase)
			send(Update{Pod: pod, Deleted: deleted})
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
		Failed: func(err error) { j.log.Debugf("watching agent pods: %v", err) },
	})
}

// watchEvents follows events about the session's Jobs and pods: they name causes that pod status does not
// (pulling an image, a volume that cannot mount, a pod the Job controller could not create).
func (j *Jobs) watchEvents(ctx context.Context, send func(Update)) {
	prefix := "swoll-" + j.id + "-"
	since := time.Now().Add(-eventSlack)
	lw := kwatch.ListWatch(j.watch.CoreV1().Events(j.ns), func(o *metav1.ListOptions) {
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
			if phrase := podstatus.EventPhrase(e); phrase != "" {
				send(Update{Object: e.InvolvedObject.Name, Phrase: phrase})
			}
		},
		Failed: func(err error) { j.log.Debugf("watching agent pod events: %v", err) },
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

// Job is one agent Job as the session knows it from the watch: the UID the API server gave it, the pods of its
// name seen before that was known, and its pod's newest status.
type Job struct {
	Spec *batchv1.Job
	// UID is the UID the API server gave the Job this session created ("" before).
	UID types.UID
	// Pod is the newest status of its pod (nil before it is seen).
	Pod *corev1.Pod
	// DeletedLive: its pod was seen being deleted before it finished. Ended: it finished, is being deleted or is
	// gone.
	DeletedLive, Ended bool

	held    []*corev1.Pod // seen before the UID was known, the newest of each UID
	refused bool          // a pod of another Job of that name was refused
}

// maxHeld bounds the pods (by UID) held before the Job's UID is known.
const maxHeld = 8

// Claim is what a pod whose controller bears the Job's name is to the session.
type Claim int

// What a pod is.
const (
	// Ignored: nothing to do (held until the Job's UID is known, or refused before).
	Ignored Claim = iota
	// Ours: the pod of the Job this session created; its status is kept.
	Ours
	// Refused: the pod of another Job of that name; the first one is to be reported.
	Refused
)

// Hold keeps a pod seen before the Job's UID is known.
func (j *Job) Hold(pod *corev1.Pod) {
	for i, p := range j.held {
		if p.UID == pod.UID {
			j.held[i] = pod
			return
		}
	}
	if len(j.held) < maxHeld {
		j.held = append(j.held, pod)
	}
}

// Created records the UID the API server gave the Job and returns the pods held until then, to be seen again.
func (j *Job) Created(uid types.UID) []*corev1.Pod {
	j.UID = uid
	held := j.held
	j.held = nil
	return held
}

// See takes an update of a pod whose controller bears the Job's name (deleted: the pod is gone).
func (j *Job) See(pod *corev1.Pod, deleted bool) Claim {
	switch _, uid := Controller(pod); {
	case j.UID == "": // its creation failed
		return Ignored
	case uid != j.UID:
		if j.refused {
			return Ignored
		}
		j.refused = true
		return Refused
	}
	finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	j.Pod = pod
	if pod.DeletionTimestamp != nil && !finished {
		// deleted before it finished: by a client (or the Job's deadline), not by the TTL of a finished Job
		j.DeletedLive = true
	}
	j.Ended = j.Ended || deleted || finished || pod.DeletionTimestamp != nil
	return Ours
}

// Reason explains the end of the Job's pod from what ReadEnd read (see End.Reason).
func (j *Job) Reason(e End) (why string, removed bool) {
	if j.Pod == nil {
		return "", false
	}
	return e.Reason(j.Spec, j.Pod.Name, j.Pod, j.DeletedLive)
}

// Controller is the Job that controls pod: its name and UID ("" when no Job controls it).
func Controller(pod *corev1.Pod) (name string, uid types.UID) {
	if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "Job" {
		return ref.Name, ref.UID
	}
	return "", ""
}

// JobOf tells whether object (from an event) is the Job named job or a pod of it: the Job controller names its
// pods <job>-<suffix without a dash>.
func JobOf(object, job string) bool {
	rest, ok := strings.CutPrefix(object, job)
	return ok && (rest == "" || len(rest) > 1 && rest[0] == '-' && !strings.Contains(rest[1:], "-"))
}

// Delete removes the session's Jobs and pods and waits until the pods are gone (bounded by deleteTimeout).
// forced uses grace 0; force, when closed during the wait, switches to grace 0.
func (j *Jobs) Delete(ctx context.Context, forced bool, force <-chan struct{}) error {
	if j.created.Load() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	grace := int64(1)
	if forced {
		grace = 0
	}
	if _, err := cleanup.DeleteAndWait(ctx, j.client, j.ns, agentpod.SessionSelector(j.id), grace, force); err != nil {
		return fmt.Errorf("removing agents (run `kubectl swoll cleanup`): %w", err)
	}
	return nil
}

// ForceDelete asks for every Job and pod of the session to go at once (grace 0) without waiting, and returns
// how many pods there were.
func (j *Jobs) ForceDelete(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, forceDeleteTimeout)
	defer cancel()
	return cleanup.ForceDelete(ctx, j.client, j.ns, agentpod.SessionSelector(j.id))
}

// Create creates the Job and returns the UID the API server gave it, retrying while the server cannot be
// reached (a restart). A Job of that name that exists already is refused (*ExistsError). replacement also rides
// out a restarted server's refusals while its authorizer warms up: the session was allowed this before.
func (j *Jobs) Create(ctx context.Context, spec *batchv1.Job, replacement bool) (types.UID, error) {
	j.created.Add(1)
	retriable := transient
	if replacement {
		retriable = func(err error) bool {
			return transient(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
		}
	}
	var created *batchv1.Job
	err := retry.OnError(createBackoff, retriable, func() error {
		var err error
		created, err = j.client.BatchV1().Jobs(spec.Namespace).Create(ctx, spec, metav1.CreateOptions{})
		return err
	})
	switch {
	case apierrors.IsAlreadyExists(err):
		return "", &ExistsError{Name: spec.Name, Namespace: spec.Namespace, Err: err}
	case err != nil:
		return "", fmt.Errorf("creating agent job %s: %w", spec.Name, err)
	}
	return created.UID, nil
}

// transient says whether a request may succeed if retried: the server could not be reached or was not ready.
func transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err) || strings.Contains(err.Error(), "connection refused")
}

// ErrNotOurs is returned (wrapped) by Verify for a pod that is not the one this session's Job created.
var ErrNotOurs = errors.New("is not the pod this session's Job created: refusing to exec into it")

// Verify reads the pod again right before an exec into it: it must still be the pod seen (same UID) and
// controlled by the Job this session created (jobUID). Anything else is refused (ErrNotOurs). It returns the
// pod's name.
func (j *Jobs) Verify(ctx context.Context, seen *corev1.Pod, jobUID types.UID) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	got, err := j.client.CoreV1().Pods(seen.Namespace).Get(ctx, seen.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading agent pod %s before attaching: %w", seen.Name, err)
	}
	if _, uid := Controller(got); got.UID != seen.UID || uid == "" || uid != jobUID {
		return "", fmt.Errorf("pod %s/%s (uid %s) %w", got.Namespace, got.Name, got.UID, ErrNotOurs)
	}
	return got.Name, nil
}

// LastLogLine fetches the last line the agent container of pod logged (why it exited); "" when it cannot.
func (j *Jobs) LastLogLine(ctx context.Context, pod string) string {
	ctx, cancel := context.WithTimeout(ctx, logTimeout)
	defer cancel()
	tail := int64(logTail)
	b, err := j.client.CoreV1().Pods(j.ns).GetLogs(pod, &corev1.PodLogOptions{
		Container: agentpod.ContainerName, TailLines: &tail,
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return podstatus.LastLine(string(b))
}

// End is what the API server says of an agent pod whose stream ended: the pod as read (nil when it is gone or
// could not be read) and whether its Job failed for its deadline.
type End struct {
	Pod      *corev1.Pod
	NotFound bool
	// Unread: the pod could not be read (not a NotFound): nothing is known.
	Unread   bool
	Deadline bool
}

// ReadEnd reads an agent pod whose stream ended. The pod's status may lag the end of the stream, so a pod
// still running (and not being deleted) is read again every endReasonPoll, for at most endReasonTimeout.
func (j *Jobs) ReadEnd(ctx context.Context, job *batchv1.Job, pod string) End {
	var end End
	_ = wait.PollUntilContextTimeout(ctx, endReasonPoll, endReasonTimeout, true, func(ctx context.Context) (bool, error) {
		got, err := j.client.CoreV1().Pods(job.Namespace).Get(ctx, pod, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			end = End{NotFound: true}
		case err != nil:
			end = End{Unread: true}
			return true, nil
		default:
			end = End{Pod: got}
			if got.Status.Phase == corev1.PodRunning && got.DeletionTimestamp == nil {
				return false, nil
			}
		}
		return true, nil
	})
	if !end.Unread {
		end.Deadline = j.deadlineExceeded(ctx, job)
	}
	return end
}

// deadlineExceeded says whether the Job failed for its activeDeadlineSeconds (its controller then deletes the
// running pod).
func (j *Jobs) deadlineExceeded(ctx context.Context, spec *batchv1.Job) bool {
	job, err := j.client.BatchV1().Jobs(spec.Namespace).Get(ctx, spec.Name, metav1.GetOptions{})
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

// Reason explains the end of an agent's pod under the session from what ReadEnd read and what the watch saw
// (last: the newest status seen; deletedLive: it was seen being deleted before it finished): killed for its
// deadline, or deleted by another client (`kubectl swoll cleanup`, a namespace deletion: removed is then true,
// and the agent is not to be replaced). "" when the pod says nothing.
func (e End) Reason(job *batchv1.Job, pod string, last *corev1.Pod, deletedLive bool) (why string, removed bool) {
	deadline := fmt.Sprintf("the agent reached its deadline (activeDeadlineSeconds %d); use a larger --agent-deadline for longer sessions",
		deadlineOf(job))
	deleted := func() (string, bool) {
		if e.Deadline {
			return deadline, false
		}
		return fmt.Sprintf("the agent pod %s was deleted by another client (kubectl swoll cleanup?)", pod), true
	}
	switch {
	case e.NotFound:
		// a finished Job's pod goes at once (ttlSecondsAfterFinished 0): only a pod gone while it ran was
		// deleted
		if last == nil || last.Status.Phase == corev1.PodRunning || deletedLive {
			return deleted()
		}
	case e.Unread || e.Pod == nil:
	case deletedLive:
		// its deletion was seen while it ran: the kill that followed is not the agent's own failure
		return deleted()
	case e.Pod.Status.Reason == "DeadlineExceeded":
		return deadline, false
	case e.Pod.DeletionTimestamp != nil && e.Pod.Status.Phase == corev1.PodRunning:
		return deleted()
	}
	return "", false
}

func deadlineOf(job *batchv1.Job) int64 {
	if d := job.Spec.ActiveDeadlineSeconds; d != nil {
		return *d
	}
	return 0
}
