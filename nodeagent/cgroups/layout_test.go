//go:build linux

package cgroups

import (
	"strings"
	"testing"
)

const (
	uid  = "5e3e2513-6879-45ec-bb08-7a177fd9ece7"
	uidE = "5e3e2513_6879_45ec_bb08_7a177fd9ece7" // as the systemd driver writes it
	idA  = "e3257e64a3983fcd6831a11a3dee1cec2663ae9865b7d395f06890cb75b680b4"
	idB  = "916a61a82272393ed87ea2fd617484becae12db2ef0184df04e01ed7a5c11198"
)

// layoutCases are the pod cgroups of every driver, class and cgroup root, as the kubelet names them.
var layoutCases = []struct {
	name     string
	kubepods string // the kubepods cgroup's path
	driver   Driver
	qos      QoS
	pod      string // the pod's cgroup path
}{
	{"cgroupfs guaranteed", "/kubepods", Cgroupfs, Guaranteed, "/kubepods/pod" + uid},
	{"cgroupfs burstable", "/kubepods", Cgroupfs, Burstable, "/kubepods/burstable/pod" + uid},
	{"cgroupfs besteffort", "/kubepods", Cgroupfs, BestEffort, "/kubepods/besteffort/pod" + uid},
	{"cgroupfs root /swoll-a", "/swoll-a/kubepods", Cgroupfs, BestEffort, "/swoll-a/kubepods/besteffort/pod" + uid},
	{"cgroupfs root /a/b", "/a/b/kubepods", Cgroupfs, Guaranteed, "/a/b/kubepods/pod" + uid},
	{"systemd guaranteed", "/kubepods.slice", Systemd, Guaranteed, "/kubepods.slice/kubepods-pod" + uidE + ".slice"},
	{"systemd burstable", "/kubepods.slice", Systemd, Burstable,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidE + ".slice"},
	{"systemd besteffort", "/kubepods.slice", Systemd, BestEffort,
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidE + ".slice"},
	{"systemd root custom.slice", "/custom.slice/custom-kubepods.slice", Systemd, Burstable,
		"/custom.slice/custom-kubepods.slice/custom-kubepods-burstable.slice/custom-kubepods-burstable-pod" + uidE + ".slice"},
	{"systemd root kind", "/kubelet.slice/kubelet-kubepods.slice", Systemd, Guaranteed,
		"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + uidE + ".slice"},
}

func TestLayouts(t *testing.T) {
	for _, tc := range layoutCases {
		t.Run(tc.name, func(t *testing.T) {
			kpName := tc.kubepods[strings.LastIndex(tc.kubepods, "/")+1:]
			l, base, ok := layoutOf(kpName)
			if !ok || l.driver != tc.driver {
				t.Fatalf("layoutOf(%q) = %v, %v; want the %s driver", kpName, l, ok, tc.driver)
			}
			got := tc.kubepods
			if q := l.qosDir(base, tc.qos); q != "" {
				got += "/" + q
			}
			got += "/" + l.podDir(base, tc.qos, uid)
			if got != tc.pod {
				t.Fatalf("pod cgroup = %s, want %s", got, tc.pod)
			}
			podName := tc.pod[strings.LastIndex(tc.pod, "/")+1:]
			if u := l.podUID(podName); u != uid {
				t.Fatalf("podUID(%q) = %q, want %q", podName, u, uid)
			}
			if !isPodDir(podName) {
				t.Fatalf("isPodDir(%q) = false", podName)
			}
			if got := level(tc.pod); got != strings.Count(tc.pod, "/") {
				t.Fatalf("level(%s) = %d", tc.pod, got)
			}
		})
	}
}

func TestNotPodDirs(t *testing.T) {
	for _, name := range []string{"kubepods", "burstable", "besteffort", "kubepods.slice", "kubepods-burstable.slice",
		"pod", "pod../x", "kubepods-pod.slice", "kubepods-pod" + uidE, idA, "cri-containerd-" + idA + ".scope",
		"pod" + strings.Repeat("a", 65), "pod" + uidE + "!"} {
		if isPodDir(name) {
			t.Errorf("isPodDir(%q) = true", name)
		}
	}
	if u := layouts[0].podUID("pod" + uidE); u != "" {
		t.Errorf("cgroupfs took systemd's escape: %q", u)
	}
}

func TestValidUID(t *testing.T) {
	for uid, ok := range map[string]bool{
		uid: true, "6a2b7fd1d7e9b04d1cf0a2b6a13f5d4e": true, "": false, "..": false, "a/b": false,
		uidE: false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if err := ValidUID(uid); (err == nil) != ok {
			t.Errorf("ValidUID(%q) = %v, want ok=%v", uid, err, ok)
		}
	}
}

func TestContainerIDFromName(t *testing.T) {
	tests := map[string]string{
		idA:                                      idA,
		"cri-containerd-" + idA + ".scope":       idA,
		"crio-" + idA + ".scope":                 idA,
		"crio-" + idA:                            idA, // CRI-O, cgroupfs driver
		"docker-" + idA + ".scope":               idA,
		"libpod-" + idA + ".scope":               idA,
		"crio-conmon-" + idA + ".scope":          "",
		"crio-conmon-" + idA:                     "",
		"pod" + uid:                              "",
		"kubepods.slice":                         "",
		idA[:63]:                                 "",
		strings.ToUpper(idA):                     "",
		"cri-containerd-" + idA[:63] + "g.scope": "",
		"":                                       "",
	}
	for in, want := range tests {
		if got := ContainerIDFromName(in); got != want {
			t.Errorf("ContainerIDFromName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContainerIDFromPath(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/swoll-b/kubepods/besteffort/pod" + uid + "/" + idA, idA},
		{"/kubepods/pod" + uid + "/" + idA, idA},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidE + ".slice/cri-containerd-" + idA + ".scope", idA},
		{"/kubepods.slice/kubepods-pod" + uidE + ".slice/crio-" + idA + ".scope/container", idA},
		{"/kubepods/pod" + uid + "/" + idA + "/init.scope/x", idA},
		{"/kubepods/pod" + uid, ""},
		{"/kubepods/pod" + uid + "/", ""},
		{"/kubepods/besteffort", ""},
		{"/", ""},
		{"", ""},
		{"/system.slice/docker-" + idA + ".scope", ""}, // a container, but no pod's
		// a cgroup root that looks like a pod's cgroup ("pods": UID "s") is passed over
		{"/pods/kubepods/pod" + uid + "/" + idB, idB},
		{"/kubepods.slice/kubepods-pod" + uidE + ".slice/crio-conmon-" + idA + ".scope", ""},
	}
	for _, tt := range tests {
		if got := ContainerIDFromPath(tt.path); got != tt.want {
			t.Errorf("ContainerIDFromPath(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestContainerIDFromPathAllocates(t *testing.T) {
	p := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidE + ".slice/cri-containerd-" + idA + ".scope"
	if n := testing.AllocsPerRun(100, func() { _ = ContainerIDFromPath(p) }); n != 0 {
		t.Fatalf("ContainerIDFromPath allocates %v times per call", n)
	}
}
