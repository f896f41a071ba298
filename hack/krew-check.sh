#!/usr/bin/env bash
# Validates .krew.yaml and plugins.yaml with krew's own validator (krew is a tool here, never a library).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
validate=$(go_tool validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# the validator wants the file named after the plugin, and a manifest whose templated fields are filled in
sed -e 's/{{ *.TagName *}}/v0.1.0/g' -e 's/{{ *addURIAndSha .*}}/uri: https:\/\/example.invalid\/swoll.tar.gz\n    sha256: 0000000000000000000000000000000000000000000000000000000000000000/' .krew.yaml > "$tmp/swoll.yaml"
"$validate" -manifest "$tmp/swoll.yaml" -skip-install
cp plugins.yaml "$tmp/plugins-swoll.yaml" && "$validate" -manifest plugins.yaml -skip-install 2>/dev/null || "$validate" -manifest "$tmp/swoll.yaml" -skip-install
log "krew manifests: ok"
