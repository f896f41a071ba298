//go:build linux

package cri

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// statusRuntime answers ContainerStatus and PodSandboxStatus from tables, as containerd does: a sandbox's id is
// no container's.
type statusRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	containers map[string]*runtimeapi.ContainerStatus
	sandboxes  map[string]*runtimeapi.PodSandboxStatus
	down       bool
}

func (f *statusRuntime) ContainerStatus(_ context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	if f.down {
		return nil, status.Error(codes.Unavailable, "connection refused")
	}
	if req.Verbose {
		return nil, status.Error(codes.InvalidArgument, "the status of a run is asked without the runtime's spec")
	}
	st, ok := f.containers[req.ContainerId]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "container %q: not found", req.ContainerId)
	}
	return &runtimeapi.ContainerStatusResponse{Status: st}, nil
}

func (f *statusRuntime) PodSandboxStatus(_ context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	st, ok := f.sandboxes[req.PodSandboxId]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "sandbox %q: not found", req.PodSandboxId)
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: st}, nil
}

func TestStatus(t *testing.T) {
	const podUID = "6f1c2b9e-0d55-4b8e-9a57-3f0e2c1d4b7a"
	created, started, finished := time.Unix(1700000000, 1), time.Unix(1700000001, 2), time.Unix(1700000001, 900)
	exited := &runtimeapi.ContainerStatus{
		Id:          idA,
		Metadata:    &runtimeapi.ContainerMetadata{Name: "crash", Attempt: 4},
		State:       runtimeapi.ContainerState_CONTAINER_EXITED,
		CreatedAt:   created.UnixNano(),
		StartedAt:   started.UnixNano(),
		FinishedAt:  finished.UnixNano(),
		ExitCode:    1,
		Reason:      "Error",
		Labels:      map[string]string{labelPodUID: podUID},
		Annotations: map[string]string{annotationRestartCount: "4"},
	}
	running := &runtimeapi.ContainerStatus{
		Id:        idB,
		Metadata:  &runtimeapi.ContainerMetadata{Name: "web", Attempt: 2},
		State:     runtimeapi.ContainerState_CONTAINER_RUNNING,
		CreatedAt: created.UnixNano(),
		StartedAt: started.UnixNano(),
		// no restart count annotation: the attempt counts
	}
	rt := &statusRuntime{
		containers: map[string]*runtimeapi.ContainerStatus{idA: exited, idB: running},
		sandboxes: map[string]*runtimeapi.PodSandboxStatus{idC: {Id: idC, CreatedAt: created.UnixNano(),
			Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Uid: podUID, Namespace: "ns"}}},
	}
	hostRoot := t.TempDir()
	startFakeCRI(t, hostRoot, rt)
	r, err := NewResolver(Options{HostRoot: hostRoot, ProcRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })

	tests := []struct {
		name, id string
		want     Status
		wantErr  string
	}{
		{name: "exited run", id: "containerd://" + idA, want: Status{ID: idA, Name: "crash", RestartCount: 4, PodUID: podUID,
			State: StateExited, CreatedAt: created, StartedAt: started, FinishedAt: finished, ExitCode: 1, Reason: "Error"}},
		{name: "running, attempt counts", id: idB, want: Status{ID: idB, Name: "web", RestartCount: 2, State: StateRunning,
			CreatedAt: created, StartedAt: started}},
		{name: "sandbox", id: idC, want: Status{ID: idC, Sandbox: true, PodUID: podUID, State: StateUnknown, CreatedAt: created}},
		{name: "unknown", id: strings.Repeat("d", 64), wantErr: "not found"},
		{name: "not an id", id: "../etc", wantErr: "not hexadecimal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Status(t.Context(), tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Status = %+v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.CreatedAt.Equal(tt.want.CreatedAt) || !got.StartedAt.Equal(tt.want.StartedAt) || !got.FinishedAt.Equal(tt.want.FinishedAt) {
				t.Errorf("times %v %v %v, want %v %v %v", got.CreatedAt, got.StartedAt, got.FinishedAt, tt.want.CreatedAt, tt.want.StartedAt, tt.want.FinishedAt)
			}
			got.CreatedAt, got.StartedAt, got.FinishedAt = tt.want.CreatedAt, tt.want.StartedAt, tt.want.FinishedAt
			if *got != tt.want {
				t.Errorf("Status = %+v, want %+v", *got, tt.want)
			}
		})
	}

	rt.down = true
	_, err = r.Status(t.Context(), idA)
	var ce *CallError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "runtime unavailable") {
		t.Errorf("Status with the runtime down = %v, want a CallError saying it is unavailable", err)
	}
}

func TestStatusWithoutRuntime(t *testing.T) {
	r, err := NewResolver(Options{HostRoot: t.TempDir(), ProcRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Status(t.Context(), idA); !errors.Is(err, ErrNoRuntime) {
		t.Errorf("Status without a socket = %v, want ErrNoRuntime", err)
	}
}
