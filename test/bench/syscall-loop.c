// syscall-loop: the system call microbenchmark of hack/bench.sh.
//   syscall-loop getppid N       N getppid calls; prints ns per call: wall clock, then CPU time of this thread
//   syscall-loop openat N [FAIL_EVERY]  N openat(/etc/hostname)+close pairs; prints ns per pair (wall, CPU); with
//                                FAIL_EVERY, one openat in FAIL_EVERY is of a file that does not exist (it fails:
//                                no close), the workload of --failed
//   syscall-loop rate R SECONDS  getppid paced at R calls/s for SECONDS; prints the achieved rate
// With SYSCALL_LOOP_WAIT=1 it first waits for a line on stdin, so that a tracer can attach to its pid.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double clock_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static double now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* CPU time is what the calls cost this thread (in-kernel tracing included), whatever else the machine runs. */
static double cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: syscall-loop getppid N | openat N [FAIL_EVERY] | rate CALLS_PER_S SECONDS\n");
		return 2;
	}
	const char *wait = getenv("SYSCALL_LOOP_WAIT");
	if (wait && !strcmp(wait, "1")) {
		char line[16];
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}
	if (!strcmp(argv[1], "rate")) {
		if (argc < 4) {
			fprintf(stderr, "usage: syscall-loop rate CALLS_PER_S SECONDS\n");
			return 2;
		}
		double rate = atof(argv[2]), secs = atof(argv[3]);
		long total = (long)(rate * secs);
		double every = 1e9 / rate, t0 = now_ns();
		for (long i = 0; i < total; i++) {
			while (now_ns() < t0 + i * every)
				;
			syscall(SYS_getppid);
		}
		printf("%.0f\n", total / ((now_ns() - t0) / 1e9));
		return 0;
	}
	long n = atol(argv[2]);
	double c0 = cpu_ns(), t0 = now_ns();
	if (!strcmp(argv[1], "getppid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else if (!strcmp(argv[1], "openat")) {
		long fail_every = argc > 3 ? atol(argv[3]) : 0;
		for (long i = 0; i < n; i++) {
			if (fail_every > 0 && i % fail_every == fail_every - 1) {
				if (syscall(SYS_openat, AT_FDCWD, "/nonexistent/swoll-bench", O_RDONLY) >= 0)
					return 1;
				continue;
			}
			int fd = syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
			if (fd < 0) {
				perror("openat /etc/hostname");
				return 1;
			}
			syscall(SYS_close, fd);
		}
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	double t1 = now_ns(), c1 = cpu_ns();
	printf("%.1f %.1f\n", (t1 - t0) / n, (c1 - c0) / n);
	return 0;
}
