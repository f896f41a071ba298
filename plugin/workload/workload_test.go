package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func owned(name, kind, owner string, labels map[string]string) *corev1.Pod {
	yes := true
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels}}
	if kind != "" {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: owner, Controller: &yes}}
	}
	return p
}

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{owned("web-7d9f8c6b5-abcde", "ReplicaSet", "web-7d9f8c6b5", map[string]string{"pod-template-hash": "7d9f8c6b5"}), "Deployment/web"},
		{owned("solo-x1", "ReplicaSet", "solo", nil), "ReplicaSet/solo"}, // a ReplicaSet of its own
		{owned("db-0", "StatefulSet", "db", nil), "StatefulSet/db"},
		{owned("agent-x7k2p", "DaemonSet", "agent", nil), "DaemonSet/agent"},
		{owned("batch-abcde", "Job", "batch", nil), "Job/batch"},
		{owned("plain", "", "", nil), "Pod/plain"},
	} {
		if got := Of(tc.pod).String(); got != tc.want {
			t.Errorf("Of(%s) = %s, want %s", tc.pod.Name, got, tc.want)
		}
	}
}

func TestGuess(t *testing.T) {
	for pod, want := range map[string]string{
		"web-7d9f8c6b5-abcde": "Deployment/web",
		"db-0":                "StatefulSet/db",
		"plain":               "Pod/plain",
	} {
		w := Guess(pod)
		if w.String() != want || !w.Guessed {
			t.Errorf("Guess(%s) = %+v, want %s", pod, w, want)
		}
	}
}

func TestResolver(t *testing.T) {
	cs := fake.NewClientset(owned("web-7d9f8c6b5-abcde", "ReplicaSet", "web-7d9f8c6b5", map[string]string{"pod-template-hash": "7d9f8c6b5"}))
	r := NewResolver(cs)
	if w := r.Workload(t.Context(), "shop", "web-7d9f8c6b5-abcde"); w.String() != "Deployment/web" || w.Guessed {
		t.Errorf("read: %+v", w)
	}
	if w := r.Workload(t.Context(), "shop", "gone-7d9f8c6b5-zzzzz"); w.String() != "Deployment/gone" || !w.Guessed {
		t.Errorf("gone: %+v", w)
	}
	gets := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "get" {
			gets++
		}
	}
	r.Workload(t.Context(), "shop", "web-7d9f8c6b5-abcde")
	r.Workload(t.Context(), "shop", "gone-7d9f8c6b5-zzzzz")
	if len(cs.Actions()) != gets || gets != 2 {
		t.Errorf("%d gets for 4 lookups of 2 pods, want 2 (each pod read once)", len(cs.Actions()))
	}
}
