#!/usr/bin/env bash
# collect-logs.sh DIR: everything needed to debug a failed e2e run, copied into DIR: every daemon log (etcd,
# control plane, each node's containerd and kubelet), cluster state (nodes, pods, events, ...), every pod's
# container logs, and each node's CRI view. Best effort: a dead cluster still yields the daemon logs.
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
  k get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' 2>/dev/null |
    while read -r ns pod; do
      k -n "$ns" logs "$pod" --all-containers --prefix --timestamps >"$dest/pods/$ns.$pod.log"
      k -n "$ns" logs "$pod" --all-containers --prefix --timestamps --previous >"$dest/pods/$ns.$pod.previous.log" ||
        rm -f "$dest/pods/$ns.$pod.previous.log"
    done
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
log "cluster logs collected in $dest"
