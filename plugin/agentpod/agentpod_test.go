package agentpod

import (
	"flag"
	"fmt"
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
		Session:       "k3x9ab",
		Node:          "node-a",
		Namespace:     "kube-system",
		Image:         "ghcr.io/swoll-dev/swoll-agent:v0.1.0",
		PullPolicy:    corev1.PullIfNotPresent,
		Deadline:      time.Hour,
		HoldWait:      60 * time.Second,
		RequestedBy:   "alice",
		RequestedFrom: "laptop-7",
		Syscalls:      []string{"openat", "class:Network"},
		CreatedAt:     time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		Command:       "kubectl swoll trace -l app=nginx -s openat",
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		edit func(*Params)
	}{
		{"agent-job.yaml", func(p *Params) { p.CRISocket = "/run/containerd/containerd.sock" }},
		{"agent-job-privileged-k3s.yaml", func(p *Params) {
			p.Generation = 2
			p.CRISocket = "/run/k3s/containerd/containerd.sock"
			p.PullPolicy = corev1.PullNever
			p.Deadline = 90 * time.Second
			p.Privileged = true
			p.Syscalls = nil
			p.CaptureData = 64
			p.RequestedFrom = ""
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

// The Job is one try that goes when it finishes; its pod is not privileged, drops every capability and adds only Capabilities, has a read-only root, and
// mounts no host path but its CRI socket, read-only.
func TestSpecInvariants(t *testing.T) {
	p := params()
	p.CRISocket = "/var/run/crio/crio.sock"
	job := Build(p)
	s := job.Spec.Template.Spec
	c := s.Containers[0]
	sc := c.SecurityContext
	switch {
	case s.NodeName != "node-a" || !s.HostPID || s.RestartPolicy != corev1.RestartPolicyNever:
		t.Fatal("placement/hostPID/restartPolicy")
	case *s.ActiveDeadlineSeconds != 3600 || *s.TerminationGracePeriodSeconds != 2:
		t.Fatal("deadline/grace")
	case *s.AutomountServiceAccountToken || *s.EnableServiceLinks:
		t.Fatal("service account token or service links")
	case sc == nil || sc.Privileged != nil:
		t.Fatal("privileged is set")
	case len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Fatalf("drops %v, want ALL", sc.Capabilities.Drop)
	case !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation:
		t.Fatal("writable root or privilege escalation")
	case len(s.Tolerations) != 1 || s.Tolerations[0].Operator != corev1.TolerationOpExists:
		t.Fatal("tolerations")
	case s.PriorityClassName != "":
		t.Fatal("priority class")
	}
	if fmt.Sprint(sc.Capabilities.Add) != "[BPF PERFMON SYS_PTRACE]" {
		t.Fatalf("adds %v", sc.Capabilities.Add)
	}
	var hostPaths []string
	for _, v := range s.Volumes {
		if v.HostPath != nil {
			hostPaths = append(hostPaths, v.HostPath.Path+":"+string(*v.HostPath.Type))
		}
	}
	if fmt.Sprint(hostPaths) != "[/run/crio/crio.sock:Socket /sys/fs/cgroup:Directory]" {
		t.Fatalf("host paths %v, want only the CRI socket and the cgroup hierarchies", hostPaths)
	}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly && m.MountPath != "/tmp" {
			t.Fatalf("mount %s is writable", m.MountPath)
		}
		if m.MountPath == "/host/sys/fs/cgroup" && (m.RecursiveReadOnly == nil || *m.RecursiveReadOnly != corev1.RecursiveReadOnlyIfPossible) {
			t.Fatalf("the cgroup hierarchies are not read-only recursively where the runtime can: %v", m.RecursiveReadOnly)
		}
	}
	if got := job.Labels[LabelSession]; got != "k3x9ab" || job.Spec.Template.Labels[LabelSession] != "k3x9ab" {
		t.Fatalf("session label %q", got)
	}
	if *job.Spec.TTLSecondsAfterFinished != 0 || *job.Spec.BackoffLimit != 0 || *job.Spec.ActiveDeadlineSeconds != 3600 {
		t.Fatal("the Job must go when it finishes, never retry, and have the deadline")
	}
	if pod := Pod(job); pod.Name != job.Name || pod.Spec.NodeName != "node-a" || pod.Labels[LabelSession] != "k3x9ab" {
		t.Fatal("Pod(job) is not the Job's template")
	}
	if priv := Build(Params{Privileged: true}).Spec.Template.Spec.Containers[0].SecurityContext; priv.Privileged == nil || !*priv.Privileged {
		t.Fatal("--privileged is not privileged")
	}
}

func TestCapabilitiesByKernel(t *testing.T) {
	for kernel, want := range map[string]string{
		"6.18.44-fc": "[BPF PERFMON SYS_PTRACE]", "5.11.0": "[BPF PERFMON SYS_PTRACE]", "": "[BPF PERFMON SYS_PTRACE]",
		"5.10.0-32-amd64": "[BPF PERFMON SYS_PTRACE SYS_RESOURCE]",
	} {
		p := params()
		p.KernelVersion = kernel
		if got := fmt.Sprint(Build(p).Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add); got != want {
			t.Errorf("kernel %q: %s, want %s", kernel, got, want)
		}
	}
}

// A node annotation picks among allowed sockets only; the user's flag is taken as given.
func TestChooseCRISocket(t *testing.T) {
	tests := []struct {
		user, annotation, runtime string
		want                      string
		warns                     bool
	}{
		{"", "", "containerd://1.7.2", "/run/containerd/containerd.sock", false},
		{"", "", "cri-o://1.30", "/run/crio/crio.sock", false},
		{"", "unix:///var/run/containerd/containerd.sock", "containerd://1.7.2", "/run/containerd/containerd.sock", false},
		{"", "/run/swoll-e2e-a/containerd.sock", "containerd://1.6", "/run/swoll-e2e-a/containerd.sock", false},
		{"", "/run/k3s/containerd/containerd.sock", "containerd://1.7", "/run/k3s/containerd/containerd.sock", false},
		{"", "/etc/shadow", "containerd://1.7", "/run/containerd/containerd.sock", true},
		{"", "/run/../etc/containerd.sock", "cri-o://1", "/run/crio/crio.sock", true},
		{"", "/run/a/b/containerd.sock", "containerd://1", "/run/containerd/containerd.sock", true},
		{"", "relative/containerd.sock", "containerd://1", "/run/containerd/containerd.sock", true},
		{"/opt/rt/cri.sock", "/etc/shadow", "containerd://1", "/opt/rt/cri.sock", false},
	}
	for _, tc := range tests {
		got, warning := ChooseCRISocket(tc.user, tc.annotation, tc.runtime)
		if got != tc.want || (warning != "") != tc.warns {
			t.Errorf("ChooseCRISocket(%q, %q, %q) = %q, %q", tc.user, tc.annotation, tc.runtime, got, warning)
		}
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
