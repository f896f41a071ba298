//go:build linux

package cri

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The kubelet's labels and annotations on the containers it creates, which the runtime hands back in a
// container's status (k8s.io/kubelet/pkg/types and pkg/kubelet/kuberuntime/labels.go).
const (
	labelPodUID            = "io.kubernetes.pod.uid"
	annotationRestartCount = "io.kubernetes.container.restartCount"
)

// State is a container's state as the runtime reports it.
type State string

// The states of a container.
const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

var states = map[runtimeapi.ContainerState]State{
	runtimeapi.ContainerState_CONTAINER_CREATED: StateCreated,
	runtimeapi.ContainerState_CONTAINER_RUNNING: StateRunning,
	runtimeapi.ContainerState_CONTAINER_EXITED:  StateExited,
}

// Status is what the runtime says of one run of a container (one container id): its name in its pod, which
// run it is, and how it ended.
type Status struct {
	// ID is the full id.
	ID string
	// Sandbox: the id names a pod's sandbox (its pause container), not one of its containers; only ID, PodUID
	// and CreatedAt are set.
	Sandbox bool
	// Name is the container's name in its pod (the runtime's metadata, as the kubelet named it).
	Name string
	// RestartCount is the run's restart count as the kubelet counts it (its annotation; else the metadata's
	// attempt, which the kubelet sets to the same number).
	RestartCount int
	PodUID       string
	State        State
	// CreatedAt, StartedAt and FinishedAt are zero when the run has not reached that point.
	CreatedAt, StartedAt, FinishedAt time.Time
	// ExitCode and Reason are set once the run exited ("Error", "Completed", "OOMKilled").
	ExitCode int
	Reason   string
}

// Status asks the runtime about the container or sandbox with the full id: one ContainerStatus call (not
// verbose: the runtime's spec is not read), and PodSandboxStatus when the id is no container's.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	id = NormalizeID(id)
	if err := validID(id); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.rt.ContainerStatus(cctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err == nil {
		return fromContainerStatus(id, resp.GetStatus()), nil
	}
	if status.Code(err) != codes.NotFound {
		return nil, c.wrap("ContainerStatus", err)
	}
	sresp, serr := c.rt.PodSandboxStatus(cctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	switch {
	case serr == nil:
		st := sresp.GetStatus()
		return &Status{ID: id, Sandbox: true, PodUID: st.GetMetadata().GetUid(), State: StateUnknown,
			CreatedAt: nsTime(st.GetCreatedAt())}, nil
	case status.Code(serr) == codes.NotFound:
		return nil, &NotFoundError{ID: id}
	default:
		return nil, c.wrap("PodSandboxStatus", serr)
	}
}

func fromContainerStatus(id string, st *runtimeapi.ContainerStatus) *Status {
	s := &Status{
		ID:           st.GetId(),
		Name:         st.GetMetadata().GetName(),
		RestartCount: int(st.GetMetadata().GetAttempt()),
		PodUID:       st.GetLabels()[labelPodUID],
		State:        StateUnknown,
		CreatedAt:    nsTime(st.GetCreatedAt()),
		StartedAt:    nsTime(st.GetStartedAt()),
		FinishedAt:   nsTime(st.GetFinishedAt()),
		ExitCode:     int(st.GetExitCode()),
		Reason:       st.GetReason(),
	}
	if s.ID == "" {
		s.ID = id
	}
	if n, err := strconv.Atoi(st.GetAnnotations()[annotationRestartCount]); err == nil && n >= 0 {
		s.RestartCount = n
	}
	if state, ok := states[st.GetState()]; ok {
		s.State = state
	}
	return s
}

// nsTime is a CRI timestamp (Unix nanoseconds, 0 for none).
func nsTime(ns int64) time.Time {
	if ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// ErrNoRuntime says that the resolver has no CRI connection (no socket was found): it cannot name containers.
var ErrNoRuntime = errors.New("no CRI socket: containers cannot be named")

// Status asks the runtime about a container or sandbox by its full id (see Client.Status).
func (r *Resolver) Status(ctx context.Context, id string) (*Status, error) {
	if r.client == nil {
		if r.socketErr != nil {
			return nil, fmt.Errorf("%w (%w)", ErrNoRuntime, r.socketErr)
		}
		return nil, ErrNoRuntime
	}
	return r.client.Status(ctx, id)
}
