package seccomp

// The container runtime installs the seccomp filter in its init process and then keeps running in it until
// the entrypoint's execve: every call it makes in between is checked against the profile, so a profile that
// lacks one of them stops the container before it starts ("operation not permitted" from runc init).
// The calls it makes before installing the filter (mounts, pivot_root, sethostname, setns...) are not
// checked and do not belong in a profile.
//
// Where the filter goes depends on no_new_privileges (a pod's allowPrivilegeEscalation: false):
//   - without it (the Kubernetes default), seccomp is a privileged operation: runc and crun install the
//     filter before dropping privileges, so the identity switch, the capability drops, the lookup of the
//     executable and the wait for `start` all run under it;
//   - with it, runc installs it just before closing its sync pipe and crun after the exec fifo: only the fifo,
//     the closing of inherited descriptors and the execve are left.
//
// A trace from a container's first call sees these calls (they are the container's cgroup's), but until the
// agents trace from there, and for a runtime that varies with its version, the profile always holds the set
// below: what runc 1.1.5 was seen to make under a logging filter (SCMP_ACT_LOG, both paths, `kubectl exec`
// included), what runc 1.2 and 1.3 and crun add according to their source, and the calls Go's runtime makes in
// runc init's background (it is a Go program: the scheduler, the garbage collector, preemption signals).

// runtimeCall is one call of the set and why the runtime makes it.
type runtimeCall struct {
	name string
	why  string
}

// runtimeCalls is the runtime's part of every learned profile, by amd64 name (crossArch adds the arm64
// counterparts: select -> pselect6).
var runtimeCalls = []runtimeCall{
	// runc 1.1.5, as seen
	{"openat", "runc: /proc/self/fd (CloseExecFrom), /etc/passwd and /etc/group, the exec fifo"},
	{"read", "runc: /etc/passwd, /etc/group, its sync pipe"},
	{"write", "runc: the exec fifo, its log pipe"},
	{"close", "runc, crun: descriptors, the sync pipe"},
	{"fcntl", "runc: marking inherited descriptors close-on-exec"},
	{"getdents64", "runc, crun: listing /proc/self/fd"},
	{"fstatfs", "runc: checking that /proc is procfs"},
	{"fstat", "runc: stdio permissions, passwd files"},
	{"newfstatat", "runc: exec.LookPath, stdio; crun: find_executable"},
	{"faccessat2", "runc: checking the executable (Eaccess)"},
	{"faccessat", "runc: Eaccess's fallback where faccessat2 is missing"},
	{"epoll_ctl", "runc: Go's poller registering the files it opens"},
	{"chdir", "runc, crun: the working directory, again after the user switch"},
	{"getcwd", "runc: setupUser"},
	{"capget", "runc, crun: reading capabilities"},
	{"capset", "runc, crun: applying capabilities"},
	{"prctl", "runc, crun: PR_CAPBSET_DROP per capability, PR_SET_KEEPCAPS, PR_CAP_AMBIENT, PR_SET_PDEATHSIG"},
	{"setgroups", "runc, crun: supplementary groups"},
	{"setgid", "runc 1.1: the container's group"},
	{"setuid", "runc 1.1: the container's user"},
	{"getppid", "runc: checking that its parent is still there"},
	{"getpid", "runc: the state passed to startContainer hooks"},
	{"futex", "runc: Go's runtime"},
	{"execve", "runc, crun: the entrypoint"},
	// runc 1.2, 1.3 and crun, from their source
	{"setresuid", "runc 1.2+, crun: the container's user"},
	{"setresgid", "runc 1.2+, crun: the container's group"},
	{"close_range", "runc 1.2+ (UnsafeCloseFrom), crun: closing inherited descriptors"},
	{"openat2", "runc 1.2+: reopening the exec fifo through procfs safely"},
	{"statx", "runc 1.2+: procfs checks"},
	{"readlinkat", "runc 1.2+: procfs checks"},
	{"select", "crun: waiting on the exec fifo"},
	{"pselect6", "crun: waiting on the exec fifo (glibc's select where it uses pselect6)"},
	{"access", "crun: checking the executable (check_access)"},
	{"lseek", "crun: stdout and stderr after startContainer hooks"},
	{"rt_sigprocmask", "crun: unblocking signals; Go's runtime"},
	{"rt_sigaction", "crun: resetting signal handlers; Go's runtime"},
	{"execveat", "crun: executing the entrypoint through a descriptor"},
	// Go's runtime in runc init, at any moment
	{"nanosleep", "Go's runtime (usleep)"},
	{"sched_yield", "Go's runtime"},
	{"mmap", "Go's runtime (heap)"},
	{"munmap", "Go's runtime (heap)"},
	{"madvise", "Go's runtime (scavenger)"},
	{"mprotect", "the dynamic loader, Go's runtime"},
	{"rt_sigreturn", "Go's runtime: returning from a signal handler (preemption)"},
	{"sigaltstack", "Go's runtime: a new thread's signal stack"},
	{"gettid", "Go's runtime"},
	{"tgkill", "Go's runtime: preempting a goroutine"},
	{"clone", "Go's runtime: a new thread (CLONE_THREAD, no namespace flags)"},
	{"epoll_pwait", "Go's runtime: the network poller"},
	{"exit", "Go's runtime: a thread ending"},
	{"exit_group", "runc, crun: leaving when the start fails"},
	{"restart_syscall", "the kernel: a call interrupted by a signal"},
}

// RuntimeCalls returns the names of the calls every learned profile allows for the runtime to start the
// container, and why, by name (amd64 names; see runtimeCalls).
func RuntimeCalls() map[string]string {
	out := make(map[string]string, len(runtimeCalls))
	for _, c := range runtimeCalls {
		out[c.name] = c.why
	}
	return out
}
