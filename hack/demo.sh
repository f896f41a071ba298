#!/usr/bin/env bash
# `make demo`, the README's main job: the local two-node cluster, a sample nginx-like Deployment (2 replicas,
# app=nginx, each with a traffic generator beside it), then `kubectl swoll trace -l app=nginx -s openat` for
# ~10 s through kubectl's plugin mechanism. The sample is removed afterwards; the cluster keeps running.
# Env: DEMO_DURATION (default 10s), DEMO_OUTPUT (cli or json; default cli).
source "$(dirname "$0")/e2e/lib-cluster.sh"
require_root "make demo"
cd "$ROOT"

"$E2E_DIR/run.sh" --prepare # builds bin/kubectl-swoll + agent image, cluster up, images loaded
eval "$("$E2E_DIR/cluster-env.sh")"
export PATH=$ROOT/bin:$PATH # kubectl finds the plugin (kubectl-swoll) on PATH
ns=swoll-demo

remove_sample() {
  kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=2m >/dev/null 2>&1 || true
}
trap remove_sample EXIT
remove_sample # a previous interrupted demo

log "deploying the sample: namespace $ns, deployment nginx (2 replicas, label app=nginx) with a traffic generator"
kubectl create namespace "$ns" >/dev/null
# Pods can only reach pods on their own node here (isolated bridges), so each replica carries its own traffic
# generator: a busybox loop fetching the page, which makes the web server open it.
kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 1
      # one replica per node, so the trace shows both nodes' agents at work
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: nginx}}}
      containers:
      - name: web
        image: $(image_ref webserver)
        imagePullPolicy: Never
      - name: traffic
        image: $(image_ref busybox)
        imagePullPolicy: Never
        command: [sh, -c, 'while :; do wget -q -O /dev/null http://127.0.0.1:8080/; sleep 0.5; done']
YAML
# The default ServiceAccount appears shortly after the namespace; the ReplicaSet retries until it does.
kubectl -n "$ns" rollout status deployment/nginx --timeout=2m >/dev/null || die "the sample did not start"
kubectl -n "$ns" get pods -o wide

duration=${DEMO_DURATION:-10s}
echo
echo "\$ kubectl swoll trace -n $ns -l app=nginx -s openat -o ${DEMO_OUTPUT:-cli} --duration $duration"
kubectl swoll trace -n "$ns" -l app=nginx -s openat -o "${DEMO_OUTPUT:-cli}" --duration "$duration"
echo
log "removing the sample"
remove_sample
trap - EXIT
agents=$(kubectl get pods -A -l app.kubernetes.io/name=swoll-agent --no-headers 2>/dev/null | wc -l)
log "done; agent pods left: $agents. The cluster keeps running: eval \"\$(make -s cluster-env)\" to use it, make cluster-down to stop it."
