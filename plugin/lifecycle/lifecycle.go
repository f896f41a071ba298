// Package lifecycle owns a session's agent pods on the API server: it creates each pod, follows the pods'
// status and events (one watch of each for the whole session), tells each agent when its pod runs or why it
// cannot, explains a pod that ended under the session, and deletes the session's pods at the end.
//
// It knows nothing of the connection to the agent (package transport) or of what flows over it (package
// agent). Pods is safe for concurrent use; each Pod is driven by one agent goroutine, while Pods.Watch feeds
// it from another.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/apierr"
	"github.com/swoll-dev/swoll/plugin/cleanup"
	"github.com/swoll-dev/swoll/plugin/kwatch"
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
)

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
	byName  map[string]*Pod
	created int
}

// New returns the pods of session id in namespace. watchClient carries the long-lived watches; it defaults to
// client.
func New(client, watchClient kubernetes.Interface, namespace, session string, log *userlog.Logger) *Pods {
	if watchClient == nil {
		watchClient = client
	}
	return &Pods{client: client, watch: watchClient, ns: namespace, id: session, log: log, byName: map[string]*Pod{}}
}

// Add registers the pod one agent will run in, before it is created, so that no status is missed. onPhrase
// receives each step of its start ("pod created", "pulling image", ...) from the goroutine that runs
// WaitRunning or Create.
func (ps *Pods) Add(spec *corev1.Pod, onPhrase func(string)) *Pod {
	p := &Pod{
		pods:     ps,
		spec:     spec,
		onPhrase: onPhrase,
		updates:  make(chan *corev1.Pod, 1),
		phrases:  make(chan string, 8),
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

// Created counts the pods whose creation was attempted.
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
	deliver := func(obj runtime.Object) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		ps.log.Debugf("pod %s: phase=%s", pod.Name, pod.Status.Phase)
		if p := ps.get(pod.Name); p != nil {
			if uid := p.createdUID(); uid != "" && pod.UID != uid {
				p.foreign(pod) // a pod of that name that this session did not create: never ours
				return
			}
			p.deliver(pod)
		}
	}
	kwatch.Follow(ctx, kwatch.ListWatch(pods, func(o *metav1.ListOptions) { o.LabelSelector = selector }), "", kwatch.Handler{
		Listed: func(list runtime.Object) {
			if l, ok := list.(*corev1.PodList); ok {
				for i := range l.Items {
					deliver(&l.Items[i])
				}
			}
		},
		Event: func(ev watch.Event) {
			if ev.Type == watch.Added || ev.Type == watch.Modified {
				deliver(ev.Object)
			}
		},
		Failed: func(err error) { ps.log.Debugf("watching agent pods: %v", err) },
	})
}

