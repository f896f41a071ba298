package targets

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/internal/testutil"
)

// waitTimeout bounds a wait that must end as soon as the cluster changes.
const waitTimeout = 30 * time.Second

// podSummary renders a selected pod: node:ns/name [containers kind:name=id#restarts(+running)] select.
func podSummary(p Target) string {
	var cs []string
	for _, c := range p.Containers {
		s := fmt.Sprintf("%s:%s", c.Kind, c.Name)
		if c.ID != "" {
			s += "=" + c.ID
		}
		if c.RestartCount > 0 {
			s += fmt.Sprintf("#%d", c.RestartCount)
		}
		if c.Running {
			s += "+"
		}
		cs = append(cs, s)
	}
	out := fmt.Sprintf("%s:%s/%s [%s]", p.Node, p.Namespace, p.Name, strings.Join(cs, " "))
	if len(p.Select) > 0 {
		out += " -c " + strings.Join(p.Select, ",")
	}
	return out
}

// crashLooping is a pod whose container exited and waits for its restart, with an init container that ran.
func crashLooping(node string) *corev1.Pod {
	p := pod("d", "crash", node, map[string]string{"tier": "crash"})
	p.Status.Phase = corev1.PodRunning
	p.Status.QOSClass = corev1.PodQOSBestEffort
	p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox"}}
	p.Spec.Containers = []corev1.Container{{Name: "main", Image: "busybox"}}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", ContainerID: "containerd://i1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", ContainerID: "containerd://m4", RestartCount: 4,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	return p
}

func TestTargetOf(t *testing.T) {
	pending := pod("d", "pulling", "n1", nil, ctr{"web", "", false}) // ContainerCreating: no id yet
	pending.Status.Phase = corev1.PodPending
	unbound := pod("d", "unbound", "", nil, ctr{"web", "", false})
	unbound.Status.Phase = corev1.PodPending
	done := pod("d", "job", "n1", nil, ctr{"step", "containerd://s1", false})
	done.Status.Phase = corev1.PodSucceeded
	failed := pod("d", "failed", "n1", nil, ctr{"step", "containerd://s1", false})
	failed.Status.Phase = corev1.PodFailed
	deleting := pod("d", "deleting", "n1", nil, ctr{"web", "containerd://w1", true})
	now := metav1.Now()
	deleting.DeletionTimestamp = &now

	tests := []struct {
		name string
		pod  *corev1.Pod
		sel  Selection
		want string // "": not selected
	}{
		{"pulling images: selected before any container", pending, Selection{}, "n1:d/pulling [regular:web]"},
		{"not bound to a node yet", unbound, Selection{}, ""},
		{"crash-looping, with init and ephemeral containers", crashLooping("n1"), Selection{},
			"n1:d/crash [init:setup=containerd://i1 regular:main=containerd://m4#4 ephemeral:debug]"},
		{"-c names one of its containers", crashLooping("n1"), Selection{Containers: []string{"main", "other"}},
			"n1:d/crash [init:setup=containerd://i1 regular:main=containerd://m4#4 ephemeral:debug] -c main,other"},
		{"-c names none of its containers", crashLooping("n1"), Selection{Containers: []string{"other"}}, ""},
		{"--node elsewhere", crashLooping("n1"), Selection{Nodes: []string{"n2"}}, ""},
		{"a pod name", crashLooping("n1"), Selection{Pods: []string{"crash"}}, "n1:d/crash [init:setup=containerd://i1 regular:main=containerd://m4#4 ephemeral:debug]"},
		{"another pod name", crashLooping("n1"), Selection{Pods: []string{"web"}}, ""},
		{"succeeded", done, Selection{}, ""},
		{"failed", failed, Selection{}, ""},
		{"being deleted: its processes still run", deleting, Selection{}, "n1:d/deleting [regular:web=containerd://w1+]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := TargetOf(tt.pod, &tt.sel)
			got := ""
			if ok {
				got = podSummary(p)
			}
			if got != tt.want {
				t.Fatalf("PodOf = %q, want %q", got, tt.want)
			}
			if ok && (p.UID != string(tt.pod.UID) || p.Key() != p.UID) {
				t.Fatalf("uid %q key %q, want %q", p.UID, p.Key(), tt.pod.UID)
			}
		})
	}
	p, _ := TargetOf(crashLooping("n1"), &Selection{})
	if p.QoS != "BestEffort" || p.Labels["tier"] != "crash" || p.Container("main").Image != "busybox" {
		t.Errorf("pod %+v: QoS, labels or image missing", p.Pod)
	}
}

