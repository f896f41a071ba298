#!/usr/bin/env bash
# Short fuzzing of what handles untrusted bytes: the ring-buffer record parser (whatever the kernel, or a bug,
# hands it), the JSON encoder (always valid JSON), every struct decoder, and the strace-style renderer (one line
# per event).
# FUZZTIME=1m hack/fuzz.sh for longer runs.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
: > "$OUT/fuzz.log"
for target in FuzzParse:./nodeagent/record/ FuzzAppendJSON:./nodeagent/decode/ FuzzStructDecoders:./nodeagent/decode/ FuzzAppendEvent:./render/; do
  name=${target%%:*} pkg=${target#*:}
  go test -run '^$' -fuzz "^$name\$" -fuzztime "${FUZZTIME:-15s}" "$pkg" 2>&1 | tee -a "$OUT/fuzz.log"
done
