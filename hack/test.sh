#!/usr/bin/env bash
# Everything CI runs, in order of cost. Prints one summary line per stage and a closing "N passed, N failed".
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
require_root "make test"
rm -f "$OUT"/*.log
stages=(lint verify cross generate-check krew-check unit race fuzz test-kernels e2e)
passed=0; failed=0; failures=()
for s in "${stages[@]}"; do
  start=$SECONDS
  if make -s "$s"; then
    passed=$((passed + 1)); log "stage $s: PASS ($((SECONDS - start))s)"
  else
    failed=$((failed + 1)); failures+=("$s"); log "stage $s: FAIL ($((SECONDS - start))s)"
  fi
done
# go test's own verdicts, counted over every log the stages wrote
tests_pass=$(cat "$OUT"/*.log 2>/dev/null | grep -cE '^\s*--- PASS' || true)
tests_fail=$(cat "$OUT"/*.log 2>/dev/null | grep -cE '^\s*--- FAIL' || true)
[ $failed -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "stages: $passed passed, $failed failed"
echo "tests: $tests_pass passed, $tests_fail failed"
[ $failed -eq 0 ] && [ "$tests_fail" -eq 0 ]
