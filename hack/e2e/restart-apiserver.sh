#!/usr/bin/env bash
# restart-apiserver.sh [DOWN_SECONDS]: stops the local cluster's kube-apiserver, keeps it down DOWN_SECONDS
# (default 0), and starts it again with the same command line, then waits until it is ready. For the e2e
# fault suite (an API-server restart mid-session). Appends to its log. Needs root.
source "$(dirname "$0")/lib-cluster.sh"
require_root "restart-apiserver.sh"
down=${1:-0}
pidfile=$PIDS/kube-apiserver.pid
pid=$(cat "$pidfile" 2>/dev/null) || die "no kube-apiserver pid in $pidfile: is the cluster up?"
pid_running "$pid" || die "kube-apiserver (pid $pid) is not running"
mapfile -d '' argv <"/proc/$pid/cmdline"
[ ${#argv[@]} -gt 0 ] || die "cannot read the command line of pid $pid"
start=$SECONDS
kill -TERM "$pid"
for _ in $(seq 150); do pid_running "$pid" || break; sleep 0.1; done
pid_running "$pid" && kill -KILL "$pid"
sleep "$down"
# every inherited descriptor but the standard ones is closed: a lock held by the caller (heavy.sh holds fd 8)
# must not live on in the daemon
setsid nohup "${argv[@]}" >>"$CLUSTER_LOGS/kube-apiserver.log" 2>&1 </dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
echo $! >"$pidfile"
PKI=$CLUSTER_STATE/pki
for _ in $(seq 600); do
  curl -fs --cacert "$PKI/ca.crt" https://127.0.0.1:6443/readyz >/dev/null 2>&1 && {
    echo "down and up again in $((SECONDS - start)) s"
    exit 0
  }
  sleep 0.2
done
die "kube-apiserver not ready 120 s after its restart (log: $CLUSTER_LOGS/kube-apiserver.log)"
