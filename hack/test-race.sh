#!/usr/bin/env bash
# go test -race over every package with in-process concurrency: the Go API, the plugin's engine, the agent, the shared
# packages and the test helpers (the end-to-end suite drives binaries and is left out). The race detector needs
# cgo, so this run, unlike the others, has CGO_ENABLED=1 (and a C compiler). As root, the agent's BPF tests run
# under the detector too, in -short's grid (internal/testutil/grid: one program variant per test, in turn): the
# detector looks at the Go code, which is the same for every variant, and the unit stage runs them all.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
command -v gcc >/dev/null || apt_install gcc libc6-dev
export CGO_ENABLED=1
if [ "$(id -u)" = 0 ]; then export SWOLL_REQUIRE_ROOT=1; fi
pkgs=$(go list ./client/... ./plugin/... ./nodeagent/... ./event/... ./render/... ./protocol/... ./syscalls/... ./internal/...)
go test -race -short -count=1 -timeout 20m $pkgs 2>&1 | tee "$OUT/race.log" | grep -E '^(FAIL|ok|panic|WARNING: DATA RACE)' || true
! grep -qE '^(FAIL|panic:|--- FAIL|WARNING: DATA RACE)' "$OUT/race.log" || die "race tests failed (log: $OUT/race.log)"
log "race: ok"
