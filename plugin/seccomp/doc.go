// Package seccomp is swoll's seccomp profiles: the OCI runtime-spec profile a container runtime reads (runc,
// crun, as a kubelet Localhost profile), learned from the calls containers made (advise: Recorder, Build), the
// Security Profiles Operator's SeccompProfile resource (SPO), and the evaluation of a profile against calls
// as the kernel would decide them under runc (Compile, Evaluator.Decide), arguments included. The container
// runtime's own default profile is package runtimedefault.
//
// Types here are plain values; a Recorder or a Checker is fed by one goroutine (a session's merge loop) and
// read once it is done. An Evaluator is immutable and safe for concurrent use.
//
// # Where the calls come from
//
// advise learns in counting mode: the kernel counts each container's calls by number and result, nothing per
// call crosses the ring buffer, so a profile never misses a call for a lost event. Counts carry no argument,
// and that is all a learned profile needs: it allows calls by name, with no argument rule.
//
// check needs arguments: default profiles allow clone only without namespace flags, personality only for a few
// personas, and others test socket families. The cheapest correct design the agent allows today is one
// tracing session of only the calls the profile does not let run whatever their arguments (NotRunning, per
// architecture, handed to the session as its system call list): the calls outside the profile and those under
// argument rules. Every other call costs the kernel's filter lookup and nothing more; for a profile that fits
// there is little to send (runtime/default leaves 93 of 385 amd64 calls to trace, and workloads make few of
// them: clone per thread or process). Each event arrives decoded (EventArgs reads it back into register
// values), so argument rules are decided exactly and each denial shows an example. A busy denied call can
// overflow the ring buffer; lost events are counted and reported per node, and one event is enough for the
// verdict.
//
// With kernel support, check could run in counting mode as well: the counting program would add, for the few
// calls a rule tests, the tested argument (masked as the rule masks it: clone's arg0 & CLONE_NEW*,
// personality's arg0, socket's arg0) to its count key, from a per-number (index, mask) table the plugin sends;
// snapshots would carry it and rules would be decided from counts, losslessly, with an event sent only the
// first time a key is seen (the example). That is the bpfcore area's to build (bpf/, nodeagent/countprobe).
//
// # What the agents do not say yet
//
//   - Snapshot rows carry no architecture (event.Syscall.Arch is empty in counting mode): advise reads each
//     node's from the API server.
//   - Until the agents trace a container from its first call, its start (the entrypoint's execve, the loader,
//     a server's listener) is only seen where it recurs; runtimeCalls covers the runtime's part. Where they do,
//     they also count the calls runc init makes before it installs the filter (mount, pivot_root,
//     sethostname...), which do not belong in a profile: the agents mark the calls of a process that joined the
//     container and has not exec'd since (event.Count.PreExec; execve itself never is), and the Recorder leaves
//     them out. The few calls the runtime makes between installing the filter and its execve are
//     runtimeCalls' to add.
//   - Under an enforced profile, a call the filter denies never reaches the sys_enter tracepoint (seccomp runs
//     before it), so the tracer, which pairs enter and exit, does not see it, though sys_exit fires with its
//     number and -EPERM. check predicts before enforcing; after, only the program's own errors tell.
package seccomp
