package output

import (
	"fmt"
	"strings"

	"github.com/swoll-dev/swoll/event"
)

// Describe is the line for people (stderr, after "swoll: NODE: ") of an agent's notice about a container of a
// traced pod, or about how the agent selects pods; "" for the notices it does not describe. The line holds
// names from the cluster: the caller's logger escapes it.
//
//	shop/crash/main (init) run #3 started
//	shop/crash/main run #3 started 4.2s before its pod was traced: traced from its 5th second
//	shop/crash/main run #3 ended: exit status 1 (Error)
//	shop/crash/main run #3 ended: killed by SIGKILL (exit status 137), OOM-killed
//	pods selected by cgroup: traced from their first call
func Describe(n *event.Notice) string {
	switch n.Kind {
	case event.NoticeContainerStarted:
		if n.TracedFromNs > 0 && n.Message != "" {
			return containerName(n) + " " + n.Message // "started 4.2s before its pod was traced: traced from its 5th second"
		}
		return containerName(n) + " started"
	case event.NoticeContainerEnded:
		return containerName(n) + " ended: " + howEnded(n)
	case event.NoticeUnattributed:
		what := "container " + shortID(n.ContainerID)
		if n.Pod != "" {
			what = n.Namespace + "/" + n.Pod + "'s " + what
		}
		if n.ContainerID == "" {
			what = "containers not named yet"
		}
		return fmt.Sprintf("%d event(s) of %s left out: %s", n.Dropped, what, n.Message)
	case event.NoticeReady:
		switch n.Selection {
		case event.SelectionCgroup:
			return "pods selected by cgroup: traced from their first call"
		case event.SelectionMountNS:
			return "pods selected by the mount namespaces of their running containers, which are traced from when they are found, not from their first call: " + n.Message
		}
	}
	return ""
}

// containerName is "namespace/pod/container (kind) run #N" as far as the notice names it.
func containerName(n *event.Notice) string {
	name := n.Container
	if name == "" {
		name = "container " + shortID(n.ContainerID)
	}
	out := n.Namespace + "/" + n.Pod + "/" + name
	if n.ContainerKind != "" && n.ContainerKind != "regular" {
		out += " (" + n.ContainerKind + ")"
	}
	if n.RestartCount != nil {
		out += fmt.Sprintf(" run #%d", *n.RestartCount)
	}
	return out
}

// howEnded is a run's end as the runtime reported it.
func howEnded(n *event.Notice) string {
	if n.ExitCode == nil {
		if n.Message != "" {
			return n.Message
		}
		return "the runtime did not say how"
	}
	var parts []string
	if n.Signal != "" {
		parts = append(parts, fmt.Sprintf("killed by %s (exit status %d)", n.Signal, *n.ExitCode))
	} else {
		parts = append(parts, fmt.Sprintf("exit status %d", *n.ExitCode))
	}
	if n.OOMKilled {
		parts = append(parts, "OOM-killed")
	} else if n.Reason != "" {
		parts[0] += " (" + n.Reason + ")"
	}
	return strings.Join(parts, ", ")
}

func shortID(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		id = id[i+3:]
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
