# Sourced by hack/e2e/*.sh: layout and helpers of the local two-node cluster. Sources hack/lib.sh.
#
# Layout (fixed paths, so every script and test finds the same cluster):
#   $CLUSTER_STATE                runtime state: pki, kubeconfigs, etcd data, pids, per-node dirs
#   $CLUSTER_LOGS                 daemon logs (kept after cluster-down)
#   $CLUSTER_STATE/nodes/NAME     a node's kubelet/containerd config, certs, root dirs, pod logs
#   /run/swoll-e2e-X/containerd.sock  node X's containerd (short path: unix socket length limit)
#   $K8S_BIN                      cached Kubernetes binaries, keyed by Kubernetes and Go version
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E2E_DIR=$ROOT/hack/e2e
K8S_VERSION=1.34.4
CRICTL_VERSION=1.34.0
CLUSTER_STATE=${SWOLL_E2E_STATE:-/var/lib/swoll-e2e}
K8S_BIN=$SWOLL_CACHE/k8s/v$K8S_VERSION-$(go env GOVERSION)
IMAGE_CACHE=$SWOLL_CACHE/images
# One build cache for every checkout, so a clean clone (CI) rebuilds nothing it has built before.
export GOCACHE=${SWOLL_GOCACHE:-$SWOLL_CACHE/gocache}

APISERVER=https://127.0.0.1:6443
PKI=$CLUSTER_STATE/pki
ADMIN_KUBECONFIG=$CLUSTER_STATE/kubeconfig/admin.kubeconfig

# The nodes, in order. Each runs its own containerd + kubelet; the name resolves to the node's loopback IP through
# an /etc/hosts line (the apiserver reaches kubelets by their Hostname address: a kubelet refuses a loopback node IP).
NODES=(swoll-a swoll-b)
declare -A NODE_IP=([swoll-a]=127.0.0.2 [swoll-b]=127.0.0.3)
declare -A NODE_SUBNET=([swoll-a]=10.88.0.0/24 [swoll-b]=10.89.0.0/24)
declare -A NODE_PORT=([swoll-a]=10250 [swoll-b]=10250)         # distinct IPs, so the default ports do not clash
declare -A NODE_HEALTHZ=([swoll-a]=10248 [swoll-b]=10248)
HOSTS_MARK="# swoll-e2e-node"
SOCK_ANNOTATION=swoll.dev/cri-socket

node_dir() { echo "$CLUSTER_STATE/nodes/$1"; }
node_state() { echo "/run/swoll-e2e-${1#swoll-}"; }
node_sock() { echo "$(node_state "$1")/containerd.sock"; }
node_bridge() { echo "swoll-e2e-${1#swoll-}"; }
node_cgroup() { echo "/$1"; }

