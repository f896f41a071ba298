//go:build linux

package cri

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/swoll-dev/swoll/nodeagent/cgroups"
)

// ProcScanner finds containers by the cgroup paths of processes: every runtime puts a container's processes
// in a cgroup whose path contains the container id, whatever the cgroup version or driver (package cgroups
// knows the names):
//
//	cgroupfs:  /kubepods/burstable/pod<uid>/<id>
//	systemd:   /kubepods.slice/.../cri-containerd-<id>.scope  (crio-<id>.scope, docker-<id>.scope)
type ProcScanner struct {
	// Root is the proc file system of the host's pid namespace ("/proc" in a hostPID pod).
	Root string
}

// containerIDs returns the ids named in a /proc/PID/cgroup file (one per hierarchy at most; usually all equal).
func containerIDs(cgroupFile []byte, match func(string) bool, out map[string]struct{}) {
	for _, line := range bytes.Split(cgroupFile, []byte{'\n'}) {
		// hierarchy-ID:controller-list:cgroup-path
		parts := bytes.SplitN(line, []byte{':'}, 3)
		if len(parts) != 3 {
			continue
		}
		for _, comp := range strings.Split(string(parts[2]), "/") {
			if id := cgroups.ContainerIDFromName(comp); id != "" && match(id) {
				out[id] = struct{}{}
			}
		}
	}
}

type procInfo struct {
	pid, ppid int
	start     uint64 // clock ticks after boot
}

// FindInit returns the host pid of the init process of the container id (full or a unique prefix) and its
// full id. The init is the oldest member whose parent is outside the container (runc exec'd processes also
// have an outside parent, but they are younger).
func (s *ProcScanner) FindInit(id string) (pid int, fullID string, err error) {
	id = NormalizeID(id)
	if err := validID(id); err != nil {
		return 0, "", err
	}
	root := s.Root
	if root == "" {
		root = "/proc"
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, "", fmt.Errorf("scanning %s: %w", root, err)
	}
	match := func(full string) bool { return strings.HasPrefix(full, id) }
	members := map[string][]procInfo{} // full id -> processes
	ids := map[string]struct{}{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, e.Name(), "cgroup"))
		if err != nil {
			continue // exited meanwhile, or a kernel thread we cannot read
		}
		clear(ids)
		containerIDs(data, match, ids)
		if len(ids) == 0 {
			continue
		}
		info, err := readStat(root, p)
		if err != nil {
			continue
		}
		for full := range ids {
			members[full] = append(members[full], info)
		}
	}
	if len(members) > 1 {
		return 0, "", fmt.Errorf("container id %q is ambiguous: it starts %d containers", id, len(members))
	}
	for full, procs := range members { // the only one
		return pickInit(procs), full, nil
	}
	return 0, "", &NotFoundError{ID: id}
}

func pickInit(procs []procInfo) int {
	inside := make(map[int]bool, len(procs))
	for _, p := range procs {
		inside[p.pid] = true
	}
	roots := procs[:0:0]
	for _, p := range procs {
		if !inside[p.ppid] {
			roots = append(roots, p)
		}
	}
	if len(roots) == 0 {
		roots = procs
	}
	sort.Slice(roots, func(i, j int) bool {
		if roots[i].start != roots[j].start {
			return roots[i].start < roots[j].start
		}
		return roots[i].pid < roots[j].pid
	})
	return roots[0].pid
}

// readStat parses the parent pid and start time from /proc/PID/stat. The command name can hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(root string, pid int) (procInfo, error) {
	data, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procInfo{}, fmt.Errorf("malformed stat of pid %d", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, starttime field 22.
	if len(f) < 20 {
		return procInfo{}, fmt.Errorf("malformed stat of pid %d", pid)
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procInfo{}, fmt.Errorf("malformed stat of pid %d", pid)
	}
	return procInfo{pid: pid, ppid: ppid, start: start}, nil
}
