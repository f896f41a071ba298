//go:build linux

package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// callTimeout bounds each CRI call: a hung runtime must not stall the agent's control loop.
const callTimeout = 5 * time.Second

// Client talks to a container runtime's CRI RuntimeService.
type Client struct {
	socket string
	conn   *grpc.ClientConn
	rt     runtimeapi.RuntimeServiceClient
}

// Dial connects lazily to the CRI socket at path (no I/O happens until the first call).
func Dial(path string) (*Client, error) {
	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Verbose container statuses carry the runtime's spec and can be large.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, fmt.Errorf("CRI socket %s: %w", path, err)
	}
	return &Client{socket: path, conn: conn, rt: runtimeapi.NewRuntimeServiceClient(conn)}, nil
}

// Socket is the path the client talks to.
func (c *Client) Socket() string { return c.socket }

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Container is what the runtime says about one container.
type Container struct {
	ID    string // the full id
	State runtimeapi.ContainerState
	// Pid is the host pid of the container's init process; 0 when the runtime did not say.
	Pid int
}

// Inspect returns the runtime's view of the container named by id, which may carry a scheme
// ("containerd://") and may be a unique prefix of the full id.
func (c *Client) Inspect(ctx context.Context, id string) (*Container, error) {
	id = NormalizeID(id)
	if err := validID(id); err != nil {
		return nil, err
	}
	full, err := c.fullID(ctx, id)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.rt.ContainerStatus(cctx, &runtimeapi.ContainerStatusRequest{ContainerId: full, Verbose: true})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, &NotFoundError{ID: id}
		}
		return nil, c.wrap("ContainerStatus", err)
	}
	st := resp.GetStatus()
	ctr := &Container{ID: st.GetId(), State: st.GetState()}
	if ctr.ID == "" {
		ctr.ID = full
	}
	ctr.Pid = pidFromInfo(resp.GetInfo())
	return ctr, nil
}

// fullID expands a short id with ListContainers, so that prefixes work whatever the runtime supports.
func (c *Client) fullID(ctx context.Context, id string) (string, error) {
	if len(id) == 64 {
		return id, nil
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.rt.ListContainers(cctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return "", c.wrap("ListContainers", err)
	}
	var matches []string
	for _, ctr := range resp.GetContainers() {
		if strings.HasPrefix(ctr.GetId(), id) {
			matches = append(matches, ctr.GetId())
		}
	}
	switch len(matches) {
	case 0:
		return "", &NotFoundError{ID: id}
	case 1:
		return matches[0], nil
	default:
		return "", fmt.Errorf("container id %q is ambiguous: it starts %d containers", id, len(matches))
	}
}

func (c *Client) wrap(call string, err error) error {
	if s, ok := status.FromError(err); ok {
		msg := s.Message()
		if s.Code() == codes.Unavailable {
			msg = "runtime unavailable: " + msg
		}
		return &CallError{Socket: c.socket, Call: call, Msg: msg, Err: err}
	}
	return &CallError{Socket: c.socket, Call: call, Msg: err.Error(), Err: err}
}

// CallError is a failed CRI call (the runtime is down, or refused), as opposed to an unknown container. Msg is
// the runtime's message; Err is the call's error, a gRPC status that status.FromError and status.Code find
// through the chain.
type CallError struct {
	Socket, Call, Msg string
	Err               error
}

func (e *CallError) Error() string { return fmt.Sprintf("CRI %s on %s: %s", e.Call, e.Socket, e.Msg) }

func (e *CallError) Unwrap() error { return e.Err }

// pidFromInfo reads the init pid from a verbose status: containerd and CRI-O both put a JSON document with a
// top-level "pid" under the key "info".
func pidFromInfo(info map[string]string) int {
	raw, ok := info["info"]
	if !ok {
		return 0
	}
	var doc struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return 0
	}
	return doc.Pid
}

// IsNotFound reports whether err says the container does not exist.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}
