#!/usr/bin/env bash
# `make image`: the agent image as a tarball, without Docker. bin/swoll-agent (static, stamped with $VERSION) is
# the only file besides the empty mount-point directories; the tag is what internal/version.AgentImage() returns
# for a binary built with the same VERSION, so the plugin schedules exactly this image.
#   output: _output/images/swoll-agent.tar   (load into the local cluster: make load-image IMAGE=<that>)
#           _output/images/swoll-agent-linux-arm64.tar with PLATFORM=linux/arm64
# Env: VERSION (from the Makefile; default git describe), PLATFORM (linux/amd64 or linux/arm64), IMAGE_OUT (path)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
PLATFORM=${PLATFORM:-linux/amd64}
BIN=${BIN:-$ROOT/bin}
TAG=ghcr.io/swoll-dev/swoll-agent:$VERSION
arch=${PLATFORM#linux/}

mkdir -p "$BIN" "$OUT/images"
agent=$BIN/swoll-agent
out=$OUT/images/swoll-agent.tar
if [ "$arch" != amd64 ]; then
  agent=$BIN/swoll-agent-linux-$arch
  out=$OUT/images/swoll-agent-linux-$arch.tar
fi
out=${IMAGE_OUT:-$out}
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build \
  -ldflags "-s -w -X github.com/swoll-dev/swoll/internal/version.Version=$VERSION" -o "$agent" ./cmd/swoll-agent
mkimage=$(mktemp -d)/mkimage
trap 'rm -rf "$(dirname "$mkimage")"' EXIT
CGO_ENABLED=0 go build -o "$mkimage" ./hack/mkimage
"$mkimage" -o "$out" -t "$TAG" -platform "$PLATFORM" -entrypoint /swoll-agent "/swoll-agent=$agent"
log "image $TAG ($PLATFORM) -> $out"
