package targets

import (
	"context"
	"reflect"
	"sort"
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

func keys(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Node+":"+t.Namespace+"/"+t.Pod+"/"+t.Container+"="+t.ContainerID)
	}
	return out
}

func TestFromPods(t *testing.T) {
	app := map[string]string{"app": "web"}
	pods := []*corev1.Pod{
		pod("default", "web-1", "node-b", app, ctr{"nginx", "containerd://aaa", true}, ctr{"sidecar", "containerd://bbb", true}),
		pod("default", "web-2", "node-a", app, ctr{"nginx", "containerd://ccc", true}),
		pod("default", "web-3", "node-a", app, ctr{"nginx", "", false}), // starting: no id yet
		pod("default", "web-4", "", app, ctr{"nginx", "", false}),       // not scheduled
	}
	deleting := pod("default", "web-5", "node-a", app, ctr{"nginx", "containerd://ddd", true})
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	pods = append(pods, deleting)

	tests := []struct {
		name string
		sel  Selection
		want []string
	}{
		{"all running containers with ids, by node", Selection{Namespace: "default"}, []string{
			"node-a:default/web-2/nginx=containerd://ccc",
			"node-b:default/web-1/nginx=containerd://aaa",
			"node-b:default/web-1/sidecar=containerd://bbb",
		}},
		{"container filter", Selection{Containers: []string{"sidecar"}}, []string{"node-b:default/web-1/sidecar=containerd://bbb"}},
		{"node filter", Selection{Nodes: []string{"node-a"}}, []string{"node-a:default/web-2/nginx=containerd://ccc"}},
		{"pod names", Selection{Pods: []string{"web-1", "web-3"}}, []string{
			"node-b:default/web-1/nginx=containerd://aaa", "node-b:default/web-1/sidecar=containerd://bbb",
		}},
		{"nothing", Selection{Containers: []string{"nope"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := keys(FromPods(pods, &tc.sel))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestTargetCarriesMetadata(t *testing.T) {
	p := pod("shop", "api-1", "n1", map[string]string{"app": "api"}, ctr{"app", "cri-o://x1", true})
	ts := ContainersOf(p, &Selection{})
	if len(ts) != 1 {
		t.Fatalf("want 1 target, got %d", len(ts))
	}
	got := ts[0]
	if got.Image != "img/app" || got.Labels["app"] != "api" || got.Namespace != "shop" || got.Pod != "api-1" ||
		got.Container != "app" || got.ContainerID != "cri-o://x1" || got.Node != "n1" || got.PodUID != "shop/api-1" {
		t.Fatalf("target lacks metadata: %+v", got)
	}
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

func changeKeys(cs []Change) []string {
	var out []string
	for _, c := range cs {
		k := "+"
		if c.Kind == Removed {
			k = "-"
		}
		out = append(out, k+c.Target.Pod+"/"+c.Target.Container+"="+c.Target.ContainerID+"@"+c.Target.Node)
	}
	sort.Strings(out)
	return out
}

func TestTracker(t *testing.T) {
	tr := NewTracker(&Selection{})
	steps := []struct {
		name   string
		apply  func() []Change
		want   []string
		totals int
	}{
		{"new pod, one container not yet running", func() []Change {
			return tr.Update(pod("d", "web-1", "n1", nil, ctr{"a", "id-a", true}, ctr{"b", "", false}))
		}, []string{"+web-1/a=id-a@n1"}, 1},
		{"second container starts", func() []Change {
			return tr.Update(pod("d", "web-1", "n1", nil, ctr{"a", "id-a", true}, ctr{"b", "id-b", true}))
		}, []string{"+web-1/b=id-b@n1"}, 2},
		{"no change", func() []Change {
			return tr.Update(pod("d", "web-1", "n1", nil, ctr{"a", "id-a", true}, ctr{"b", "id-b", true}))
		}, nil, 2},
		{"restart: new container id replaces the old", func() []Change {
			return tr.Update(pod("d", "web-1", "n1", nil, ctr{"a", "id-a2", true}, ctr{"b", "id-b", true}))
		}, []string{"+web-1/a=id-a2@n1", "-web-1/a=id-a@n1"}, 2},
		{"a replica on a new node", func() []Change {
			return tr.Update(pod("d", "web-2", "n2", nil, ctr{"a", "id-c", true}))
		}, []string{"+web-2/a=id-c@n2"}, 3},
		{"container terminates", func() []Change {
			return tr.Update(pod("d", "web-1", "n1", nil, ctr{"a", "id-a2", true}, ctr{"b", "id-b", false}))
		}, []string{"-web-1/b=id-b@n1"}, 2},
		{"pod deleted", func() []Change {
			return tr.Delete(pod("d", "web-2", "n2", nil))
		}, []string{"-web-2/a=id-c@n2"}, 1},
		{"resync after a watch gap: web-1 gone, web-3 new", func() []Change {
			return tr.Resync([]*corev1.Pod{pod("d", "web-3", "n1", nil, ctr{"a", "id-d", true})})
		}, []string{"+web-3/a=id-d@n1", "-web-1/a=id-a2@n1"}, 1},
	}
	for _, st := range steps {
		got := changeKeys(st.apply())
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: changes %v, want %v", st.name, got, st.want)
		}
		if n := len(tr.Targets()); n != st.totals {
			t.Fatalf("%s: %d targets, want %d", st.name, n, st.totals)
		}
	}
}

func TestTrackerIgnoresPodsBeingDeleted(t *testing.T) {
	tr := NewTracker(&Selection{})
	p := pod("d", "web-1", "n1", nil, ctr{"a", "id-a", true})
	tr.Update(p)
	now := metav1.Now()
	p.DeletionTimestamp = &now
	if got := changeKeys(tr.Update(p)); !reflect.DeepEqual(got, []string{"-web-1/a=id-a@n1"}) {
		t.Fatalf("terminating pod: %v", got)
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
	if got := keys(res.Targets); !reflect.DeepEqual(got, []string{"n1:default/web-1/nginx=id1"}) {
		t.Fatalf("targets = %v", got)
	}
	src, _ = NewSource(client, &Selection{AllNamespaces: true, LabelSelector: "app=web"})
	res, _ = src.Resolve(context.Background())
	if len(res.Targets) != 2 {
		t.Fatalf("all namespaces: %v", keys(res.Targets))
	}
	if _, err := NewSource(client, &Selection{LabelSelector: "app in (("}); err == nil || !strings.Contains(err.Error(), "invalid label selector") {
		t.Fatalf("bad selector: %v", err)
	}
}
