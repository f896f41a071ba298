package preflight

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/swoll-dev/swoll/plugin/agentpod"
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

// whoAmI makes c answer SelfSubjectReviews with user.
func whoAmI(c *fake.Clientset, user string) *fake.Clientset {
	c.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		r := &authenticationv1.SelfSubjectReview{}
		r.Status.UserInfo.Username = user
		return true, r, nil
	})
	return c
}

func TestCheckAccess(t *testing.T) {
	const grant = "; an administrator grants what swoll needs with: kubectl swoll rbac shop --user alice --agent-namespace tools | kubectl apply -f -"
	tests := []struct {
		name    string
		denied  []string
		dryRun  bool
		capture bool
		allNS   bool
		agentNS string
		user    string
		wantErr string
	}{
		{name: "all granted"},
		{name: "all granted, with capture", capture: true},
		{name: "no exec", denied: []string{"create pods/exec tools"},
			wantErr: `not allowed to create pods/exec in namespace tools (check: kubectl auth can-i create pods --subresource=exec -n tools): RBAC: no rule` + grant},
		{name: "cannot watch targets", denied: []string{"watch pods shop"}, wantErr: "not allowed to watch pods in namespace shop"},
		{name: "cannot list cluster-wide", denied: []string{"list pods "}, allNS: true,
			wantErr: "not allowed to list pods cluster-wide (check: kubectl auth can-i list pods -A): RBAC: no rule; an administrator grants what swoll needs with: kubectl swoll rbac -A --user alice --agent-namespace tools | kubectl apply -f -"},
		{name: "dry run needs no create", denied: []string{"create pods tools"}, dryRun: true},
		{name: "dry run needs no capture", denied: []string{"capture pods shop"}, dryRun: true, capture: true},
		{name: "no create", denied: []string{"create pods tools"}, wantErr: "not allowed to create pods in namespace tools"},
		{name: "no delete", denied: []string{"delete pods tools"}, wantErr: "not allowed to delete pods in namespace tools"},
		{name: "no capture", denied: []string{"capture pods shop"}, capture: true, user: "system:serviceaccount:ci:bot",
			wantErr: "--capture-data copies what processes read and write, which needs its own permission: system:serviceaccount:ci:bot may not capture pods.swoll.dev in namespace shop " +
				"(check: kubectl auth can-i --list -n shop shows pods.swoll.dev [capture]): RBAC: no rule; an administrator grants what swoll needs with: " +
				"kubectl swoll rbac shop --serviceaccount ci:bot --agent-namespace tools --capture | kubectl apply -f -"},
		{name: "no capture asked, none needed", denied: []string{"capture pods shop"}},
		{name: "agents beside the targets: a namespace of their own is proposed", denied: []string{"create jobs shop"}, agentNS: "shop",
			wantErr: "not allowed to create jobs.batch in namespace shop (check: kubectl auth can-i create jobs.batch -n shop): RBAC: no rule; " +
				"the agents run in the targets' namespace unless told otherwise: give them one of their own " +
				"(an administrator runs kubectl swoll rbac shop --user alice --agent-namespace swoll | kubectl apply -f -), then pass --agent-namespace swoll or export SWOLL_AGENT_NAMESPACE=swoll"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns, agentNS, user := "shop", "tools", "alice"
			if tc.allNS {
				ns = ""
			}
			if tc.agentNS != "" {
				agentNS = tc.agentNS
			}
			if tc.user != "" {
				user = tc.user
			}
			err := CheckAccess(t.Context(), whoAmI(ssarClient(tc.denied...), user), NeededAccess(ns, agentNS, tc.dryRun, tc.capture))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error\n%v\nwant\n%s", err, tc.wantErr)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("not a preflight.Error: %T", err)
			}
		})
	}
}

