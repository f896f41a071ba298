package cleanup

import (
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

func agentPodObj(ns, name, session string) *corev1.Pod {
	p := agentpod.Pod(agentpod.Build(agentpod.Params{Session: session, Node: name, Namespace: ns, Image: "i"}))
	p.Name = name
	return p
}

func TestDeleteAndWaitRemovesJobsToo(t *testing.T) {
	job := agentpod.Build(agentpod.Params{Session: "s1", Node: "n", Namespace: "a", Image: "i"})
	other := agentpod.Build(agentpod.Params{Session: "s2", Node: "n", Namespace: "a", Image: "i"})
	c := fake.NewClientset(job, other, agentPodObj("a", job.Name+"-x1y2z", "s1"))
	removed, err := DeleteAndWait(t.Context(), c, "a", agentpod.SessionSelector("s1"), 1, nil)
	if err != nil || strings.Join(removed, ",") != "a/"+job.Name+"-x1y2z" {
		t.Fatalf("removed %v, %v", removed, err)
	}
	jobs, _ := c.BatchV1().Jobs("a").List(t.Context(), metav1.ListOptions{})
	if len(jobs.Items) != 1 || jobs.Items[0].Name != other.Name {
		t.Fatalf("jobs left %v, want only the other session's", jobs.Items)
	}
}

func TestCleanupRemovesOnlyAgentPods(t *testing.T) {
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a", Labels: map[string]string{"app": "web"}}}
	c := fake.NewClientset(agentPodObj("a", "swoll-s1-aaa", "s1"), agentPodObj("a", "swoll-s2-bbb", "s2"), agentPodObj("b", "swoll-s3-ccc", "s3"), other)
	res, err := Cleanup(t.Context(), c, "a", Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Removed, ",") != "pod/a/swoll-s1-aaa,pod/a/swoll-s2-bbb" {
		t.Fatalf("removed %v", res.Removed)
	}
	left, _ := c.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
	names := []string{}
	for _, p := range left.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if strings.Join(names, ",") != "a/web,b/swoll-s3-ccc" {
		t.Fatalf("left %v", names)
	}
	res, err = Cleanup(t.Context(), c, "", Options{Force: true})
	if err != nil || strings.Join(res.Removed, ",") != "pod/b/swoll-s3-ccc" {
		t.Fatalf("all namespaces: %v %v", res.Removed, err)
	}
}

// Whose sessions cleanup ends: finished or expired ones of anyone, live ones only of the caller, or with
// --force.
func TestCleanupRules(t *testing.T) {
	created := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	session := func(id, user string, phase corev1.PodPhase) *corev1.Pod {
		job := agentpod.Build(agentpod.Params{Session: id, Node: "n", Namespace: "a", Image: "i", RequestedBy: user,
			CreatedAt: created, Deadline: time.Hour})
		p := agentpod.Pod(job)
		p.Name = job.Name + "-x"
		p.Status.Phase = phase
		return p
	}
	tests := []struct {
		name          string
		pod           *corev1.Pod
		user          string
		force         bool
		now           time.Time
		removed, kept bool
	}{
		{"live, mine", session("s1", "alice", corev1.PodRunning), "alice", false, created, true, false},
		{"live, another user's", session("s1", "bob", corev1.PodRunning), "alice", false, created, false, true},
		{"live, another user's, forced", session("s1", "bob", corev1.PodRunning), "alice", true, created, true, false},
		{"finished, another user's", session("s1", "bob", corev1.PodSucceeded), "alice", false, created, true, false},
		{"failed, another user's", session("s1", "bob", corev1.PodFailed), "alice", false, created, true, false},
		{"past its deadline, another user's", session("s1", "bob", corev1.PodRunning), "alice", false, created.Add(2 * time.Hour), true, false},
		{"live, nobody's", session("s1", "", corev1.PodRunning), "alice", false, created, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset(tc.pod)
			res, err := Cleanup(t.Context(), c, "", Options{User: tc.user, Force: tc.force, Now: func() time.Time { return tc.now }})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Removed) == 1; got != tc.removed {
				t.Errorf("removed %v, want removed: %v", res.Removed, tc.removed)
			}
			if got := len(res.Kept) == 1; got != tc.kept {
				t.Errorf("kept %v, want kept: %v", res.Kept, tc.kept)
			}
			if tc.kept && !strings.Contains(res.Kept[0], "--force") {
				t.Errorf("kept %q does not say how to remove it", res.Kept[0])
			}
			left, _ := c.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
			if (len(left.Items) == 0) != tc.removed {
				t.Errorf("%d pod(s) left, want removed: %v", len(left.Items), tc.removed)
			}
		})
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
	if _, err := DeleteAndWait(t.Context(), c, "a", agentpod.SessionSelector("s1"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(grace) != 1 || grace[0] != 1 {
		t.Fatalf("grace periods %v", grace)
	}
}
