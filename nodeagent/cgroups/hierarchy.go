//go:build linux

package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// Mode is how a host mounts its cgroups.
type Mode string

// The three kinds of hosts.
const (
	// ModeV2: the unified hierarchy only (cgroup v2).
	ModeV2 Mode = "v2"
	// ModeHybrid: v1 controller hierarchies plus the unified hierarchy, which has no controllers but holds
	// every task (systemd's "hybrid" mode; this project's test machine).
	ModeHybrid Mode = "hybrid"
	// ModeV1: v1 hierarchies only.
	ModeV1 Mode = "v1"
)

// Kubepods is one kubelet's kubepods cgroup (a host running several kubelets, as this project's local
// cluster does, has one per kubelet).
type Kubepods struct {
	// Path is the cgroup's path in its hierarchy ("/kubepods.slice", "/swoll-a/kubepods").
	Path   string
	Driver Driver
	base   string // see layout
}

// Hierarchy is the cgroup hierarchy the agent matches pods in.
type Hierarchy struct {
	Mode Mode
	// Controller is the v1 controller whose hierarchy this is ("memory"), so that the probe reads the task's
	// cgroup of that controller (task->cgroups->subsys[<controller>_cgrp_id]->cgroup); "" for the unified
	// hierarchy, whose cgroups bpf_get_current_cgroup_id() and bpf_get_current_ancestor_cgroup_id() read.
	Controller string
	// Dir is where the agent reaches the hierarchy's root ("/sys/fs/cgroup/unified", or under /proc/1/root
	// or /host when it runs in a pod).
	Dir string
	// Kubepods are the kubepods cgroups found in it, by path.
	Kubepods []Kubepods
}

// Unified reports whether pods are matched in the unified hierarchy (cgroup v2 ids and helpers).
func (h *Hierarchy) Unified() bool { return h.Controller == "" }

// String says which hierarchy this is, for the agent's log and the session's notice.
func (h *Hierarchy) String() string {
	what := "the unified hierarchy"
	if !h.Unified() {
		what = "the v1 " + h.Controller + " hierarchy"
	}
	roots := make([]string, len(h.Kubepods))
	for i, k := range h.Kubepods {
		roots[i] = k.Path + " (" + string(k.Driver) + ")"
	}
	return fmt.Sprintf("cgroup %s: pods in %s at %s, under %s", h.Mode, what, h.Dir, strings.Join(roots, ", "))
}

// v1Controllers are the v1 controllers whose hierarchy can be matched on, in order of preference. The kubelet
// requires cpu, cpuacct, cpuset and memory on v1 hosts and creates every pod's cgroup in each hierarchy;
// memory's is the one systemd's driver always manages too.
var v1Controllers = []string{"memory", "cpu", "pids", "cpuacct", "cpuset", "blkio", "devices", "freezer", "hugetlb",
	"net_cls", "net_prio", "perf_event", "rdma", "misc"}

// Options configure Detect.
type Options struct {
	// ProcRoot is the proc file system of the host's pid namespace (default "/proc"; the agent's pod is
	// hostPID). Mounts are read from its self/mountinfo (hierarchies the agent has mounted, such as the
	// host's /sys/fs/cgroup at /host/sys/fs/cgroup), then from 1/mountinfo, reached under 1/root, where the
	// kernel allows it (ptrace access to the host's init).
	ProcRoot string
}

// maxRootDepth bounds how deep a kubepods cgroup is looked for: the kubelet's cgroupRoot has at most
// maxRootDepth-1 components (kind's "/kubelet", this project's "/swoll-a").
const maxRootDepth = 4

// maxWalk bounds the directories Detect reads looking for kubepods cgroups.
const maxWalk = 20000

// ErrNoKubepods says that no hierarchy holds a kubepods cgroup (no kubelet on this host, or one whose
// cgroups are out of sight).
var ErrNoKubepods = errors.New("no kubepods cgroup found")

// mounted is one cgroup hierarchy's root as the agent reaches it.
type mounted struct {
	dir        string
	unified    bool
	controller string // v1: the preferred controller it holds ("" when none: a named hierarchy)
}

