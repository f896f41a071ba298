//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bpfProg is one entry of `bpftool -j prog show`.
type bpfProg struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

func loadedPrograms() ([]bpfProg, error) {
	out, err := exec.Command("bpftool", "-j", "prog", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("bpftool prog show: %w", err)
	}
	var progs []bpfProg
	if err := json.Unmarshal(out, &progs); err != nil {
		return nil, fmt.Errorf("decoding bpftool prog show: %w", err)
	}
	return progs, nil
}

// isTracing says whether a program is of a type swoll's probes use (the types the repository's own
// teardown checks look for).
func isTracing(p bpfProg) bool {
	switch p.Type {
	case "tracing", "raw_tracepoint", "tracepoint":
		return true
	}
	return false
}

// probeNames are the names of the programs in bpf/probe.c (the kernel keeps the first 15 bytes).
var probeNames = map[string]bool{
	"btf_sys_enter": true, "btf_sys_exit": true, "btf_fork": true, "btf_exit": true,
	"raw_sys_enter": true, "raw_sys_exit": true, "raw_fork": true, "raw_exit": true,
}

// swollPrograms lists the loaded tracing programs named like swoll's probe that a swoll-agent process holds,
// or that no process holds (pinned or leaked). The repository's own root tests load the same probe from their
// test binaries: those are not counted. A program whose last holder is gone is freed by the kernel, so after
// every session has ended this list must be empty.
func swollPrograms() ([]bpfProg, error) {
	progs, err := loadedPrograms()
	if err != nil {
		return nil, err
	}
	var ours []bpfProg
	for _, p := range progs {
		if isTracing(p) && probeNames[p.Name] {
			ours = append(ours, p)
		}
	}
	if len(ours) == 0 {
		return nil, nil
	}
	holders := progHolders()
	var out []bpfProg
	for _, p := range ours {
		comms := holders[p.ID]
		if len(comms) == 0 || slices.Contains(comms, "swoll-agent") {
			out = append(out, p)
		}
	}
	return out, nil
}

// progHolders maps program ids to the comm of every process holding them (through a program or link fd).
func progHolders() map[int][]string {
	out := map[int][]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ids := heldProgIDs([]int{pid})
		if len(ids) == 0 {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		for _, id := range ids {
			out[id] = append(out[id], strings.TrimSpace(string(comm)))
		}
	}
	return out
}

// containerPIDs finds the host pids of a container's processes, exec'd ones included, by its cgroup path
// (which carries the container id with the cgroupfs driver).
func containerPIDs(id string) []int {
	var pids []int
	if id == "" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err == nil && bytes.Contains(cg, []byte(id)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// heldProgIDs returns the ids of the BPF programs that pids hold open, through a program fd or a link fd.
func heldProgIDs(pids []int) []int {
	set := map[int]bool{}
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			b, err := os.ReadFile(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "prog_id:"); ok {
					if id, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
						set[id] = true
					}
				}
			}
		}
	}
	ids := make([]int, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// agentPrograms waits until the agent pod's processes hold BPF programs and returns their ids.
func (f *F) agentPrograms(agent *corev1.Pod) []int {
	f.t.Helper()
	var ids []int
	err := within(30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := suite.cs.CoreV1().Pods(agent.Namespace).Get(ctx, agent.Name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return false, nil
		}
		_, id, _ := strings.Cut(p.Status.ContainerStatuses[0].ContainerID, "://")
		ids = heldProgIDs(containerPIDs(id))
		return len(ids) > 0, nil
	}, "agent %s/%s to hold BPF programs", agent.Namespace, agent.Name)
	if err != nil {
		f.t.Fatal(err)
	}
	return ids
}

// waitProgramsGone waits until none of the programs ids is loaded any more.
func (f *F) waitProgramsGone(ids []int, timeout time.Duration) {
	f.t.Helper()
	want := map[int]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var left []bpfProg
	err := within(timeout, func(context.Context) (bool, error) {
		progs, err := loadedPrograms()
		if err != nil {
			return false, err
		}
		left = left[:0]
		for _, p := range progs {
			if want[p.ID] {
				left = append(left, p)
			}
		}
		return len(left) == 0, nil
	}, "BPF programs %v to be unloaded", ids)
	if err != nil {
		f.t.Fatalf("%v; still loaded: %+v", err, left)
	}
}
