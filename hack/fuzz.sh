#!/usr/bin/env bash
# Short fuzzing of the ring-buffer record parser: it must never panic nor read out of bounds, whatever the
# kernel (or a bug) hands it. FUZZTIME=1m hack/fuzz.sh for a longer run.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime "${FUZZTIME:-25s}" ./nodeagent/record/ 2>&1 | tee "$OUT/fuzz.log"