// watchEvents follows events about the session's pods: they name causes that pod status does not (pulling an
// image, a volume that cannot mount).
func (ps *Pods) watchEvents(ctx context.Context) {
	prefix := "swoll-" + ps.id + "-"
	since := time.Now().Add(-eventSlack)
	lw := kwatch.ListWatch(ps.watch.CoreV1().Events(ps.ns), func(o *metav1.ListOptions) {
		o.FieldSelector = "involvedObject.kind=Pod"
		if o.ResourceVersion == "" {
			// a list (kwatch lists without a version): only its version matters, events from before the
			// session are not about its pods
			o.Limit = 1
		}
	})
	kwatch.Follow(ctx, lw, "", kwatch.Handler{
		Event: func(ev watch.Event) {
			e, ok := ev.Object.(*corev1.Event)
			if !ok || ev.Type == watch.Deleted || !strings.HasPrefix(e.InvolvedObject.Name, prefix) {
				return
			}
			if last := eventTime(e); !last.IsZero() && last.Before(since) {
				return
			}
			if p := ps.get(e.InvolvedObject.Name); p != nil {
				p.deliverPhrase(eventPhrase(e))
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

// Delete removes the session's pods and waits until they are gone (bounded by deleteTimeout). forced uses
// grace 0; force, when closed during the wait, switches to grace 0.
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
		return fmt.Errorf("removing agent pods (run `kubectl swoll cleanup`): %w", err)
	}
	return nil
}

// ForceDelete asks for every pod of the session to go at once (grace 0) without waiting, and returns how many
// there were.
func (ps *Pods) ForceDelete(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, forceDeleteTimeout)
	defer cancel()
	return cleanup.ForceDelete(ctx, ps.client, ps.ns, agentpod.SessionSelector(ps.id))
}

// Pod is one agent's pod.
type Pod struct {
	pods     *Pods
	spec     *corev1.Pod
	onPhrase func(string)
	updates  chan *corev1.Pod
	phrases  chan string

	mu   sync.Mutex
	last string // the last phrase reported, for a timeout message
	// uid is the UID the API server gave the pod this session created: only that pod is followed (and so
	// exec'd into); reported is set once a pod of the same name but another UID was reported.
	uid      types.UID
	reported bool
}

func (p *Pod) createdUID() types.UID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.uid
}

// foreign reports, once, a pod with this agent's name that this session did not create.
func (p *Pod) foreign(pod *corev1.Pod) {
	p.mu.Lock()
	seen := p.reported
	p.reported = true
	p.mu.Unlock()
	if !seen {
		p.pods.log.Printf("ignoring pod %s/%s (uid %s): it has this session's agent name but was not created by it", pod.Namespace, pod.Name, pod.UID)
	}
}

// Name is the pod's name.
func (p *Pod) Name() string { return p.spec.Name }

// Spec is the pod as it was built.
func (p *Pod) Spec() *corev1.Pod { return p.spec }

// deliver hands the newest status to the waiting agent, replacing an unread older one.
func (p *Pod) deliver(pod *corev1.Pod) {
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

// Create creates the pod. A pod of that name that exists already is not this session's (the name holds the
// session's random id): it is refused, never adopted or exec'd into.
func (p *Pod) Create(ctx context.Context) error {
	p.pods.mu.Lock()
	p.pods.created++
	p.pods.mu.Unlock()
	created, err := p.pods.client.CoreV1().Pods(p.spec.Namespace).Create(ctx, p.spec, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("a pod named %s exists already in namespace %s and was not created by this session: refusing to use it",
			p.spec.Name, p.spec.Namespace)
	case err != nil:
		return fmt.Errorf("creating agent pod %s: %s", p.spec.Name, apierr.Message(err))
	}
	p.mu.Lock()
	p.uid = created.UID
	p.mu.Unlock()
	p.report("pod created")
	return nil
}

// WaitRunning follows the pod's status until its container runs. It fails when the pod cannot run or does not
// within timeout, and returns ErrStopped when ctx ends first.
func (p *Pod) WaitRunning(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case pod := <-p.updates:
			st := interpretPod(pod)
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
			p.report(st.Phrase)
		case s := <-p.phrases:
			p.report(s)
		case <-t.C:
			return fmt.Errorf("agent pod %s not running after %s (last state: %s); see kubectl describe pod -n %s %s",
				p.spec.Name, timeout, p.lastPhrase(), p.spec.Namespace, p.spec.Name)
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
	b, err := p.pods.client.CoreV1().Pods(p.spec.Namespace).GetLogs(p.spec.Name, &corev1.PodLogOptions{
		Container: agentpod.ContainerName, TailLines: &tail,
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return lastLine(string(b))
}

// EndReason explains a pod that ended under the session: killed for its activeDeadlineSeconds, or deleted by
// someone else (`kubectl swoll cleanup`, a namespace deletion). "" when the pod says nothing.
func (p *Pod) EndReason(ctx context.Context) string {
	why := ""
	_ = wait.PollUntilContextTimeout(ctx, endReasonPoll, endReasonTimeout, true, func(ctx context.Context) (bool, error) {
		got, err := p.pods.client.CoreV1().Pods(p.spec.Namespace).Get(ctx, p.spec.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			why = fmt.Sprintf("the agent pod %s was deleted by another client (kubectl swoll cleanup?)", p.spec.Name)
		case err != nil:
		case got.Status.Reason == "DeadlineExceeded":
			why = fmt.Sprintf("the agent pod reached its deadline (activeDeadlineSeconds %d); use a larger --agent-deadline for longer sessions",
				deadlineOf(p.spec))
		case got.DeletionTimestamp != nil:
			why = fmt.Sprintf("the agent pod %s was deleted by another client (kubectl swoll cleanup?)", p.spec.Name)
		case got.Status.Phase == corev1.PodRunning:
			return false, nil // the status may lag the end of the stream by a moment
		}
		return true, nil
	})
	return why
}

func deadlineOf(pod *corev1.Pod) int64 {
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		return *d
	}
	return 0
}