// Data capture is checked by nothing but this review: one that cannot be answered refuses it.
func TestCaptureRefusedWhenReviewsFail(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, "", errors.New("no"))
	})
	err := CheckAccess(t.Context(), whoAmI(c, "alice"), NeededAccess("a", "b", false, true))
	if err == nil || !strings.Contains(err.Error(), "--capture-data") {
		t.Fatalf("%v", err)
	}
}

func TestCheckAccessSkipsWhenReviewsFail(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, "", errors.New("no"))
	})
	if err := CheckAccess(t.Context(), c, NeededAccess("a", "b", false, false)); err != nil {
		t.Fatalf("a server that cannot answer must not block the session: %v", err)
	}
}

func TestCheckAccessUnreachableServer(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, &url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Err: errors.New("connect: connection refused")}
	})
	err := CheckAccess(t.Context(), c, NeededAccess("a", "b", false, false))
	if err == nil || err.Error() != "cannot reach the Kubernetes API server at https://10.0.0.1:6443: connect: connection refused (check --kubeconfig, --context and --server)" {
		t.Fatalf("%v", err)
	}
}

func TestCheckNamespace(t *testing.T) {
	c := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	if ns, err := CheckNamespace(t.Context(), c, "shop", "target"); err != nil || ns == nil {
		t.Fatalf("existing namespace: %v %v", ns, err)
	}
	_, err := CheckNamespace(t.Context(), c, "nope", "agent")
	if err == nil || err.Error() != `agent namespace "nope" not found; create it for swoll's agents alone: `+
		`kubectl create namespace nope && kubectl label namespace nope pod-security.kubernetes.io/enforce=privileged` {
		t.Fatalf("missing namespace: %v", err)
	}
	c.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "shop", errors.New("no"))
	})
	if ns, err := CheckNamespace(t.Context(), c, "shop", "target"); err != nil || ns != nil {
		t.Fatalf("unreadable namespace must be skipped: %v %v", ns, err)
	}
}

func TestCheckPodSecurity(t *testing.T) {
	tests := []struct {
		name, ns string
		labels   map[string]string
		target   string
		want     string // "" when admitted
	}{
		{name: "no label", ns: "swoll"},
		{name: "privileged", ns: "swoll", labels: map[string]string{PodSecurityEnforceLabel: "privileged"}},
		{name: "only warn", ns: "swoll", labels: map[string]string{"pod-security.kubernetes.io/warn": "restricted"}},
		{name: "the suggested namespace, baseline", ns: "swoll", target: "shop", labels: map[string]string{PodSecurityEnforceLabel: "baseline"},
			want: `agent namespace "swoll" enforces Pod Security level "baseline", but swoll's agents need privileged (hostPID, the CRI socket, BPF capabilities); ` +
				"if it is the agents' own: kubectl label namespace swoll pod-security.kubernetes.io/enforce=privileged --overwrite"},
		{name: "another namespace, restricted", ns: "tools", target: "shop", labels: map[string]string{PodSecurityEnforceLabel: "restricted"},
			want: "if it is the agents' own: kubectl label namespace tools pod-security.kubernetes.io/enforce=privileged --overwrite; " +
				"else give them one: kubectl create namespace swoll && kubectl label namespace swoll pod-security.kubernetes.io/enforce=privileged, " +
				"then --agent-namespace swoll (or export SWOLL_AGENT_NAMESPACE=swoll)"},
		{name: "the targets' namespace is never asked", ns: "shop", target: "shop", labels: map[string]string{PodSecurityEnforceLabel: "baseline"},
			want: `the agents would run in the targets' namespace "shop", whose Pod Security level "baseline" refuses them ` +
				"(they need privileged: hostPID, the CRI socket, BPF capabilities); leave it as it is and give the agents a namespace of their own: " +
				"kubectl create namespace swoll && kubectl label namespace swoll pod-security.kubernetes.io/enforce=privileged, " +
				"then --agent-namespace swoll (or export SWOLL_AGENT_NAMESPACE=swoll)"},
	}
	for _, tc := range tests {
		err := CheckPodSecurity(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.ns, Labels: tc.labels}}, tc.target)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s:\n%v\nwant\n%s", tc.name, err, tc.want)
		case tc.ns == tc.target && err != nil && strings.Contains(err.Error(), "label namespace "+tc.ns):
			t.Errorf("%s: the targets' namespace is asked to admit privileged pods: %v", tc.name, err)
		}
	}
	if err := CheckPodSecurity(nil, "shop"); err != nil {
		t.Fatal(err)
	}
}

