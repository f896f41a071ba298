#!/usr/bin/env bash
# Only the tests that load real BPF programs; they fail (never skip) without root.
source "$(dirname "$0")/lib.sh"
require_root "make test-root"
cd "$ROOT"
export SWOLL_REQUIRE_ROOT=1
go test -count=1 -v -timeout 10m ./nodeagent/... ./bpf/... 2>&1 | tee "$OUT/root.log" | grep -E '^(\s*--- (FAIL|SKIP)|FAIL|ok|panic)' || true
! grep -qE '^(FAIL|panic:|--- FAIL)' "$OUT/root.log" || die "root tests failed (log: $OUT/root.log)"
