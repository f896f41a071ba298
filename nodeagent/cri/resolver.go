//go:build linux

package cri

import (
	"context"
	"errors"
	"fmt"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Options configure a Resolver.
type Options struct {
	// Socket is the CRI endpoint as a host path ("unix://" optional); empty: try KnownSockets.
	Socket string
	// HostRoot is where the host's file system is mounted in the agent's container ("/host"); paths are
	// tried under it first and then as they are, so the same flags work in a pod and on a workstation.
	HostRoot string
	// ProcRoot is the host's proc file system (default "/proc").
	ProcRoot string
}

// Resolver maps container ids to host pids: through CRI when a socket was found, else (or when CRI fails)
// by scanning /proc.
type Resolver struct {
	client    *Client
	socketErr error // why there is no client
	proc      ProcScanner
}

// NewResolver finds the CRI socket. A socket named explicitly must exist; when auto-detection finds none, the
// resolver works from /proc alone and mentions the sockets it tried in its errors.
func NewResolver(opts Options) (*Resolver, error) {
	r := &Resolver{proc: ProcScanner{Root: opts.ProcRoot}}
	sock, err := FindSocket(opts.HostRoot, opts.Socket)
	if err != nil {
		if opts.Socket != "" {
			return nil, err
		}
		r.socketErr = err
		return r, nil
	}
	if r.client, err = Dial(sock); err != nil {
		return nil, err
	}
	return r, nil
}

// Socket is the CRI socket in use, or "" when resolving from /proc only.
func (r *Resolver) Socket() string {
	if r.client == nil {
		return ""
	}
	return r.client.Socket()
}

// Close releases the CRI connection.
func (r *Resolver) Close() error {
	if r.client == nil {
		return nil
	}
	return r.client.Close()
}

// ContainerPID returns the host pid of the init process of a running container.
func (r *Resolver) ContainerPID(ctx context.Context, id string) (int, error) {
	id = NormalizeID(id)
	if err := validID(id); err != nil {
		return 0, err
	}
	criErr := r.socketErr
	if r.client != nil {
		ctr, err := r.client.Inspect(ctx, id)
		switch {
		case err == nil && ctr.State != runtimeapi.ContainerState_CONTAINER_RUNNING:
			state := strings.ToLower(strings.TrimPrefix(ctr.State.String(), "CONTAINER_"))
			return 0, fmt.Errorf("container %q is not running (%s)", id, state)
		case err == nil && ctr.Pid > 0:
			return ctr.Pid, nil
		case err == nil:
			id = ctr.ID // the runtime gave no pid (cri-dockerd): look its full id up in /proc
		case errors.As(err, new(*CallError)) || IsNotFound(err):
			// The runtime is down, or this socket belongs to another runtime than the container's.
			criErr = err
		default:
			return 0, err
		}
	}
	pid, _, err := r.proc.FindInit(id)
	if err == nil {
		return pid, nil
	}
	if IsNotFound(err) && criErr != nil && !IsNotFound(criErr) {
		return 0, fmt.Errorf("%w (%w)", err, criErr)
	}
	return 0, err
}
