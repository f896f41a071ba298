#!/usr/bin/env bash
# The plugin runs wherever kubectl runs: it must build for darwin and windows, and must never depend on the
# agent's linux-only packages (cilium/ebpf, cri-api).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
for target in "${PLUGIN_PLATFORMS[@]}"; do
  GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./cmd/kubectl-swoll
done
GOOS=linux GOARCH=arm64 go build -o /dev/null ./cmd/swoll-agent
for os in linux darwin windows; do
  deps=$(GOOS=$os go list -deps ./cmd/kubectl-swoll)
  if echo "$deps" | grep -E '^(github.com/cilium/ebpf|k8s.io/cri-api)(/|$)'; then
    die "kubectl-swoll ($os) depends on a linux-only agent package (listed above)"
  fi
done
log "cross: plugin builds for linux, darwin, windows without agent-only packages"
