package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/event"
	"github.com/swoll-dev/swoll/plugin/agentpod"
	"github.com/swoll-dev/swoll/plugin/output"
	"github.com/swoll-dev/swoll/plugin/stream"
	"github.com/swoll-dev/swoll/plugin/targets"
)

// ssarClient answers SelfSubjectAccessReviews: denied lists "verb resource[/sub] namespace" strings.
func ssarClient(denied ...string) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		key := ra.Verb + " " + ra.Resource
		if ra.Subresource != "" {
			key += "/" + ra.Subresource
		}
		key += " " + ra.Namespace
		r.Status.Allowed = true
		for _, d := range denied {
			if d == key {
				r.Status.Allowed = false
				r.Status.Reason = "RBAC: no rule"
			}
		}
		return true, r, nil
	})
	return c
}

func TestCheckAccess(t *testing.T) {
	tests := []struct {
		name    string
		denied  []string
		dryRun  bool
		allNS   bool
		wantErr string
	}{
		{name: "all granted"},
		{name: "no exec", denied: []string{"create pods/exec tools"},
			wantErr: `not allowed to create pods/exec in namespace tools (check: kubectl auth can-i create pods --subresource=exec -n tools): RBAC: no rule`},
		{name: "cannot watch targets", denied: []string{"watch pods shop"}, wantErr: "not allowed to watch pods in namespace shop"},
		{name: "cannot list cluster-wide", denied: []string{"list pods "}, allNS: true, wantErr: "not allowed to list pods cluster-wide (check: kubectl auth can-i list pods -A)"},
		{name: "dry run needs no create", denied: []string{"create pods tools"}, dryRun: true},
		{name: "no create", denied: []string{"create pods tools"}, wantErr: "not allowed to create pods in namespace tools"},
		{name: "no delete", denied: []string{"delete pods tools"}, wantErr: "not allowed to delete pods in namespace tools"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := "shop"
			if tc.allNS {
				ns = ""
			}
			err := CheckAccess(context.Background(), ssarClient(tc.denied...), NeededAccess(ns, "tools", tc.dryRun))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("not a PreflightError: %T", err)
			}
		})
	}
}

func TestCheckAccessSkipsWhenReviewsFail(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, "", errors.New("no"))
	})
	if err := CheckAccess(context.Background(), c, NeededAccess("a", "b", false)); err != nil {
		t.Fatalf("a server that cannot answer must not block the session: %v", err)
	}
}

func TestCheckAccessUnreachableServer(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, &url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Err: errors.New("connect: connection refused")}
	})
	err := CheckAccess(context.Background(), c, NeededAccess("a", "b", false))
	if err == nil || err.Error() != "cannot reach the Kubernetes API server at https://10.0.0.1:6443: connect: connection refused (check --kubeconfig, --context and --server)" {
		t.Fatalf("%v", err)
	}
}

func TestCheckNamespace(t *testing.T) {
	c := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	if ns, err := CheckNamespace(context.Background(), c, "shop", "target"); err != nil || ns == nil {
		t.Fatalf("existing namespace: %v %v", ns, err)
	}
	_, err := CheckNamespace(context.Background(), c, "nope", "agent")
	if err == nil || err.Error() != `agent namespace "nope" not found` {
		t.Fatalf("missing namespace: %v", err)
	}
	c.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "shop", errors.New("no"))
	})
	if ns, err := CheckNamespace(context.Background(), c, "shop", "target"); err != nil || ns != nil {
		t.Fatalf("unreadable namespace must be skipped: %v %v", ns, err)
	}
}

