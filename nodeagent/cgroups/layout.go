//go:build linux

package cgroups

import (
	"fmt"
	"strings"
)

// QoS is a pod's quality-of-service class, as the kubelet names its cgroup.
type QoS string

// The QoS classes. Guaranteed pods have no class cgroup: they sit in kubepods itself.
const (
	Guaranteed QoS = "guaranteed"
	Burstable  QoS = "burstable"
	BestEffort QoS = "besteffort"
)

// qosClasses is every class, in the order their cgroups are tried.
var qosClasses = []QoS{Guaranteed, Burstable, BestEffort}

// Driver is a kubelet cgroup driver (its cgroupDriver setting).
type Driver string

// The kubelet's cgroup drivers.
const (
	Cgroupfs Driver = "cgroupfs"
	Systemd  Driver = "systemd"
)

// layout is how one driver names its cgroups. base is the kubepods cgroup's name without the driver's suffix:
// "kubepods" for both drivers with the default cgroup root, "custom-kubepods" for systemd's cgroupRoot
// custom.slice (the kubelet prefixes each systemd slice with its parents' names).
type layout struct {
	driver Driver
	// escape is what the driver writes a UID's '-' as in a pod cgroup's name (0: kept).
	escape byte
	// kubepods reports whether a directory name is a kubepods cgroup of this driver, and its base.
	kubepods func(name string) (base string, ok bool)
	// qosDir is the name of a class's cgroup in kubepods ("" for Guaranteed: none).
	qosDir func(base string, q QoS) string
	// podDir is the name of a pod's cgroup in its class's cgroup (in kubepods for Guaranteed).
	podDir func(base string, q QoS, uid string) string
	// podPart is the part of a pod cgroup's name that holds its UID, as the driver escaped it (a substring:
	// no allocation), or ok false when the name is not a pod cgroup's.
	podPart func(name string) (escaped string, ok bool)
	// unescape turns podPart's result into the UID.
	unescape func(escaped string) string
}

// layouts describes both drivers; see kubelet's pkg/kubelet/cm (cgroup_manager_linux.go, qos_container_manager,
// pod_container_manager).
var layouts = []layout{
	{
		driver:   Cgroupfs,
		kubepods: func(name string) (string, bool) { return name, name == "kubepods" },
		qosDir: func(_ string, q QoS) string {
			if q == Guaranteed {
				return ""
			}
			return string(q)
		},
		podDir:   func(_ string, _ QoS, uid string) string { return "pod" + uid },
		podPart:  func(name string) (string, bool) { return strings.CutPrefix(name, "pod") },
		unescape: func(escaped string) string { return escaped },
	},
	{
		driver: Systemd,
		escape: '_',
		kubepods: func(name string) (string, bool) {
			base, ok := strings.CutSuffix(name, ".slice")
			return base, ok && (base == "kubepods" || strings.HasSuffix(base, "-kubepods"))
		},
		qosDir: func(base string, q QoS) string {
			if q == Guaranteed {
				return ""
			}
			return base + "-" + string(q) + ".slice"
		},
		podDir: func(base string, q QoS, uid string) string {
			if q != Guaranteed {
				base += "-" + string(q)
			}
			// systemd reserves '-' for the slice hierarchy: the kubelet writes the UID's dashes as '_'
			return base + "-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
		},
		podPart: func(name string) (string, bool) {
			name, ok := strings.CutSuffix(name, ".slice")
			i := strings.LastIndex(name, "-pod")
			if !ok || i < 0 {
				return "", false
			}
			return name[i+len("-pod"):], true
		},
		unescape: func(escaped string) string { return strings.ReplaceAll(escaped, "_", "-") },
	},
}

// layout is the layout of the kubepods cgroup's driver.
func (k *Kubepods) layout() *layout {
	for i := range layouts {
		if layouts[i].driver == k.Driver {
			return &layouts[i]
		}
	}
	panic("cgroups: no layout for driver " + string(k.Driver))
}

// layoutOf is the layout of a kubepods cgroup's name, if it is one.
func layoutOf(name string) (l *layout, base string, ok bool) {
	for i := range layouts {
		if base, ok := layouts[i].kubepods(name); ok {
			return &layouts[i], base, true
		}
	}
	return nil, "", false
}

// podUID is the UID of the pod whose cgroup a directory's name is in l's layout, or "".
func (l *layout) podUID(name string) string {
	escaped, ok := l.podPart(name)
	if !ok || !validUID(escaped, l.escape) {
		return ""
	}
	return l.unescape(escaped)
}

// maxUIDLen bounds a pod UID (UUIDs have 36 characters, static pods' hashes 32).
const maxUIDLen = 64

// ValidUID rejects what cannot be a pod UID, so that no UID names another directory ("..", "a/b").
func ValidUID(uid string) error {
	if !validUID(uid, 0) {
		return fmt.Errorf("pod UID %q: want 1 to %d letters, digits and dashes", uid, maxUIDLen)
	}
	return nil
}

// validUID reports whether uid can be a pod UID, in which '-' may be written as escape (0: no escape). It
// does not allocate.
func validUID(uid string, escape byte) bool {
	if uid == "" || len(uid) > maxUIDLen {
		return false
	}
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' && (escape == 0 || c != escape) {
			return false
		}
	}
	return true
}

// scopePrefixes are what runtimes put in front of a container id in its cgroup's name: the systemd driver's
// unit names (cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope, libpod-<id>.scope) and CRI-O's
// cgroupfs directory (crio-<id>). containerd and Docker name the cgroupfs directory by the id alone.
var scopePrefixes = []string{"cri-containerd-", "crio-", "docker-", "libpod-", "containerd-"}

// notContainers are prefixes of cgroups that sit beside containers without being one: CRI-O's monitor.
var notContainers = []string{"crio-conmon-"}

// containerIDLen is the length of a container id: 64 hex digits (a SHA-256), for every CRI runtime.
const containerIDLen = 64

// ContainerIDFromName returns the container id a cgroup directory's name holds, or "" when it holds none. It
// returns a substring of name and does not allocate.
func ContainerIDFromName(name string) string {
	for _, p := range notContainers {
		if strings.HasPrefix(name, p) {
			return ""
		}
	}
	name = strings.TrimSuffix(name, ".scope")
	for _, p := range scopePrefixes {
		if rest, ok := strings.CutPrefix(name, p); ok {
			name = rest
			break
		}
	}
	if len(name) != containerIDLen {
		return ""
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return name
}

// ContainerIDFromPath returns the id of the container a cgroup path belongs to: the component right below a
// pod's cgroup, when it names one ("/kubepods/besteffort/pod<uid>/<id>", ".../kubepods-pod<uid>.slice/
// cri-containerd-<id>.scope", and below them, as CRI-O's crio-<id>.scope/container), or "" (the pod's own
// cgroup, a path outside any pod). It returns a substring of path and does not allocate.
func ContainerIDFromPath(path string) string {
	prevPod := false
	for rest := path; rest != ""; {
		var comp string
		comp, rest, _ = strings.Cut(strings.TrimLeft(rest, "/"), "/")
		if prevPod {
			if id := ContainerIDFromName(comp); id != "" {
				return id
			}
		}
		prevPod = isPodDir(comp)
	}
	return ""
}

// isPodDir reports whether a cgroup directory's name is a pod's, for either driver.
func isPodDir(name string) bool {
	for i := range layouts {
		if escaped, ok := layouts[i].podPart(name); ok && validUID(escaped, layouts[i].escape) {
			return true
		}
	}
	return false
}
