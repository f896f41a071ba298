package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/internal/testutil"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/userlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeClientset = fake.Clientset

const (
	ns      = "swoll"
	session = "s1"
)

func job(gen int) *batchv1.Job {
	return agentpod.Build(agentpod.Params{Session: session, Node: "node-a", Namespace: ns, Image: "i", Generation: gen})
}

// ours is the running pod of j, created by the Job whose UID is jobUID.
func ours(j *batchv1.Job, jobUID types.UID) *corev1.Pod {
	p := agentpod.Pod(j)
	p.Name, p.UID = j.Name+"-abcde", "uid-pod"
	j = j.DeepCopy()
	j.UID = jobUID
	p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))}
	testutil.SetRunning(p)
	return p
}

func newJobs(objs ...runtime.Object) (*Jobs, *testutil.Buffer) {
	var log testutil.Buffer
	c := testutil.Clientset(objs...)
	testutil.RunAgentPodsWith(c, testutil.Absent)
	return New(c, nil, ns, session, userlog.New(&log, false)), &log
}

// TestCreate: a Job is created and its UID returned; a name that exists is refused, never adopted; a refusal
// is retried only for a replacement (a restarted API server's authorizer warming up), an unreachable server
// always; errors keep the server's error in their chain.
func TestCreate(t *testing.T) {
	createBackoff = wait.Backoff{Duration: time.Millisecond, Steps: 5}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "jobs"}, "x", errors.New("no"))
	refused := errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	tests := []struct {
		name        string
		existing    bool
		failures    []error // returned by the first creates
		replacement bool
		calls       int32
		want        string // the error, "" for success
		is          func(error) bool
	}{
		{name: "created", calls: 1},
		{name: "its name exists", existing: true, calls: 1, is: apierrors.IsAlreadyExists,
			want: "a Job named swoll-s1-66570f exists already in namespace swoll and was not created by this session: refusing to use it"},
		{name: "refused", failures: []error{forbidden}, calls: 1, is: apierrors.IsForbidden,
			want: `creating agent job swoll-s1-66570f: jobs.batch "x" is forbidden: no`},
		{name: "a replacement refused while the server warms up", failures: []error{forbidden, forbidden}, replacement: true, calls: 3},
		{name: "the server is unreachable for a while", failures: []error{refused, refused}, calls: 3},
		{name: "the server stays unreachable", failures: []error{refused, refused, refused, refused, refused, refused}, calls: 5,
			want: "creating agent job swoll-s1-66570f: dial tcp 10.0.0.1:6443: connect: connection refused",
			is:   func(err error) bool { return errors.Is(err, refused) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := job(1)
			var objs []runtime.Object
			if tc.existing {
				objs = append(objs, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: ns, UID: "theirs"}})
			}
			j, _ := newJobs(objs...)
			var calls atomic.Int32
			j.client.(*fakeClientset).PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
				if n := int(calls.Add(1)); n <= len(tc.failures) {
					return true, nil, tc.failures[n-1]
				}
				return false, nil, nil
			})
			uid, err := j.Create(t.Context(), spec, tc.replacement)
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d creates, want %d", got, tc.calls)
			}
			switch {
			case tc.want == "" && (err != nil || uid == ""):
				t.Fatalf("uid %q, error %v", uid, err)
			case tc.want != "" && (err == nil || err.Error() != tc.want || !tc.is(err)):
				t.Fatalf("error %v, want %q (and in its chain)", err, tc.want)
			}
			if tc.existing {
				var exists *ExistsError
				if !errors.As(err, &exists) || exists.Name != spec.Name {
					t.Errorf("%v is no *ExistsError", err)
				}
				got, _ := j.client.BatchV1().Jobs(ns).Get(t.Context(), spec.Name, metav1.GetOptions{})
				if got.UID != "theirs" {
					t.Errorf("their Job was changed: %+v", got)
				}
			}
		})
	}
}

