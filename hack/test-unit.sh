#!/usr/bin/env bash
# Unit tests and root tests of every package except the end-to-end suite. As root, tests that load BPF run
# too, and must not skip (SWOLL_REQUIRE_ROOT=1 turns a missing privilege into a failure).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
if [ "$(id -u)" = 0 ]; then export SWOLL_REQUIRE_ROOT=1; fi
pkgs=$(go list ./... | grep -v /test/e2e)
go test -count=1 -v -timeout 15m $pkgs 2>&1 | tee "$OUT/unit.log" | grep -E '^(\s*--- (FAIL|SKIP)|FAIL|ok|panic)' || true
! grep -qE '^(FAIL|panic:|--- FAIL)' "$OUT/unit.log" || die "unit tests failed (log: $OUT/unit.log)"
