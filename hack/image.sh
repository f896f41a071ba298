#!/usr/bin/env bash
# `make image`: the agent image as a multi-platform index (linux/amd64, linux/arm64), without Docker. Each platform
# holds one file, the static swoll-agent stamped with $VERSION, plus empty mount-point directories. The build is
# reproducible, so the index digest is known here, before any push: `make dist` stamps it into the plugin, which
# then schedules $AGENT_REPO@<digest>; `make push-image` publishes exactly that index.
#
# Output (_output/images/):
#   swoll-agent.oci/               OCI image layout holding the index (what make push-image pushes)
#   swoll-agent.digest             the index digest, sha256:…
#   swoll-agent.tar                the linux/amd64 image as a tarball (make load-image IMAGE=…), tag $AGENT_REPO:$VERSION
#   swoll-agent-linux-arm64.tar    the same for linux/arm64
# Prints each platform's size (pulled, unpacked) and fails when one exceeds IMAGE_MAX_MIB (default 20).
# Env: VERSION (default hack/version.sh), AGENT_REPO (hack/lib.sh), IMAGE_PLATFORMS (default: both).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
VERSION=${VERSION:-$("$ROOT/hack/version.sh")}
read -r -a platforms <<<"${IMAGE_PLATFORMS:-${AGENT_PLATFORMS[*]}}"
tag=$AGENT_REPO:$VERSION
dir=$OUT/images
mkdir -p "$dir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/mkimage" ./hack/mkimage
tars=()
for p in "${platforms[@]}"; do
  arch=${p#linux/}
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -ldflags "-s -w -X $VERSION_PKG.Version=$VERSION" \
    -o "$tmp/$arch/swoll-agent" ./cmd/swoll-agent
  out=$dir/swoll-agent-linux-$arch.tar
  [ "$arch" = amd64 ] && out=$dir/swoll-agent.tar
  "$tmp/mkimage" -o "$out" -t "$tag" -platform "$p" -entrypoint /swoll-agent "/swoll-agent=$tmp/$arch/swoll-agent"
  tars+=("$out")
done
digest=$("$tmp/mkimage" index -o "$dir/swoll-agent.oci" -t "$tag" -max-mib "${IMAGE_MAX_MIB:-20}" "${tars[@]}")
echo "$digest" >"$dir/swoll-agent.digest"
log "image $AGENT_REPO@$digest ($tag) -> $dir/swoll-agent.oci"