func TestCheckPodSecurity(t *testing.T) {
	tests := []struct {
		labels  map[string]string
		wantErr bool
	}{
		{nil, false},
		{map[string]string{PodSecurityEnforceLabel: "privileged"}, false},
		{map[string]string{PodSecurityEnforceLabel: "baseline"}, true},
		{map[string]string{PodSecurityEnforceLabel: "restricted"}, true},
		{map[string]string{"pod-security.kubernetes.io/warn": "restricted"}, false},
	}
	for _, tc := range tests {
		err := CheckPodSecurity(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: tc.labels}})
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: %v", tc.labels, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--agent-namespace") {
			t.Errorf("the message must say how to fix it: %v", err)
		}
	}
	if err := CheckPodSecurity(nil); err != nil {
		t.Fatal(err)
	}
}

func TestDryRunCreate(t *testing.T) {
	pod := agentpod.Build(agentpod.Params{Session: "s", Node: "n", Namespace: "apps", Image: "i"})
	c := fake.NewClientset()
	var sawDryRun bool
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sawDryRun = len(a.(k8stesting.CreateActionImpl).GetCreateOptions().DryRun) == 1
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, pod.Name,
			errors.New(`violates PodSecurity "baseline:latest": privileged (container "agent" must not set securityContext.privileged=true)`))
	})
	err := DryRunCreate(context.Background(), c, pod)
	if !sawDryRun {
		t.Fatal("create was not a dry run")
	}
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") || !strings.Contains(err.Error(), "--agent-namespace") {
		t.Fatalf("error: %v", err)
	}
	if pods, _ := c.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Fatal("dry run created a pod")
	}
}

func TestInterpretPod(t *testing.T) {
	withStatus := func(phase corev1.PodPhase, st *corev1.ContainerState) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
		if st != nil {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: agentpod.ContainerName, State: *st}}
		}
		return p
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		running bool
		phrase  string
		fatal   string
	}{
		{"no status yet", withStatus("", nil), false, "waiting for the node's kubelet", ""},
		{"creating", withStatus(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}), false, "creating container", ""},
		{"running", withStatus(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}), true, "running", ""},
		{"image pull", withStatus(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "pull access denied for x"}}), false, "", "ErrImagePull: pull access denied for x"},
		{"backoff", withStatus(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}), false, "", "ImagePullBackOff: Back-off pulling image"},
		{"exited with message", withStatus(corev1.PodFailed, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "loading\nswoll-agent: no BTF at /sys/kernel/btf/vmlinux\n"}}), false, "", "the agent exited with code 1: swoll-agent: no BTF at /sys/kernel/btf/vmlinux"},
		{"kubelet rejected", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu"}}, false, "", "the agent pod failed: OutOfcpu: Node didn't have enough resource: cpu"},
		{"unschedulable", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "node(s) had taints"}}}}, false, "", "not schedulable: Unschedulable: node(s) had taints"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := interpretPod(tc.pod)
			if got.Running != tc.running || got.Phrase != tc.phrase || got.Fatal != tc.fatal {
				t.Fatalf("got %+v", got)
			}
		})
	}
	deleting := withStatus(corev1.PodRunning, nil)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	if interpretPod(deleting).Fatal == "" {
		t.Fatal("a pod being deleted must be fatal")
	}
}

