/* Shared by the parity test programs: every call is made through syscall(2) so that the arguments the
 * kernel sees are exactly the ones written here (glibc wrappers turn open into openat, fork into clone,
 * faccessat into faccessat2...). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The first compared call of every program: the test drops whatever the main process did before it
 * (libc start-up, the wait below). It fails; BEGIN_MARKER_OK follows it and succeeds, for the runs that show
 * only calls that succeed (-z). */
#define BEGIN_MARKER "/swoll-parity-begin"
#define BEGIN_MARKER_OK "/"

/* wait_for_go blocks until the test writes a byte on stdin. Under swoll the test writes it once the
 * agent reports our getppid calls, so the agent is attached before the first compared call. */
static void wait_for_go(void)
{
	for (;;) {
		syscall(SYS_getppid);
		struct pollfd p = {.fd = 0, .events = POLLIN};
		if (poll(&p, 1, 20) > 0)
			break;
	}
	char c;
	if (syscall(SYS_read, 0, &c, 1) != 1)
		_exit(90);
	syscall(SYS_openat, AT_FDCWD, BEGIN_MARKER, O_RDONLY);
	long fd = syscall(SYS_openat, AT_FDCWD, BEGIN_MARKER_OK, O_RDONLY | O_DIRECTORY);
	syscall(SYS_close, fd);
}

/* reap waits for a child and fails the program if it did not exit with 0. */
__attribute__((unused)) static void reap(pid_t pid, const char *what)
{
	int st;
	if (waitpid(pid, &st, __WALL) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s: child %d status %#x\n", what, pid, st);
		_exit(91);
	}
}
