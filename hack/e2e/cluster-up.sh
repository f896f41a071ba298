#!/usr/bin/env bash
# cluster-up.sh: a real two-node Kubernetes on this machine, loopback only (see hack/e2e/README.md).
#
#   etcd, containerd, runc, CNI plugins from Debian; kube-apiserver, kube-controller-manager, kube-scheduler,
#   kubelet, kubectl v1.34.4 built from the pinned module in hack/e2e/k8s (cached in $SWOLL_CACHE/k8s).
#   Nodes swoll-a (127.0.0.2) and swoll-b (127.0.0.3): each its own containerd, CNI bridge and kubelet.
#
# A healthy running cluster is reused (fast path); anything else is torn down first.
# Env: SWOLL_E2E_FRESH=1 always starts from scratch.   BUILD_ONLY=1 builds binaries and images, starts nothing.
source "$(dirname "$0")/lib-cluster.sh"
require_root "cluster-up"
cluster_lock
SECONDS=0

apt_install containerd runc etcd-server containernetworking-plugins busybox-static openssl curl iproute2 iptables \
  docker-registry
build_k8s
images_dir=$("$E2E_DIR/workload-images.sh")
image_tars=()
for i in "${WORKLOAD_IMAGES[@]}"; do image_tars+=("$images_dir/$i.tar"); done
[ "${BUILD_ONLY:-0}" = 1 ] && { stamp "BUILD_ONLY: binaries in $K8S_BIN, images in $images_dir"; exit 0; }

if [ -d "$CLUSTER_STATE" ]; then
  if [ "${SWOLL_E2E_FRESH:-0}" != 1 ] && cluster_healthy; then
    if [ "$(cat "$CLUSTER_STATE/images-dir" 2>/dev/null)" != "$images_dir" ]; then
      for n in "${NODES[@]}"; do import_images "$(node_sock "$n")" "${image_tars[@]}"; done
      echo "$images_dir" >"$CLUSTER_STATE/images-dir"
      stamp "workload images changed: re-imported into every node"
    fi
    stamp "cluster already running and healthy: reusing it (SWOLL_E2E_FRESH=1 to start afresh)"
    exit 0
  fi
  stamp "found a previous cluster that is not healthy: tearing it down"
  "$E2E_DIR/cluster-down.sh"
fi

# A half-started cluster is worse than none: on failure, take down what was started (the logs stay).
on_failure() {
  local rc=$?
  [ $rc = 0 ] && return
  log "cluster-up failed; tearing down what it started (daemon logs stay in $CLUSTER_LOGS)"
  # background image imports end soon after their containerd: let them, rather than race the teardown. Only
  # those: a bare `wait` would also wait for the containerd daemons started from this shell, forever.
  for p in ${import_pids[@]+"${import_pids[@]}"}; do wait "$p" 2>/dev/null; done
  "$E2E_DIR/cluster-down.sh" >/dev/null 2>&1 || true
  exit $rc
}
import_pids=()
trap on_failure EXIT

