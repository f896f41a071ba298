/* mem: memory mappings, protections, advice, locking, signals and timers. */
#include "parity.h"
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/time.h>
#include <time.h>

static void handler(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	(void)argv;
	if (argc != 2)
		return 2;
	wait_for_go();
	long a0 = syscall(SYS_mmap, NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long a = syscall(SYS_mremap, a0, 8192, 16384, MREMAP_MAYMOVE);
	syscall(SYS_mremap, a, 16384, 8192, 0);
	syscall(SYS_mprotect, a, 4096, PROT_READ);
	syscall(SYS_mprotect, a, 4096, PROT_NONE);
	syscall(SYS_mprotect, a + 1, 4096, PROT_READ); /* EINVAL */
	syscall(SYS_madvise, a, 8192, MADV_DONTNEED);
	syscall(SYS_madvise, a, 8192, MADV_WILLNEED);
	syscall(SYS_madvise, a, 8192, 12345); /* EINVAL */
	syscall(SYS_mlock, a + 4096, 4096);
	syscall(SYS_munlock, a + 4096, 4096);
	syscall(SYS_mlock2, a + 4096, 4096, MLOCK_ONFAULT);
	syscall(SYS_msync, a, 4096, MS_ASYNC);
	syscall(SYS_msync, a, 4096, MS_SYNC | MS_INVALIDATE);
	syscall(SYS_msync, a + 1, 4096, MS_SYNC); /* EINVAL */
	syscall(SYS_munmap, a, 8192);
	syscall(SYS_munmap, a + 1, 4096); /* EINVAL */
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0); /* EBADF */
	syscall(SYS_mmap, NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* EINVAL */
	long fd = syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
	long m = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	syscall(SYS_munmap, m, 4096);
	syscall(SYS_close, fd);
	syscall(SYS_mlockall, MCL_CURRENT | MCL_FUTURE);
	syscall(SYS_munlockall);
	syscall(SYS_mlockall, 0x80); /* EINVAL */
	syscall(SYS_brk, 0);

	struct sigaction sa = {0};
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	struct sigaction old;
	/* The kernel's struct sigaction: handler, flags, restorer, mask. */
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } ka = {(void *)handler, SA_RESTART, NULL, 1UL << (SIGTERM - 1)}, kold;
	(void)sa; (void)old;
	syscall(SYS_rt_sigaction, SIGUSR1, &ka, &kold, 8);
	syscall(SYS_rt_sigaction, SIGUSR1, NULL, &kold, 8);
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } ign = {(void *)1, 0, NULL, 0};
	syscall(SYS_rt_sigaction, SIGPIPE, &ign, NULL, 8);
	syscall(SYS_rt_sigaction, SIGKILL, &ign, NULL, 8); /* EINVAL */
	syscall(SYS_rt_sigaction, SIGUSR2, &ka, NULL, 4); /* EINVAL */
	unsigned long set = (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1)), oset;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &oset, 8);
	unsigned long all = ~0UL;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &all, &oset, 8);
	syscall(SYS_rt_sigprocmask, 99, &set, NULL, 8); /* EINVAL */
	unsigned long pend;
	syscall(SYS_rt_sigpending, &pend, 8);
	syscall(SYS_kill, 0, 0);
	syscall(SYS_kill, 999999, SIGTERM); /* ESRCH */
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0);
	syscall(SYS_tkill, 999999, SIGKILL); /* ESRCH */
	long sfd = syscall(SYS_signalfd4, -1, &set, 8, SFD_NONBLOCK | SFD_CLOEXEC);
	syscall(SYS_close, sfd);
	long efd = syscall(SYS_eventfd2, 3, EFD_CLOEXEC | EFD_NONBLOCK);
	syscall(SYS_close, efd);
	syscall(SYS_eventfd2, 0, 0x1); /* EINVAL */

	struct timespec req = {0, 1000}, rem;
	syscall(SYS_nanosleep, &req, &rem);
	syscall(SYS_nanosleep, &req, NULL);
	struct timespec bad = {0, 2000000000};
	syscall(SYS_nanosleep, &bad, NULL); /* EINVAL */
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL);
	struct timespec now;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
	struct timespec past = {1, 0};
	syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &now);
	syscall(SYS_clock_gettime, 99, &now); /* EINVAL */
	syscall(SYS_clock_getres, CLOCK_MONOTONIC, &now);
	syscall(SYS_clock_getres, CLOCK_BOOTTIME, NULL);
	long tfd = syscall(SYS_timerfd_create, CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = {{0, 0}, {100, 0}};
	syscall(SYS_timerfd_settime, tfd, 0, &its, NULL);
	syscall(SYS_timerfd_settime, tfd, TFD_TIMER_ABSTIME, &its, NULL);
	syscall(SYS_close, tfd);
	syscall(SYS_timerfd_create, 99, 0); /* EINVAL */
	struct itimerval itv;
	syscall(SYS_getitimer, ITIMER_REAL, &itv);
	syscall(SYS_getitimer, 99, &itv); /* EINVAL */
	return 0;
}
