//go:build linux

package cgroups

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/internal/roottest"
)

// The tests in this file make cgroups in the running kernel's hierarchies (root): the unified one and the
// preferred v1 one, whichever the host has (a hybrid host has both).

// realHierarchies returns the roots of the host's unified hierarchy and of its preferred v1 controller
// hierarchy, those mounted.
func realHierarchies(t *testing.T) []mounted {
	t.Helper()
	roottest.Require(t)
	mounts, err := procfs.GetMounts()
	if err != nil {
		t.Fatal(err)
	}
	var out []mounted
	var v1 *mounted
	for _, m := range hierarchyRoots(mounts, "") {
		switch {
		case m.unified && !slices.ContainsFunc(out, func(o mounted) bool { return o.unified }):
			out = append(out, m)
		case !m.unified && m.controller != "" && (v1 == nil || slices.Index(v1Controllers, m.controller) < slices.Index(v1Controllers, v1.controller)):
			v1 = &m
		}
	}
	if v1 != nil {
		out = append(out, *v1)
	}
	if len(out) == 0 {
		t.Fatal("no cgroup hierarchy mounted")
	}
	return out
}

func hierarchyName(m mounted) string {
	if m.unified {
		return "unified"
	}
	return m.controller
}

// makeCgroup makes a cgroup (and its missing parents) and removes them when the test ends.
func makeCgroup(t *testing.T, root, rel string) string {
	t.Helper()
	var made []string
	for p := rel; p != "/" && !exists(filepath.Join(root, p)); p = path.Dir(p) {
		made = append(made, filepath.Join(root, p))
	}
	for _, dir := range slices.Backward(made) {
		must(t, os.Mkdir(dir, 0o755))
		t.Cleanup(func() {
			if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
				t.Errorf("removing cgroup %s: %v", dir, err)
			}
		})
	}
	return filepath.Join(root, rel)
}

// startIn starts a process in a cgroup (this test binary, sleeping: see TestMain); it is killed when the test
// ends.
func startIn(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	must(t, err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"=sleep")
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	must(t, os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	return cmd
}

// cgroupOf returns a process's cgroup in a hierarchy, from /proc/PID/cgroup.
func cgroupOf(t *testing.T, pid int, m mounted) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	must(t, err)
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if m.unified && parts[0] == "0" && parts[1] == "" || !m.unified && slices.Contains(strings.Split(parts[1], ","), m.controller) {
			return parts[2]
		}
	}
	t.Fatalf("pid %d has no cgroup in the %s hierarchy", pid, hierarchyName(m))
	return ""
}

// checkKernelID checks that id is the kernel's id of the cgroup at dir: the kernfs node id that
// open_by_handle_at(2) looks up (kernfs_find_and_get_node_by_id, the id the BPF helpers return) finds the
// same directory, and that it is the directory's inode number (64-bit kernels).
func checkKernelID(t *testing.T, root, dir string, id uint64) {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Stat(dir, &st))
	if id != st.Ino {
		t.Errorf("%s: id %d, inode %d", dir, id, st.Ino)
	}
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, dir, 0)
	if errors.Is(err, unix.EOPNOTSUPP) {
		// ID stood in the inode number; the kernel cannot be asked by id
		t.Logf("%s: this kernel has no file handles for this hierarchy; its id is its inode number", dir)
		return
	}
	if err != nil {
		t.Fatalf("name_to_handle_at(%s): %v", dir, err)
	}
	if h.Type() != fileIDKernfs || h.Size() != 8 || binary.NativeEndian.Uint64(h.Bytes()) != id {
		t.Errorf("%s: file handle type %#x, %d bytes %x; want kernfs's id %d", dir, h.Type(), h.Size(), h.Bytes(), id)
	}
	mnt, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer func() { _ = unix.Close(mnt) }()
	b := binary.NativeEndian.AppendUint64(nil, id)
	fd, err := unix.OpenByHandleAt(mnt, unix.NewFileHandle(fileIDKernfs, b), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatalf("open_by_handle_at(kernfs id %d): %v", id, err)
	}
	defer func() { _ = unix.Close(fd) }()
	var got unix.Stat_t
	must(t, unix.Fstat(fd, &got))
	if got.Ino != st.Ino || got.Dev != st.Dev {
		t.Errorf("kernfs id %d opens inode %d of device %d, want %s (inode %d of %d)", id, got.Ino, got.Dev, dir, st.Ino, st.Dev)
	}
}

