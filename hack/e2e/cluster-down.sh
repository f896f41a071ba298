#!/usr/bin/env bash
# cluster-down.sh: stops the local cluster and removes every trace of it: processes (by recorded PID, plus the
# shims of our containerds), mounts, CNI bridges, kubelet cgroups and iptables chains, /etc/hosts lines and
# $CLUSTER_STATE. Daemon logs stay in $CLUSTER_LOGS for a post-mortem. Safe to run when nothing is running.
source "$(dirname "$0")/lib-cluster.sh"
require_root "cluster-down"
cluster_lock
set +e # clean up as much as possible, whatever fails
SECONDS=0

# 1. Everything that could recreate pods goes first; clients before the apiserver (they stall without it). Their
#    state is thrown away, so SIGKILL: a graceful shutdown costs ~2 s each and saves nothing.
kubelets=()
for n in "${NODES[@]}"; do kubelets+=("kubelet-$n"); done
stop_daemons -KILL "${kubelets[@]}" kube-scheduler kube-controller-manager
stop_daemons -KILL kube-apiserver
stamp "control plane and kubelets stopped"

# 2. Remove pods while each containerd still runs: that stops their shims, tears down CNI and unmounts rootfs,
#    netns and shm. Then the containerds and etcd.
for n in "${NODES[@]}"; do
  sock=$(node_sock "$n")
  [ -S "$sock" ] || continue
  (
    [ -x "$K8S_BIN/crictl" ] && "$K8S_BIN/crictl" --timeout 20s -r "unix://$sock" rmp -af >/dev/null 2>&1
    for t in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do # anything started outside the CRI
      ctr -a "$sock" -n k8s.io tasks kill -s KILL "$t" >/dev/null 2>&1
      ctr -a "$sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1
    done
  ) &
done
wait
containerds=()
for n in "${NODES[@]}"; do containerds+=("containerd-$n"); done
stop_daemons "${containerds[@]}" etcd registry
stamp "pods, containerds and etcd stopped"

# 3. Shims survive their containerd: any still running for one of our sockets are ours (matched by the exact
#    socket path in their command line), and so are their containers.
for n in "${NODES[@]}"; do
  sock=$(node_sock "$n")
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "-address $sock " || continue
    pid=${p#/proc/}
    for c in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do kill -9 "$c" 2>/dev/null; done
    kill -9 "$pid" 2>/dev/null && log "killed leftover shim $pid of $n"
  done
done

# 4. Mounts under our directories, deepest first (overlay rootfs, shm, netns, kubelet volumes).
dirs="$CLUSTER_STATE"
for n in "${NODES[@]}"; do dirs+="|$(node_state "$n")"; done
awk '{print $2}' /proc/mounts | grep -E "^($dirs)(/|\$)" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m"
done

# 5. Bridges, cgroups, iptables chains the kubelets created, /etc/hosts, the kubelet's hard-coded log symlinks.
for n in "${NODES[@]}"; do
  ip link del "$(node_bridge "$n")" 2>/dev/null
  for c in /sys/fs/cgroup/*/"$n"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
done
if command -v iptables >/dev/null; then
  for ipt in iptables ip6tables; do
    for chain in INPUT OUTPUT FORWARD; do $ipt -D "$chain" -j KUBE-FIREWALL 2>/dev/null; done
    $ipt -F KUBE-FIREWALL 2>/dev/null
    $ipt -X KUBE-FIREWALL 2>/dev/null
    for t in mangle nat filter; do $ipt -t "$t" -X KUBE-KUBELET-CANARY 2>/dev/null; done
    $ipt -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null
  done
fi
if grep -q " $HOSTS_MARK\$" /etc/hosts; then
  hosts=$(grep -v " $HOSTS_MARK\$" /etc/hosts)
  printf '%s\n' "$hosts" >/etc/hosts
fi
find /var/log/containers -lname "$CLUSTER_STATE/*" -delete 2>/dev/null
# Paths every kubelet hard-codes: the device-plugin socket is stale once our kubelets are gone; the directories go
# only when empty, so nothing of anyone else's is lost.
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers /var/log/pods 2>/dev/null
# The same for the CNI plugins' cache (results of our networks are named after the node) and containerd's netns dir.
for n in "${NODES[@]}"; do rm -f /var/lib/cni/results/"$n"-*; done
rmdir /var/lib/cni/results /var/lib/cni /run/netns 2>/dev/null

rm -rf "$CLUSTER_STATE"
for n in "${NODES[@]}"; do rm -rf "$(node_state "$n")"; done
stamp "cluster down in ${SECONDS}s"
