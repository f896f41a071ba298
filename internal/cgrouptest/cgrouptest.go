//go:build linux

// Package cgrouptest makes cgroups for the root tests of selection by cgroup: in the unified hierarchy (cgroup
// v2, and hybrid hosts' /sys/fs/cgroup/unified) and in a v1 controller's (memory's, else pids' or cpu's: Linux
// 6.12 builds without the v1 memory controller by default), wherever this machine mounts them. SWOLL_CGROUPS
// names the hierarchies a run must find ("unified,memory"; make test-kernels' VMs mount one at a time): a
// missing one fails the test. Without it, the tests use the unified hierarchy and the first v1 one mounted, and
// fail when none is and root tests are required (roottest).
package cgrouptest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/swoll-dev/swoll/internal/roottest"
)

// Env names the hierarchies a run must find.
const Env = "SWOLL_CGROUPS"

// v1Controllers are the v1 controllers whose hierarchy the tests use, by preference.
var v1Controllers = []string{"memory", "pids", "cpu"}

// rmdirWait bounds the wait for a test's cgroups to empty (a reaped process leaves its cgroup asynchronously).
const rmdirWait = 10 * time.Second

// Hierarchy is a mounted cgroup hierarchy.
type Hierarchy struct {
	Controller string // "" for the unified hierarchy; else the v1 controller, as tracer.SetCgroupHierarchy takes it
	Dir        string // where it is mounted
	level      int    // the depth of the mount's root in the hierarchy
}

// Name is "unified" or the controller's name.
func (h Hierarchy) Name() string {
	if h.Controller == "" {
		return "unified"
	}
	return h.Controller
}

// Unified reports whether this is the unified hierarchy.
func (h Hierarchy) Unified() bool { return h.Controller == "" }

// Hierarchies are the hierarchies the tests run in (see the package doc).
func Hierarchies(t testing.TB) []Hierarchy {
	t.Helper()
	mounted, err := mounts()
	if err != nil {
		t.Fatal(err)
	}
	if want := os.Getenv(Env); want != "" {
		var out []Hierarchy
		for _, name := range strings.Split(want, ",") {
			h, ok := mounted[name]
			if !ok {
				t.Fatalf("%s=%s: no %s cgroup hierarchy is mounted", Env, want, name)
			}
			out = append(out, h)
		}
		return out
	}
	var out []Hierarchy
	if h, ok := mounted["unified"]; ok {
		out = append(out, h)
	}
	for _, name := range v1Controllers {
		if h, ok := mounted[name]; ok {
			out = append(out, h)
			break
		}
	}
	if len(out) == 0 {
		if roottest.Required() {
			t.Fatalf("no cgroup hierarchy is mounted (neither cgroup2 nor the v1 hierarchy of %s)", strings.Join(v1Controllers, ", "))
		}
		t.Skip("no cgroup hierarchy is mounted")
	}
	return out
}

// mounts reads the unified hierarchy's and the v1 controllers' mounts from /proc/self/mountinfo.
func mounts() (map[string]Hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string]Hierarchy{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, rest := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(rest) < 3 {
			continue
		}
		h := Hierarchy{Dir: fields[4], level: depth(fields[3])}
		switch rest[0] {
		case "cgroup2":
			if _, seen := out["unified"]; !seen {
				out["unified"] = h
			}
		case "cgroup":
			for _, c := range v1Controllers {
				if _, seen := out[c]; !seen && hasOption(rest[2], c) {
					h.Controller = c
					out[c] = h
				}
			}
		}
	}
	return out, sc.Err()
}

func hasOption(opts, name string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

// depth is the number of components of a cgroup path ("/" is 0).
func depth(p string) int {
	n := 0
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			n++
		}
	}
	return n
}

// Cgroup is a cgroup a test made.
type Cgroup struct {
	Dir   string
	ID    uint64 // the kernel's id: the directory's inode number (64-bit kernels)
	Level int    // its depth in the hierarchy, the root's being 0
}

// Tree makes a directory of the test's own in h and the cgroups rels below it ("pod", "pod/ctr"), in order,
// and removes them all when the test ends (after the processes the test started there, whose cleanups run
// first when they were registered later).
func Tree(t testing.TB, h Hierarchy, rels ...string) []*Cgroup {
	t.Helper()
	base := filepath.Join(h.Dir, fmt.Sprintf("swoll-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	made := []string{base}
	t.Cleanup(func() { removeAll(t, made) })
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatalf("making a cgroup in %s: %v", h.Dir, err)
	}
	var out []*Cgroup
	for _, rel := range rels {
		dir := filepath.Join(base, rel)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("making cgroup %s: %v", dir, err)
		}
		made = append(made, dir)
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(h.Dir, dir)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &Cgroup{Dir: dir, ID: st.Ino, Level: h.level + depth(rel)})
	}
	return out
}

// removeAll removes cgroups, the deepest first, waiting for processes that exited to leave them.
func removeAll(t testing.TB, dirs []string) {
	deadline := time.Now().Add(rmdirWait)
	for i := len(dirs) - 1; i >= 0; i-- {
		for {
			err := unix.Rmdir(dirs[i])
			if err == nil || errors.Is(err, unix.ENOENT) {
				break
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				t.Errorf("removing cgroup %s: %v", dirs[i], err)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Move moves process pid (all its threads) into c.
func (c *Cgroup) Move(t testing.TB, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.Dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("moving process %d into %s: %v", pid, c.Dir, err)
	}
}

// FD opens c's directory, for starting a process in it (syscall.SysProcAttr.UseCgroupFD, the unified
// hierarchy's CLONE_INTO_CGROUP); closed when the test ends.
func (c *Cgroup) FD(t testing.TB) int {
	t.Helper()
	fd, err := unix.Open(c.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}
