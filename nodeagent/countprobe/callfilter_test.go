//go:build linux

package countprobe

import (
	"strings"
	"testing"
	"time"

	"github.com/swoll-dev/swoll/bpf"
	"github.com/swoll-dev/swoll/callfilter"
	"github.com/swoll-dev/swoll/protocol"
)

// Counting mode counts only what the incident filters keep, decided by the same kernel code as tracing's; the
// rest shows in a snapshot's filtered count.
func TestCallFiltersCount(t *testing.T) {
	for _, c := range []struct {
		name     string
		spec     callfilter.Spec
		want     map[string]uint64
		filtered uint64
		// noLatency: counted without latencies (no clock read)
		noLatency bool
	}{
		{"failed", callfilter.Spec{Failed: true}, map[string]uint64{"openat ENOENT": 1000}, 1000, false},
		{"succeeded", callfilter.Spec{Succeeded: true}, map[string]uint64{"openat OK": 500, "close OK": 500}, 1000, false},
		{"errno", callfilter.Spec{Errnos: []string{"EACCES", "ENOENT"}}, map[string]uint64{"openat ENOENT": 1000}, 1000, false},
		// -P compares paths as strace does: the path argument of openat is /proc/self/stat, the file of
		// close's fd is /proc/PID/stat.
		{"path", callfilter.Spec{Paths: []string{"/proc/self/stat"}}, map[string]uint64{"openat OK": 500}, 1500, false},
		{"path under", callfilter.Spec{PathsUnder: []string{"/nonexistent"}}, map[string]uint64{"openat ENOENT": 1000}, 1000, false},
		// without latencies the filters decide at exit alone, but for -P's, which needs the entries
		{"failed without latency", callfilter.Spec{Failed: true}, map[string]uint64{"openat ENOENT": 1000}, 1000, true},
		{"path without latency", callfilter.Spec{Paths: []string{"/proc/self/stat"}}, map[string]uint64{"openat OK": 500}, 1500, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			forVariants(t, func(t *testing.T, v variant) {
				m := newMode(t, Options{Calls: c.spec, NoLatency: c.noLatency}, v)
				err := m.Select(sc(t, "openat", "close"))
				if v.attach == bpf.AttachPerCall && len(c.spec.Paths)+len(c.spec.PathsUnder) > 0 &&
					m.Features()&bpf.PtRegs == 0 {
					// per call, -P reads the registers from the task: bpf_task_pt_regs or nothing
					if err == nil || !strings.Contains(err.Error(), "bpf_task_pt_regs") {
						t.Fatalf("Select per call with -P without bpf_task_pt_regs: %v, want an error naming it", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				cmd, run := startHelper(t, "open")
				if err := m.AddPid(uint32(cmd.Process.Pid), 7); err != nil {
					t.Fatal(err)
				}
				m.SetTarget(7, &protocol.Target{ContainerID: "c1", Pod: "p"})
				run()
				snap, err := m.Snapshot("node-a", "s1", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]uint64{}
				for _, r := range snap.Rows {
					got[r.Syscall.Name+" "+r.Error] += r.Calls
				}
				if len(got) != len(c.want) {
					t.Errorf("counted %v, want %v", got, c.want)
				}
				for k, v := range c.want {
					if got[k] != v {
						t.Errorf("%s: %d calls, want %d (all: %v)", k, got[k], v, got)
					}
				}
				// The helper's runtime may make calls of its own (a close): at least the workload's.
				if snap.Filtered < c.filtered || snap.FilteredTotal != snap.Filtered || snap.Overflow != 0 {
					t.Errorf("filtered %d (total %d), want at least %d; overflow %d", snap.Filtered, snap.FilteredTotal, c.filtered, snap.Overflow)
				}
			})
		})
	}
}
