#!/usr/bin/env bash
# Refreshes the Apache ECharts build that the chart page (plugin/report) embeds, from the npm package pinned
# below, checked against its published integrity. The result is committed (plugin/report/assets), so that
# builds and CI never need npm; run this only to move to another version (update VERSION and SHA512).
#   hack/echarts.sh          rewrite plugin/report/assets
#   hack/echarts.sh --check  fail when the committed assets differ from the pinned package
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
VERSION=6.1.0
SHA512=ab4c9a14f8200bd15476c587e1b95abd15859b176b22875b92828d02326e74023a080f6034fc47b55d917193447a9655964e32bc16243a46e4e87215a48c8764
DEST=plugin/report/assets
command -v npm >/dev/null || apt_install npm

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$VERSION" >/dev/null) || die "npm pack echarts@$VERSION failed"
tgz=$work/echarts-$VERSION.tgz
[ "$(sha512sum "$tgz" | cut -d' ' -f1)" = "$SHA512" ] || die "echarts-$VERSION.tgz does not match the pinned SHA-512"
tar -xzf "$tgz" -C "$work" package/dist/echarts.min.js package/LICENSE package/NOTICE package/licenses/LICENSE-d3
out=$work/out
mkdir -p "$out"
cp "$work/package/dist/echarts.min.js" "$out/echarts.min.js"
cat "$work/package/LICENSE" "$work/package/NOTICE" >"$out/LICENSE"
printf '\n\n========================================================================\nlicenses/LICENSE-d3:\n\n' >>"$out/LICENSE"
cat "$work/package/licenses/LICENSE-d3" >>"$out/LICENSE"
echo "$VERSION" >"$out/VERSION"

if [ "${1:-}" = --check ]; then
  for f in echarts.min.js LICENSE VERSION; do
    cmp -s "$out/$f" "$DEST/$f" || die "$DEST/$f differs from echarts@$VERSION: run hack/echarts.sh and commit the result"
  done
  log "$DEST matches echarts@$VERSION"
  exit 0
fi
mkdir -p "$DEST"
cp "$out"/* "$DEST"/
log "wrote $DEST from echarts@$VERSION"