// Detect finds the host's cgroup hierarchies, its mode, and the one to match pods in: the unified hierarchy
// when it holds kubepods cgroups, else the first v1 hierarchy by v1Controllers that does. The mounts of
// self come first, so that a hierarchy the agent mounted itself is used where it also sees the host's.
func Detect(opts Options) (*Hierarchy, error) {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	fs, err := procfs.NewFS(opts.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	mounts, err := fs.GetMounts()
	if err != nil {
		return nil, fmt.Errorf("cgroups: reading mounts: %w", err)
	}
	roots := hierarchyRoots(mounts, "")
	// The host's mounts, where the kernel lets the agent read them and reach their files.
	if host, err := fs.GetProcMounts(1); err == nil {
		roots = append(roots, hierarchyRoots(host, filepath.Join(opts.ProcRoot, "1/root"))...)
	}
	h := &Hierarchy{}
	var v1, unified []mounted
	for _, m := range roots {
		switch {
		case m.unified && len(unified) == 0:
			unified = append(unified, m)
		case !m.unified && m.controller != "" && !slices.ContainsFunc(v1, func(o mounted) bool { return o.controller == m.controller }):
			v1 = append(v1, m)
		}
	}
	switch {
	case len(unified) > 0 && len(v1) > 0:
		h.Mode = ModeHybrid
	case len(unified) > 0:
		h.Mode = ModeV2
	case len(v1) > 0:
		h.Mode = ModeV1
	default:
		return nil, fmt.Errorf("cgroups: no cgroup hierarchy's root is mounted where the agent can read it (%s/self/mountinfo, %s/1/mountinfo)",
			opts.ProcRoot, opts.ProcRoot)
	}
	slices.SortStableFunc(v1, func(a, b mounted) int {
		return slices.Index(v1Controllers, a.controller) - slices.Index(v1Controllers, b.controller)
	})
	var looked []string
	for _, m := range append(unified, v1...) {
		kp, err := FindKubepods(m.dir)
		switch {
		case err != nil:
			looked = append(looked, err.Error())
		case len(kp) > 0:
			h.Controller, h.Dir, h.Kubepods = m.controller, m.dir, kp
			return h, nil
		default:
			looked = append(looked, m.dir)
		}
	}
	return nil, fmt.Errorf("cgroups: %w in %s", ErrNoKubepods, strings.Join(looked, ", "))
}

// hierarchyRoots returns the cgroup mounts that show a whole hierarchy, reached under prefix.
func hierarchyRoots(mounts []*procfs.MountInfo, prefix string) []mounted {
	var out []mounted
	for _, mi := range mounts {
		dir := unescapeMountPath(mi.MountPoint)
		if prefix != "" {
			dir = filepath.Join(prefix, dir)
		}
		switch mi.FSType {
		case "cgroup2":
			if isRootV2(dir) {
				out = append(out, mounted{dir: dir, unified: true})
			}
		case "cgroup":
			if !isRootV1(dir) {
				continue
			}
			m := mounted{dir: dir}
			for _, c := range v1Controllers {
				if _, ok := mi.SuperOptions[c]; ok {
					m.controller = c
					break
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// isRootV2 reports whether dir is the root of a unified hierarchy and not a cgroup below it (a container's
// own /sys/fs/cgroup, or one bind-mounted from a subtree): cgroup.type exists in every cgroup but the root.
func isRootV2(dir string) bool {
	return exists(filepath.Join(dir, "cgroup.controllers")) && !exists(filepath.Join(dir, "cgroup.type"))
}

// isRootV1 reports whether dir is the root of a v1 hierarchy: release_agent exists only there.
func isRootV1(dir string) bool { return exists(filepath.Join(dir, "release_agent")) }

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// unescapeMountPath undoes mountinfo's octal escapes ("\040" for a space).
func unescapeMountPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+4 <= len(p) {
			if n, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// FindKubepods returns the kubepods cgroups in the hierarchy whose root is dir, down to maxRootDepth levels.
// It does not descend into kubepods cgroups, pods or containers.
func FindKubepods(dir string) ([]Kubepods, error) {
	var found []Kubepods
	level := []string{"/"}
	walked := 0
walk:
	for depth := 1; depth <= maxRootDepth && len(level) > 0; depth++ {
		var next []string
		for _, rel := range level {
			entries, err := os.ReadDir(filepath.Join(dir, rel))
			if err != nil {
				if rel == "/" {
					return nil, fmt.Errorf("cgroups: %w", err)
				}
				continue // removed meanwhile
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				if walked++; walked > maxWalk {
					break walk
				}
				name := e.Name()
				child := path.Join(rel, name)
				if l, base, ok := layoutOf(name); ok {
					found = append(found, Kubepods{Path: child, Driver: l.driver, base: base})
					continue
				}
				if isPodDir(name) || ContainerIDFromName(name) != "" {
					continue
				}
				next = append(next, child)
			}
		}
		level = next
	}
	slices.SortFunc(found, func(a, b Kubepods) int { return strings.Compare(a.Path, b.Path) })
	return found, nil
}
