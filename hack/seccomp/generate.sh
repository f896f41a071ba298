#!/usr/bin/env bash
# Regenerates the pinned seccomp data swoll commits (run it after moving a version; CI does not run it):
#   plugin/seccomp/runtimedefault/{amd64,arm64}.json   containerd's default profile (kubectl swoll check seccomp
#                                                      runtime/default), from the containerd module pinned in
#                                                      hack/seccomp/containerd/go.mod: the version the local
#                                                      e2e cluster runs (containerd --version)
#   test/e2e/testdata/spo-seccompprofile-crd.yaml      the Security Profiles Operator's SeccompProfile CRD, from
#                                                      the module pinned in hack/seccomp/spo/go.mod
# containerd's DefaultProfile reads runtime.GOARCH, so the arm64 file comes from an arm64 build of the
# generator run under qemu-aarch64 (Debian's qemu-user; it registers no binfmt handler).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false" CGO_ENABLED=0

gen=hack/seccomp/containerd
version=$(cd "$gen" && go list -m -f '{{.Version}}' github.com/containerd/containerd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for arch in amd64 arm64; do
  (cd "$gen" && GOARCH=$arch go build -o "$tmp/gen-$arch" .)
  run=("$tmp/gen-$arch")
  if [ "$arch" != "$(go env GOHOSTARCH)" ]; then
    command -v qemu-aarch64 >/dev/null || apt_install qemu-user
    run=(qemu-aarch64 "${run[@]}")
  fi
  # containerd's platform detection complains on stderr under qemu; the profile does not depend on it
  "${run[@]}" -version "$version" >"$tmp/$arch.json" 2>"$tmp/$arch.err" || { cat "$tmp/$arch.err" >&2; die "generating $arch"; }
  mv "$tmp/$arch.json" "plugin/seccomp/runtimedefault/$arch.json"
  log "runtime/default: containerd $version $arch"
done

spo=hack/seccomp/spo
mod=sigs.k8s.io/security-profiles-operator
dir=$(cd "$spo" && go mod download -json "$mod" | jq -r .Dir)
spoVersion=$(cd "$spo" && go list -m -f '{{.Version}}' "$mod")
crd=deploy/base-crds/crds/seccompprofile.yaml
{
  echo "# $mod $spoVersion $crd, copied by hack/seccomp/generate.sh; do not edit"
  cat "$dir/$crd"
} >test/e2e/testdata/spo-seccompprofile-crd.yaml
log "SPO SeccompProfile CRD: $spoVersion"
