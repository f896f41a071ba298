package cmd

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/testutil"
)

// TestSeccompBadInput: advise seccomp and check seccomp refuse bad input with one line before contacting the
// cluster (the kubeconfig points at a port nothing listens on).
func TestSeccompBadInput(t *testing.T) {
	kc := testutil.WriteFile(t, "kubeconfig", testutil.Kubeconfig)
	notJSON := testutil.WriteFile(t, "bad.json", "{\"defaultAction\": ")
	allowAll := testutil.WriteFile(t, "allow.json", `{"defaultAction":"SCMP_ACT_ALLOW"}`)
	badOp := testutil.WriteFile(t, "op.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"EQ"}]}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"advise: no selection", []string{"advise", "seccomp"}, "say which pods to trace"},
		{"advise: bad output", []string{"advise", "seccomp", "-l", "a=b", "-o", "yaml"}, `invalid -o/--output "yaml": want json or spo`},
		{"advise: -s", []string{"advise", "seccomp", "-l", "a=b", "-s", "read"}, "-s/--syscalls does not apply"},
		{"advise: bad selector", []string{"advise", "seccomp", "-l", "a in ((b"}, "invalid -l/--selector"},
		{"check: no profile", []string{"check", "seccomp"}, "say which profile to check"},
		{"check: missing file", []string{"check", "seccomp", "/nonexistent/p.json", "-l", "a=b"}, "reading the profile"},
		{"check: not JSON", []string{"check", "seccomp", notJSON, "-l", "a=b"}, "not JSON: the text ends before the profile does"},
		{"check: bad operator", []string{"check", "seccomp", badOp, "-l", "a=b"}, `unknown operator "EQ"`},
		{"check: allows everything", []string{"check", "seccomp", allowAll, "-l", "a=b"}, "lets every call run: nothing to check"},
		{"check: -s", []string{"check", "seccomp", "runtime/default", "-l", "a=b", "-s", "read"}, "-s/--syscalls does not apply"},
		{"check: no selection", []string{"check", "seccomp", "runtime/default"}, "say which pods to trace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append(tc.args, "--kubeconfig", kc)...)
			if code == 0 {
				t.Fatalf("exit 0 for %v", tc.args)
			}
			if !strings.HasPrefix(stderr, "error: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one error line with %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Fatalf("stdout not empty: %q", stdout)
			}
		})
	}
}

func TestSeccompHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"advise", "seccomp", "--help"}, []string{"kubectl swoll advise seccomp -l app=web", "-o, --output", "--duration"}},
		{[]string{"check", "seccomp", "--help"}, []string{"kubectl swoll check seccomp runtime/default", "--duration", "exit 1"}},
	} {
		code, stdout, _ := run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v lacks %q", tc.args, w)
			}
		}
		if strings.Contains(stdout, "--syscalls") {
			t.Errorf("%v shows -s/--syscalls, which does not apply", tc.args)
		}
	}
}

// TestSeccompCompletion: the profile argument offers runtime/default and files, advise's -o its formats.
func TestSeccompCompletion(t *testing.T) {
	kc := testutil.WriteFile(t, "config", testutil.Kubeconfig)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "seccomp", ""}, "runtime/default\n:0\n"},
		{[]string{"top", "--seccomp-profile", ""}, "runtime/default\n:0\n"},
		{[]string{"advise", "seccomp", "-o", ""}, "json\nspo\n:4\n"},
	} {
		code, stdout, _ := run(t, append([]string{"__completeNoDesc", "--kubeconfig", kc}, tc.args...)...)
		if code != 0 || !strings.HasPrefix(stdout, tc.want) {
			t.Errorf("%q: exit %d, %q, want %q", tc.args, code, stdout, tc.want)
		}
	}
}