func changeKeys(cs []Change) []string {
	var out []string
	for _, c := range cs {
		k := map[ChangeKind]string{Added: "+", Updated: "~", Removed: "-"}[c.Kind]
		out = append(out, k+podSummary(c.Target))
	}
	sort.Strings(out)
	return out
}

func TestTracker(t *testing.T) {
	tr := NewTracker(&Selection{})
	crash := crashLooping("n1")
	restarted := crashLooping("n1")
	restarted.Status.ContainerStatuses[0].ContainerID = "containerd://m5"
	restarted.Status.ContainerStatuses[0].RestartCount = 5
	restarted.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	over := crashLooping("n1")
	over.Status.Phase = corev1.PodFailed
	unbound := pod("d", "web", "", nil, ctr{"web", "", false})
	bound := pod("d", "web", "n2", nil, ctr{"web", "", false})
	steps := []struct {
		name  string
		apply func() []Change
		want  []string
		pods  int
	}{
		{"created, not bound", func() []Change { return tr.Update(unbound) }, nil, 0},
		{"bound: selected before its containers exist", func() []Change { return tr.Update(bound) }, []string{"+n2:d/web [regular:web]"}, 1},
		{"crash-looping pod", func() []Change { return tr.Update(crash) }, []string{
			"+n1:d/crash [init:setup=containerd://i1 regular:main=containerd://m4#4 ephemeral:debug]"}, 2},
		{"no change", func() []Change { return tr.Update(crashLooping("n1")) }, nil, 2},
		{"its next run", func() []Change { return tr.Update(restarted) }, []string{
			"~n1:d/crash [init:setup=containerd://i1 regular:main=containerd://m5#5+ ephemeral:debug]"}, 2},
		{"over", func() []Change { return tr.Update(over) }, []string{
			"-n1:d/crash [init:setup=containerd://i1 regular:main=containerd://m5#5+ ephemeral:debug]"}, 1},
		{"deleted", func() []Change { return tr.Delete(bound) }, []string{"-n2:d/web [regular:web]"}, 0},
		{"deleted again", func() []Change { return tr.Delete(bound) }, nil, 0},
		{"resync", func() []Change {
			return tr.Resync([]*corev1.Pod{bound})
		}, []string{"+n2:d/web [regular:web]"}, 1},
		{"resync: gone", func() []Change { return tr.Resync(nil) }, []string{"-n2:d/web [regular:web]"}, 0},
	}
	for _, st := range steps {
		got := changeKeys(st.apply())
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: changes %v, want %v", st.name, got, st.want)
		}
		if n := len(tr.Targets()); n != st.pods {
			t.Fatalf("%s: %d pods, want %d", st.name, n, st.pods)
		}
	}
}

func TestFromPodsByNode(t *testing.T) {
	pods := []*corev1.Pod{crashLooping("n2"), pod("d", "web", "n1", nil, ctr{"web", "", false}), pod("d", "x", "", nil)}
	got := FromPods(pods, &Selection{})
	if len(got) != 2 || got[0].Name != "web" || got[1].Name != "crash" {
		t.Fatalf("FromPods = %v", got)
	}
	by := ByNode(got)
	if len(by["n1"]) != 1 || len(by["n2"]) != 1 {
		t.Fatalf("ByNode = %v", by)
	}
}

// Pass: a session that waits for its selection returns once a matching pod is bound to a node (created unbound
// first, as the scheduler does: PodOf says an unbound pod is not selected), with the pod selected.
func TestWaitForAPod(t *testing.T) {
	client := testutil.Clientset(pod("d", "other", "n1", map[string]string{"tier": "web"}, ctr{"web", "", false}))
	src, err := NewSource(client, &Selection{Namespace: "d", LabelSelector: "tier=crash"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Resolve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 0 {
		t.Fatalf("selected %v before the pod exists", res.Targets)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	type result struct {
		res *Resolution
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := src.Wait(ctx, res.ResourceVersion, func(err error) { t.Errorf("watch: %v", err) })
		done <- result{r, err}
	}()
	p := crashLooping("")
	p.Namespace = "d"
	if _, err := client.CoreV1().Pods("d").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Spec.NodeName = "n2"
	if _, err := client.CoreV1().Pods("d").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.res.Targets) != 1 || r.res.Targets[0].Name != "crash" || r.res.Targets[0].Node != "n2" {
		t.Fatalf("selected %v, want the crash pod on n2", r.res.Targets)
	}
	// The source's tracker has it: a watch from the new resolution reports only what changes after.
	if got := src.tracker.Targets(); len(got) != 1 {
		t.Fatalf("tracker holds %v", got)
	}

	cctx, ccancel := context.WithCancel(t.Context())
	ccancel()
	if _, err := src.Wait(cctx, r.res.ResourceVersion, func(error) {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context = %v", err)
	}
}
