package promtest

import (
	"strings"
	"testing"
)

const seed = `# HELP swoll_node_metrics_syscall_count calls
# TYPE swoll_node_metrics_syscall_count counter
swoll_node_metrics_syscall_count{err="OK",syscall="sys_openat"} 3
`

const histogram = `# HELP swoll_node_metrics_syscall_duration_seconds time
# TYPE swoll_node_metrics_syscall_duration_seconds histogram
swoll_node_metrics_syscall_duration_seconds_bucket{le="1e-06"} 1
swoll_node_metrics_syscall_duration_seconds_bucket{le="+Inf"} 3
swoll_node_metrics_syscall_duration_seconds_sum 0.5
swoll_node_metrics_syscall_duration_seconds_count 3
`

// TestCheck: the seed's two lint lines pass (and are reported whenever the seed's counter is exposed); any
// other finding, or a parse error, fails.
func TestCheck(t *testing.T) {
	promtool := Promtool(t)
	for _, tc := range []struct {
		name, body string
		wantErr    bool
		findings   []string
	}{
		{name: "seed name only", body: seed + histogram},
		{name: "no seed counter", body: histogram},
		{name: "another bad counter", body: seed + "# HELP other_calls x\n# TYPE other_calls counter\nother_calls 1\n",
			findings: []string{`other_calls counter metrics should have "_total" suffix`}},
		{name: "no help", body: seed + "# TYPE swoll_x_total counter\nswoll_x_total 1\n",
			findings: []string{`swoll_x_total no help text`}},
		{name: "parse error", body: "garbage{\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(promtool, tc.body)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v; output:\n%s", err, tc.wantErr, r.Output)
			}
			if tc.wantErr {
				return
			}
			if strings.Join(r.Findings, "\n") != strings.Join(tc.findings, "\n") {
				t.Errorf("findings %q, want %q", r.Findings, tc.findings)
			}
			if len(r.Missing) != 0 {
				t.Errorf("promtool did not report %q about the seed's counter", r.Missing)
			}
			if r.OK() != (len(tc.findings) == 0) {
				t.Errorf("OK() = %v", r.OK())
			}
		})
	}
}