func TestDryRunCreate(t *testing.T) {
	job := agentpod.Build(agentpod.Params{Session: "s", Node: "n", Namespace: "apps", Image: "i"})
	c := fake.NewClientset()
	var sawDryRun, jobDryRun bool
	c.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		jobDryRun = len(a.(k8stesting.CreateActionImpl).GetCreateOptions().DryRun) == 1
		return jobDryRun, a.(k8stesting.CreateActionImpl).GetObject(), nil
	})
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sawDryRun = len(a.(k8stesting.CreateActionImpl).GetCreateOptions().DryRun) == 1
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, job.Name,
			errors.New(`violates PodSecurity "baseline:latest": privileged (container "agent" must not set securityContext.privileged=true)`))
	})
	err := DryRunCreate(t.Context(), c, job)
	if !sawDryRun || !jobDryRun {
		t.Fatal("create was not a dry run")
	}
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") || !strings.Contains(err.Error(), "--agent-namespace swoll") {
		t.Fatalf("error: %v", err)
	}
	if pods, _ := c.CoreV1().Pods("apps").List(t.Context(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Fatal("dry run created a pod")
	}
	if jobs, _ := c.BatchV1().Jobs("apps").List(t.Context(), metav1.ListOptions{}); len(jobs.Items) != 0 {
		t.Fatal("dry run created a job")
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
		{"nothing matches", targets.Resolution{}, targets.Selection{Namespace: "default", LabelSelector: "app=nginx"}, "no pods match -l app=nginx in namespace default; --wait waits for one"},
		{"named pod missing", targets.Resolution{Pods: []*corev1.Pod{running("a")}}, targets.Selection{Namespace: "default", Pods: []string{"a", "b"}}, `pod "b" not found in namespace default; --wait waits for one`},
		{"no such container", targets.Resolution{Pods: []*corev1.Pod{running("a")}}, targets.Selection{Namespace: "default", LabelSelector: "x=y", Containers: []string{"app"}}, "1 pod(s) match -l x=y -c app in namespace default, but none has a container named app; --wait waits for one"},
		{"not bound", targets.Resolution{Pods: []*corev1.Pod{running("a")}}, targets.Selection{Namespace: "default", LabelSelector: "x=y"}, "1 pod(s) match -l x=y in namespace default, but none is bound to a node and not over (Succeeded or Failed); --wait waits for one"},
		{"fine", targets.Resolution{Pods: []*corev1.Pod{running("a")}, Targets: []targets.Target{{}}}, targets.Selection{Namespace: "default", LabelSelector: "x=y"}, ""},
	}
	for _, tc := range tests {
		err := CheckResolution(&tc.res, &tc.sel)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestCheckFanOut(t *testing.T) {
	sel := &targets.Selection{Namespace: "shop", LabelSelector: "app=web"}
	tests := []struct {
		nodes, max int
		refused    bool
	}{
		{3, 0, false}, {3, 3, false}, {2, 3, false}, {4, 3, true}, {100, 10, true},
	}
	for _, tc := range tests {
		err := CheckFanOut(sel, tc.nodes, tc.max)
		if (err != nil) != tc.refused {
			t.Errorf("%d nodes, --max-nodes %d: %v, want refused: %v", tc.nodes, tc.max, err, tc.refused)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("pass --max-nodes %d", tc.nodes)) {
			t.Errorf("%d nodes: %q does not say which --max-nodes would do", tc.nodes, err)
		}
	}
}
