// Package promtest checks a Prometheus exposition with Debian's promtool, accepting exactly the lint
// findings about the seed's counter name (swoll_node_metrics_syscall_count: no _total suffix, and a _count
// name that belongs to histograms), and failing on anything else promtool reports.
package promtest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/roottest"
)

// SeedLint is what promtool may say, and only about the seed's counter.
var SeedLint = []string{
	`swoll_node_metrics_syscall_count counter metrics should have "_total" suffix`,
	`swoll_node_metrics_syscall_count non-histogram and non-summary metrics should not have "_count" suffix`,
}

// CheckMetrics runs `promtool check metrics` on body. Where root tests are required (CI), a missing promtool
// is a failure; elsewhere the check is skipped with a note.
func CheckMetrics(t testing.TB, body string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if roottest.Required() {
			t.Fatalf("promtool (Debian's prometheus package) is needed: %v", err)
		}
		t.Logf("promtool not installed: exposition not linted")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	var unexpected []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || accepted(line) {
			continue
		}
		unexpected = append(unexpected, line)
	}
	if len(unexpected) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", runErr, strings.Join(unexpected, "\n"))
	}
}

func accepted(line string) bool {
	for _, s := range SeedLint {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}
