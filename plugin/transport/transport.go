// Package transport connects the plugin to a process in a pod: it runs a command in a container and joins its
// stdin, stdout and stderr to the caller's pipes. The agent's control channel and event stream travel over it.
//
// Transport is the seam between an agent's lifecycle and the API server: Exec reaches the real server (pod exec
// over WebSocket, falling back to SPDY), and a test stands in a pipe for it. An Exec value is safe for
// concurrent use; each call is one stream.
package transport

import (
	"context"
	"io"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// Request names the process to run.
type Request struct {
	Namespace, Pod, Container string
	Command                   []string
}

// Stdio are the caller's ends of the process's standard streams.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Transport runs a process and streams its stdio until the process ends, the connection breaks, or ctx ends.
type Transport interface {
	Exec(ctx context.Context, req Request, stdio Stdio) error
}

// SetupError is a failure before anything was sent: the request could not be built.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Exec is the pod exec subresource through the API server. Client and Config must not carry an overall
// request timeout: a stream lives as long as the session.
type Exec struct {
	Client kubernetes.Interface
	Config *rest.Config
}

// Exec implements Transport.
func (e *Exec) Exec(ctx context.Context, req Request, stdio Stdio) error {
	u := e.Client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(req.Namespace).Name(req.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: req.Container,
			Command:   req.Command,
			Stdin:     stdio.Stdin != nil,
			Stdout:    stdio.Stdout != nil,
			Stderr:    stdio.Stderr != nil,
		}, scheme.ParameterCodec).URL()
	exec, err := executor(e.Config, u)
	if err != nil {
		return &SetupError{Err: err}
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr})
}

// executor prefers the WebSocket exec protocol and falls back to SPDY for servers that do not speak it.
func executor(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", u)
	if err != nil {
		return nil, err
	}
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	if err != nil {
		return spdy, nil
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}
