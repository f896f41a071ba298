package agentpod

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the golden file (go test ./plugin/agentpod -update to accept):\n%s", name, got)
	}
}

func params() Params {
	return Params{
		Session:     "k3x9ab",
		Node:        "node-a",
		Namespace:   "kube-system",
		Image:       "ghcr.io/swoll-dev/swoll-agent:v0.1.0",
		PullPolicy:  corev1.PullIfNotPresent,
		Deadline:    time.Hour,
		HoldWait:    60 * time.Second,
		RequestedBy: "alice",
		CreatedAt:   time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Command:     "kubectl swoll trace -l app=nginx -s openat",
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		edit func(*Params)
	}{
		{"agent-pod.yaml", func(*Params) {}},
		{"agent-pod-extra-socket.yaml", func(p *Params) {
			p.CRISocket = "/var/lib/rancher/k3s/agent/containerd/containerd.sock"
			p.PullPolicy = corev1.PullNever
			p.Deadline = 90 * time.Second
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			p := params()
			tc.edit(&p)
			b, err := yaml.Marshal(Build(p))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b)
		})
	}
}

func TestNameIsStableShortAndValid(t *testing.T) {
	long := "ip-10-0-0-1.eu-west-1.compute.internal.with-a-very-long-suffix-that-goes-past-sixty-three-characters"
	for _, node := range []string{"node-a", "node-b", long} {
		n := Name("k3x9ab", node)
		if n != Name("k3x9ab", node) {
			t.Fatal("name not stable")
		}
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Fatalf("%q: %v", n, errs)
		}
	}
	if Name("s", "node-a") == Name("s", "node-b") {
		t.Fatal("nodes share a name")
	}
}

func TestSessionIDsAreValidLabelValues(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]{6}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewSessionID()
		if !re.MatchString(id) {
			t.Fatalf("session id %q", id)
		}
		seen[id] = true
	}
	if len(seen) < 95 {
		t.Fatalf("session ids repeat: %d distinct of 100", len(seen))
	}
}

func TestSpecInvariants(t *testing.T) {
	p := Build(params())
	s := p.Spec
	c := s.Containers[0]
	switch {
	case s.NodeName != "node-a" || !s.HostPID || s.RestartPolicy != corev1.RestartPolicyNever:
		t.Fatal("placement/hostPID/restartPolicy")
	case *s.ActiveDeadlineSeconds != 3600 || *s.TerminationGracePeriodSeconds != 2:
		t.Fatal("deadline/grace")
	case *s.AutomountServiceAccountToken || *s.EnableServiceLinks:
		t.Fatal("service account token or service links")
	case c.SecurityContext == nil || !*c.SecurityContext.Privileged:
		t.Fatal("not privileged")
	case len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists:
		t.Fatal("tolerations")
	case s.PriorityClassName != "":
		t.Fatal("priority class")
	}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Fatalf("mount %s is writable", m.MountPath)
		}
	}
	if got := p.Labels[LabelSession]; got != "k3x9ab" {
		t.Fatalf("session label %q", got)
	}
}

func TestCommandAnnotationIsBounded(t *testing.T) {
	p := params()
	b := make([]byte, 5000)
	for i := range b {
		b[i] = 'x'
	}
	p.Command = string(b)
	if got := len(Build(p).Annotations[AnnotationCommand]); got > maxCommandAnnotation {
		t.Fatalf("command annotation is %d bytes", got)
	}
}
