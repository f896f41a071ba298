package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: shop}
current-context: ctx
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(t.Context(), args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, nil)
	return code, out.String(), errOut.String()
}

// TestTraceFlagValidation covers input errors that must be reported before any cluster contact (the
// kubeconfig points at a port nothing listens on, so a request would fail differently).
func TestTraceFlagValidation(t *testing.T) {
	kc := writeFile(t, "kubeconfig", kubeconfig)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no selection", []string{}, "say which pods to trace"},
		{"names with -A", []string{"web-1", "-A"}, "cannot be combined with --all-namespaces"},
		{"bad output", []string{"-l", "a=b", "-o", "yaml"}, `invalid -o/--output "yaml": want json or cli`},
		{"bad pull policy", []string{"-l", "a=b", "--image-pull-policy", "Sometimes"}, "invalid --image-pull-policy"},
		{"bad label selector", []string{"-l", "a in ((b"}, "invalid -l/--selector"},
		{"bad field selector", []string{"--field-selector", "status.phase"}, "invalid --field-selector"},
		{"negative duration", []string{"-l", "a=b", "--duration", "-1s"}, "must not be negative"},
		{"capture data too large", []string{"-l", "a=b", "--capture-data", "5000"}, "invalid --capture-data 5000: want 0 to 4096 bytes"},
		{"negative capture data", []string{"-l", "a=b", "--capture-data", "-1"}, "invalid --capture-data -1"},
		{"deadline shorter than duration", []string{"-l", "a=b", "--duration", "10m", "--agent-deadline", "5m"}, "must be longer than --duration"},
		{"unknown syscall with suggestion", []string{"-l", "a=b", "-s", "opnat"}, `invalid -s/--syscalls: unknown syscall "opnat"`},
		{"namespace/name", []string{"shop/web-1"}, "give pod names only"},
		{"unknown flag", []string{"-l", "a=b", "--nope"}, "unknown flag: --nope"},
		{"missing trace file", []string{"-f", "/nonexistent/trace.yaml"}, "reading trace file"},
		{"empty image", []string{"-l", "a=b", "--image", " "}, "--image must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"trace", "--kubeconfig", kc}, tc.args...)
			code, stdout, stderr := run(t, args...)
			if code == 0 {
				t.Fatalf("exit 0 for %v", tc.args)
			}
			if !strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("want one error line, got %q", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q lacks %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Fatalf("stdout not empty: %q", stdout)
			}
		})
	}
}

func TestSyscallSuggestion(t *testing.T) {
	err := checkSyscallsAnyArch([]string{"openat", "opnat"})
	if err == nil || !strings.Contains(err.Error(), `did you mean "openat"`) {
		t.Fatalf("%v", err)
	}
	if err := checkSyscallsAnyArch([]string{"openat", "class:FileSystem"}); err != nil {
		t.Fatal(err)
	}
	// open exists on amd64 only: fine before the nodes are known, refused for an arm64 node
	if err := checkSyscallsAnyArch([]string{"open"}); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveSyscalls("arm64", []string{"open"}); err == nil {
		t.Fatal("open resolved on arm64")
	}
	if _, err := resolveSyscalls("s390x", []string{"read"}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("s390x: %v", err)
	}
}

// completeOnly parses args as `trace` does and runs Complete, not Run.
func completeOnly(t *testing.T, args []string) *TraceOptions {
	t.Helper()
	configFlags := genericclioptions.NewConfigFlags(true)
	o := NewTraceOptions(configFlags, genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	c := newTraceCommand(o)
	addConfigFlags(c.Flags(), configFlags)
	c.RunE = func(c *cobra.Command, a []string) error { return o.Complete(c, a) }
	c.SetArgs(args)
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestHelpHasExamplesAndKubectlFlags(t *testing.T) {
	code, stdout, _ := run(t, "trace", "--help")
	if code != 0 {
		t.Fatal("help failed")
	}
	for _, want := range []string{"kubectl swoll trace -l app=nginx -s openat,connect | jq .", "--kubeconfig", "--context", "-n, --namespace",
		"--request-timeout", "--as string", "-s, --syscalls", "      --server string", "-f, --filename", "--dry-run"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(stdout, "-s, --server") {
		t.Error("-s is still --server")
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "kubectl-swoll ") || !strings.Contains(stdout, "agent image: ") {
		t.Fatalf("version: %d %q", code, stdout)
	}
}

func TestCompleteMergesTraceFile(t *testing.T) {
	kc := writeFile(t, "kubeconfig", kubeconfig)
	tf := writeFile(t, "trace.yaml", `apiVersion: tools.swoll.criticalstack.com/v1alpha1
kind: Trace
metadata: {name: t, namespace: swoll}
spec:
  syscalls: [execve, openat]
  labelSelector: {matchLabels: {app: nginx}}
  fieldSelector: {matchLabels: {status.phase: Running}}
  hostSelector: [node-a]
  duration: 1m
`)
	tests := []struct {
		name  string
		args  []string
		check func(*testing.T, *TraceOptions)
	}{
		{"file only", []string{"-f", tf}, func(t *testing.T, o *TraceOptions) {
			if o.namespace != "swoll" || o.LabelSelector != "app=nginx" || o.FieldSelector != "status.phase=Running" ||
				strings.Join(o.Syscalls, ",") != "execve,openat" || strings.Join(o.Nodes, ",") != "node-a" || o.Duration != time.Minute {
				t.Fatalf("%+v", o)
			}
			if o.AgentNamespace != "swoll" {
				t.Fatalf("agent namespace %q", o.AgentNamespace)
			}
		}},
		{"flags win", []string{"-f", tf, "-n", "other", "-l", "app=db", "-s", "read", "--duration", "5s", "--agent-namespace", "tools"}, func(t *testing.T, o *TraceOptions) {
			if o.namespace != "other" || o.LabelSelector != "app=db" || strings.Join(o.Syscalls, ",") != "read" ||
				o.Duration != 5*time.Second || o.AgentNamespace != "tools" || o.FieldSelector != "status.phase=Running" {
				t.Fatalf("%+v", o)
			}
		}},
		{"kubeconfig namespace, repeated and comma lists", []string{"-l", "a=b", "-s", "read,write", "-s", "openat", "-c", "app", "-c", "side,car", "--node", "n1,n2"}, func(t *testing.T, o *TraceOptions) {
			if o.namespace != "shop" || o.AgentNamespace != "shop" || strings.Join(o.Syscalls, ",") != "read,write,openat" ||
				strings.Join(o.Containers, ",") != "app,side,car" || strings.Join(o.Nodes, ",") != "n1,n2" {
				t.Fatalf("%+v", o)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := completeOnly(t, append([]string{"--kubeconfig", kc}, tc.args...))
			tc.check(t, o)
			if err := o.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestAgentDeadline(t *testing.T) {
	tests := []struct {
		duration, flag, want time.Duration
	}{
		{0, 0, time.Hour},
		{10 * time.Minute, 0, 15 * time.Minute},
		{10 * time.Minute, 20 * time.Minute, 20 * time.Minute},
	}
	for _, tc := range tests {
		o := &TraceOptions{Duration: tc.duration, AgentDeadline: tc.flag}
		if got := o.agentDeadline(); got != tc.want {
			t.Errorf("duration %s flag %s: %s, want %s", tc.duration, tc.flag, got, tc.want)
		}
	}
}
