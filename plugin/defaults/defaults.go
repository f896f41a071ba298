// Package defaults is the one place of a trace session's defaults: kubectl swoll trace's (and top's) flags in
// plugin/cmd/trace and the Go API's options in package client both take them from here, so that the command line
// and the API cannot drift apart (package client's tests compare the two flag by flag). Its values never change.
package defaults

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/swoll-dev/swoll/internal/version"
)

const (
	// PullPolicy is the agent image's pull policy.
	PullPolicy = corev1.PullIfNotPresent
	// AgentTimeout bounds an agent pod's start, image pull included.
	AgentTimeout = 2 * time.Minute
	// MaxNodes is the fan-out guard: a selection whose pods run on more nodes than this starts no agent unless
	// the limit is raised explicitly.
	MaxNodes = 10
	// MaxRate caps each node's events per second; 0 is no cap (and the Go API's zero value: keep it 0).
	MaxRate = 0
	// DeadlineMargin is the room a bounded session's agents get to start and stop beyond its duration.
	DeadlineMargin = 5 * time.Minute
	// UnboundedDeadline bounds the life of the agents of a session without a duration.
	UnboundedDeadline = time.Hour
	// Latency: counting mode (top) times every call, for its latency columns and the summary's seconds; without,
	// the agents count at less cost (they read no clock per call).
	Latency = true
)

// Image is the agent image this build schedules: by digest in a build from make dist, else by its version's tag.
func Image() string { return version.AgentImage() }

// AgentDeadline is the agent pods' activeDeadlineSeconds: deadline when it is set (> 0), else the session's
// duration plus DeadlineMargin, else UnboundedDeadline.
func AgentDeadline(deadline, duration time.Duration) time.Duration {
	switch {
	case deadline > 0:
		return deadline
	case duration > 0:
		return duration + DeadlineMargin
	default:
		return UnboundedDeadline
	}
}