// TestVerify: the pod is exec'd into only when it is still the one seen and controlled by this session's Job.
func TestVerify(t *testing.T) {
	spec := job(1)
	seen := ours(spec, "uid-job")
	tests := []struct {
		name   string
		stored *corev1.Pod // nil: gone
		want   string
		is     func(error) bool
	}{
		{name: "ours", stored: seen},
		{name: "another pod of that name", stored: func() *corev1.Pod { p := seen.DeepCopy(); p.UID = "uid-other"; return p }(),
			want: "pod swoll/" + seen.Name + " (uid uid-other) is not the pod this session's Job created: refusing to exec into it",
			is:   func(err error) bool { return errors.Is(err, ErrNotOurs) }},
		{name: "a pod of another Job of that name", stored: ours(spec, "uid-other-job"),
			want: "is not the pod this session's Job created", is: func(err error) bool { return errors.Is(err, ErrNotOurs) }},
		{name: "a pod of no Job", stored: func() *corev1.Pod { p := seen.DeepCopy(); p.OwnerReferences = nil; return p }(),
			want: "is not the pod this session's Job created", is: func(err error) bool { return errors.Is(err, ErrNotOurs) }},
		{name: "gone", want: "reading agent pod " + seen.Name + " before attaching: pods \"" + seen.Name + "\" not found",
			is: apierrors.IsNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.stored != nil {
				objs = append(objs, tc.stored)
			}
			j, _ := newJobs(objs...)
			name, err := j.Verify(t.Context(), seen, "uid-job")
			switch {
			case tc.want == "" && (err != nil || name != seen.Name):
				t.Fatalf("name %q, error %v", name, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !tc.is(err)):
				t.Fatalf("error %v, want %q (and in its chain)", err, tc.want)
			}
		})
	}
}

// TestReason: why an agent's pod ended under the session, from what was read and what the watch saw.
func TestReason(t *testing.T) {
	spec := job(1)
	pod := func(phase corev1.PodPhase, change func(*corev1.Pod)) *corev1.Pod {
		p := ours(spec, "uid-job")
		p.Status.Phase = phase
		if change != nil {
			change(p)
		}
		return p
	}
	deleting := func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
	deadline := "the agent reached its deadline (activeDeadlineSeconds 1); use a larger --agent-deadline for longer sessions"
	deleted := "the agent pod P was deleted by another client (kubectl swoll cleanup?)"
	tests := []struct {
		name        string
		end         End
		last        *corev1.Pod
		deletedLive bool
		why         string
		removed     bool
	}{
		{"gone while it ran", End{NotFound: true}, pod(corev1.PodRunning, nil), false, deleted, true},
		{"gone, never seen", End{NotFound: true}, nil, false, deleted, true},
		{"gone after it finished (the Job's TTL)", End{NotFound: true}, pod(corev1.PodFailed, nil), false, "", false},
		{"gone after its deletion was seen", End{NotFound: true}, pod(corev1.PodFailed, nil), true, deleted, true},
		{"gone for its deadline", End{NotFound: true, Deadline: true}, pod(corev1.PodRunning, nil), false, deadline, false},
		{"unread", End{Unread: true}, pod(corev1.PodRunning, nil), true, "", false},
		{"killed after its deletion was seen", End{Pod: pod(corev1.PodFailed, nil)}, nil, true, deleted, true},
		{"its pod says its deadline passed", End{Pod: pod(corev1.PodFailed, func(p *corev1.Pod) { p.Status.Reason = "DeadlineExceeded" })},
			nil, false, deadline, false},
		{"being deleted while it runs", End{Pod: pod(corev1.PodRunning, deleting)}, nil, false, deleted, true},
		{"failed on its own", End{Pod: pod(corev1.PodFailed, nil)}, nil, false, "", false},
		{"still running", End{Pod: pod(corev1.PodRunning, nil)}, nil, false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			why, removed := tc.end.Reason(spec, "P", tc.last, tc.deletedLive)
			if why != tc.why || removed != tc.removed {
				t.Fatalf("%q (removed %v), want %q (removed %v)", why, removed, tc.why, tc.removed)
			}
		})
	}
}

