package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

func TestInterpretPod(t *testing.T) {
	withStatus := func(phase corev1.PodPhase, st *corev1.ContainerState) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
		if st != nil {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: agentpod.ContainerName, State: *st}}
		}
		return p
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		running bool
		phrase  string
		fatal   string
	}{
		{"no status yet", withStatus("", nil), false, "waiting for the node's kubelet", ""},
		{"creating", withStatus(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}), false, "creating container", ""},
		{"running", withStatus(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}), true, "running", ""},
		{"image pull", withStatus(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "pull access denied for x"}}), false, "", "ErrImagePull: pull access denied for x"},
		{"backoff", withStatus(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}), false, "", "ImagePullBackOff: Back-off pulling image"},
		{"exited with message", withStatus(corev1.PodFailed, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "loading\nswoll-agent: no BTF at /sys/kernel/btf/vmlinux\n"}}), false, "", "the agent exited with code 1: swoll-agent: no BTF at /sys/kernel/btf/vmlinux"},
		{"kubelet rejected", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "OutOfcpu", Message: "Node didn't have enough resource: cpu"}}, false, "", "the agent pod failed: OutOfcpu: Node didn't have enough resource: cpu"},
		{"unschedulable", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "node(s) had taints"}}}}, false, "", "not schedulable: Unschedulable: node(s) had taints"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Interpret(tc.pod)
			if got.Running != tc.running || got.Phrase != tc.phrase || got.Fatal != tc.fatal {
				t.Fatalf("got %+v", got)
			}
		})
	}
	deleting := withStatus(corev1.PodRunning, nil)
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	if Interpret(deleting).Fatal == "" {
		t.Fatal("a pod being deleted must be fatal")
	}
}

func TestEventPhrase(t *testing.T) {
	if got := EventPhrase(&corev1.Event{Reason: "Pulling", Type: "Normal"}); got != "pulling image" {
		t.Fatal(got)
	}
	if got := EventPhrase(&corev1.Event{Reason: "FailedMount", Type: "Warning", Message: "MountVolume.SetUp failed: hostPath type check failed: /run is not a directory"}); got != "FailedMount: MountVolume.SetUp failed: hostPath type check failed: /run is not a directory" {
		t.Fatal(got)
	}
	if got := EventPhrase(&corev1.Event{Reason: "Scheduled", Type: "Normal"}); got != "" {
		t.Fatal(got)
	}
}
