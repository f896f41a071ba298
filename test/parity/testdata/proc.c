/* proc: processes, threads, signals, namespaces, mounts, ptrace and modules, successes and failures.
 * argv[1] is an empty work directory. Children report failure through their exit status only; the calls
 * themselves are what the test compares. */
#include "parity.h"
#include <limits.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/ptrace.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

/* Strings given to execve and to calls the kernel may reject before reading them live on the stack: a BPF
 * probe cannot fault in a page of the binary nobody has touched yet, so swoll would show the pointer
 * (event.Event.Args: "pointers whose memory could not be read") where strace, reading through ptrace,
 * shows the string. That is a capture limit, not a decoding difference. */
static char env0[] = "SWOLL_PARITY=1", env1[] = "LANG=C";
static char *const child_env[] = {env0, env1, NULL};

/* forked runs fn in a child made by a plain clone(SIGCHLD) and waits for it. */
static void forked(void (*fn)(const char *), const char *dir, const char *what)
{
	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		fn(dir);
		_exit(0);
	}
	reap(pid, what);
}

static void *thread_main(void *arg)
{
	syscall(SYS_openat, AT_FDCWD, "/swoll-parity-thread", O_RDONLY); /* ENOENT */
	return arg;
}

static void execs(const char *dir)
{
	(void)dir;
	char path[] = "/nonexistent/parity", self[] = "/proc/self/exe";
	char a0[] = "nope", a1[] = "proc", a2[] = "exec-child", a3[] = "an arg with spaces", a4[] = "",
	     a5[] = "quote\"d";
	char *const nope[] = {a0, NULL};
	syscall(SYS_execve, path, nope, child_env); /* ENOENT */
	syscall(SYS_execve, path, NULL, NULL);	    /* ENOENT */
	char many[70][8];
	char *long_argv[71];
	for (int i = 0; i < 70; i++) {
		snprintf(many[i], sizeof many[i], "a%d", i);
		long_argv[i] = many[i];
	}
	long_argv[70] = NULL;
	syscall(SYS_execve, path, long_argv, child_env); /* ENOENT; more entries than the agent keeps */
	char *const argv[] = {a1, a2, a3, a4, a5, NULL};
	syscall(SYS_execve, self, argv, child_env);
	_exit(92);
}

/* exec_child runs after execve: execveat, then the last image says it is there and exits. */
static int exec_child(void)
{
	char path[] = "/nonexistent/parity", empty[] = "", a0[] = "proc", a1[] = "execveat-child";
	char *const argv[] = {a0, a1, NULL};
	syscall(SYS_execveat, AT_FDCWD, path, argv, child_env, 0);	/* ENOENT */
	syscall(SYS_execveat, -1, empty, argv, child_env, AT_EMPTY_PATH); /* EBADF */
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/exe", O_PATH | O_CLOEXEC);
	syscall(SYS_execveat, fd, empty, argv, child_env, AT_EMPTY_PATH);
	return 93;
}

