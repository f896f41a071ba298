#!/usr/bin/env bash
# Validates the krew manifests with krew's own validator, built as a tool (krew is never a library here):
#   .krew.yaml   the release template (krew-release-bot fills {{ .TagName }} and {{addURIAndSha ...}}), checked
#                after substituting a version and a placeholder uri/sha256 the way the bot would;
#   plugins.yaml the concrete manifest.
# -skip-install: the release archives do not exist here; everything else the validator checks still runs.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
validate=$(go_tool validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The validator requires the file to be named after the plugin (metadata.name).
mkdir -p "$tmp/template" "$tmp/concrete"
# a well-formed digest (sha256 of nothing): the validator checks the format, and there is no archive to hash
digest=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
perl -pe 's/\{\{\s*addURIAndSha\s+"([^"]+)"\s+\.TagName\s*\}\}/uri: $1\n    sha256: '"$digest"'/; s/\{\{\s*\.TagName\s*\}\}/v0.0.0-check/g' \
  .krew.yaml >"$tmp/template/swoll.yaml"
if grep -n '{{' "$tmp/template/swoll.yaml"; then
  die ".krew.yaml: template placeholders left after substitution (lines above)"
fi
cp plugins.yaml "$tmp/concrete/swoll.yaml"

"$validate" -manifest "$tmp/template/swoll.yaml" -skip-install || die ".krew.yaml (templated) is not a valid krew manifest"
"$validate" -manifest "$tmp/concrete/swoll.yaml" -skip-install || die "plugins.yaml is not a valid krew manifest"

# Every platform the plugin is built for must be in both manifests.
for m in "$tmp/template/swoll.yaml" "$tmp/concrete/swoll.yaml"; do
  for p in "${PLUGIN_PLATFORMS[@]}"; do
    grep -q "_${p%/*}_${p#*/}\." "$m" || die "$(basename "$(dirname "$m")") manifest lacks $p"
  done
done
log "krew manifests: ok"
