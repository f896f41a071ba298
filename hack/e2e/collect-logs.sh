#!/usr/bin/env bash
# collect-logs.sh DIR: everything needed to debug a failed e2e run, copied into DIR: every daemon log (etcd,
# control plane, each node's containerd and kubelet), cluster state (nodes, pods, events, ...), every pod's
# container logs (also from the kubelets' log dirs, which keep recently deleted pods), and each node's CRI view.
# Best effort: a dead cluster still yields the daemon logs.
source "$(dirname "$0")/lib-cluster.sh"
dest=${1:?usage: collect-logs.sh DIR}
set +e
mkdir -p "$dest/daemons" "$dest/pods" "$dest/nodes"
cp "$CLUSTER_LOGS"/*.log "$dest/daemons/" 2>/dev/null

k() { kubectl_admin "$@" 2>&1; }
if [ -f "$ADMIN_KUBECONFIG" ] && [ -x "$K8S_BIN/kubectl" ]; then
  k get all,events -A -o wide >"$dest/cluster.txt"
  k get nodes -o yaml >"$dest/nodes.yaml"
  k describe nodes >"$dest/nodes-describe.txt"
  k describe pods -A >"$dest/pods-describe.txt"
  pod_logs() { # NAMESPACE POD: current and previous logs of every container
    k -n "$1" logs "$2" --all-containers --prefix --timestamps >"$dest/pods/$1.$2.log"
    k -n "$1" logs "$2" --all-containers --prefix --timestamps --previous >"$dest/pods/$1.$2.previous.log" ||
      rm -f "$dest/pods/$1.$2.previous.log"
  }
  export -f pod_logs k kubectl_admin
  export dest K8S_BIN ADMIN_KUBECONFIG
  k get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' 2>/dev/null |
    xargs -r -n 2 -P 4 bash -c 'pod_logs "$0" "$1"'
fi
for n in "${NODES[@]}"; do
  sock=$(node_sock "$n")
  [ -S "$sock" ] && [ -x "$K8S_BIN/crictl" ] || continue
  {
    echo "== pods"; "$K8S_BIN/crictl" -r "unix://$sock" pods
    echo "== containers"; "$K8S_BIN/crictl" -r "unix://$sock" ps -a
    echo "== images"; "$K8S_BIN/crictl" -r "unix://$sock" images
  } >"$dest/nodes/$n-cri.txt" 2>&1
done
# The kubelets' own copies include pods already deleted (until the kubelet removes their directories).
for n in "${NODES[@]}"; do
  [ -d "$(node_dir "$n")/pod-logs" ] && cp -r "$(node_dir "$n")/pod-logs" "$dest/nodes/$n-pod-logs"
done
log "cluster logs collected in $dest"
