// Package audit leaves a record of each session in Kubernetes itself: a Kubernetes Event on every traced pod when
// the session starts tracing it (reason SwollTraceStarted) and one when the session ends (SwollTraceEnded),
// saying who traced it, from which host, when, which calls, and whether data was copied out of the processes.
// `kubectl describe pod` shows them; their annotations hold the same as fields. The agent Jobs carry the same
// in their annotations (package agentpod). A record never holds a credential: only the user name the API server
// knows, the host name, the system calls and the data capture size.
//
// Writing a record is best effort: a person without the right to create Events where the targets are still
// traces, with one warning per namespace that no record was written there. Events live as long as the API
// server keeps them (--event-ttl, one hour by default); the API server's audit log, where there is one, keeps
// the session's requests longer.
//
// A Trail is driven by the session's goroutine (Start, Changes, End); its own goroutine owns what it recorded
// and writes the Events, a few at a time, so that the session never waits on the API server for them.
package audit

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/apierr"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

const (
	// ReasonStarted and ReasonEnded are the Events' reasons (kubectl get events --field-selector reason=...).
	ReasonStarted = "SwollTraceStarted"
	ReasonEnded   = "SwollTraceEnded"
	// Controller is the Events' reporting controller and source component.
	Controller = "swoll.dev/kubectl-swoll"
	component  = "kubectl-swoll"
	action     = "Trace"

	// AnnotationStarted and AnnotationEnded are when the session started tracing and ended (RFC 3339); the
	// Events also carry agentpod's requested-by, requested-from, syscalls and capture-data annotations.
	AnnotationStarted = "swoll.dev/started-at"
	AnnotationEnded   = "swoll.dev/ended-at"

	// endTimeout bounds the wait for the last records when the session ends (an interrupted session too): an
	// unreachable API server must not hold up the exit for long.
	endTimeout = 3 * time.Second
	// writeTimeout bounds one Event's creation.
	writeTimeout = 5 * time.Second
	// writers is how many Events are written at once.
	writers = 4
	// changeQueue is how many batches of new targets may wait for the trail's goroutine.
	changeQueue = 64
	// maxName is a Kubernetes object name's limit; maxInstance the reporting instance's.
	maxName     = 253
	maxInstance = 128
)

// Record is what the trail says about a session.
type Record struct {
	Session string
	// User is who runs the session, as the API server names them; Host the machine it runs on (Host()).
	User, Host string
	// Syscalls as the user gave them (empty: every call); CaptureData the bytes copied from each read or
	// write (0: none); Count: counting mode (kubectl swoll top).
	Syscalls    []string
	CaptureData int
	Count       bool
}

// Host is this machine's name for the record ("unknown" when the system will not say).
func Host() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// pod is one traced pod.
type pod struct {
	namespace, name string
	uid             types.UID
}

// ending is why and when the session ended.
type ending struct {
	reason string
	at     time.Time
}

// result is one write's outcome, for the trail's goroutine.
type result struct {
	namespace string
	err       error
}

// Trail records one session. Start, Changes and End are for one goroutine (the session's).
type Trail struct {
	client  kubernetes.Interface
	rec     Record
	log     *userlog.Logger
	started time.Time

	add     chan []pod
	end     chan ending
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	results chan result
	slots   chan struct{}
}

// Start records the start of tracing on the pods of tgs and returns the trail for the rest of the session. It
// does not wait for the Events: they are written in the background.
func Start(ctx context.Context, client kubernetes.Interface, rec Record, tgs []targets.Target, log *userlog.Logger) *Trail {
	// the last records are written after an interrupt too: End bounds them
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t := &Trail{
		client: client, rec: rec, log: log, started: time.Now(),
		add: make(chan []pod, changeQueue), end: make(chan ending), done: make(chan struct{}),
		ctx: wctx, cancel: cancel, results: make(chan result), slots: make(chan struct{}, writers),
	}
	go t.run()
	t.add <- pods(tgs)
	return t
}

// Changes records the start of tracing on pods that joined the session.
func (t *Trail) Changes(cs []targets.Change) {
	var added []targets.Target
	for _, c := range cs {
		if c.Kind == targets.Added {
			added = append(added, c.Target)
		}
	}
	if len(added) > 0 {
		t.add <- pods(added)
	}
}

// End records the end of the session (reason: why it ended) on every pod it traced, and waits until the
// records are written or endTimeout passed. It is called once.
func (t *Trail) End(reason string) {
	timer := time.NewTimer(endTimeout)
	defer timer.Stop()
	t.end <- ending{reason: reason, at: time.Now()}
	select {
	case <-t.done:
	case <-timer.C:
		t.cancel()
		<-t.done
	}
	t.cancel()
}

func pods(tgs []targets.Target) []pod {
	out := make([]pod, 0, len(tgs))
	for _, tg := range tgs {
		out = append(out, pod{namespace: tg.Namespace, name: tg.Name, uid: types.UID(tg.UID)})
	}
	return out
}

