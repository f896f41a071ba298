#!/usr/bin/env bash
# Prints the version builds stamp in. krew manifests and image tags need a semver: a release tag and git describe's
# tag-N-gHASH[-dirty] are one already; a checkout without tags gets v0.0.0-gHASH[-dirty]. `make VERSION=…` overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
d=$(git describe --tags --always --dirty 2>/dev/null || true)
if [[ $d =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
  echo "$d"
elif [[ $d =~ ^[0-9a-f]+(-dirty)?$ ]]; then
  echo "v0.0.0-g$d"
else
  echo "v0.0.0-dev"
fi
