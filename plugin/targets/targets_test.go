package targets

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

type ctr struct {
	name, id string
	running  bool
}

func pod(ns, name, node string, labels map[string]string, cs ...ctr) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range cs {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c.name, Image: "img/" + c.name})
		st := corev1.ContainerStatus{Name: c.name, ContainerID: c.id}
		if c.running {
			st.State.Running = &corev1.ContainerStateRunning{}
		} else {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
	}
	return p
}

func TestByNodeAndNodes(t *testing.T) {
	ts := FromPods([]*corev1.Pod{
		pod("d", "a", "n2", nil, ctr{"c", "id1", true}),
		pod("d", "b", "n1", nil, ctr{"c", "id2", true}),
		pod("d", "c", "n2", nil, ctr{"c", "id3", true}),
	}, &Selection{})
	g := ByNode(ts)
	if got := Nodes(g); !reflect.DeepEqual(got, []string{"n1", "n2"}) {
		t.Fatalf("Nodes = %v", got)
	}
	if len(g["n2"]) != 2 || len(g["n1"]) != 1 {
		t.Fatalf("grouping = %v", g)
	}
}

func TestMissingPods(t *testing.T) {
	pods := []*corev1.Pod{pod("d", "a", "n", nil)}
	got := MissingPods(pods, &Selection{Pods: []string{"a", "b", "c"}})
	if !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Fatalf("MissingPods = %v", got)
	}
}

func TestServerFieldSelector(t *testing.T) {
	tests := []struct {
		sel     Selection
		want    string
		wantErr bool
	}{
		{Selection{}, "", false},
		{Selection{FieldSelector: "status.phase=Running"}, "status.phase=Running", false},
		{Selection{Nodes: []string{"n1"}}, "spec.nodeName=n1", false},
		{Selection{Nodes: []string{"n1", "n2"}}, "", false}, // filtered client-side
		{Selection{Nodes: []string{"n1"}, FieldSelector: "spec.nodeName=n1"}, "spec.nodeName=n1", false},
		{Selection{Pods: []string{"web"}, FieldSelector: "status.phase=Running"}, "status.phase=Running,metadata.name=web", false},
		{Selection{FieldSelector: "status.phase"}, "", true},
	}
	for _, tc := range tests {
		got, err := tc.sel.ServerFieldSelector()
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%+v: got %q, %v; want %q (error %v)", tc.sel, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDescribe(t *testing.T) {
	s := Selection{Namespace: "default", LabelSelector: "app=nginx"}
	if got := s.Describe(); got != "-l app=nginx in namespace default" {
		t.Fatalf("Describe = %q", got)
	}
	s = Selection{AllNamespaces: true, Pods: []string{"a"}, Containers: []string{"c"}}
	if got := s.Describe(); got != "pods a -c c in any namespace" {
		t.Fatalf("Describe = %q", got)
	}
}

// Resolve's list goes through the fake clientset only to check that the selection's selectors are sent and
// that what comes back is filtered and grouped; the real list/watch behaviour is covered end to end.
func TestResolveSendsSelectors(t *testing.T) {
	client := fake.NewClientset(
		pod("default", "web-1", "n1", map[string]string{"app": "web"}, ctr{"nginx", "id1", true}),
		pod("default", "db-1", "n1", map[string]string{"app": "db"}, ctr{"pg", "id2", true}),
		pod("other", "web-9", "n2", map[string]string{"app": "web"}, ctr{"nginx", "id3", true}),
	)
	src, err := NewSource(client, &Selection{Namespace: "default", LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 1 || res.Targets[0].Name != "web-1" || res.Targets[0].Node != "n1" || len(res.Pods) != 1 {
		t.Fatalf("targets = %v of pods %v", res.Targets, res.Pods)
	}
	src, _ = NewSource(client, &Selection{AllNamespaces: true, LabelSelector: "app=web"})
	res, _ = src.Resolve(context.Background())
	if len(res.Targets) != 2 {
		t.Fatalf("all namespaces: %v", res.Targets)
	}
	if _, err := NewSource(client, &Selection{LabelSelector: "app in (("}); err == nil || !strings.Contains(err.Error(), "invalid label selector") {
		t.Fatalf("bad selector: %v", err)
	}
}
