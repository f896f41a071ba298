#!/usr/bin/env bash
# `make push-image REGISTRY=host[:port]/path`: pushes the agent image index that `make image` built (every
# platform; digest unchanged, so plugins from `make dist` find it) to REGISTRY/swoll-agent, tags it with the
# version it was built as, checks that the registry serves the digest computed before the push, and prints
# REGISTRY/swoll-agent@sha256:…. Loopback registries are spoken to over plain HTTP; INSECURE=1 allows it for
# others. Credentials: REGISTRY_USERNAME/REGISTRY_PASSWORD, else the docker config.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
registry=${1:-${REGISTRY:-}}
[ -n "$registry" ] || die "usage: make push-image REGISTRY=host[:port]/path (pushes to REGISTRY/${AGENT_REPO##*/})"
layout=$OUT/images/swoll-agent.oci
[ -f "$layout/index.json" ] || die "no image index in $layout: run make image"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/mkimage" ./hack/mkimage
flags=(-layout "$layout")
[ "${INSECURE:-0}" = 1 ] && flags+=(-insecure)
"$tmp/mkimage" push "${flags[@]}" "${registry%/}/${AGENT_REPO##*/}"
