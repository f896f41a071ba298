package check

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/plugin/seccomp/runtimedefault"
)

func TestContainerCapabilities(t *testing.T) {
	yes := true
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers: []corev1.Container{
			{Name: "app", SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{
				Add: []corev1.Capability{"SYS_ADMIN"}, Drop: []corev1.Capability{"NET_RAW"}}}},
			{Name: "priv", SecurityContext: &corev1.SecurityContext{Privileged: &yes}},
			{Name: "bare", SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}},
		},
	}}
	caps, privileged, found := containerCapabilities(pod, "app")
	if !found || privileged || !slices.Contains(caps, "CAP_SYS_ADMIN") || slices.Contains(caps, "CAP_NET_RAW") {
		t.Errorf("app: %v %v %v", caps, privileged, found)
	}
	if _, privileged, _ := containerCapabilities(pod, "priv"); !privileged {
		t.Error("priv: not privileged")
	}
	if caps, _, _ := containerCapabilities(pod, "bare"); len(caps) != 0 {
		t.Errorf("bare: %v, want none", caps)
	}
	if caps, _, found := containerCapabilities(pod, "init"); !found || len(caps) != len(runtimedefault.DefaultCapabilities()) {
		t.Errorf("init: %v %v, want the defaults", caps, found)
	}
	if _, _, found := containerCapabilities(nil, "app"); found {
		t.Error("a pod that could not be read is not found")
	}
	if _, _, found := containerCapabilities(pod, "nope"); found {
		t.Error("a container the pod does not have is not found")
	}
}