mkdir -p "$PIDS" "$PKI" "$CLUSTER_STATE/kubeconfig" "$CLUSTER_STATE/etcd" "$CLUSTER_LOGS"
rm -f "$CLUSTER_LOGS"/*.log
echo "nameserver 127.0.0.1" >"$CLUSTER_STATE/resolv.conf"

# ------------------------------------------------------------------------------------------------ /etc/hosts
# The apiserver dials kubelets by their Hostname address: each node name must resolve to its loopback IP.
hosts=$(grep -v " $HOSTS_MARK\$" /etc/hosts || true)
for n in "${NODES[@]}"; do hosts+=$'\n'"${NODE_IP[$n]} $n $HOSTS_MARK"; done
printf '%s\n' "$hosts" >/etc/hosts # rewrite in place: /etc/hosts may be a bind mount
for n in "${NODES[@]}"; do
  [ "$(getent hosts "$n" | awk '{print $1}')" = "${NODE_IP[$n]}" ] || die "$n does not resolve to ${NODE_IP[$n]}"
done

# ------------------------------------------------------------------------------------------------ PKI
# ECDSA P-256 keys: generating a dozen takes milliseconds (RSA would dominate a warm start).
cert() { # DIR NAME CN O SAN EKU
  local dir=$1 name=$2 cn=$3 o=$4 san=$5 eku=$6 ext
  ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku${san:+
subjectAltName=$san}"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/$name.key" \
    -out "$dir/$name.csr" -subj "${o:+/O=$o}/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 3650 -out "$dir/$name.crt" -extfile <(echo "$ext") 2>/dev/null
  rm "$dir/$name.csr"
}
# kubeconfig FILE USER CERT_PREFIX: a kubeconfig with embedded credentials for the local apiserver.
kubeconfig() {
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: swoll-e2e
  cluster: {server: $APISERVER, certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")}
users:
- name: $2
  user: {client-certificate-data: $(base64 -w0 "$3.crt"), client-key-data: $(base64 -w0 "$3.key")}
contexts:
- name: swoll-e2e
  context: {cluster: swoll-e2e, user: $2}
current-context: swoll-e2e
KC
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
  -days 3650 -subj /CN=swoll-e2e-ca 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key"
openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
cert "$PKI" apiserver kube-apiserver "" \
  "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" serverAuth &
cert "$PKI" apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" clientAuth &
cert "$PKI" admin kubernetes-admin system:masters "" clientAuth &
cert "$PKI" controller-manager system:kube-controller-manager "" "" clientAuth &
cert "$PKI" scheduler system:kube-scheduler "" "" clientAuth &
for n in "${NODES[@]}"; do
  nd=$(node_dir "$n")
  mkdir -p "$nd"/{pki,kubelet,manifests,pod-logs,cni/net.d,containerd}
  cert "$nd/pki" kubelet "system:node:$n" system:nodes "" clientAuth &
  cert "$nd/pki" kubelet-serving "$n" "" "IP:${NODE_IP[$n]},DNS:$n" serverAuth &
done
wait
for u in admin controller-manager scheduler; do kubeconfig "$CLUSTER_STATE/kubeconfig/$u.kubeconfig" "$u" "$PKI/$u"; done
for n in "${NODES[@]}"; do kubeconfig "$(node_dir "$n")/kubelet.kubeconfig" "$n" "$(node_dir "$n")/pki/kubelet"; done
stamp "PKI ready"

# ------------------------------------------------------------------------------------------------ registry
# The package's own config turns on htpasswd auth and listens on every address: write our own.
mkdir -p "$(registry_dir)/storage"
cat >"$(registry_dir)/config.yml" <<YAML
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $(registry_dir)/storage}, delete: {enabled: true}}
http: {addr: $REGISTRY_ADDR}
YAML
# a registry of an earlier cluster whose cluster-down did not know about it (same config path: it is ours)
for p in /proc/[0-9]*; do
  [ "$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null)" = "docker-registry serve $(registry_dir)/config.yml " ] || continue
  kill "${p#/proc/}" 2>/dev/null && log "stopped a leftover registry (pid ${p#/proc/})"
done
start_daemon registry docker-registry serve "$(registry_dir)/config.yml"

# ------------------------------------------------------------------------------------------------ containerd
# Per node: own root, state dir and socket, own CNI bridge and subnet (isolated: no gateway, no masquerade), own
# stream server on the node's IP (kubectl exec/attach/port-forward reach it through the kubelet).
for n in "${NODES[@]}"; do
  nd=$(node_dir "$n")
  cat >"$nd/containerd/config.toml" <<TOML
version = 2
root = "$nd/containerd/root"
state = "$(node_state "$n")"
[grpc]
  address = "$(node_sock "$n")"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$(image_ref pause)"
  # the VM's bounding set lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (the kubelet asks for -998)
  restrict_oom_score_adj = true
  stream_server_address = "${NODE_IP[$n]}"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "/usr/sbin/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$nd/cni/net.d"
  # registries, per host: certs.d/HOST/hosts.toml (read at every pull)
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$(node_certs_d "$n")"
TOML
  write_registry_hosts "$(node_certs_d "$n")"
  cat >"$nd/cni/net.d/10-$n.conflist" <<CNI
{"cniVersion": "1.0.0", "name": "$n", "plugins": [
  {"type": "bridge", "bridge": "$(node_bridge "$n")", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "${NODE_SUBNET[$n]}"}]], "dataDir": "$nd/cni/ipam"}}]}
CNI
  printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 10\n' "$(node_sock "$n")" "$(node_sock "$n")" >"$nd/crictl.yaml"
  start_daemon "containerd-$n" containerd --config "$nd/containerd/config.toml"
done

# ------------------------------------------------------------------------------------------------ etcd
start_daemon etcd etcd --name swoll-e2e --data-dir "$CLUSTER_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster swoll-e2e=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381

# Images load while the control plane starts.
for n in "${NODES[@]}"; do
  (
    wait_daemon "containerd-$n" 30 ctr -a "$(node_sock "$n")" version
    import_images "$(node_sock "$n")" "${image_tars[@]}"
  ) &
  import_pids+=($!)
done

wait_daemon registry 30 curl -fs "http://$REGISTRY_ADDR/v2/"
wait_daemon etcd 30 curl -fs http://127.0.0.1:2381/health
stamp "etcd ready"

# ------------------------------------------------------------------------------------------------ control plane
# --allow-privileged: the agent pods are privileged. PodSecurity is in the default admission plugins, so
# namespaces can enforce levels.
start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 --secure-port=6443 \
  --advertise-address=127.0.0.1 --endpoint-reconciler-type=none --service-cluster-ip-range=10.0.0.0/24 \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction,PodSecurity --allow-privileged=true \
  --profiling=false --v=1
wait_daemon kube-apiserver 120 curl -fs --cacert "$PKI/ca.crt" $APISERVER/readyz
stamp "kube-apiserver ready"
common=(--bind-address=127.0.0.1 --leader-elect=false --profiling=false --authentication-skip-lookup --v=1)
kc=$CLUSTER_STATE/kubeconfig
start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" "${common[@]}" \
  --kubeconfig="$kc/controller-manager.kubeconfig" --authentication-kubeconfig="$kc/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$kc/controller-manager.kubeconfig" --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key"
start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" "${common[@]}" --kubeconfig="$kc/scheduler.kubeconfig" \
  --authentication-kubeconfig="$kc/scheduler.kubeconfig" --authorization-kubeconfig="$kc/scheduler.kubeconfig"

# ------------------------------------------------------------------------------------------------ kubelets
for n in "${NODES[@]}"; do
  nd=$(node_dir "$n")
  # the cgroupfs driver requires cgroupRoot to exist in every v1 hierarchy
  for h in /sys/fs/cgroup/*/; do
    [ "$(stat -f -c %T "$h")" = cgroupfs ] && mkdir -p "$h${n}"
  done
  cat >"$nd/kubelet-config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${NODE_IP[$n]}
