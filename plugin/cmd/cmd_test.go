package cmd

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/swoll-dev/swoll/internal/testutil"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(t.Context(), args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, nil)
	return code, out.String(), errOut.String()
}

// TestTraceFlagValidation covers input errors that must be reported before any cluster contact (the
// kubeconfig points at a port nothing listens on, so a request would fail differently).
func TestTraceFlagValidation(t *testing.T) {
	kc := testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)
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
		{"three k", []string{"-l", "a=b", "-kkk"}, "invalid -k: -k adds the user-space stack and -kk the kernel's, no more"},
		{"by what", []string{"-l", "a=b", "--summary", "--by", "pod"}, `invalid --by "pod": want caller`},
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
