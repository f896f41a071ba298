# swoll — every target is a thin wrapper around a script in hack/ so that CI, people and tests run the same thing.
SHELL := /bin/bash
.DEFAULT_GOAL := build

VERSION ?= $(shell hack/version.sh)
LDFLAGS := -s -w -X github.com/swoll-dev/swoll/internal/version.Version=$(VERSION)$(if $(AGENT_DIGEST), -X github.com/swoll-dev/swoll/internal/version.AgentImageDigest=$(AGENT_DIGEST))
BIN     := $(CURDIR)/bin
export VERSION BIN
export GOFLAGS := -trimpath -buildvcs=false
export CGO_ENABLED := 0

.PHONY: build plugin agent cross generate generate-check lint verify test unit race test-root test-kernels e2e fuzz \
        cluster-up cluster-down cluster-env load-image image images bench bench-e2e demo krew-check clean

build: plugin agent ## build both binaries into bin/

plugin:
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-swoll ./cmd/kubectl-swoll

agent:
	GOOS=linux go build -ldflags '$(LDFLAGS)' -o $(BIN)/swoll-agent ./cmd/swoll-agent

cross: ## the plugin must build for every OS kubectl runs on, and never pull in linux-only packages
	hack/cross.sh

generate: ## regenerate the bpf2go output (installs a pinned clang when missing)
	hack/generate.sh

generate-check: ## fail when the committed bpf2go output does not match its sources
	hack/generate.sh --check

lint: ## gofmt, go vet, pinned golangci-lint
	hack/lint.sh

unit: ## tests that need neither root nor a cluster
	hack/test-unit.sh

race: ## go test -race over the in-process packages (cgo on for this run only)
	hack/test-race.sh

verify: ## grep rules for code patterns (contexts, watches, signals, timeouts, imports)
	hack/verify-code-patterns.sh

test-root: ## tests that load real BPF programs (root)
	hack/test-root.sh

test-kernels: ## the agent's root tests and parity workloads in VMs: Debian's 5.10, 6.1, 6.12 amd64 and 6.1 arm64 kernels
	hack/test-kernels.sh

fuzz: ## short fuzzing of the record parser
	hack/fuzz.sh

e2e: ## end-to-end tests against the local cluster (brings it up when it is not running)
	hack/e2e/run.sh

test: ## everything CI runs
	hack/test.sh

cluster-up: ## a real two-node Kubernetes on this machine
	hack/e2e/cluster-up.sh

cluster-down:
	hack/e2e/cluster-down.sh

cluster-env: ## shell assignments for the running cluster: eval "$(make -s cluster-env)"
	@hack/e2e/cluster-env.sh

load-image: ## import IMAGE=path/to/image.tar into every node's containerd
	hack/e2e/load-image.sh $(IMAGE)

image: ## the agent image index (linux/amd64+arm64, no Docker); prints its digest and per-platform sizes
	hack/image.sh

.PHONY: dist push-image
push-image: image ## push the agent image index to REGISTRY=host[:port]/path (prints repo@digest)
	hack/push-image.sh $(REGISTRY)

dist: ## plugin archives for every platform + sha256 sums + plugins.yaml, pinned to the agent image by digest
	hack/dist.sh

images: image ## the agent image and the test workload images
	hack/e2e/workload-images.sh

bench: ## syscall overhead of the agent vs strace and bpftrace; decode throughput
	hack/bench.sh

bench-e2e: ## time to first event and events/s through kubectl swoll trace
	hack/e2e/bench.sh

demo: ## the README's main job: local cluster, sample workload, kubectl swoll trace
	hack/demo.sh

krew-check: ## validate the krew manifests
	hack/krew-check.sh

clean:
	rm -rf $(BIN) _output