// TestReadEnd reads a pod that ended: gone, ended, or its Job failed for its deadline.
func TestReadEnd(t *testing.T) {
	spec := job(1)
	failed := ours(spec, "uid-job")
	failed.Status.Phase = corev1.PodFailed
	withDeadline := spec.DeepCopy()
	withDeadline.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue,
		Reason: batchv1.JobReasonDeadlineExceeded}}
	tests := []struct {
		name string
		objs []runtime.Object
		want string
	}{
		{"gone", nil, "notFound=true deadline=false phase="},
		{"gone for its deadline", []runtime.Object{withDeadline}, "notFound=true deadline=true phase="},
		{"failed", []runtime.Object{failed, spec}, "notFound=false deadline=false phase=Failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, _ := newJobs(tc.objs...)
			end := j.ReadEnd(t.Context(), spec, failed.Name)
			phase := ""
			if end.Pod != nil {
				phase = string(end.Pod.Status.Phase)
			}
			if got := fmt.Sprintf("notFound=%v deadline=%v phase=%s", end.NotFound, end.Deadline, phase); got != tc.want || end.Unread {
				t.Fatalf("%s (unread %v), want %s", got, end.Unread, tc.want)
			}
		})
	}
}

func TestJobOf(t *testing.T) {
	for _, tc := range []struct {
		object, job string
		want        bool
	}{
		{"swoll-s1-abc", "swoll-s1-abc", true},          // the Job
		{"swoll-s1-abc-x7k2p", "swoll-s1-abc", true},    // its pod
		{"swoll-s1-abc-2", "swoll-s1-abc-2", true},      // a replacement's Job
		{"swoll-s1-abc-2-x7k2p", "swoll-s1-abc", false}, // the replacement's pod is not the first Job's
		{"swoll-s1-abc-2-x7k2p", "swoll-s1-abc-2", true},
		{"swoll-s1-abcd", "swoll-s1-abc", false},
		{"swoll-s1-abc-", "swoll-s1-abc", false},
	} {
		if got := JobOf(tc.object, tc.job); got != tc.want {
			t.Errorf("JobOf(%q, %q) = %v", tc.object, tc.job, got)
		}
	}
}

