//go:build linux

package cri

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KnownSockets are the CRI endpoints of the common runtimes, as paths on the host, in the order they are tried.
var KnownSockets = []string{
	"/run/containerd/containerd.sock",
	"/var/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock",
	"/run/crio/crio.sock",
	"/var/run/cri-dockerd.sock",
	"/run/cri-dockerd.sock",
}

// NoSocketError says that none of the known CRI sockets exists.
type NoSocketError struct{ Tried []string }

func (e *NoSocketError) Error() string {
	return fmt.Sprintf("CRI socket not found (tried: %s); use --cri", strings.Join(e.Tried, ", "))
}

// HostPath maps a path on the host to where the agent sees it: under hostRoot when the host's file system
// is mounted there (agent pods mount the host's /run at /host/run), else the path itself (a local run).
func HostPath(hostRoot, p string) string {
	if hostRoot != "" && hostRoot != "/" {
		prefixed := filepath.Join(hostRoot, p)
		if _, err := os.Stat(prefixed); err == nil {
			return prefixed
		}
	}
	return p
}

// FindSocket returns the CRI socket to use. explicit (a host path, optionally "unix://"-prefixed) wins when
// set; otherwise the first of KnownSockets that exists, looked up under hostRoot first.
func FindSocket(hostRoot, explicit string) (string, error) {
	if explicit != "" {
		p := HostPath(hostRoot, strings.TrimPrefix(explicit, "unix://"))
		if !isSocket(p) {
			return "", fmt.Errorf("CRI socket %s: not found or not a socket", p)
		}
		return p, nil
	}
	var tried []string
	for _, s := range KnownSockets {
		p := HostPath(hostRoot, s)
		if isSocket(p) {
			return p, nil
		}
		tried = append(tried, s)
	}
	if hostRoot != "" && hostRoot != "/" && isDir(hostRoot) {
		// In a pod the host's sockets are the ones that matter: name them where they were looked for.
		for i, s := range tried {
			tried[i] = filepath.Join(hostRoot, s)
		}
	}
	return "", &NoSocketError{Tried: tried}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isSocket(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}
