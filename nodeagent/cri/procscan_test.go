//go:build linux

package cri

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	idA = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
	idB = "aaaa2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222"
	idC = "cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333cccc3333"
)

type fakeProc struct {
	pid, ppid int
	start     uint64
	comm      string
	cgroup    string
}

// writeProcTree builds a minimal /proc: PID/stat and PID/cgroup, plus entries a scanner must ignore.
func writeProcTree(t *testing.T, procs []fakeProc) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(p.pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		comm := p.comm
		if comm == "" {
			comm = "sh"
		}
		stat := fmt.Sprintf("%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %d 1000 100 18446744073709551615\n",
			p.pid, comm, p.ppid, p.pid, p.pid, p.start)
		must(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "cgroup"), []byte(p.cgroup), 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(root, "self"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "uptime"), []byte("1.0 1.0\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(root, "4242"), 0o755)) // exited: no files left
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// v1 hybrid with the cgroupfs driver, as on this project's test VM: several hierarchies, one per line.
func cgroupV1(path string) string {
	return strings.Join([]string{
		"12:pids:" + path,
		"11:memory:" + path,
		"4:cpu,cpuacct:" + path,
		"1:name=systemd:/",
		"0::/",
	}, "\n") + "\n"
}

func TestFindInit(t *testing.T) {
	host := cgroupV1("/")
	tree := []fakeProc{
		{pid: 1, ppid: 0, start: 1, comm: "init", cgroup: host},
		{pid: 90, ppid: 1, start: 50, comm: "containerd-shim", cgroup: host},
		// container A (cgroupfs, v1): init 100, a child, and an exec'd process whose parent is the shim
		{pid: 100, ppid: 90, start: 60, comm: "nginx", cgroup: cgroupV1("/kubepods/burstable/pod1234/" + idA)},
		{pid: 101, ppid: 100, start: 61, comm: "nginx: worker", cgroup: cgroupV1("/kubepods/burstable/pod1234/" + idA)},
		{pid: 95, ppid: 90, start: 900, comm: "sh", cgroup: cgroupV1("/kubepods/burstable/pod1234/" + idA)},
		// container B (systemd driver, cgroup v2)
		{pid: 200, ppid: 90, start: 70, comm: "redis (x) y", cgroup: "0::/kubepods.slice/kubepods-pod99.slice/cri-containerd-" + idB + ".scope\n"},
		// container C on CRI-O (v2, systemd) with its conmon, which must not count
		{pid: 300, ppid: 1, start: 80, comm: "conmon", cgroup: "0::/machine.slice/crio-conmon-" + idC + ".scope\n"},
		{pid: 301, ppid: 300, start: 81, comm: "app", cgroup: "0::/kubepods.slice/crio-" + idC + ".scope/container\n"},
	}
	root := writeProcTree(t, tree)
	s := &ProcScanner{Root: root}
	tests := []struct {
		id      string
		pid     int
		full    string
		wantErr string
	}{
		{id: idA, pid: 100, full: idA},
		{id: "containerd://" + idA, pid: 100, full: idA},
		{id: "aaaa1111", pid: 100, full: idA},
		{id: "AAAA1111", pid: 100, full: idA},
		{id: "cri-o://" + idC[:12], pid: 301, full: idC},
		{id: idB, pid: 200, full: idB},
		{id: "aaaa", wantErr: `container id "aaaa" is ambiguous`},
		{id: "dddd", wantErr: `container "dddd" not found`},
		{id: "not-hex", wantErr: `is not hexadecimal`},
		{id: "", wantErr: `empty container id`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			pid, full, err := s.FindInit(tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pid != tt.pid || full != tt.full {
				t.Fatalf("FindInit = %d, %s; want %d, %s", pid, full, tt.pid, tt.full)
			}
		})
	}
}

func TestFindInitDockerCgroupfs(t *testing.T) {
	root := writeProcTree(t, []fakeProc{
		{pid: 7, ppid: 1, start: 5, cgroup: cgroupV1("/docker/" + idC)},
	})
	pid, _, err := (&ProcScanner{Root: root}).FindInit("docker://" + idC)
	if err != nil || pid != 7 {
		t.Fatalf("FindInit = %d, %v; want 7", pid, err)
	}
}

func TestFindInitMissingRoot(t *testing.T) {
	_, _, err := (&ProcScanner{Root: filepath.Join(t.TempDir(), "nope")}).FindInit(idA)
	if err == nil || !strings.Contains(err.Error(), "scanning") {
		t.Fatalf("error = %v, want a scanning error", err)
	}
}
