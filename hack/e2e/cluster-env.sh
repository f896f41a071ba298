#!/usr/bin/env bash
# cluster-env.sh: shell assignments describing the local cluster, and nothing else on stdout:
#   eval "$(make -s cluster-env)"
# The paths are fixed, so this works before cluster-up too; it warns on stderr when no cluster runs.
source "$(dirname "$0")/lib-cluster.sh"
socks=()
for n in "${NODES[@]}"; do socks+=("$(node_sock "$n")"); done
q() { printf '%q' "$1"; }
echo "export KUBECONFIG=$(q "$ADMIN_KUBECONFIG")"
echo "export SWOLL_NODES=$(q "${NODES[*]}")"
echo "export CONTAINERD_SOCKS=$(q "${socks[*]}")"
for i in "${!NODES[@]}"; do echo "export CONTAINERD_SOCK_$((i + 1))=$(q "${socks[$i]}")"; done
echo "export CONTAINERD_SOCK=$(q "${socks[0]}")"
echo "export CLUSTER_BIN=$(q "$K8S_BIN")"
echo "export CLUSTER_LOGS=$(q "$CLUSTER_LOGS")"
echo "export CLUSTER_STATE=$(q "$CLUSTER_STATE")"
for i in "${WORKLOAD_IMAGES[@]}"; do echo "export E2E_IMAGE_${i^^}=$(q "$(image_ref "$i")")"; done
# shellcheck disable=SC2016 # $PATH is expanded by the shell that evals this
echo 'export PATH='"$(q "$K8S_BIN")"':$PATH'
[ -f "$PIDS/kube-apiserver.pid" ] || echo "cluster-env: no cluster is running (make cluster-up)" >&2
exit 0