// TestRootCgroupID: ID gives the kernel's id of a new cgroup, in each hierarchy, and a process moved into it
// is in it by the kernel's word.
func TestRootCgroupID(t *testing.T) {
	for _, m := range realHierarchies(t) {
		t.Run(hierarchyName(m), func(t *testing.T) {
			rel := fmt.Sprintf("/swoll-cgtest-%d/a", os.Getpid())
			dir := makeCgroup(t, m.dir, rel)
			id, err := ID(dir)
			if err != nil {
				t.Fatal(err)
			}
			checkKernelID(t, m.dir, dir, id)
			if rootID, err := ID(m.dir); err != nil || rootID != 1 {
				t.Errorf("the hierarchy's root has id %d (%v), want 1", rootID, err)
			}
			cmd := startIn(t, dir)
			if got := cgroupOf(t, cmd.Process.Pid, m); got != rel {
				t.Fatalf("the process is in %s, want %s", got, rel)
			}
			if level(rel) != 2 {
				t.Fatalf("level(%s) = %d", rel, level(rel))
			}
		})
	}
}

// TestRootWatcher: pod-like cgroups made in the kernel's hierarchies are reported with the kernel's ids, a
// process in a container's cgroup is attributed to the container, and Detect sees the host as it is.
func TestRootWatcher(t *testing.T) {
	const podUID = "0f0e0d0c-1111-4222-8333-444455556666"
	for _, m := range realHierarchies(t) {
		t.Run(hierarchyName(m), func(t *testing.T) {
			for _, drv := range []Driver{Cgroupfs, Systemd} {
				t.Run(string(drv), func(t *testing.T) {
					testRootWatcher(t, m, drv, podUID)
				})
			}
		})
	}
	// Detect on this host, which now holds the test's kubepods cgroups (a host without a kubelet has
	// none): the hierarchy it picks and the mode it says.
	t.Run("detect", func(t *testing.T) {
		hs := realHierarchies(t)
		kp := fmt.Sprintf("/swoll-cgtest-%d/kubepods", os.Getpid())
		for _, m := range hs {
			makeCgroup(t, m.dir, kp)
		}
		h, err := Detect(Options{})
		if err != nil {
			t.Fatal(err)
		}
		mode := ModeV2
		switch {
		case len(hs) == 2:
			mode = ModeHybrid
		case !hs[0].unified:
			mode = ModeV1
		}
		if h.Mode != mode || h.Dir != hs[0].dir || h.Controller != hs[0].controller {
			t.Fatalf("Detect = %s; want mode %s, %s hierarchy at %s", h, mode, hierarchyName(hs[0]), hs[0].dir)
		}
		if !slices.ContainsFunc(h.Kubepods, func(k Kubepods) bool { return k.Path == kp && k.Driver == Cgroupfs }) {
			t.Fatalf("Detect = %s: the test's %s is missing", h, kp)
		}
		t.Logf("%s", h)
	})
}

