#!/usr/bin/env bash
# Short fuzzing of what handles untrusted bytes: the ring-buffer record parser (whatever the kernel, or a bug,
# hands it), the JSON encoder (always valid JSON), every struct decoder, and the strace-style renderer (one line
# per event).
# Each target runs a fixed number of inputs (5-15 s on CI's machine), not for a wall-clock time: with a time,
# Go 1.26's fuzz coordinator can fail a target that found nothing with a bare "context deadline exceeded" when
# its workers are starved at the deadline (golang/go#75804, fixed in Go 1.27), as on a busy two-core machine.
# FUZZTIME=1m hack/fuzz.sh (or 2000000x) for longer runs, every target alike.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
: > "$OUT/fuzz.log"
for target in FuzzParse:./nodeagent/record/:300000x FuzzAppendJSON:./nodeagent/decode/:15000x \
  FuzzStructDecoders:./nodeagent/decode/:40x FuzzAppendEvent:./render/:100000x; do
  IFS=: read -r name pkg budget <<<"$target"
  go test -run '^$' -fuzz "^$name\$" -fuzztime "${FUZZTIME:-$budget}" "$pkg" 2>&1 | tee -a "$OUT/fuzz.log"
done
