package cmd

import (
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/testutil"
)

// Every flag and argument that names something in the cluster is completed from it; with the cluster out of
// reach (the kubeconfig points at a closed port) a completion offers nothing and, unlike cobra's default, no
// file names (directive 4) and no error. Names that need no cluster are offered all the same.
func TestCompletionIsRegistered(t *testing.T) {
	kc := testutil.WriteFile(t, "config", testutil.Kubeconfig)
	for _, tt := range []struct {
		args       []string
		want       string
		wantOutput bool
	}{
		{args: []string{"trace", "-n", ""}},
		{args: []string{"trace", "--agent-namespace", ""}},
		{args: []string{"trace", ""}},
		{args: []string{"trace", "-l", ""}},
		{args: []string{"trace", "--node", ""}},
		{args: []string{"trace", "-c", ""}},
		{args: []string{"cleanup", "-n", ""}},
		{args: []string{"trace", "-s", "openat"}, want: "openat\n", wantOutput: true},
		{args: []string{"trace", "-s", "class:Fi"}, want: "class:FileSystem\n", wantOutput: true},
		{args: []string{"trace", "-o", ""}, want: "json\ncli\n", wantOutput: true},
		{args: []string{"trace", "--context", ""}, want: "ctx\n", wantOutput: true},
	} {
		args := append([]string{"__completeNoDesc", "--kubeconfig", kc}, tt.args...)
		code, stdout, stderr := run(t, args...)
		if code != 0 || !strings.HasSuffix(stdout, ":4\n") || strings.Contains(stderr, "error") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want directive :4 and no error", tt.args, code, stdout, stderr)
			continue
		}
		got := strings.TrimSuffix(stdout, ":4\n")
		if tt.wantOutput && !strings.HasPrefix(got, tt.want) || !tt.wantOutput && got != "" {
			t.Errorf("%q: %q, want %q", tt.args, got, tt.want)
		}
	}
}
