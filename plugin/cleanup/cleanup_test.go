package cleanup

import (
	"strings"
	"sync"
	"testing"

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
	removed, err := Cleanup(t.Context(), c, "a")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "a/swoll-s1-aaa,a/swoll-s2-bbb" {
		t.Fatalf("removed %v", removed)
	}
	left, _ := c.CoreV1().Pods("").List(t.Context(), metav1.ListOptions{})
	names := []string{}
	for _, p := range left.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	if strings.Join(names, ",") != "a/web,b/swoll-s3-ccc" {
		t.Fatalf("left %v", names)
	}
	removed, err = Cleanup(t.Context(), c, "")
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
	if _, err := DeleteAndWait(t.Context(), c, "a", agentpod.SessionSelector("s1"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if len(grace) != 1 || grace[0] != 1 {
		t.Fatalf("grace periods %v", grace)
	}
}