func TestNotReady(t *testing.T) {
	node := func(conds ...corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{Status: corev1.NodeStatus{Conditions: conds}}
	}
	if got := notReady(node(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue})); got != "" {
		t.Fatal(got)
	}
	if got := notReady(node()); got != "" {
		t.Fatal(got)
	}
	got := notReady(node(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."}))
	if got != "node is not Ready (NodeStatusUnknown): Kubelet stopped posting node status." {
		t.Fatal(got)
	}
}

func TestEventPhrase(t *testing.T) {
	if got := eventPhrase(&corev1.Event{Reason: "Pulling", Type: "Normal"}); got != "pulling image" {
		t.Fatal(got)
	}
	if got := eventPhrase(&corev1.Event{Reason: "FailedMount", Type: "Warning", Message: "MountVolume.SetUp failed: hostPath type check failed: /run is not a directory"}); got != "FailedMount: MountVolume.SetUp failed: hostPath type check failed: /run is not a directory" {
		t.Fatal(got)
	}
	if got := eventPhrase(&corev1.Event{Reason: "Scheduled", Type: "Normal"}); got != "" {
		t.Fatal(got)
	}
}

func TestCheckResolution(t *testing.T) {
	running := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	}
	tests := []struct {
		name string
		res  targets.Resolution
		sel  targets.Selection
		want string
	}{
		{"nothing matches", targets.Resolution{}, targets.Selection{Namespace: "default", LabelSelector: "app=nginx"}, "no pods match -l app=nginx in namespace default"},
		{"named pod missing", targets.Resolution{Pods: []*corev1.Pod{running("a")}}, targets.Selection{Namespace: "default", Pods: []string{"a", "b"}}, `pod "b" not found in namespace default`},
		{"no running container", targets.Resolution{Pods: []*corev1.Pod{running("a")}}, targets.Selection{Namespace: "default", LabelSelector: "x=y", Containers: []string{"app"}}, "1 pod(s) match -l x=y -c app in namespace default, but none has a running container named app"},
		{"fine", targets.Resolution{Pods: []*corev1.Pod{running("a")}, Targets: []targets.Target{{}}}, targets.Selection{Namespace: "default", LabelSelector: "x=y"}, ""},
	}
	for _, tc := range tests {
		err := checkResolution(&tc.res, &tc.sel)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func agentPodObj(ns, name, session string) *corev1.Pod {
	p := agentpod.Build(agentpod.Params{Session: session, Node: name, Namespace: ns, Image: "i"})
	p.Name = name
	return p
}

func TestCleanupRemovesOnlyAgentPods(t *testing.T) {
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a", Labels: map[string]string{"app": "web"}}}
	c := fake.NewClientset(agentPodObj("a", "swoll-s1-aaa", "s1"), agentPodObj("a", "swoll-s2-bbb", "s2"), agentPodObj("b", "swoll-s3-ccc", "s3"), other)
	removed, err := Cleanup(context.Background(), c, "a")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "a/swoll-s1-aaa,a/swoll-s2-bbb" {
		t.Fatalf("removed %v", removed)
	}
	left, _ := c.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	names := []string{}
	for _, p := range left.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if strings.Join(names, ",") != "a/web,b/swoll-s3-ccc" {
		t.Fatalf("left %v", names)
	}
	removed, err = Cleanup(context.Background(), c, "")
	if err != nil || strings.Join(removed, ",") != "b/swoll-s3-ccc" {
		t.Fatalf("all namespaces: %v %v", removed, err)
	}
}

func TestDeleteAndWaitUsesGrace(t *testing.T) {
	c := fake.NewClientset(agentPodObj("a", "swoll-s1-aaa", "s1"))
	var grace []int64
	var mu sync.Mutex
	c.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if g := a.(k8stesting.DeleteAction).GetDeleteOptions().GracePeriodSeconds; g != nil {
			grace = append(grace, *g)
		}
		return false, nil, nil
	})
	if _, err := DeleteAndWait(context.Background(), c, "a", agentpod.SessionSelector("s1"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(grace) != 1 || grace[0] != 1 {
		t.Fatalf("grace periods %v", grace)
	}
}

// testSession is a session with only what its logging, notice and merging paths need.
func testSession(out output.Writer, max uint64) (*Session, *bytes.Buffer) {
	var errBuf bytes.Buffer
	s := &Session{
		cfg:         Config{Output: out, MaxEvents: max, Window: 250 * time.Millisecond},
		id:          "t",
		log:         &logger{w: &errBuf},
		agents:      map[string]*agent{},
		created:     map[string]bool{},
		names:       map[string]string{"abc": "default/web-1/nginx"},
		initial:     map[string]bool{},
		nodes:       map[string]nodeInfo{},
		batches:     make(chan stream.Batch, 16),
		agentExited: make(chan struct{}, 4),
		maxReached:  make(chan struct{}),
		outFailed:   make(chan error, 1),
		mergeStop:   make(chan struct{}),
		mergeDone:   make(chan struct{}),
		received:    map[int]uint64{},
		start:       time.Now(),
		allReady:    make(chan struct{}),
	}
	return s, &errBuf
}

func TestNotices(t *testing.T) {
	s, errBuf := testSession(nil, 0)
	a := s.addAgent("node-b", agentPodObj("x", "swoll-t-b", "t"), nil)
	a2 := s.addAgent("node-c", agentPodObj("x", "swoll-t-c", "t"), nil)
	a.Notice(&event.Notice{Kind: event.NoticeReady})
	a.Notice(&event.Notice{Kind: event.NoticeLost, Lost: 123, LostTotal: 456})
	a.Notice(&event.Notice{Kind: event.NoticeTargetError, ContainerID: "abc", Message: "no such container"})
	a2.Notice(&event.Notice{Kind: event.NoticeReady})
	a.Notice(&event.Notice{Kind: event.NoticeTargetAttached, ContainerID: "containerd://abc"})
	a2.Notice(&event.Notice{Kind: event.NoticeError, Message: "loading BPF: permission denied"})
	a.Notice(&event.Notice{Kind: event.NoticeExit, Events: 10, LostTotal: 460})
	got := errBuf.String()
	for _, want := range []string{
		"swoll: agents ready 1/2; node-b: ready after",
		"swoll: node-b: 123 events lost in the kernel (total 456)\n",
		"swoll: node-b: cannot trace default/web-1/nginx: no such container\n",
		"swoll: agents ready 2/2 after",
		"swoll: node-b: tracing default/web-1/nginx\n",
		"swoll: node-c: agent error: loading BPF: permission denied\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
	if a.lost != 460 || a.exit == nil || a.exit.Events != 10 {
		t.Fatalf("exit notice not recorded: lost=%d exit=%+v", a.lost, a.exit)
	}
	if err := s.failures(); err == nil || !strings.Contains(err.Error(), "1 of 2 agents failed") {
		t.Fatalf("failures: %v", err)
	}
}

func TestMalformedLinesAreShownThenCounted(t *testing.T) {
	s, errBuf := testSession(nil, 0)
	a := s.addAgent("n", agentPodObj("x", "p", "t"), nil)
	for i := 0; i < 5; i++ {
		a.Malformed([]byte(fmt.Sprintf("junk %d", i)), errors.New("no finish time"))
	}
	if n := strings.Count(errBuf.String(), "malformed line"); n != 3 {
		t.Fatalf("%d messages:\n%s", n, errBuf.String())
	}
	if a.bad != 5 {
		t.Fatalf("counted %d", a.bad)
	}
}

func eventLine(finish int64, pod string) []byte {
	return []byte(fmt.Sprintf(`{"syscall":{"name":"read"},"start":%d,"finish":%d,"container":{"pod":%q}}`, finish-1, finish, pod))
}

func TestMergeLoopOrdersAndStopsAtMaxEvents(t *testing.T) {
	var out bytes.Buffer
	w, _ := output.New(output.JSON, &out, false)
	s, _ := testSession(w, 5)
	go s.mergeLoop()
	s.batches <- stream.Batch{Stream: 0}
	s.batches <- stream.Batch{Stream: 1}
	s.batches <- stream.Batch{Stream: 0, Items: []stream.Item{{Finish: 10, Line: eventLine(10, "a")}, {Finish: 30, Line: eventLine(30, "a")}, {Finish: 50, Line: eventLine(50, "a")}}}
	s.batches <- stream.Batch{Stream: 1, Items: []stream.Item{{Finish: 20, Line: eventLine(20, "b")}, {Finish: 40, Line: eventLine(40, "b")}, {Finish: 60, Line: eventLine(60, "b")}}}
	select {
	case <-s.maxReached:
	case <-time.After(5 * time.Second):
		t.Fatal("--max-events was not signalled")
	}
	s.batches <- stream.Batch{Stream: 1, Items: []stream.Item{{Finish: 70, Line: eventLine(70, "b")}}, EOF: true}
	close(s.mergeStop)
	<-s.mergeDone
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines written, want exactly 5:\n%s", len(lines), out.String())
	}
	for i, want := range []int64{10, 20, 30, 40, 50} {
		if lines[i] != string(eventLine(want, map[bool]string{true: "a", false: "b"}[want%20 != 0])) {
			t.Fatalf("line %d = %s", i, lines[i])
		}
	}
	if s.received[0] != 3 || s.received[1] != 4 {
		t.Fatalf("received per stream: %v", s.received)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("write |1: broken pipe") }

func TestMergeLoopReportsOutputErrors(t *testing.T) {
	w, _ := output.New(output.JSON, failingWriter{}, false)
	s, _ := testSession(w, 0)
	go s.mergeLoop()
	s.batches <- stream.Batch{Stream: 0, Items: []stream.Item{{Finish: 1, Line: eventLine(1, "a")}}, EOF: true}
	select {
	case err := <-s.outFailed:
		if !isBrokenPipe(err) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("output error not reported")
	}
	close(s.mergeStop)
	<-s.mergeDone
}

func TestPrefixWriterWholeLines(t *testing.T) {
	var buf bytes.Buffer
	l := &logger{w: &buf}
	p := newPrefixWriter(l, "swoll-agent[n1]: ")
	_, _ = p.Write([]byte("loading "))
	_, _ = p.Write([]byte("probes\nattached 3"))
	_, _ = p.Write([]byte(" programs\npartial"))
	_ = p.Close()
	want := "swoll-agent[n1]: loading probes\nswoll-agent[n1]: attached 3 programs\nswoll-agent[n1]: partial\n"
	if buf.String() != want {
		t.Fatalf("got %q", buf.String())
	}
}

// BenchmarkMergeLoopThroughput pushes two streams' event lines through the merger and the JSON writer, as a
// session does, and reports events per second (the plugin must sustain well over 100k/s).
func BenchmarkMergeLoopThroughput(b *testing.B) {
	w, _ := output.New(output.JSON, discardWriter{}, false)
	s, _ := testSession(w, 0)
	line := []byte(`{"syscall":{"nr":257,"name":"openat","class":"FileSystem","group":"Files"},"start":1732527600123456000,"finish":1732527600123459000,"pid":4242,"tid":4242,"container_pid":1,"uid":0,"gid":0,"comm":"nginx","session":"abc","error":"OK","return":3,"pid_ns":4026531836,"uts_ns":4026531838,"mount_ns":4026531841,"container":{"id":"containerd://0123456789abcdef","pod":"web-1","name":"nginx","image":"nginx:1.27","namespace":"default","labels":{"app":"web"}},"node":"node-a","args":{"dirfd":"AT_FDCWD","pathname":"/etc/hosts","flags":"O_RDONLY|O_CLOEXEC","mode":"0"}}`)
	go s.mergeLoop()
	s.batches <- stream.Batch{Stream: 0}
	s.batches <- stream.Batch{Stream: 1}
	const batch = 512
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	t0 := time.Now().UnixNano()
	for i := 0; i < b.N; i += batch {
		items := make([]stream.Item, batch)
		for j := range items {
			items[j] = stream.Item{Finish: t0 + int64(i+j)*1000, Line: line}
		}
		s.batches <- stream.Batch{Stream: (i / batch) & 1, Items: items}
	}
	s.batches <- stream.Batch{Stream: 0, EOF: true}
	s.batches <- stream.Batch{Stream: 1, EOF: true}
	close(s.mergeStop)
	<-s.mergeDone
	b.ReportMetric(float64(s.emitted)/time.Since(start).Seconds(), "events/s")
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
