#!/usr/bin/env bash
# run.sh (`make e2e`): the end-to-end suite (test/e2e) against the real local two-node cluster.
#
# Builds what a release ships for this host (make dist: the agent image index, the plugin archive, plugins.yaml;
# the plugin defaults to the agent image by digest) and installs the plugin binary as bin/kubectl-swoll, brings the
# cluster up unless a healthy one runs, pushes the agent image to the cluster's registry (the nodes pull it from
# there by digest, as a user's nodes would), loads the workload images into every node, and runs
# `go test -tags e2e` against the shipped binary. Output: _output/e2e.log (hack/test.sh counts its --- PASS/---
# FAIL lines); a failing test names its artifacts folder under _output/e2e-artifacts/. The cluster is torn down
# at the end when this script started it, or always when CI=true. It never skips: no root or no cluster is a failure.
#
# `run.sh --prepare` stops after loading the images and leaves the cluster running (hack/demo.sh uses it).
#
# Env: E2E_TESTS=regexp (go test -run), E2E_PARALLEL (default 8), E2E_TIMEOUT (default 20m), KEEP_CLUSTER=1;
# E2E_RACE=0 skips the second pass of E2E_RACE_TESTS with a race-built plugin (it runs after a whole suite);
# for hack/e2e/bench.sh: E2E_TAGS (default e2e), E2E_LOG (default _output/e2e.log), E2E_IMAGES (more tarballs).
source "$(dirname "$0")/lib-cluster.sh"
require_root "make e2e"
cd "$ROOT"
SECONDS=0
prepare_only=false
[ "${1:-}" = --prepare ] && prepare_only=true

export VERSION=${VERSION:-$("$ROOT/hack/version.sh")}
host=$(go env GOOS)/$(go env GOARCH)
# A clean checkout's version names its source: a dist of it (make krew-check makes one in make test) is reused.
# Otherwise only this host's archive is built: the suite installs that one.
if [[ $VERSION != *-dirty ]] && [ "$(cat "$OUT/dist/version" 2>/dev/null)" = "$VERSION" ]; then
  stamp "reusing _output/dist of $VERSION"
else
  stamp "building the agent image and the $host plugin archive ($VERSION)"
  DIST_PLATFORMS=$host make -s dist || die "make dist failed"
fi
plugin=$OUT/dist/bin/${host/\//_}/kubectl-swoll
install -D -m 0755 "$plugin" "${BIN:-$ROOT/bin}/kubectl-swoll" # what make demo runs through kubectl

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
for tar in ${E2E_IMAGES:-}; do
  make -s load-image IMAGE="$tar" || die "loading $tar into the nodes failed"
done
stamp "pushing the agent image to the cluster registry"
pushed=$("$ROOT/hack/push-image.sh" "$(agent_registry)") || die "pushing the agent image to $REGISTRY_ADDR failed"
agent_image=$(cat "$OUT/dist/agent-image")
[ "${pushed#*@}" = "${agent_image#*@}" ] || die "pushed $pushed, but the plugin schedules $agent_image: rerun make dist"
stamp "pushed $pushed; the nodes pull $agent_image from it"
[ "$prepare_only" = false ] || { stamp "cluster ready, images loaded"; exit 0; }

eval "$("$E2E_DIR/cluster-env.sh")"
export SWOLL_PLUGIN=$plugin SWOLL_E2E_ARTIFACTS=$OUT/e2e-artifacts SWOLL_DIST=$OUT/dist \
  SWOLL_REGISTRY_LOG=$CLUSTER_LOGS/registry.log
SWOLL_KREW=$(go_tool krew "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION") || die "building krew failed"
export SWOLL_KREW
# the sessions the race-built plugin runs: several agents, a replica added mid-session, a stop, a kill
E2E_RACE_TESTS=${E2E_RACE_TESTS:-'^(TestTwoNodesOneStream|TestReplicaAddedMidSession|TestStopLeavesNothing|TestPluginKilled|TestConcurrentSessions)$'}
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

# One more pass with a race-built plugin: the sessions' goroutines (watches, exec streams, merge loop,
# teardown) under the race detector against the real cluster. GORACE writes each report to a file: any file, or
# a failed test, fails the run. Only for the whole suite (not with E2E_TESTS), unless E2E_RACE=0.
if [ $rc -eq 0 ] && [ -z "${E2E_TESTS:-}" ] && [ "${E2E_RACE:-1}" = 1 ]; then
  command -v gcc >/dev/null || apt_install gcc libc6-dev
  race_dir=$OUT/e2e-race
  rm -rf "$race_dir" && mkdir -p "$race_dir"
  agent_image=$(cat "$OUT/dist/agent-image")
  CGO_ENABLED=1 go build -race -ldflags "-X $VERSION_PKG.Version=$VERSION -X $VERSION_PKG.AgentImageRepo=${agent_image%@*} \
    -X $VERSION_PKG.AgentImageDigest=${agent_image#*@}" -o "$race_dir/kubectl-swoll" ./cmd/kubectl-swoll ||
    die "building the race-enabled plugin failed"
  race_log=$OUT/e2e-race.log
  stamp "race-built plugin: go test -run '$E2E_RACE_TESTS' (log: $race_log)"
  SWOLL_PLUGIN=$race_dir/kubectl-swoll GORACE="log_path=$race_dir/report" \
    go test -tags "${E2E_TAGS:-e2e}" -v -count=1 -timeout 10m -parallel "${E2E_PARALLEL:-8}" -run "$E2E_RACE_TESTS" \
    ./test/e2e/... >"$race_log" 2>&1 || rc=$?
  grep -E '^\s*--- (PASS|FAIL)' "$race_log" | sed 's/^/race: /' || true
  if compgen -G "$race_dir/report*" >/dev/null; then
    log "the race detector reported (first report below; all in $race_dir)"
    head -n 60 "$(compgen -G "$race_dir/report*" | head -n 1)" >&2
    rc=1
  fi
  if ! grep -qE '^\s*--- PASS' "$race_log"; then
    log "no test ran with the race-built plugin: E2E_RACE_TESTS ($E2E_RACE_TESTS) matches nothing"
    rc=1
  fi
  stamp "e2e with a race-built plugin: $(grep -cE '^\s*--- PASS' "$race_log") passed, $(grep -cE '^\s*--- FAIL' "$race_log") failed"
fi
if [ $rc -ne 0 ]; then
  grep -qE '^\s*--- FAIL' "$e2e_log" || tail -n 20 "$e2e_log" # a build error or a failed TestMain says why here
  die "e2e tests failed (log: $e2e_log, artifacts: $SWOLL_E2E_ARTIFACTS)"
fi
