#!/usr/bin/env bash
# gofmt, go vet and a pinned golangci-lint, for every OS the binaries build for.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bad=$(git ls-files -co --exclude-standard '*.go' | xargs -r gofmt -l)
[ -z "$bad" ] || die "gofmt would change: $bad"
go vet ./...
go vet -tags e2e,e2ebench ./test/e2e/ # the end-to-end suite only builds with its tags
GOOS=darwin go vet ./cmd/kubectl-swoll/... ./plugin/... ./event/... ./render/... ./protocol/... ./syscalls/...
lint=$(go_tool golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION)
"$lint" run --allow-parallel-runners --timeout 10m --build-tags e2e,e2ebench ./...
log "lint: ok"
