#!/usr/bin/env bash
# load-image.sh IMAGE.tar: imports an image tarball into every node's containerd (namespace k8s.io, where the
# kubelets look), so pods with imagePullPolicy: Never or IfNotPresent find it on whichever node they land.
source "$(dirname "$0")/lib-cluster.sh"
require_root "load-image"
tar=${1:-}
[ -n "$tar" ] || die "usage: make load-image IMAGE=path/to/image.tar"
[ -f "$tar" ] || die "image tarball $tar not found"
for n in "${NODES[@]}"; do
  sock=$(node_sock "$n")
  [ -S "$sock" ] || die "node $n is not running (make cluster-up)"
done
pids=()
for n in "${NODES[@]}"; do
  import_images "$(node_sock "$n")" "$tar" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "importing $tar failed"; done
log "loaded $tar into ${NODES[*]}"
