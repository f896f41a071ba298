package complete

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: "https://127.0.0.1:1"}}
- {name: lab, cluster: {server: "https://127.0.0.1:2"}}
users:
- {name: alice, user: {token: t}}
contexts:
- {name: prod-ctx, context: {cluster: prod, user: alice, namespace: shop}}
- {name: lab-ctx, context: {cluster: lab, user: alice}}
current-context: prod-ctx
`

func pod(ns, name, node string, labels map[string]string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for i, c := range containers {
		if i == 0 && strings.HasPrefix(c, "init:") {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: strings.TrimPrefix(c, "init:")})
			continue
		}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

// newRoot is a command tree shaped like kubectl swoll's (the flags the completions key on), with completions
// registered against a fake cluster.
func newRoot(t *testing.T, objects ...runtime.Object) *cobra.Command {
	t.Helper()
	cs := fake.NewClientset(objects...)
	return newRootWith(t, func(flags *genericclioptions.ConfigFlags) *Source {
		return &Source{Flags: flags, Client: func() (kubernetes.Interface, error) { return cs, nil }}
	})
}

func newRootWith(t *testing.T, source func(*genericclioptions.ConfigFlags) *Source) *cobra.Command {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kc
	src := source(flags)

	root := &cobra.Command{Use: "kubectl-swoll"}
	tmp := pflag.NewFlagSet("kubectl", pflag.ContinueOnError)
	flags.AddFlags(tmp)
	tmp.VisitAll(func(f *pflag.Flag) {
		if f.Name == "server" {
			f.Shorthand = "" // -s is --syscalls, as in kubectl swoll
		}
		root.PersistentFlags().AddFlag(f)
	})
	trace := &cobra.Command{Use: "trace [POD...] [flags]", Run: func(*cobra.Command, []string) {}}
	f := trace.Flags()
	f.StringP("selector", "l", "", "")
	f.String("field-selector", "", "")
	f.BoolP("all-namespaces", "A", false, "")
	f.StringSliceP("container", "c", nil, "")
	f.StringSlice("node", nil, "")
	f.StringSliceP("syscalls", "s", nil, "")
	f.StringP("output", "o", "json", "")
	f.String("agent-namespace", "", "")
	f.String("image-pull-policy", "", "")
	f.StringP("filename", "f", "", "")
	root.AddCommand(trace, &cobra.Command{Use: "version", Run: func(*cobra.Command, []string) {}})
	Register(root, src)
	return root
}

// complete runs cobra's hidden __complete command, as the kubectl_complete-swoll shim does, and returns the
// candidates (without descriptions) and the directive line.
func complete(t *testing.T, root *cobra.Command, args ...string) ([]string, string) {
	t.Helper()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{cobra.ShellCompNoDescRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestComplete(t *testing.T) {
	objects := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "staging"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}},
		pod("shop", "web-1", "node-a", map[string]string{"app": "web", "tier": "front"}, "init:setup", "nginx", "sidecar"),
		pod("shop", "web-2", "node-b", map[string]string{"app": "web", "tier": "front"}, "nginx"),
		pod("shop", "db-0", "node-b", map[string]string{"app": "db"}, "postgres"),
		pod("staging", "web-9", "node-a", map[string]string{"app": "web-staging"}, "nginx"),
	}
	const noFile, noFileNoSpace = ":4", ":6"
	tests := []struct {
		name      string
		args      []string
		want      []string
		directive string
	}{
		{"-n", []string{"trace", "-n", ""}, []string{"kube-system", "shop", "staging"}, noFile},
		{"-n prefix", []string{"trace", "-n", "s"}, []string{"shop", "staging"}, noFile},
		{"--agent-namespace", []string{"trace", "--agent-namespace", "k"}, []string{"kube-system"}, noFile},
		{"pods of the kubeconfig namespace", []string{"trace", ""}, []string{"db-0", "web-1", "web-2"}, noFile},
		{"pods of -n", []string{"trace", "-n", "staging", ""}, []string{"web-9"}, noFile},
		{"pods of every namespace", []string{"trace", "-A", "web"}, []string{"web-1", "web-2", "web-9"}, noFile},
		{"pods not given yet", []string{"trace", "web-1", ""}, []string{"db-0", "web-2"}, noFile},
		{"pods matching -l", []string{"trace", "-l", "app=web", ""}, []string{"web-1", "web-2"}, noFile},
		{"pods on --node", []string{"trace", "--node", "node-b", ""}, []string{"db-0", "web-2"}, noFile},
		{"-l keys", []string{"trace", "-l", ""}, []string{"app=", "tier="}, noFileNoSpace},
		{"-l values", []string{"trace", "-l", "app="}, []string{"app=db", "app=web"}, noFile},
		{"-l values after !=", []string{"trace", "-l", "app!=w"}, []string{"app!=web"}, noFile},
		{"-l second requirement", []string{"trace", "-l", "app=web,t"}, []string{"app=web,tier="}, noFileNoSpace},
		{"--node", []string{"trace", "--node", ""}, []string{"node-a", "node-b"}, noFile},
		{"--node list", []string{"trace", "--node", "node-a,"}, []string{"node-a,node-b"}, noFile},
		{"-c of the named pod", []string{"trace", "web-1", "-c", ""}, []string{"nginx", "setup", "sidecar"}, noFile},
		{"-c of the selected pods", []string{"trace", "-l", "app=db", "-c", ""}, []string{"postgres"}, noFile},
		{"-c list", []string{"trace", "web-1", "-c", "nginx,s"}, []string{"nginx,setup", "nginx,sidecar"}, noFile},
		{"-s op", []string{"trace", "-s", "openat"}, []string{"openat", "openat2"}, noFile},
		{"-s list", []string{"trace", "-s", "openat,conn"}, []string{"openat,connect"}, noFile},
		{"-s class:", []string{"trace", "-s", "class:F"}, []string{"class:FileSystem"}, noFile},
		{"-s cl", []string{"trace", "-s", "cl"}, []string{"class:", "clock_adjtime", "clock_getres", "clock_gettime",
			"clock_nanosleep", "clock_settime", "clone", "clone3", "close", "close_range"}, noFile},
		{"-s only sets left", []string{"trace", "-s", "gr"}, []string{"group:"}, noFileNoSpace},
		{"--context", []string{"trace", "--context", ""}, []string{"lab-ctx", "prod-ctx"}, noFile},
		{"--cluster", []string{"version", "--cluster", "l"}, []string{"lab"}, noFile},
		{"-o", []string{"trace", "-o", ""}, []string{"json", "cli"}, noFile},
		{"--image-pull-policy", []string{"trace", "--image-pull-policy", "I"}, []string{"IfNotPresent"}, noFile},
		{"-f", []string{"trace", "-f", ""}, []string{"yaml", "yml", "json"}, ":8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, directive := complete(t, newRoot(t, objects...), tt.args...)
			if !slices.Equal(got, tt.want) || directive != tt.directive {
				t.Errorf("completing %q: %q %s, want %q %s", tt.args, got, directive, tt.want, tt.directive)
			}
		})
	}
}

func TestCompleteGroupNames(t *testing.T) {
	got, _ := complete(t, newRoot(t), "trace", "-s", "group:")
	if len(got) < 5 || !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "group:") }) {
		t.Errorf("group: completes to %q", got)
	}
}

// An unreachable cluster gives no candidates and no file names, and no error on the terminal.
func TestCompleteWithoutCluster(t *testing.T) {
	root := newRootWith(t, func(flags *genericclioptions.ConfigFlags) *Source { return NewSource(flags) })
	for _, args := range [][]string{{"trace", "-n", ""}, {"trace", ""}, {"trace", "--node", ""}, {"trace", "-l", ""}} {
		got, directive := complete(t, root, args...)
		if len(got) != 0 || directive != ":4" {
			t.Errorf("%q with no cluster: %q %s, want nothing and no files", args, got, directive)
		}
	}
}

func TestErrnos(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"ENOEN", []string{"ENOENT"}},
		{"econnref", []string{"ECONNREFUSED"}},
		{"ENOENT,EACCE", []string{"ENOENT,EACCES"}},
		{"EACCES,eacc", nil},
	} {
		got, _ := Errnos(nil, nil, c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("Errnos(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
