#!/usr/bin/env bash
# Regenerates the bpf2go output in bpf/ from bpf/probe.c and bpf/count.c (both little-endian targets: amd64
# and arm64).
#   hack/generate.sh          rewrite the committed files
#   hack/generate.sh --check  regenerate into a temporary copy and fail when it differs from what is committed
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

CLANG=clang-14
STRIP=llvm-strip-14
if ! command -v "$CLANG" >/dev/null || ! command -v "$STRIP" >/dev/null || [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  apt_install clang-14 llvm-14 libbpf-dev
fi

# generate DIR: runs bpf2go with DIR as the package directory. The sources are compiled from inside DIR with
# relative paths so that nothing about the checkout's location ends up in the objects.
generate() {
  local dir=$1
  local obj
  for obj in Probe:probe.c Count:count.c; do
    (cd "$dir" && go tool bpf2go -cc "$CLANG" -strip "$STRIP" -target amd64,arm64 -go-package bpf \
        "${obj%%:*}" "${obj#*:}" -- -O2 -Wall -Werror -I. -I/usr/include) >&2
  done
}

if [ "${1:-}" = --check ]; then
  # A copy inside the module, so that `go tool` resolves the pinned bpf2go.
  work=$ROOT/_output/generate-check
  rm -rf "$work"; mkdir -p "$work"
  trap 'rm -rf "$work"' EXIT
  cp bpf/*.c bpf/*.h "$work"/
  generate "$work"
  status=0
  for f in "$work"/probe_* "$work"/count_*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "bpf/$name"; then
      echo "bpf/$name differs from what hack/generate.sh produces" >&2; status=1
    fi
  done
  for f in bpf/probe_* bpf/count_*; do
    [ -e "$work/$(basename "$f")" ] || { echo "$f is not produced by hack/generate.sh" >&2; status=1; }
  done
  [ $status -eq 0 ] || die "generated BPF code is stale: run make generate and commit the result"
  log "generated BPF code is up to date"
  exit 0
fi

generate bpf
log "regenerated bpf/{probe,count}_{x86,arm64}_bpfel.{go,o}"
