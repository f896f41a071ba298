package audit

import (
	"bytes"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/targets"
	"github.com/swoll-dev/swoll/plugin/userlog"
	"github.com/swoll-dev/swoll/protocol"
)

func target(ns, pod, uid, container string) targets.Target {
	return targets.Target{Node: "n", Pod: protocol.Pod{UID: uid, Name: pod, Namespace: ns,
		Containers: []protocol.Container{{Name: container, Kind: protocol.KindRegular, ID: uid + container}}}}
}

// lockedLog is the session's stderr.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func events(t *testing.T, c *fake.Clientset, ns string) []corev1.Event {
	t.Helper()
	list, err := c.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

// Every traced pod gets a start and an end record, pods that join too (once each, whatever their containers),
// each naming the session, the user, the host, the calls and the data capture, attached to the pod by UID.
func TestTrail(t *testing.T) {
	c := fake.NewClientset()
	var stderr lockedLog
	rec := Record{Session: "k3x9ab", User: "alice", Host: "laptop-7", Syscalls: []string{"openat", "connect"}, CaptureData: 64}
	tr := Start(t.Context(), c, rec, []targets.Target{
		target("shop", "web-0", "u0", "web"), target("shop", "web-0", "u0", "sidecar"), target("shop", "web-1", "u1", "web"),
	}, userlog.New(&stderr, false))
	tr.Changes([]targets.Change{
		{Kind: targets.Added, Target: target("shop", "web-2", "u2", "web")},
		{Kind: targets.Added, Target: target("shop", "web-0", "u0", "web")}, // restarted: recorded already
		{Kind: targets.Removed, Target: target("shop", "web-1", "u1", "web")},
	})
	tr.End("interrupted")

	evs := events(t, c, "shop")
	var names []string
	for _, e := range evs {
		names = append(names, e.Name+" "+e.Reason)
	}
	want := []string{
		"web-0.swoll-k3x9ab-ended SwollTraceEnded", "web-0.swoll-k3x9ab-started SwollTraceStarted",
		"web-1.swoll-k3x9ab-ended SwollTraceEnded", "web-1.swoll-k3x9ab-started SwollTraceStarted",
		"web-2.swoll-k3x9ab-ended SwollTraceEnded", "web-2.swoll-k3x9ab-started SwollTraceStarted",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range evs {
		io := e.InvolvedObject
		if io.Kind != "Pod" || io.Namespace != "shop" || !strings.HasPrefix(e.Name, io.Name+".") || string(io.UID) != "u"+io.Name[len("web-"):] {
			t.Errorf("%s: involved object %+v", e.Name, io)
		}
		a := e.Annotations
		if a[agentpod.AnnotationRequestedBy] != "alice" || a[agentpod.AnnotationRequestedFrom] != "laptop-7" ||
			a[agentpod.AnnotationSyscalls] != "openat,connect" || a[agentpod.AnnotationCaptureData] != "64" || a[AnnotationStarted] == "" {
			t.Errorf("%s: annotations %v", e.Name, a)
		}
		if e.Labels[agentpod.LabelSession] != "k3x9ab" || e.Type != corev1.EventTypeNormal || e.ReportingController != Controller || e.Source.Host != "laptop-7" {
			t.Errorf("%s: %+v", e.Name, e)
		}
		for _, w := range []string{"kubectl swoll session k3x9ab by alice from host laptop-7", "system calls openat,connect", "data captured: up to 64 bytes"} {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%s: message %q lacks %q", e.Name, e.Message, w)
			}
		}
		ended := e.Reason == ReasonEnded
		if ended != (a[AnnotationEnded] != "") || ended != strings.Contains(e.Message, "ended (interrupted) after tracing") {
			t.Errorf("%s: end annotation %q, message %q", e.Name, a[AnnotationEnded], e.Message)
		}
	}
	if s := stderr.String(); s != "" {
		t.Errorf("unexpected messages: %s", s)
	}
}

// A namespace where the user may not create Events: one warning that says so and how to check, no further
// attempt there, and the other namespaces recorded as usual.
func TestTrailWithoutTheRight(t *testing.T) {
	c := fake.NewClientset()
	var mu sync.Mutex
	attempts := map[string]int{}
	c.PrependReactor("create", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		attempts[a.GetNamespace()]++
		mu.Unlock()
		if a.GetNamespace() == "locked" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New("RBAC: no rule"))
		}
		return false, nil, nil
	})
	var stderr lockedLog
	tr := Start(t.Context(), c, Record{Session: "s1", User: "bob", Host: "h", Count: true}, []targets.Target{
		target("locked", "a", "ua", "c"), target("locked", "b", "ub", "c"), target("open", "c", "uc", "c"),
	}, userlog.New(&stderr, false))
	tr.End("--duration 5s reached")

	if n := len(events(t, c, "open")); n != 2 {
		t.Errorf("%d events in namespace open, want start and end", n)
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "swoll: warning: no audit record of this session on the pods of namespace locked") ||
		!strings.Contains(msg, "kubectl auth can-i create events -n locked") {
		t.Errorf("want one warning naming the namespace and the check, got:\n%s", msg)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts["locked"] > 2 {
		t.Errorf("%d attempts in namespace locked: no end record is tried where the start was refused", attempts["locked"])
	}
	for _, e := range events(t, c, "open") {
		if !strings.Contains(e.Message, "counting every system call") || !strings.Contains(e.Message, "(no data captured)") {
			t.Errorf("message %q", e.Message)
		}
	}
}

func TestEventName(t *testing.T) {
	long := strings.Repeat("p", 260)
	for _, pod := range []string{"web-0", long, strings.Repeat("a.", 130)} {
		n := eventName(pod, "k3x9ab", "started")
		if len(n) > maxName || !strings.HasSuffix(n, ".swoll-k3x9ab-started") || strings.Contains(n, "..") {
			t.Errorf("%q (%d characters)", n, len(n))
		}
	}
}
