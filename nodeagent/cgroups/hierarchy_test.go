//go:build linux

package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeMount is a cgroup mount of a fake host: a mountinfo line and the tree at its mount point.
type fakeMount struct {
	point   string   // mount point, under the test's directory
	fstype  string   // cgroup2, cgroup
	options string   // super options: "rw,memory", "rw,name=systemd"
	root    bool     // whether the mount shows the hierarchy's root (else a cgroup below it, as in a container)
	cgroups []string // cgroup paths in it
}

// makeTree creates a fake hierarchy at dir: the files that tell a root from other cgroups, and each cgroup.
func makeTree(t *testing.T, dir string, v2, root bool, cgroups ...string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	marker := "release_agent" // v1 roots only
	if v2 {
		marker = "cgroup.controllers"
		if !root {
			touch(t, filepath.Join(dir, "cgroup.type"))
		}
	}
	if root || v2 {
		touch(t, filepath.Join(dir, marker))
	}
	for _, c := range cgroups {
		must(t, os.MkdirAll(filepath.Join(dir, c), 0o755))
		if v2 {
			touch(t, filepath.Join(dir, c, "cgroup.type"))
		}
	}
}

// writeMountinfo writes a mountinfo file at file for mounts whose points are under base (their points are
// written without base: the host's view) and builds their trees under treeBase+point.
func writeMountinfo(t *testing.T, file, treeBase string, mounts []fakeMount) {
	t.Helper()
	var b strings.Builder
	b.WriteString("23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n")
	b.WriteString("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n")
	for i, m := range mounts {
		root := "/"
		if !m.root {
			root = "/kubepods/besteffort/pod" + uid + "/" + idA
		}
		point := strings.ReplaceAll(m.point, " ", `\040`)
		fmt.Fprintf(&b, "%d 31 0:%d %s %s rw,relatime - %s %s %s\n", 40+i, 40+i, root, point, m.fstype, m.fstype, m.options)
		makeTree(t, treeBase+m.point, m.fstype == "cgroup2", m.root, m.cgroups...)
	}
	must(t, os.MkdirAll(filepath.Dir(file), 0o755))
	must(t, os.WriteFile(file, []byte(b.String()), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, p string) { t.Helper(); must(t, os.WriteFile(p, nil, 0o644)) }

// v1Mounts are a v1 host's controller hierarchies with the same cgroups in each.
func v1Mounts(dir string, root bool, cgroups ...string) []fakeMount {
	var out []fakeMount
	for _, c := range []string{"cpu,cpuacct", "memory", "pids", "name=systemd"} {
		out = append(out, fakeMount{point: dir + "/" + strings.SplitN(strings.TrimPrefix(c, "name="), ",", 2)[0],
			fstype: "cgroup", options: "rw," + c, root: root, cgroups: cgroups})
	}
	return out
}

func TestDetect(t *testing.T) {
	kube := []string{"/swoll-a/kubepods/besteffort", "/swoll-b/kubepods/burstable", "/system.slice/x.service"}
	slice := []string{"/kubepods.slice/kubepods-besteffort.slice", "/system.slice/containerd.service", "/user.slice/user-0.slice/session-1.scope"}
	tests := []struct {
		name string
		// self and host are the mounts of /proc/self/mountinfo and /proc/1/mountinfo, their points relative
		// to the test's directory (self) or to /proc/1/root (host); hostReadable says whether /proc/1/root
		// lets the agent in.
		self, host []fakeMount
		noHostRoot bool
		mode       Mode
		controller string
		dir        string // relative to the test's directory ("" when Detect fails)
		kubepods   []string
		wantErr    string
	}{
		{
			name:     "v2",
			self:     []fakeMount{{point: "/sys/fs/cgroup", fstype: "cgroup2", options: "rw,nsdelegate", root: true, cgroups: slice}},
			mode:     ModeV2,
			dir:      "/sys/fs/cgroup",
			kubepods: []string{"/kubepods.slice (systemd)"},
		},
		{
			name: "hybrid: the unified hierarchy holds the pods",
			self: append(v1Mounts("/sys/fs/cgroup", true, kube...),
				fakeMount{point: "/sys/fs/cgroup/unified", fstype: "cgroup2", options: "rw", root: true, cgroups: kube}),
			mode:     ModeHybrid,
			dir:      "/sys/fs/cgroup/unified",
			kubepods: []string{"/swoll-a/kubepods (cgroupfs)", "/swoll-b/kubepods (cgroupfs)"},
		},
		{
			name: "hybrid: pods only in the v1 hierarchies",
			self: append(v1Mounts("/sys/fs/cgroup", true, kube...),
				fakeMount{point: "/sys/fs/cgroup/unified", fstype: "cgroup2", options: "rw", root: true, cgroups: []string{"/init.scope"}}),
			mode:       ModeHybrid,
			controller: "memory",
			dir:        "/sys/fs/cgroup/memory",
			kubepods:   []string{"/swoll-a/kubepods (cgroupfs)", "/swoll-b/kubepods (cgroupfs)"},
		},
		{
			name:       "v1",
			self:       v1Mounts("/sys/fs/cgroup", true, slice...),
			mode:       ModeV1,
			controller: "memory",
			dir:        "/sys/fs/cgroup/memory",
			kubepods:   []string{"/kubepods.slice (systemd)"},
		},
		{
			name: "v1 without memory: cpu's hierarchy",
			self: []fakeMount{
				{point: "/sys/fs/cgroup/pids", fstype: "cgroup", options: "rw,pids", root: true, cgroups: kube},
				{point: "/sys/fs/cgroup/cpu,cpuacct", fstype: "cgroup", options: "rw,cpu,cpuacct", root: true, cgroups: kube},
			},
			mode:       ModeV1,
			controller: "cpu",
			dir:        "/sys/fs/cgroup/cpu,cpuacct",
			kubepods:   []string{"/swoll-a/kubepods (cgroupfs)", "/swoll-b/kubepods (cgroupfs)"},
		},
		{
			name: "in a pod: the container's own hierarchies are passed over, the host's under /host are used",
			self: append(v1Mounts("/sys/fs/cgroup", false),
				append(v1Mounts("/host/sys/fs/cgroup", true, kube...),
					fakeMount{point: "/sys/fs/cgroup/unified", fstype: "cgroup2", options: "rw", root: false},
					fakeMount{point: "/host/sys/fs/cgroup/unified", fstype: "cgroup2", options: "rw", root: true, cgroups: kube})...),
			mode:     ModeHybrid,
			dir:      "/host/sys/fs/cgroup/unified",
			kubepods: []string{"/swoll-a/kubepods (cgroupfs)", "/swoll-b/kubepods (cgroupfs)"},
		},
		{
			name: "in a pod with its own cgroup namespace: the host's hierarchy through /proc/1/root",
			self: []fakeMount{{point: "/sys/fs/cgroup", fstype: "cgroup2", options: "rw", root: false}},
			host: []fakeMount{{point: "/sys/fs/cgroup", fstype: "cgroup2", options: "rw,nsdelegate", root: true, cgroups: slice}},
			mode: ModeV2,
			// under the fake proc root
			dir:      "/proc/1/root/sys/fs/cgroup",
			kubepods: []string{"/kubepods.slice (systemd)"},
		},
		{
			name:       "in a pod, /proc/1/root out of reach",
			self:       []fakeMount{{point: "/sys/fs/cgroup", fstype: "cgroup2", options: "rw", root: false}},
			host:       []fakeMount{{point: "/sys/fs/cgroup", fstype: "cgroup2", options: "rw", root: true, cgroups: slice}},
			noHostRoot: true,
			wantErr:    "no cgroup hierarchy's root is mounted where the agent can read it",
		},
		{
			name:    "no kubelet",
			self:    []fakeMount{{point: "/sys/fs/cgroup", fstype: "cgroup2", options: "rw", root: true, cgroups: []string{"/system.slice/a.service"}}},
			wantErr: "no kubepods cgroup found in",
		},
		{
			name: "a mount point with a space",
			self: []fakeMount{{point: "/sys/fs/cgroup two", fstype: "cgroup2", options: "rw", root: true, cgroups: slice}},
			mode: ModeV2, dir: "/sys/fs/cgroup two", kubepods: []string{"/kubepods.slice (systemd)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			proc := filepath.Join(base, "proc")
			// self's mount points are absolute: the test's directory stands for the agent's root
			self := make([]fakeMount, len(tt.self))
			for i, m := range tt.self {
				m.point = base + m.point
				self[i] = m
			}
			writeMountinfo(t, filepath.Join(proc, "self/mountinfo"), "", self)
			hostRoot := filepath.Join(proc, "1/root")
			if tt.noHostRoot {
				hostRoot = filepath.Join(base, "elsewhere") // the files are out of reach
			}
			writeMountinfo(t, filepath.Join(proc, "1/mountinfo"), hostRoot, tt.host)
			h, err := Detect(Options{ProcRoot: proc})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Detect: %v, %v; want error %q", h, err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "kubepods") && !errors.Is(err, ErrNoKubepods) {
					t.Fatalf("error %v is not ErrNoKubepods", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kp []string
			for _, k := range h.Kubepods {
				kp = append(kp, k.Path+" ("+string(k.Driver)+")")
			}
			if h.Mode != tt.mode || h.Controller != tt.controller || h.Dir != base+tt.dir || strings.Join(kp, ", ") != strings.Join(tt.kubepods, ", ") {
				t.Fatalf("Detect = %s\nwant mode %s, controller %q, dir %s, kubepods %v", h, tt.mode, tt.controller, base+tt.dir, tt.kubepods)
			}
			if h.Unified() != (tt.controller == "") {
				t.Fatalf("Unified() = %v", h.Unified())
			}
		})
	}
}

func TestDetectWithoutProc(t *testing.T) {
	if _, err := Detect(Options{ProcRoot: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Fatal("Detect found hierarchies without a proc file system")
	}
}

func TestHierarchyString(t *testing.T) {
	h := &Hierarchy{Mode: ModeV1, Controller: "memory", Dir: "/sys/fs/cgroup/memory",
		Kubepods: []Kubepods{{Path: "/kubepods", Driver: Cgroupfs}, {Path: "/kubepods.slice", Driver: Systemd}}}
	want := "cgroup v1: pods in the v1 memory hierarchy at /sys/fs/cgroup/memory, under /kubepods (cgroupfs), /kubepods.slice (systemd)"
	if got := h.String(); got != want {
		t.Fatalf("String() = %q\nwant %q", got, want)
	}
}

func TestFindKubepods(t *testing.T) {
	tests := []struct {
		name    string
		cgroups []string
		want    []string
	}{
		{"default roots", []string{"/kubepods/burstable", "/kubepods.slice/kubepods-burstable.slice"}, []string{"/kubepods", "/kubepods.slice"}},
		{"custom roots", []string{"/a/b/c/kubepods", "/custom.slice/custom-kubepods.slice", "/kubelet.slice/kubelet-kubepods.slice"},
			[]string{"/a/b/c/kubepods", "/custom.slice/custom-kubepods.slice", "/kubelet.slice/kubelet-kubepods.slice"}},
		{"too deep", []string{"/a/b/c/d/kubepods"}, nil},
		{"not inside kubepods, pods or containers", []string{"/kubepods/kubepods", "/x/pod" + uid + "/kubepods", "/x/" + idA + "/kubepods"}, []string{"/kubepods"}},
		{"lookalikes", []string{"/kubepods2", "/mykubepods.slice", "/kubepods-x.slice"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			makeTree(t, dir, true, true, tt.cgroups...)
			kp, err := FindKubepods(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range kp {
				got = append(got, k.Path)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("FindKubepods = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/a\134b`: `/a\b`, `/a\0`: `/a\0`, `/plain`: "/plain", `/x\999`: `/x\999`} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}