port: ${NODE_PORT[$n]}
readOnlyPort: 0
healthzBindAddress: ${NODE_IP[$n]}
healthzPort: ${NODE_HEALTHZ[$n]}
authentication: {anonymous: {enabled: false}, webhook: {enabled: true}, x509: {clientCAFile: $PKI/ca.crt}}
authorization: {mode: Webhook}
tlsCertFile: $nd/pki/kubelet-serving.crt
tlsPrivateKeyFile: $nd/pki/kubelet-serving.key
cgroupDriver: cgroupfs
cgroupRoot: $(node_cgroup "$n")
containerRuntimeEndpoint: unix://$(node_sock "$n")
failSwapOn: false
failCgroupV1: false
staticPodPath: $nd/manifests
podLogsDir: $nd/pod-logs
resolvConf: $CLUSTER_STATE/resolv.conf
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
  wait_daemon "containerd-$n" 30 ctr -a "$(node_sock "$n")" version
  start_daemon "kubelet-$n" "$K8S_BIN/kubelet" --config="$nd/kubelet-config.yaml" \
    --kubeconfig="$nd/kubelet.kubeconfig" --hostname-override="$n" --root-dir="$nd/kubelet" --v=1
done

for n in "${NODES[@]}"; do
  wait_daemon "kubelet-$n" 120 node_ready "$n"
  # the agent learns its node's CRI socket from this annotation (real nodes: /run/containerd/containerd.sock)
  kubectl_admin annotate node "$n" --overwrite "$SOCK_ANNOTATION=$(node_sock "$n")" >/dev/null
done
stamp "nodes ${NODES[*]} Ready"
for p in "${import_pids[@]}"; do wait "$p" || die "importing workload images failed"; done
echo "$images_dir" >"$CLUSTER_STATE/images-dir"
wait_for "default serviceaccount" 60 kubectl_admin -n default get serviceaccount default
stamp "cluster up in ${SECONDS}s: eval \"\$(make -s cluster-env)\"   (logs: $CLUSTER_LOGS)"
