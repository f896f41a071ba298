package nodes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestNotReady(t *testing.T) {
	node := func(conds ...corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{Status: corev1.NodeStatus{Conditions: conds}}
	}
	if got := NotReady(node(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue})); got != "" {
		t.Fatal(got)
	}
	if got := NotReady(node()); got != "" {
		t.Fatal(got)
	}
	got := NotReady(node(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status."}))
	if got != "node is not Ready (NodeStatusUnknown): Kubelet stopped posting node status." {
		t.Fatal(got)
	}
}
