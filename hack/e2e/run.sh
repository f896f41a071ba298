#!/usr/bin/env bash
# run.sh (`make e2e`): the end-to-end suite (test/e2e) against the real local two-node cluster.
#
# Builds bin/kubectl-swoll and the agent image with one VERSION (so the plugin's default image is the one just
# built), brings the cluster up unless a healthy one runs, loads the workload and agent images into every node,
# and runs `go test -tags e2e`. Output: _output/e2e.log (hack/test.sh counts its --- PASS/--- FAIL lines);
# a failing test names its artifacts folder under _output/e2e-artifacts/. The cluster is torn down at the end
# when this script started it, or always when CI=true. It never skips: no root or no cluster is a failure.
#
# `run.sh --prepare` stops after loading the images and leaves the cluster running (hack/demo.sh uses it).
#
# Env: E2E_TESTS=regexp (go test -run), E2E_PARALLEL (default 8), E2E_TIMEOUT (default 20m), KEEP_CLUSTER=1;
# for hack/e2e/bench.sh: E2E_TAGS (default e2e), E2E_LOG (default _output/e2e.log), E2E_IMAGES (more tarballs).
source "$(dirname "$0")/lib-cluster.sh"
require_root "make e2e"
cd "$ROOT"
SECONDS=0
prepare_only=false
[ "${1:-}" = --prepare ] && prepare_only=true

export VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
stamp "building the plugin and the agent image ($VERSION)"
make -s plugin image || die "building the plugin or the agent image failed"

started=false
if cluster_healthy 2>/dev/null; then
  stamp "reusing the running cluster"
else
  started=true
  # bounded: a first start builds Kubernetes (~5 min), but one stuck behind another run's lock must not hang CI
  timeout --kill-after=30s 30m make -s cluster-up || die "no cluster: make cluster-up failed (logs in $CLUSTER_LOGS)"
fi
teardown() {
  local rc=$?
  if [ "${KEEP_CLUSTER:-0}" != 1 ] && { [ "$started" = true ] || [ "${CI:-false}" = true ]; }; then
    stamp "tearing the cluster down"
    make -s cluster-down || true
  fi
  exit $rc
}
[ "$prepare_only" = true ] || trap teardown EXIT

images_dir=$("$E2E_DIR/workload-images.sh") || die "building the workload images failed"
for i in "${WORKLOAD_IMAGES[@]}"; do
  make -s load-image IMAGE="$images_dir/$i.tar" || die "loading $i into the nodes failed"
done
for tar in "$OUT/images/swoll-agent.tar" ${E2E_IMAGES:-}; do
  make -s load-image IMAGE="$tar" || die "loading $tar into the nodes failed"
done
[ "$prepare_only" = false ] || { stamp "cluster ready, images loaded"; exit 0; }

eval "$("$E2E_DIR/cluster-env.sh")"
export SWOLL_PLUGIN=$ROOT/bin/kubectl-swoll SWOLL_E2E_ARTIFACTS=$OUT/e2e-artifacts
rm -rf "$SWOLL_E2E_ARTIFACTS"
e2e_log=${E2E_LOG:-$OUT/e2e.log}
stamp "running go test -tags ${E2E_TAGS:-e2e} ./test/e2e (log: $e2e_log)"
rc=0
go test -tags "${E2E_TAGS:-e2e}" -v -count=1 -timeout "${E2E_TIMEOUT:-20m}" -parallel "${E2E_PARALLEL:-8}" \
  ${E2E_TESTS:+-run "$E2E_TESTS"} ./test/e2e/... >"$e2e_log" 2>&1 || rc=$?
grep -E '^\s*--- (PASS|FAIL|SKIP)|^(FAIL|ok|PASS)\b|^panic:|FAILED: ' "$e2e_log" || true
if grep -qE '^\s*--- SKIP' "$e2e_log"; then
  log "some e2e tests skipped: the suite must never skip"
  rc=1
fi
stamp "e2e: $(grep -cE '^\s*--- PASS' "$e2e_log") passed, $(grep -cE '^\s*--- FAIL' "$e2e_log") failed"
if [ $rc -ne 0 ]; then
  grep -qE '^\s*--- FAIL' "$e2e_log" || tail -n 20 "$e2e_log" # a build error or a failed TestMain says why here
  die "e2e tests failed (log: $e2e_log, artifacts: $SWOLL_E2E_ARTIFACTS)"
fi
