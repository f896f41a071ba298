#!/usr/bin/env bash
# `make krew-check`: the krew manifests and the archives they describe, checked with krew itself (built as a tool
# from the Go module proxy, never a library here).
#   1. make dist: the archives, SHA256SUMS and _output/dist/plugins.yaml (.krew.yaml rendered as the bot does);
#   2. validate-krew-manifest on that rendering and on the committed plugins.yaml (-skip-install: it would download
#      the release URIs; step 4 installs instead);
#   3. every archive matches SHA256SUMS and the sha256 plugins.yaml gives its URI, and every platform is listed;
#   4. `krew install --manifest --archive` of every platform's archive into a scratch KREW_ROOT (KREW_OS/KREW_ARCH
#      pick the platform): krew checks the sha256, unpacks the files the manifest lists and links the binary.
# The committed plugins.yaml being the template's rendering is a unit test (hack/distpack).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
validate=$(go_tool validate-krew-manifest "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION")
krew=$(go_tool krew "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION")
dist=${DIST_DIR:-$OUT/dist}
"$ROOT/hack/dist.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The validator wants the file named after the plugin (metadata.name).
mkdir -p "$tmp/dist" "$tmp/committed"
cp "$dist/plugins.yaml" "$tmp/dist/swoll.yaml"
cp plugins.yaml "$tmp/committed/swoll.yaml"
for m in dist committed; do
  "$validate" -manifest "$tmp/$m/swoll.yaml" -skip-install || die "$m plugins.yaml is not a valid krew manifest"
done

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || die "an archive does not match $dist/SHA256SUMS"
# uri/sha256 pairs of the rendered manifest, in order
mapfile -t pairs < <(awk '$1 == "uri:" { u = $2 } $1 == "sha256:" { print u, $2 }' "$dist/plugins.yaml")
[ ${#pairs[@]} -eq ${#PLUGIN_PLATFORMS[@]} ] || die "$dist/plugins.yaml has ${#pairs[@]} platforms, want ${#PLUGIN_PLATFORMS[@]}"
for pair in "${pairs[@]}"; do
  read -r uri sum <<<"$pair"
  got=$(sha256sum "$dist/${uri##*/}" | cut -d' ' -f1) || die "no archive for $uri"
  [ "$got" = "$sum" ] || die "${uri##*/}: sha256 $got, plugins.yaml says $sum"
done
for m in "$tmp/dist/swoll.yaml" "$tmp/committed/swoll.yaml"; do
  for p in "${PLUGIN_PLATFORMS[@]}"; do
    grep -q "_${p%/*}_${p#*/}\." "$m" || die "$(basename "$(dirname "$m")") manifest lacks $p"
  done
done

for p in "${PLUGIN_PLATFORMS[@]}"; do
  os=${p%/*} arch=${p#*/} exe=
  [ "$os" = windows ] && exe=.exe
  archive=$(ls "$dist"/kubectl-swoll_*_"${os}_$arch".*)
  root=$tmp/krew-$os-$arch
  KREW_ROOT=$root KREW_OS=$os KREW_ARCH=$arch KREW_NO_UPGRADE_CHECK=1 \
    "$krew" install --manifest="$dist/plugins.yaml" --archive="$archive" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; die "krew install of ${archive##*/} failed"; }
  store=$(echo "$root"/store/swoll/v*)
  for f in "kubectl-swoll$exe" LICENSE kubectl_complete-swoll$([ "$os" = windows ] && echo .cmd); do
    [ -f "$store/$f" ] || die "krew installed ${archive##*/} without $f"
  done
  [ -e "$root/bin/kubectl-swoll$exe" ] || die "krew did not link kubectl-swoll$exe for $p"
done
log "krew manifests: valid; ${#pairs[@]} archives match SHA256SUMS and plugins.yaml; krew installs each platform"