static void namespaces(const char *dir)
{
	syscall(SYS_unshare, CLONE_NEWUTS);
	syscall(SYS_unshare, CLONE_NEWNS | CLONE_NEWIPC);
	syscall(SYS_unshare, CLONE_VM | 0x80000000); /* EINVAL */
	syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	char mnt[256];
	snprintf(mnt, sizeof mnt, "%s/mnt", dir);
	syscall(SYS_mkdirat, AT_FDCWD, mnt, 0700);
	syscall(SYS_mount, "parity", mnt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=0700");
	syscall(SYS_mount, NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	syscall(SYS_umount2, mnt, 0);
	syscall(SYS_umount2, mnt, MNT_DETACH);				      /* EINVAL: no longer a mount */
	syscall(SYS_mount, "none", "/nonexistent/parity", "tmpfs", 0, NULL); /* ENOENT */
	syscall(SYS_umount2, mnt, 0x100);				      /* EINVAL */
	char none[] = "none", missing[] = "/nonexistent/parity", tmpfs[] = "tmpfs";
	syscall(SYS_mount, none, missing, tmpfs, MS_SILENT | MS_LAZYTIME | MS_NOUSER, NULL); /* ENOENT */
	syscall(SYS_mount, none, missing, tmpfs, 0xC0ED0000 | MS_RDONLY, NULL);		    /* ENOENT */
	syscall(SYS_mount, dir, mnt, tmpfs, MS_BIND | MS_REC, NULL);
	syscall(SYS_umount2, mnt, MNT_DETACH);

	syscall(SYS_setns, -1, CLONE_NEWNET); /* EBADF */
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	syscall(SYS_setns, fd, CLONE_NEWNET); /* EINVAL: not a network namespace */
	syscall(SYS_setns, fd, CLONE_NEWUTS);
	syscall(SYS_setns, fd, 0);
	syscall(SYS_close, fd);
}

static void traceme(const char *dir)
{
	(void)dir;
	/* 0 under swoll; EPERM under strace, which traces this child already. */
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
}

static void modules(const char *dir)
{
	char junk[64];
	memset(junk, 0x5a, sizeof junk);
	char none[] = "", params[] = "parity=1";
	/* Never a loadable module: the calls fail whether or not the kernel supports modules. */
	syscall(SYS_init_module, junk, sizeof junk, none);
	syscall(SYS_init_module, junk, sizeof junk, params);
	syscall(SYS_finit_module, -1, none, 0); /* EBADF, or ENOSYS without modules */
	char path[256];
	snprintf(path, sizeof path, "%s/junk.ko", dir);
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	syscall(SYS_write, fd, junk, sizeof junk);
	syscall(SYS_finit_module, fd, params, 0);
	syscall(SYS_finit_module, fd, none, MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC);
	syscall(SYS_close, fd);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "exec-child") == 0)
		return exec_child();
	if (argc >= 2 && strcmp(argv[1], "execveat-child") == 0) {
		syscall(SYS_openat, AT_FDCWD, "/swoll-parity-execveat-child", O_RDONLY); /* ENOENT */
		return 0;
	}
	if (argc != 2)
		return 2;
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	wait_for_go();

	pid_t self = getpid();
	syscall(SYS_kill, self, 0);
	syscall(SYS_kill, self, SIGUSR1);
	syscall(SYS_kill, INT_MAX, SIGTERM); /* ESRCH */
	syscall(SYS_kill, self, 99);	     /* EINVAL */

	forked(execs, argv[1], "execve");

	/* clone3: a process, a rejected size, and a thread (glibc makes threads with clone3). */
	struct clone_args ca = {.exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0) {
		syscall(SYS_openat, AT_FDCWD, "/swoll-parity-clone3-child", O_RDONLY); /* ENOENT */
		_exit(0);
	}
	reap(pid, "clone3");
	syscall(SYS_clone3, &ca, 8); /* EINVAL: smaller than the first version */
	int pidfd = -1;
	struct clone_args ns = {.flags = CLONE_PIDFD | CLONE_NEWUTS, .pidfd = (uintptr_t)&pidfd, .exit_signal = SIGCHLD};
	pid = syscall(SYS_clone3, &ns, sizeof ns);
	if (pid == 0)
		_exit(0);
	reap(pid, "clone3 CLONE_PIDFD");
	syscall(SYS_close, pidfd);

	/* The other ways to make a process: clone with a namespace flag, glibc's fork (clone with the child
	 * tid pointers), the fork and vfork system calls. */
	pid = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	reap(pid, "clone CLONE_NEWUTS");
	pid = fork();
	if (pid == 0)
		_exit(0);
	reap(pid, "fork()");
#ifdef SYS_fork
	pid = syscall(SYS_fork);
	if (pid == 0)
		_exit(0);
	reap(pid, "fork");
#endif
	pid = vfork();
	if (pid == 0)
		_exit(0);
	reap(pid, "vfork");
	pthread_t th;
	pthread_create(&th, NULL, thread_main, NULL);
	pthread_join(th, NULL);

	forked(namespaces, argv[1], "namespaces");
	forked(traceme, argv[1], "traceme");
	syscall(SYS_ptrace, PTRACE_ATTACH, self, 0, 0); /* EPERM: not ourselves */
	syscall(SYS_ptrace, PTRACE_CONT, 1, 0, 0);	/* ESRCH: not our tracee */
	forked(modules, argv[1], "modules");
	return got_usr1 == SIGUSR1 ? 0 : 94;
}
