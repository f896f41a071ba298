//go:build linux

// Package cgroups finds the cgroups of Kubernetes pods on the agent's node, from their UIDs, as soon as the
// kubelet creates them, and names the container a cgroup belongs to.
//
// The kubelet creates a pod's cgroup before its sandbox and before any of its containers, so a kernel filter
// keyed by the pod's cgroup id and matched against a task's cgroup ancestry selects every process of the pod
// from its first call: init, restarted and ephemeral containers, exec sessions and probes.
//
// Four steps, one file each:
//
//   - hierarchy.go: Detect reads mountinfo (the agent's own, then the host's through /proc/1) to find the
//     cgroup hierarchy to match on. cgroup v2: the unified hierarchy. Hybrid (v1 controllers plus the unified
//     hierarchy, usually at /sys/fs/cgroup/unified): the unified one when the kubelet's pods are in it, as
//     they are with both drivers. Pure v1: one controller's hierarchy (memory, else cpu, else pids...), named
//     in Hierarchy.Controller, so that the probe reads that controller's cgroup of the task. Under it, the
//     kubepods cgroups of every cgroup root (cgroupRoot "/", "/kubelet", this project's "/swoll-a").
//   - layout.go: the names the two kubelet cgroup drivers give the QoS classes, pods and containers, in one
//     table (cgroupfs: <root>/kubepods/besteffort/pod<uid>/<container id>; systemd:
//     kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid with _>.slice/cri-containerd-<id>.scope).
//   - watch.go: a Watcher told pod UIDs reports their cgroups (and the containers' cgroups inside) the moment
//     they exist, through inotify on the kubepods and QoS directories; no polling.
//   - attribute.go: Attributor maps the leaf cgroup id a kernel record carries to its container id, from a
//     bounded cache that costs neither allocation nor I/O for an id it knows.
//
// A cgroup's id (id.go) is its kernfs node id, the value bpf_get_current_cgroup_id() and
// bpf_get_current_ancestor_cgroup_id() return on the unified hierarchy, and cgrp->kn->id on a v1 one. It is
// read with name_to_handle_at(2), whose kernfs file handle is that 64-bit id; on 64-bit kernels it is also the
// directory's inode number (the root tests check both on the running kernel, for the unified and a v1
// hierarchy).
package cgroups
