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
# what reaches a terminal is escaped by package render; Go's %q is not strace's quoting
rule "the event schema imports the renderer (event is the schema only)" '"github\.com/swoll-dev/swoll/render"' event
# an argument type is described once: syscalls' argInfos (capture, direction, printing) and the decoder's
# argDecoders (rendering), not a switch arm per file
rule "a switch on argument types: describe the type in syscalls/argtypes.go and nodeagent/decode/argtypes.go" \
  'case (syscalls\.)?Arg[A-Z][A-Za-z]*[,:]' "${libs[@]}" nodeagent cmd

# the names runtimes and the kubelet give cgroups are listed once, in nodeagent/cgroups/layout.go
rule "a cgroup name pattern outside nodeagent/cgroups: use cgroups.ContainerIDFromName / ContainerIDFromPath" \
  '"(cri-containerd-|crio-|kubepods)' nodeagent ':(exclude)nodeagent/cgroups/*'

[ $failed -eq 0 ] || die "code patterns: see above"
log "verify: code patterns ok"
