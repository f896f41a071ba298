//go:build linux

package cri

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime implements the two RPCs the client uses.
type fakeRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	containers map[string]fakeContainer
}

type fakeContainer struct {
	state runtimeapi.ContainerState
	info  map[string]string
}

func (f *fakeRuntime) ListContainers(_ context.Context, _ *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	resp := &runtimeapi.ListContainersResponse{}
	for id, c := range f.containers {
		resp.Containers = append(resp.Containers, &runtimeapi.Container{Id: id, State: c.state})
	}
	return resp, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, ok := f.containers[req.ContainerId]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "an error occurred when try to find container %q: not found", req.ContainerId)
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: req.ContainerId, State: c.state}}
	if req.Verbose {
		resp.Info = c.info
	}
	return resp, nil
}

// startFakeCRI serves rt on a unix socket under dir/run/containerd/containerd.sock and returns the server.
func startFakeCRI(t *testing.T, dir string, rt runtimeapi.RuntimeServiceServer) *grpc.Server {
	t.Helper()
	sock := filepath.Join(dir, "run/containerd/containerd.sock")
	must(t, os.MkdirAll(filepath.Dir(sock), 0o755))
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, rt)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return srv
}

func running(pid int) fakeContainer {
	return fakeContainer{
		state: runtimeapi.ContainerState_CONTAINER_RUNNING,
		info:  map[string]string{"info": fmt.Sprintf(`{"sandboxID":"x","pid":%d,"runtimeSpec":{"ociVersion":"1.1.0"}}`, pid)},
	}
}

func TestResolverCRI(t *testing.T) {
	hostRoot := t.TempDir()
	// /proc knows idC (the runtime gives no pid for it), and nothing else
	procRoot := writeProcTree(t, []fakeProc{{pid: 77, ppid: 1, start: 3, cgroup: cgroupV1("/kubepods/" + idC)}})
	startFakeCRI(t, hostRoot, &fakeRuntime{containers: map[string]fakeContainer{
		idA: running(4321),
		idB: {state: runtimeapi.ContainerState_CONTAINER_EXITED},
		idC: {state: runtimeapi.ContainerState_CONTAINER_RUNNING, info: map[string]string{}},
	}})
	r, err := NewResolver(Options{HostRoot: hostRoot, ProcRoot: procRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if want := filepath.Join(hostRoot, "run/containerd/containerd.sock"); r.Socket() != want {
		t.Fatalf("Socket() = %q, want %q", r.Socket(), want)
	}
	tests := []struct {
		id      string
		pid     int
		wantErr string
	}{
		{id: idA, pid: 4321},
		{id: "containerd://" + idA, pid: 4321},
		{id: "aaaa11", pid: 4321},
		{id: "aaaa", wantErr: "ambiguous"},
		{id: idB, wantErr: `container "` + idB + `" is not running (exited)`},
		{id: idC[:12], pid: 77},
		{id: "dddd", wantErr: `container "dddd" not found`},
		{id: "zz", wantErr: "not hexadecimal"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			pid, err := r.ContainerPID(context.Background(), tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pid != tt.pid {
				t.Fatalf("pid = %d, want %d", pid, tt.pid)
			}
		})
	}
}

func TestResolverFallsBackWhenCRIIsDown(t *testing.T) {
	hostRoot := t.TempDir()
	procRoot := writeProcTree(t, []fakeProc{{pid: 55, ppid: 1, start: 3, cgroup: cgroupV1("/kubepods/" + idA)}})
	srv := startFakeCRI(t, hostRoot, &fakeRuntime{})
	r, err := NewResolver(Options{HostRoot: hostRoot, ProcRoot: procRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	srv.Stop() // the socket file stays, nobody answers
	pid, err := r.ContainerPID(context.Background(), idA)
	if err != nil || pid != 55 {
		t.Fatalf("ContainerPID = %d, %v; want 55 from /proc", pid, err)
	}
	_, err = r.ContainerPID(context.Background(), idB)
	if err == nil || !strings.Contains(err.Error(), `container "`+idB+`" not found`) || !strings.Contains(err.Error(), "CRI") {
		t.Fatalf("error = %v, want not found with the CRI failure", err)
	}
}

func TestResolverWithoutSocket(t *testing.T) {
	hostRoot := t.TempDir()
	procRoot := writeProcTree(t, []fakeProc{{pid: 55, ppid: 1, start: 3, cgroup: "0::/kubepods.slice/cri-containerd-" + idA + ".scope\n"}})
	// Unprefixed known sockets may exist on the machine running the test: keep them out of the search.
	saved := KnownSockets
	KnownSockets = []string{"/nonexistent/containerd.sock"}
	defer func() { KnownSockets = saved }()
	r, err := NewResolver(Options{HostRoot: hostRoot, ProcRoot: procRoot})
	if err != nil {
		t.Fatal(err)
	}
	if r.Socket() != "" {
		t.Fatalf("Socket() = %q, want none", r.Socket())
	}
	if pid, err := r.ContainerPID(context.Background(), idA[:8]); err != nil || pid != 55 {
		t.Fatalf("ContainerPID = %d, %v; want 55", pid, err)
	}
	_, err = r.ContainerPID(context.Background(), "abc")
	want := `container "abc" not found (CRI socket not found (tried: ` + hostRoot + `/nonexistent/containerd.sock); use --cri)`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestFindSocket(t *testing.T) {
	hostRoot := t.TempDir()
	startFakeCRI(t, hostRoot, &fakeRuntime{})
	inHost := filepath.Join(hostRoot, "run/containerd/containerd.sock")

	if got, err := FindSocket(hostRoot, "unix:///run/containerd/containerd.sock"); err != nil || got != inHost {
		t.Errorf("explicit under host root = %q, %v; want %q", got, err, inHost)
	}
	if got, err := FindSocket("", inHost); err != nil || got != inHost {
		t.Errorf("explicit without host root = %q, %v; want %q", got, err, inHost)
	}
	if got, err := FindSocket("/nonexistent", inHost); err != nil || got != inHost {
		t.Errorf("explicit, host root missing = %q, %v; want the unprefixed path", got, err)
	}
	if _, err := FindSocket(hostRoot, "/run/nothing.sock"); err == nil || !strings.Contains(err.Error(), "/run/nothing.sock: not found") {
		t.Errorf("explicit missing: error = %v", err)
	}
	notSock := filepath.Join(hostRoot, "file")
	must(t, os.WriteFile(notSock, nil, 0o644))
	if _, err := FindSocket("", notSock); err == nil {
		t.Errorf("a regular file was accepted as a socket")
	}
	saved := KnownSockets
	defer func() { KnownSockets = saved }()
	KnownSockets = []string{"/var/run/crio/crio.sock", "/run/containerd/containerd.sock"}
	if got, err := FindSocket(hostRoot, ""); err != nil || got != inHost {
		t.Errorf("auto = %q, %v; want %q", got, err, inHost)
	}
	KnownSockets = []string{"/nonexistent/a.sock", "/nonexistent/b.sock"}
	_, err := FindSocket("/nonexistent-root", "")
	if err == nil || err.Error() != "CRI socket not found (tried: /nonexistent/a.sock, /nonexistent/b.sock); use --cri" {
		t.Errorf("auto, none, local: error = %v", err)
	}
	_, err = FindSocket(hostRoot, "")
	want := fmt.Sprintf("CRI socket not found (tried: %s/nonexistent/a.sock, %s/nonexistent/b.sock); use --cri", hostRoot, hostRoot)
	if err == nil || err.Error() != want {
		t.Errorf("auto, none, in a pod: error = %v, want %s", err, want)
	}
}