func testRootWatcher(t *testing.T, m mounted, drv Driver, podUID string) {
	top := fmt.Sprintf("/swoll-cgtest-%d", os.Getpid())
	var kp, pod, ctr string
	switch drv {
	case Cgroupfs:
		kp = top + "/kubepods"
		makeCgroup(t, m.dir, kp+"/besteffort")
		pod = kp + "/besteffort/pod" + podUID
		ctr = pod + "/" + idA
	case Systemd:
		base := fmt.Sprintf("swolltest%d", os.Getpid())
		kp = "/" + base + ".slice/" + base + "-kubepods.slice"
		makeCgroup(t, m.dir, kp+"/"+base+"-kubepods-burstable.slice")
		pod = kp + "/" + base + "-kubepods-burstable.slice/" + base + "-kubepods-burstable-pod" + strings.ReplaceAll(podUID, "-", "_") + ".slice"
		ctr = pod + "/cri-containerd-" + idA + ".scope"
	}
	found, err := FindKubepods(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(found, func(k Kubepods) bool { return k.Path == kp })
	if i < 0 || found[i].Driver != drv {
		t.Fatalf("FindKubepods(%s) = %v, want %s (%s) among them", m.dir, found, kp, drv)
	}
	h := &Hierarchy{Mode: ModeV2, Controller: m.controller, Dir: m.dir, Kubepods: found[i : i+1]}
	w := runWatcher(t, h)
	at := NewAttributor(h, 0)
	must(t, w.Add(t.Context(), podUID))

	podDir := makeCgroup(t, m.dir, pod)
	ev := nextEvent(t, w)
	if ev.Kind != PodFound || ev.PodUID != podUID || ev.Cgroup.Path != pod || ev.Cgroup.Level != level(pod) {
		t.Fatalf("event %+v, want %s of %s at %s", ev, PodFound, podUID, pod)
	}
	checkKernelID(t, m.dir, podDir, ev.Cgroup.ID)
	at.Observe(ev)

	ctrDir := makeCgroup(t, m.dir, ctr)
	ev = nextEvent(t, w)
	if ev.Kind != ContainerFound || ev.ContainerID != idA || ev.Cgroup.Path != ctr {
		t.Fatalf("event %+v, want %s %s at %s", ev, ContainerFound, idA, ctr)
	}
	checkKernelID(t, m.dir, ctrDir, ev.Cgroup.ID)
	at.Observe(ev)

	// a process of the container: its cgroup by the kernel's word names the container, and the id of that
	// cgroup is attributed to it
	cmd := startIn(t, ctrDir)
	procPath := cgroupOf(t, cmd.Process.Pid, m)
	if procPath != ctr || ContainerIDFromPath(procPath) != idA {
		t.Fatalf("/proc/%d/cgroup: %s (container %q), want %s", cmd.Process.Pid, procPath, ContainerIDFromPath(procPath), ctr)
	}
	if got := at.ContainerID(ev.Cgroup.ID); got != idA {
		t.Fatalf("ContainerID(%d) = %q, want %s", ev.Cgroup.ID, got, idA)
	}
	// a container whose event was not observed is found by looking
	other := path.Join(pod, strings.Replace(path.Base(ctr), idA, idB, 1))
	otherDir := makeCgroup(t, m.dir, other)
	otherID, err := ID(otherDir)
	must(t, err)
	if got := at.ContainerID(otherID); got != idB {
		t.Fatalf("ContainerID of an unobserved container's cgroup = %q, want %s", got, idB)
	}
	if ev := nextEvent(t, w); ev.Kind != ContainerFound || ev.Cgroup.ID != otherID {
		t.Fatalf("event %+v, want %s of %s", ev, ContainerFound, other)
	}

	// the container ends, then the pod
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	must(t, os.Remove(otherDir))
	if ev := nextEvent(t, w); ev.Kind != ContainerRemoved || ev.Cgroup.Path != other {
		t.Fatalf("event %+v, want %s of %s", ev, ContainerRemoved, other)
	}
	must(t, os.Remove(ctrDir))
	if ev := nextEvent(t, w); ev.Kind != ContainerRemoved || ev.ContainerID != idA || ev.Cgroup.Path != ctr {
		t.Fatalf("event %+v, want %s of %s", ev, ContainerRemoved, ctr)
	}
	must(t, os.Remove(podDir))
	if ev := nextEvent(t, w); ev.Kind != PodRemoved || ev.PodUID != podUID {
		t.Fatalf("event %+v, want %s of %s", ev, PodRemoved, podUID)
	}
}
