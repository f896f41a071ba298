#!/usr/bin/env bash
# `make dist`: what a release publishes, reproducibly, into _output/dist (DIST_DIR):
#   kubectl-swoll_<version>_<os>_<arch>.tar.gz (.zip on windows) for linux, darwin, windows × amd64, arm64, each
#     holding kubectl-swoll, the kubectl_complete-swoll completion shim and LICENSE;
#   SHA256SUMS; plugins.yaml (.krew.yaml rendered the way krew-release-bot does, with these archives' sha256);
#   agent-image (the image reference the plugins schedule), version, and bin/<os>_<arch>/ (the binaries unpacked).
# The agent image index is built first (hack/image.sh): its digest is known before any push, and every plugin is
# stamped with $AGENT_REPO@<digest>, so a plugin and the agent it runs cannot drift apart. Publish the image with
# `make push-image REGISTRY=…` and the archives at the release URLs .krew.yaml names.
# Env: VERSION (default hack/version.sh; a release: VERSION=v0.1.0), AGENT_REPO, DIST_DIR, DIST_PLATFORMS (a
# subset such as "linux/amd64", for tests: plugins.yaml then lists only those).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
SECONDS=0
VERSION=${VERSION:-$("$ROOT/hack/version.sh")}
export VERSION
[[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "VERSION=$VERSION: krew needs a semantic version (v1.2.3[-pre])"
dist=${DIST_DIR:-$OUT/dist}

"$ROOT/hack/image.sh"
digest=$(cat "$OUT/images/swoll-agent.digest")
image=$AGENT_REPO@$digest

rm -rf "$dist"
mkdir -p "$dist/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/distpack" ./hack/distpack
ldflags="-s -w -X $VERSION_PKG.Version=$VERSION -X $VERSION_PKG.AgentImageRepo=$AGENT_REPO -X $VERSION_PKG.AgentImageDigest=$digest"
read -r -a platforms <<<"${DIST_PLATFORMS:-${PLUGIN_PLATFORMS[*]}}"
partial=()
[ "${platforms[*]}" = "${PLUGIN_PLATFORMS[*]}" ] || partial=(-partial)
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/} exe= shim=kubectl_complete-swoll ext=tar.gz
  [ "$os" = windows ] && exe=.exe shim=kubectl_complete-swoll.cmd ext=zip
  bin=$dist/bin/${os}_$arch
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -ldflags "$ldflags" -o "$bin/kubectl-swoll$exe" ./cmd/kubectl-swoll
  "$tmp/distpack" archive -o "$dist/kubectl-swoll_${VERSION}_${os}_$arch.$ext" "kubectl-swoll$exe=$bin/kubectl-swoll$exe" \
    "$shim=cmd/kubectl-swoll/$shim" "LICENSE=LICENSE"
done
(cd "$dist" && sha256sum kubectl-swoll_* >SHA256SUMS)
"$tmp/distpack" manifest -template .krew.yaml -tag "$VERSION" -dir "$dist" ${partial[@]+"${partial[@]}"} >"$dist/plugins.yaml"
echo "$image" >"$dist/agent-image"
echo "$VERSION" >"$dist/version" # last: a dist with this file is complete

log "dist $VERSION in ${SECONDS}s -> $dist (agent image $image)"
for f in "$dist"/kubectl-swoll_*; do
  awk -v n="${f##*/}" -v s="$(stat -c %s "$f")" 'BEGIN { printf "  %-48s %6.1f MiB\n", n, s / 1048576 }' >&2
done
