// Package podstatus reads what an agent pod's status and the events about it mean for a session: running,
// a step of its start worth showing ("pulling image"), or a cause that waiting will not fix. Stateless.
package podstatus

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/plugin/agentpod"
)

// State is what an agent pod's status means for the session.
type State struct {
	// Running: the agent container runs; the session can exec into it.
	Running bool
	// Phrase describes progress for the user ("pulling image", "creating container").
	Phrase string
	// Fatal, when set, is why the agent cannot start (the pod will not recover by waiting).
	Fatal string
	// Terminated: the container ran and exited (its logs may tell why).
	Terminated bool
}

// fatalWaitingReasons are container waiting reasons that do not fix themselves while the user watches.
var fatalWaitingReasons = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"CrashLoopBackOff":           true,
	"PreCreateHookError":         true,
	"PreStartHookError":          true,
}

// Interpret reads an agent pod's status.
func Interpret(pod *corev1.Pod) State {
	if pod.DeletionTimestamp != nil {
		return State{Fatal: "the agent pod is being deleted"}
	}
	var cs *corev1.ContainerStatus
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == agentpod.ContainerName {
			cs = &pod.Status.ContainerStatuses[i]
		}
	}
	if cs != nil {
		switch {
		case cs.State.Running != nil:
			return State{Running: true, Phrase: "running"}
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			msg := fmt.Sprintf("the agent exited with code %d", t.ExitCode)
			if t.Reason != "" && t.Reason != "Error" && t.Reason != "Completed" {
				msg += " (" + t.Reason + ")"
			}
			if m := LastLine(t.Message); m != "" {
				msg += ": " + m
			}
			return State{Fatal: msg, Terminated: true}
		case cs.State.Waiting != nil:
			w := cs.State.Waiting
			if fatalWaitingReasons[w.Reason] {
				return State{Fatal: strings.TrimSpace(w.Reason + ": " + w.Message)}
			}
			switch w.Reason {
			case "ContainerCreating", "":
				return State{Phrase: "creating container"}
			default:
				return State{Phrase: strings.TrimSuffix(w.Reason+": "+w.Message, ": ")}
			}
		}
	}
	switch pod.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		// the kubelet refused the pod (OutOfcpu, NodeAffinity, ...) or the deadline passed
		msg := "the agent pod " + strings.ToLower(string(pod.Status.Phase))
		if pod.Status.Reason != "" {
			msg += ": " + pod.Status.Reason
		}
		if pod.Status.Message != "" {
			msg += ": " + pod.Status.Message
		}
		return State{Fatal: msg}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return State{Fatal: strings.TrimSuffix("not schedulable: "+c.Reason+": "+c.Message, ": ")}
		}
	}
	if pod.Status.Phase == "" {
		return State{Phrase: "waiting for the node's kubelet"}
	}
	return State{Phrase: "pod " + strings.ToLower(string(pod.Status.Phase))}
}

// EventPhrase turns an event about an agent pod into a progress phrase; warnings carry their message because
// they usually are the cause of a wait ("FailedMount: ...").
func EventPhrase(e *corev1.Event) string {
	switch e.Reason {
	case "Pulling":
		return "pulling image"
	case "Pulled":
		return "image pulled"
	case "Created":
		return "container created"
	case "Started":
		return "container started"
	case "Scheduled":
		return ""
	}
	if e.Type == corev1.EventTypeWarning {
		return strings.TrimSuffix(e.Reason+": "+LastLine(e.Message), ": ")
	}
	return ""
}

// LastLine is the last non-empty line of s (logs and termination messages end with the interesting one).
func LastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}
