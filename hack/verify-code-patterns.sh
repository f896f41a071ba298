#!/usr/bin/env bash
# Grep rules for what review keeps catching (as krew's hack/verify-code-patterns.sh does). Each rule prints the
# offending lines and fails; tests, test workloads and generated code are exempt where a rule says so.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
failed=0

# rule MESSAGE PATTERN PATHSPEC...: fails when a non-test Go file under PATHSPEC matches the extended regexp.
rule() {
  local msg=$1 pattern=$2; shift 2
  local hits
  hits=$(git grep --untracked -I -nE "$pattern" -- "$@" ':(exclude)*_test.go' ':(exclude)internal/testutil/*' || true)
  if [ -n "$hits" ]; then
    echo "$hits"
    echo "verify: $msg" >&2
    failed=1
  fi
}

libs=(plugin event render protocol syscalls)

# contexts come from the caller; only main (and the agent's command) starts one
rule "context.Background()/TODO() outside cmd/: take the caller's context (context.WithoutCancel to outlive it)" \
  'context\.(Background|TODO)\(\)' "${libs[@]}" nodeagent ':(exclude)nodeagent/agentcmd/*'
# signals and SIGPIPE are process-wide: main's
rule "signal handling outside cmd/" 'signal\.(Notify|NotifyContext|Ignore|Reset)\(' \
  "${libs[@]}" nodeagent ':(exclude)nodeagent/agentcmd/*'
# watches go through client-go's RetryWatcher (plugin/kwatch) or tools/watch, never a hand-written loop
rule "a watch read by hand: use plugin/kwatch (client-go's RetryWatcher) or k8s.io/client-go/tools/watch" \
  'ResultChan\(\)' "${libs[@]}" ':(exclude)plugin/kwatch/*'
rule "a hand-written backoff: use k8s.io/apimachinery/pkg/util/wait" 'backoff \*= ?2|time\.Sleep\(' "${libs[@]}"
# timeouts are named constants
rule "a literal timeout: name it as a constant" \
  'With(Timeout|Deadline)\([^,]+, *[0-9]|time\.After\([0-9]|NewTimer\([0-9]' "${libs[@]}"
# the plugin builds for darwin and windows: never the agent's linux-only packages (hack/cross.sh checks the
# whole dependency graph; this catches it at the import)
rule "the plugin imports a linux-only agent package" \
  '"(github\.com/cilium/ebpf|k8s\.io/cri-api)' "${libs[@]}" cmd/kubectl-swoll
rule "the plugin imports the agent" '"github\.com/swoll-dev/swoll/(nodeagent|bpf)' "${libs[@]}" cmd/kubectl-swoll
# the event line and its framing are both sides': the agent renders the parts, the plugin joins them
rule "the event line or its framing imports the agent" '"github\.com/swoll-dev/swoll/(nodeagent|bpf)' eventline wire
# what reaches a terminal is escaped by package render; Go's %q is not strace's quoting
rule "the event schema imports the renderer (event is the schema only)" '"github\.com/swoll-dev/swoll/render"' event
# an argument type is described once: syscalls' argInfos (capture, direction, printing) and the decoder's
# argDecoders (rendering), not a switch arm per file
rule "a switch on argument types: describe the type in syscalls/argtypes.go and nodeagent/decode/argtypes.go" \
  'case (syscalls\.)?Arg[A-Z][A-Za-z]*[,:]' "${libs[@]}" nodeagent cmd

# the names runtimes and the kubelet give cgroups are listed once, in nodeagent/cgroups/layout.go
rule "a cgroup name pattern outside nodeagent/cgroups: use cgroups.ContainerIDFromName / ContainerIDFromPath" \
  '"(cri-containerd-|crio-|kubepods)' nodeagent ':(exclude)nodeagent/cgroups/*'
# errors keep their chain: fmt.Errorf wraps the error with %w (errorlint, in make lint, catches %v/%s of an error
# value by its type); what it cannot see is an error turned into a string first. apierr.Message is for a line a
# user reads, after the chain was built.
rule "an error flattened to a string in fmt.Errorf: wrap it with %w (errors.Is/As and apierrors.IsForbidden read the chain)" \
  'Errorf\(.*(\.Error\(\)|apierr\.Message\()' "${libs[@]}" client nodeagent cmd internal
# the shipped binaries never link package testing (a test helper in a non-test file drags it in with its flags):
# test helpers live in *test packages (internal/testutil, plugin/report/reporttest) that only tests import
deps_rule() {
  local goos=$1 pkg=$2 hits
  # each dependency with its imports; the lines of those that import testing or testing/...
  hits=$(GOOS=$goos go list -deps -f '{{.ImportPath}} imports {{join .Imports " "}}' "$pkg" |
    grep -E ' (testing)(/[^ ]*)?( |$)' | grep -vE '^testing(/| )' || true)
  if [ -n "$hits" ]; then
    echo "$hits" | cut -c1-200
    echo "verify: $pkg ($goos) links package testing through the package(s) above" >&2
    failed=1
  fi
}
for os in linux darwin windows; do deps_rule "$os" ./cmd/kubectl-swoll; done
deps_rule linux ./cmd/swoll-agent

# pinned seccomp data is what its pinned module makes (hack/seccomp/generate.sh): the versions agree
pinned() { awk -v m="$1" '$1 == m || $2 == m {print ($1 == "require" ? $3 : $2); exit}' "$2"; }
containerd=$(pinned github.com/containerd/containerd hack/seccomp/containerd/go.mod)
for f in plugin/seccomp/runtimedefault/*.json; do
  if ! grep -q "\"containerd\": \"$containerd\"" "$f"; then
    echo "$f: not containerd $containerd's (hack/seccomp/containerd/go.mod)"
    echo "verify: runtime/default data out of date: run hack/seccomp/generate.sh" >&2
    failed=1
  fi
done
spo=$(pinned sigs.k8s.io/security-profiles-operator hack/seccomp/spo/go.mod)
if ! head -n1 test/e2e/testdata/spo-seccompprofile-crd.yaml | grep -q " $spo "; then
  echo "test/e2e/testdata/spo-seccompprofile-crd.yaml: not from security-profiles-operator $spo (hack/seccomp/spo/go.mod)"
  echo "verify: the SPO CRD is out of date: run hack/seccomp/generate.sh" >&2
  failed=1
fi

# the plugin's targets are pods, sent from the moment they are bound (OpPod): a container by id (OpAdd) is traced
# only from when it is found running, which misses a crash-looping container's runs
rule "the plugin sends a container target: send the pod (protocol.OpPod), which the agent traces from its first call" \
  'protocol\.Op(Add|Remove)\b' plugin client cmd/kubectl-swoll

[ $failed -eq 0 ] || die "code patterns: see above"
log "verify: code patterns ok"
