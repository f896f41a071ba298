#!/usr/bin/env bash
# The README's main job. Until the trace path lands it stops after bringing the cluster up.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
make -s cluster-up
log "cluster is up (eval \"\$(make -s cluster-env)\"); kubectl swoll trace is not wired yet"
