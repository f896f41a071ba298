//go:build linux

// Package cri finds the host pid of a container's init process, given the container id Kubernetes reports
// (with or without its "containerd://" style scheme). It asks the container runtime over CRI when a socket is
// available and falls back to scanning /proc/*/cgroup, so that the agent still works on nodes whose runtime
// socket it cannot see.
package cri
