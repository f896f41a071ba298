#!/usr/bin/env bash
# smoke.sh: proves a running cluster can do what the e2e suite needs, on both nodes: pods from the local images
# run where they are pinned; exec with stdin works; a privileged hostPID pod sees host processes, BTF, and its
# node's containerd through the socket named by the node's swoll.dev/cri-socket annotation. Leaves nothing.
source "$(dirname "$0")/lib-cluster.sh"
require_root "smoke"
eval "$("$E2E_DIR/cluster-env.sh")"
ns=swoll-smoke
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # DESCRIPTION CMD...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

kubectl_quiet() { kubectl "$@" >/dev/null; }

# An image with crictl, to talk to the node's containerd from inside a pod.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kubectl delete ns $ns --wait=false >/dev/null 2>&1' EXIT
go build -o "$tmp/mkimage" "$ROOT/hack/mkimage"
"$tmp/mkimage" -o "$tmp/cri.tar" -t localhost/swoll-e2e/smoke-cri:v1 -entrypoint "/bin/sleep 3600" \
  -link /bin/sh=busybox -link /bin/sleep=busybox -link /bin/ls=busybox -link /bin/ps=busybox -link /bin/cat=busybox -link /bin/test=busybox \
  /bin/busybox=/bin/busybox "/bin/crictl=$CLUSTER_BIN/crictl"
"$E2E_DIR/load-image.sh" "$tmp/cri.tar"

kubectl create ns $ns >/dev/null
wait_for "default serviceaccount" 30 kubectl -n $ns get sa default
for n in $SWOLL_NODES; do
  check "node $n Ready" node_ready "$n"
  sock=$(kubectl get node "$n" -o jsonpath='{.metadata.annotations.swoll\.dev/cri-socket}')
  check "node $n annotated with its CRI socket ($sock)" test -S "$sock"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web-$n, namespace: $ns, labels: {app: web}}
spec:
  nodeSelector: {kubernetes.io/hostname: $n}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: web, image: $E2E_IMAGE_WEBSERVER, imagePullPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: tracer-$n, namespace: $ns}
spec:
  nodeName: $n
  hostPID: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: tracer
    image: localhost/swoll-e2e/smoke-cri:v1
    imagePullPolicy: Never
    securityContext: {privileged: true}
    volumeMounts:
    - {name: btf, mountPath: /sys/kernel/btf, readOnly: true}
    - {name: cri, mountPath: $(dirname "$sock")}
  volumes:
  - {name: btf, hostPath: {path: /sys/kernel/btf}}
  - {name: cri, hostPath: {path: $(dirname "$sock")}}
YAML
done
for n in $SWOLL_NODES; do
  check "webserver and tracer pods Ready on $n" kubectl_quiet -n $ns wait --for=condition=Ready "pod/web-$n" "pod/tracer-$n" --timeout=60s
  check "web-$n scheduled on $n" test "$(kubectl -n $ns get pod "web-$n" -o jsonpath='{.spec.nodeName}')" = "$n"
  out=$(kubectl -n $ns exec "web-$n" -- wget -qO- "localhost:8080/open?path=/etc/hostname")
  check "webserver on $n opens files on request ($out)" test "$out" = "web-$n"
  out=$(echo "hello $n" | kubectl -n $ns exec -i "tracer-$n" -- cat)
  check "kubectl exec -i on $n" test "$out" = "hello $n"
  check "tracer on $n sees /sys/kernel/btf/vmlinux" kubectl -n $ns exec "tracer-$n" -- test -r /sys/kernel/btf/vmlinux
  check "tracer on $n (hostPID) sees host processes" sh -c "kubectl -n $ns exec tracer-$n -- ps | grep -q '[k]ubelet'"
  sock=$(kubectl get node "$n" -o jsonpath='{.metadata.annotations.swoll\.dev/cri-socket}')
  pods=$(kubectl -n $ns exec "tracer-$n" -- crictl -r "unix://$sock" ps -o json 2>/dev/null |
    sed -n 's/.*"io.kubernetes.pod.name": "\([^"]*\)".*/\1/p' | sort -u)
  others=$(for o in $SWOLL_NODES; do [ "$o" = "$n" ] || echo "web-$o"; done)
  check "tracer on $n reaches its node's containerd: it sees web-$n and not $(echo $others)" \
    sh -c "echo '$pods' | grep -qx 'web-$n' && ! echo '$pods' | grep -qxF '$others'"
done
kubectl delete ns $ns --timeout=60s >/dev/null && ok "namespace deleted" || bad "namespace deletion"
echo "smoke: $pass passed, $fail failed"
[ $fail = 0 ]
