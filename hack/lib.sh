# Sourced by hack/*.sh: shared settings and helpers. Keep it small.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Tools and binaries that outlive a checkout are cached here, keyed by version inside.
export SWOLL_CACHE=${SWOLL_CACHE:-/var/cache/swoll}
export GOFLAGS=${GOFLAGS:--trimpath -buildvcs=false}
OUT=$ROOT/_output
mkdir -p "$OUT"

GOLANGCI_LINT_VERSION=v2.15.0
# krew (built as a tool, never a library): validate-krew-manifest for the manifests, krew for the install test.
KREW_VERSION=v0.4.3
# Where kubectl runs: every platform the plugin is built for (cross.sh) and listed in the krew manifests.
PLUGIN_PLATFORMS=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
# Where the agent runs: the platforms of its image index.
AGENT_PLATFORMS=(linux/amd64 linux/arm64)
# The agent image's repository (internal/version.AgentImageRepo has the same default; a unit test keeps them equal).
AGENT_REPO=${AGENT_REPO:-ghcr.io/swoll-dev/swoll-agent}
VERSION_PKG=github.com/swoll-dev/swoll/internal/version

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: installs the Debian packages that are not installed yet.
apt_install() {
  local need=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to install: ${need[*]}"
  log "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# go_tool NAME MODULE/PATH@VERSION: prints the path of a Go tool built once into the cache.
go_tool() {
  local name=$1 pkg=$2 dir
  dir=$SWOLL_CACHE/tools/$(echo "${pkg#*@}" | tr '/' '_')-$(go env GOVERSION)
  if [ ! -x "$dir/$name" ]; then
    log "installing $pkg"
    mkdir -p "$dir"
    GOBIN=$dir CGO_ENABLED=0 go install "$pkg" >&2
  fi
  echo "$dir/$name"
}

require_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (it loads BPF programs / runs a cluster); run it as root"; }