// TestWatch: the session's agent pods and the events about them come out as Updates; other pods and events do
// not.
func TestWatch(t *testing.T) {
	spec := job(1)
	mine := ours(spec, "uid-job")
	other := mine.DeepCopy()
	other.Name, other.Labels = "unrelated", nil
	j, _ := newJobs(mine, other)
	ctx, cancel := context.WithCancel(t.Context())
	out := make(chan Update)
	done := make(chan struct{})
	go func() { defer close(done); j.Watch(ctx, out) }()
	defer func() { cancel(); <-done }()
	next := func() Update {
		t.Helper()
		select {
		case u := <-out:
			return u
		case <-time.After(testutil.WaitBound):
			t.Fatal("no update")
		}
		return Update{}
	}
	if u := next(); u.Pod == nil || u.Pod.Name != mine.Name || u.Deleted {
		t.Fatalf("first update %+v", u)
	}
	event := func(name, object, kind, reason string) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: object}, Reason: reason, Type: corev1.EventTypeNormal,
			LastTimestamp: metav1.Now()}
	}
	for _, e := range []*corev1.Event{
		event("e1", "unrelated", "Pod", "Pulling"),
		event("e2", mine.Name, "Node", "Pulling"),
		event("e3", mine.Name, "Pod", "Scheduled"), // no news
		event("e4", mine.Name, "Pod", "Pulling"),
	} {
		if _, err := j.client.CoreV1().Events(ns).Create(t.Context(), e, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if u := next(); u.Object != mine.Name || u.Phrase != "pulling image" {
		t.Fatalf("event update %+v", u)
	}
	if err := j.client.CoreV1().Pods(ns).Delete(t.Context(), mine.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for u := next(); !u.Deleted; u = next() { // the watch may replay what the list had
		if u.Pod == nil || u.Pod.Name != mine.Name {
			t.Fatalf("update %+v", u)
		}
	}
}

// TestDelete: a session that created no Job asks nothing of the API server at its end; one that did deletes
// its Jobs and pods.
func TestDelete(t *testing.T) {
	j, _ := newJobs()
	fc := j.client.(*fakeClientset)
	if err := j.Delete(t.Context(), false, nil); err != nil || len(fc.Actions()) != 0 {
		t.Fatalf("error %v, requests %v", err, fc.Actions())
	}
	if _, err := j.Create(t.Context(), job(1), false); err != nil {
		t.Fatal(err)
	}
	if err := j.Delete(t.Context(), false, nil); err != nil {
		t.Fatal(err)
	}
	if list, _ := j.client.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{}); len(list.Items) != 0 {
		t.Fatalf("%d Jobs left", len(list.Items))
	}
}

func TestLastLogLine(t *testing.T) {
	j, _ := newJobs()
	if got := j.LastLogLine(t.Context(), "p"); got != "fake logs" { // what the fake serves for every pod
		t.Fatalf("%q", got)
	}
}

// TestJob: a Job takes as its pod only one its own Job (by UID) controls; pods seen before the UID is known are
// held and seen again then; a pod of another Job of that name is refused, and reported once.
func TestJob(t *testing.T) {
	spec := job(1)
	mine := ours(spec, "uid-job")
	theirs := ours(spec, "uid-theirs")
	theirs.Name, theirs.UID = spec.Name+"-zzzzz", "uid-their-pod"
	deleting := mine.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	finished := mine.DeepCopy()
	finished.Status.Phase = corev1.PodSucceeded
	type seen struct {
		pod     *corev1.Pod
		deleted bool
	}
	tests := []struct {
		name   string
		held   []*corev1.Pod // held before the create returned
		uid    types.UID     // "": the create failed
		seen   []seen
		claims string
		// what the Job knows at the end
		pod                string
		deletedLive, ended bool
	}{
		{name: "its own pod", uid: "uid-job", seen: []seen{{mine, false}}, claims: "ours", pod: mine.Name},
		{name: "held, then its own", held: []*corev1.Pod{mine, theirs, mine}, uid: "uid-job", claims: "ours refused",
			pod: mine.Name},
		{name: "another Job's pods, twice", uid: "uid-job", seen: []seen{{theirs, false}, {theirs, false}},
			claims: "refused ignored"},
		{name: "its creation failed", held: []*corev1.Pod{mine}, seen: []seen{{mine, false}}, claims: "ignored ignored"},
		{name: "deleted while it ran", uid: "uid-job", seen: []seen{{mine, false}, {deleting, false}}, claims: "ours ours",
			pod: mine.Name, deletedLive: true, ended: true},
		{name: "finished", uid: "uid-job", seen: []seen{{finished, false}}, claims: "ours", pod: mine.Name, ended: true},
		{name: "gone", uid: "uid-job", seen: []seen{{mine, true}}, claims: "ours", pod: mine.Name, ended: true},
	}
	names := map[Claim]string{Ours: "ours", Refused: "refused", Ignored: "ignored"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Job{Spec: spec}
			for _, p := range tc.held {
				j.Hold(p)
			}
			var claims []string
			for _, p := range j.Created(tc.uid) {
				claims = append(claims, names[j.See(p, false)])
			}
			for _, s := range tc.seen {
				claims = append(claims, names[j.See(s.pod, s.deleted)])
			}
			pod := ""
			if j.Pod != nil {
				pod = j.Pod.Name
			}
			if got := strings.Join(claims, " "); got != tc.claims || pod != tc.pod || j.DeletedLive != tc.deletedLive ||
				j.Ended != tc.ended {
				t.Fatalf("claims %q pod %q deletedLive %v ended %v; want %q %q %v %v", got, pod, j.DeletedLive, j.Ended,
					tc.claims, tc.pod, tc.deletedLive, tc.ended)
			}
		})
	}
}