# The cluster's OCI registry (Debian's docker-registry, i.e. distribution/distribution) on loopback. The agent image
# is pushed there and the nodes pull it by digest, as a user's nodes pull it from a registry: their containerd
# treats this registry as a mirror of the agent repository's host (certs.d/HOST/hosts.toml), so the plugin's default
# image reference works unchanged. Storage and config live in $CLUSTER_STATE/registry, the log in $CLUSTER_LOGS.
REGISTRY_ADDR=127.0.0.1:5000
registry_dir() { echo "$CLUSTER_STATE/registry"; }
node_certs_d() { echo "$(node_dir "$1")/containerd/certs.d"; }
# write_registry_hosts DIR: a node's containerd registry config (certs.d): the cluster registry by its own address,
# and as the mirror of the agent repository's host, so AGENT_REPO@digest is pulled from the cluster registry (the
# upstream host would only be tried if the mirror failed). containerd 1.6 ignores a hosts.toml without a host table.
write_registry_hosts() {
  local dir=$1 upstream=${AGENT_REPO%%/*} h server
  for h in "$REGISTRY_ADDR" "$upstream"; do
    server=https://$h
    [ "$h" = "$REGISTRY_ADDR" ] && server=http://$h
    mkdir -p "$dir/$h"
    printf 'server = "%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$server" "$REGISTRY_ADDR" >"$dir/$h/hosts.toml"
  done
}
# agent_registry: the REGISTRY argument of make push-image that puts the agent at the path its repository has
# upstream (ghcr.io/a/swoll-agent -> 127.0.0.1:5000/a, so the push lands at 127.0.0.1:5000/a/swoll-agent).
agent_registry() {
  local path=${AGENT_REPO#*/}
  case $path in */*) echo "$REGISTRY_ADDR/${path%/*}" ;; *) echo "$REGISTRY_ADDR" ;; esac
}

# The workload images every node gets at cluster-up (built by hack/e2e/workload-images.sh).
WORKLOAD_IMAGES=(pause busybox webserver)
image_ref() { echo "localhost/swoll-e2e/$1:v1"; }

stamp() { printf '[%s +%3ss] %s\n' "$(date +%T)" "$SECONDS" "$*" >&2; }

# wait_for WHAT TIMEOUT_S CMD...: polls CMD every 0.2 s.
wait_for() {
  local what=$1 t=$2 deadline
  shift 2
  deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what not ready after ${t}s (logs in $CLUSTER_LOGS)"
    sleep 0.2
  done
}

# wait_daemon DAEMON TIMEOUT_S CMD...: like wait_for, but gives up at once, showing the end of its log, when the
# daemon has exited.
wait_daemon() {
  local d=$1 t=$2 deadline
  shift 2
  deadline=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ! daemon_alive "$d"; then
      tail -n 15 "$CLUSTER_LOGS/$d.log" >&2
      die "$d exited (log: $CLUSTER_LOGS/$d.log)"
    fi
    [ $SECONDS -lt $deadline ] || die "$d not ready after ${t}s (log: $CLUSTER_LOGS/$d.log)"
    sleep 0.2
  done
}

# build_k8s: the Kubernetes binaries and crictl, built once per (Kubernetes, Go) version into $K8S_BIN from the
# committed, pinned module in hack/e2e/k8s (reproducible: -mod=readonly, -trimpath, fixed version stamps).
K8S_CMDS=(kube-apiserver kubelet kube-controller-manager kube-scheduler kubectl)
build_k8s() {
  local c missing=() ld p tmp
  for c in "${K8S_CMDS[@]}"; do [ -x "$K8S_BIN/$c" ] || missing+=("$c"); done
  if [ ${#missing[@]} -gt 0 ]; then
    stamp "building Kubernetes v$K8S_VERSION (${missing[*]}) into $K8S_BIN; takes ~5 min the first time"
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION")"
      ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    mkdir -p "$K8S_BIN"
    tmp=$(mktemp -d "$K8S_BIN.build.XXXX")
    (cd "$E2E_DIR/k8s" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
      go build -ldflags="$ld" -o "$tmp/" "${missing[@]/#/k8s.io/kubernetes/cmd/}") || { rm -rf "$tmp"; die "building Kubernetes failed"; }
    mv "$tmp"/* "$K8S_BIN/" && rmdir "$tmp"
  fi
  if [ ! -x "$K8S_BIN/crictl" ]; then
    stamp "building crictl v$CRICTL_VERSION"
    GOBIN=$K8S_BIN CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" \
      go install -ldflags='-s -w' "sigs.k8s.io/cri-tools/cmd/crictl@v$CRICTL_VERSION" || die "building crictl failed"
  fi
}

PIDS=$CLUSTER_STATE/pids
# Daemon logs outlive cluster-down (for a post-mortem); cluster-up starts them afresh.
CLUSTER_LOGS=${SWOLL_E2E_LOGS:-/var/log/swoll-e2e}

# start_daemon NAME CMD...: runs CMD in the background with its log in $CLUSTER_LOGS/NAME.log and records the
# daemon's own PID (started from this shell, not a subshell, so the PID is the daemon's). The daemon inherits no
# file descriptor but stdio: a lock held by whoever ran cluster-up (flock on an fd) must not live on in etcd or a
# kubelet.
start_daemon() {
  local name=$1 fd closes=""
  shift
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && closes+=" $fd>&-"
  done
  eval 'nohup "$@" >"$CLUSTER_LOGS/$name.log" 2>&1 </dev/null'"$closes"' &'
  echo $! >"$PIDS/$name.pid"
}

# pid_running PID: the process exists and is not a zombie (our daemons' parent, init, reaps them when it gets to it).
pid_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# daemon_alive NAME: the recorded PID is running.
daemon_alive() {
  local pid
  pid=$(cat "$PIDS/$1.pid" 2>/dev/null) || return 1
  pid_running "$pid"
}

# stop_daemons [-KILL] NAME...: signals the recorded PIDs together (SIGTERM, or SIGKILL with -KILL), waits up to
# 15 s, then SIGKILLs what is left.
stop_daemons() {
  local sig=TERM name pid pids=() deadline
  [ "$1" = -KILL ] && { sig=KILL; shift; }
  for name in "$@"; do
    pid=$(cat "$PIDS/$name.pid" 2>/dev/null) || continue
    rm -f "$PIDS/$name.pid"
    kill -s "$sig" "$pid" 2>/dev/null && pids+=("$pid")
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  deadline=$((SECONDS + 15))
  while [ $SECONDS -lt $deadline ]; do
    for pid in "${pids[@]}"; do pid_running "$pid" && { sleep 0.05; continue 2; }; done
    return 0
  done
  for pid in "${pids[@]}"; do pid_running "$pid" && kill -9 "$pid" 2>/dev/null; done
  return 0
}

# all_daemons: every daemon of a running cluster, in start order.
all_daemons() {
  local n
  echo registry etcd kube-apiserver kube-controller-manager kube-scheduler
  for n in "${NODES[@]}"; do echo "containerd-$n kubelet-$n"; done
}

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig="$ADMIN_KUBECONFIG" --request-timeout=10s "$@"; }

node_ready() {
  [ "$(kubectl_admin get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# cluster_healthy: every recorded daemon runs, and every node is Ready.
cluster_healthy() {
  local d n
  for d in $(all_daemons); do daemon_alive "$d" || return 1; done
  for n in "${NODES[@]}"; do node_ready "$n" || return 1; done
}

# import_images SOCK TAR...: loads image tarballs into a node's containerd (the namespace the CRI uses).
import_images() {
  local sock=$1 tar
  shift
  for tar in "$@"; do
    ctr -a "$sock" -n k8s.io images import "$tar" >/dev/null || die "importing $tar into $sock"
  done
}

# cluster_lock: serializes cluster-up and cluster-down across processes (several people or test runs may ask for
# the cluster at once); a script that calls another under the lock passes it on through SWOLL_E2E_LOCKED.
cluster_lock() {
  [ "${SWOLL_E2E_LOCKED:-}" = 1 ] && return 0
  mkdir -p "$SWOLL_CACHE"
  exec 9>"$SWOLL_CACHE/cluster-up.lock"
  if ! flock -n 9; then
    log "waiting for another cluster-up/cluster-down to finish"
    flock 9
  fi
  export SWOLL_E2E_LOCKED=1
}