// run owns the trail's state: the pods recorded, the namespaces where no record can be written, the writes in
// flight.
func (t *Trail) run() {
	defer close(t.done)
	var traced []pod
	seen := map[types.UID]bool{}
	denied := map[string]bool{}
	warned := false
	pending := 0
	var end *ending
	endsWritten := false
	record := func(ps []pod) {
		for _, p := range ps {
			if seen[p.uid] {
				continue
			}
			seen[p.uid] = true
			traced = append(traced, p)
			if !denied[p.namespace] {
				pending++
				go t.write(t.event(p, ReasonStarted, time.Time{}, ""))
			}
		}
	}
	for {
		if end != nil && pending == 0 {
			if endsWritten {
				return
			}
			for _, p := range traced {
				if !denied[p.namespace] {
					pending++
					go t.write(t.event(p, ReasonEnded, end.at, end.reason))
				}
			}
			endsWritten = true
			if pending == 0 {
				return
			}
		}
		select {
		case ps := <-t.add:
			record(ps)
		case r := <-t.results:
			pending--
			switch {
			case r.err == nil:
			case apierrors.IsForbidden(r.err):
				if !denied[r.namespace] {
					denied[r.namespace] = true
					t.log.Printf("warning: no audit record of this session on the pods of namespace %s: not allowed to create events there "+
						"(kubectl auth can-i create events -n %s); tracing goes on", r.namespace, r.namespace)
				}
			case !warned && t.ctx.Err() == nil:
				warned = true
				t.log.Printf("warning: an audit record of this session could not be written: %s", apierr.Message(r.err))
			}
		case e := <-t.end:
			end = &e
			// what the session sent before End is queued already: record it first
			for queued := true; queued; {
				select {
				case ps := <-t.add:
					record(ps)
				default:
					queued = false
				}
			}
		}
	}
}

// write creates one Event (a few at a time) and reports the outcome to the trail's goroutine.
func (t *Trail) write(ev *corev1.Event) {
	var err error
	select {
	case t.slots <- struct{}{}:
		ctx, cancel := context.WithTimeout(t.ctx, writeTimeout)
		_, err = t.client.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
		cancel()
		<-t.slots
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	case <-t.ctx.Done():
		err = t.ctx.Err()
	}
	t.results <- result{namespace: ev.Namespace, err: err}
}

// event is the record on one pod; ended is zero for the start record.
func (t *Trail) event(p pod, reason string, ended time.Time, why string) *corev1.Event {
	now := metav1.NewTime(time.Now())
	annotations := map[string]string{
		agentpod.AnnotationRequestedBy:   t.rec.User,
		agentpod.AnnotationRequestedFrom: t.rec.Host,
		agentpod.AnnotationSyscalls:      agentpod.SyscallsAnnotation(t.rec.Syscalls),
		agentpod.AnnotationCaptureData:   fmt.Sprint(t.rec.CaptureData),
		AnnotationStarted:                t.started.UTC().Format(time.RFC3339),
	}
	suffix := "started"
	if !ended.IsZero() {
		annotations[AnnotationEnded] = ended.UTC().Format(time.RFC3339)
		suffix = "ended"
	}
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:        eventName(p.name, t.rec.Session, suffix),
			Namespace:   p.namespace,
			Labels:      map[string]string{agentpod.LabelSession: t.rec.Session, agentpod.LabelManagedBy: agentpod.ManagedByValue},
			Annotations: annotations,
		},
		InvolvedObject:      corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: p.namespace, Name: p.name, UID: p.uid},
		Reason:              reason,
		Message:             t.message(ended, why),
		Type:                corev1.EventTypeNormal,
		Source:              corev1.EventSource{Component: component, Host: t.rec.Host},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: Controller,
		ReportingInstance:   cut(t.rec.Host, maxInstance),
		Action:              action,
	}
}

// message is the record for people: `kubectl describe pod` shows it.
func (t *Trail) message(ended time.Time, why string) string {
	verb := "tracing"
	if t.rec.Count {
		verb = "counting"
	}
	capture := "no data captured"
	if t.rec.CaptureData > 0 {
		capture = fmt.Sprintf("data captured: up to %d bytes per read/write", t.rec.CaptureData)
	}
	calls := "every system call"
	if len(t.rec.Syscalls) > 0 {
		calls = "system calls " + agentpod.SyscallsAnnotation(t.rec.Syscalls)
	}
	who := fmt.Sprintf("kubectl swoll session %s by %s from host %s", t.rec.Session, t.rec.User, t.rec.Host)
	if ended.IsZero() {
		return fmt.Sprintf("%s started %s %s (%s)", who, verb, calls, capture)
	}
	return fmt.Sprintf("%s ended (%s) after %s %s from %s to %s, %s (%s)", who, why, verb, calls,
		t.started.UTC().Format(time.RFC3339), ended.UTC().Format(time.RFC3339), ended.Sub(t.started).Round(time.Second), capture)
}

// eventName is <pod>.swoll-<session>-<suffix>, the pod's part shortened to fit.
func eventName(podName, session, suffix string) string {
	tail := ".swoll-" + session + "-" + suffix
	return strings.TrimRight(cut(podName, maxName-len(tail)), ".-") + tail
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
