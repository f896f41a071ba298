// Package promtest checks a Prometheus exposition with Debian's promtool, accepting exactly the lint
// findings about the seed's counter name (swoll_node_metrics_syscall_count: no _total suffix, and a _count
// name that belongs to histograms), and failing on anything else promtool reports.
package promtest

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/swoll-dev/swoll/internal/roottest"
)

// SeedName is the seed's counter, kept for compatibility although it breaks promtool's naming rules.
const SeedName = "swoll_node_metrics_syscall_count"

// SeedLint is everything promtool may report, and only about the seed's counter. When the exposition has
// that counter, promtool must report both lines: a promtool that says something else about it is a finding.
var SeedLint = []string{
	SeedName + ` counter metrics should have "_total" suffix`,
	SeedName + ` non-histogram and non-summary metrics should not have "_count" suffix`,
}

// lintExit is promtool's exit status when the exposition parses but has lint findings.
const lintExit = 3

// Result is what `promtool check metrics` said about an exposition.
type Result struct {
	Output   string   // everything promtool printed
	Findings []string // lines other than SeedLint: each one fails the check
	Missing  []string // SeedLint lines promtool did not print although the exposition has the seed's counter
}

// OK reports whether promtool found nothing but the seed's name.
func (r Result) OK() bool { return len(r.Findings) == 0 && len(r.Missing) == 0 }

// Check runs promtool (the path of the binary) on body. An error means promtool could not lint it at all (a
// parse error, a crash); lint findings are in the Result.
func Check(promtool, body string) (Result, error) {
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := Result{Output: out.String()}
	var exit *exec.ExitError
	if lintOnly := errors.As(err, &exit) && exit.ExitCode() == lintExit; err != nil && !lintOnly {
		return r, fmt.Errorf("promtool check metrics: %w\n%s", err, r.Output)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(r.Output, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case isSeedLint(line):
			seen[line] = true
		default:
			r.Findings = append(r.Findings, line)
		}
	}
	if strings.Contains(body, "# TYPE "+SeedName+" counter") {
		for _, s := range SeedLint {
			if !seen[s] {
				r.Missing = append(r.Missing, s)
			}
		}
	}
	if err != nil && len(r.Findings) == 0 && len(seen) == 0 {
		return r, fmt.Errorf("promtool exited %d without a finding:\n%s", lintExit, r.Output)
	}
	return r, nil
}

func isSeedLint(line string) bool {
	for _, s := range SeedLint {
		if line == s {
			return true
		}
	}
	return false
}

// Promtool finds promtool: where root tests are required (make test, CI, the e2e suite) a missing one fails
// the test, elsewhere it is skipped.
func Promtool(t testing.TB) string {
	t.Helper()
	return roottest.Tool(t, "promtool")
}

// CheckMetrics runs `promtool check metrics` on body and fails t on anything but the seed's two lint lines.
func CheckMetrics(t testing.TB, body string) {
	t.Helper()
	r, err := Check(Promtool(t), body)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) > 0 {
		t.Errorf("promtool check metrics reports more than the seed's name:\n%s", strings.Join(r.Findings, "\n"))
	}
	if len(r.Missing) > 0 {
		t.Errorf("promtool check metrics did not report, about the seed's counter:\n%s\nit said:\n%s",
			strings.Join(r.Missing, "\n"), r.Output)
	}
	t.Logf("promtool check metrics: only the seed's name:\n%s", strings.TrimSpace(r.Output))
}
