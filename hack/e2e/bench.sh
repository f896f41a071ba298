#!/usr/bin/env bash
# bench.sh (`make bench-e2e`): through the real plugin and the local cluster, the time from command start to the
# first event (target <= 3 s), and per node the events/s delivered to the plugin's stdout and lost with the workload
# paced at 100k, 250k and 500k calls/s and flat out, with the bytes per event the plugin read from the API server
# (target: 250k events/s with 0 lost; where the workload cannot make 250k calls/s while traced, flat out lossless).
# Every event the plugin received is on stdout or reported dropped by the plugin (else it is a silent loss).
# Each framing of the exec stream (JSON lines, the binary framing without and with zstd) is measured in the same run;
# E2E_BENCH_FRAMINGS="default" (the plugin's choice) or a list of framing names measures those instead. The traced workload
# is test/workloads/syscall-loop (getppid in a loop, paced or flat out), packed here into
# localhost/swoll-e2e/syscall-loop:v1. Prints a table; it is also kept in _output/bench-e2e.txt. Same preparation
# and cluster handling as `make e2e` (hack/e2e/run.sh).
source "$(dirname "$0")/lib-cluster.sh"
require_root "make bench-e2e"
cd "$ROOT"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 GOOS=linux go build -ldflags='-s -w' -o "$tmp/" ./hack/mkimage ./test/workloads/syscall-loop
mkdir -p "$OUT/images"
"$tmp/mkimage" -o "$OUT/images/syscall-loop.tar" -t "$(image_ref syscall-loop)" -entrypoint /syscall-loop \
  "/syscall-loop=$tmp/syscall-loop"

rm -f "$OUT/bench-e2e.txt"
E2E_TAGS=e2e,e2ebench E2E_TESTS='^TestBenchE2E$' E2E_LOG=$OUT/bench-e2e.log E2E_IMAGES=$OUT/images/syscall-loop.tar \
  E2E_TIMEOUT=15m "$E2E_DIR/run.sh"
cat "$OUT/bench-e2e.txt"
