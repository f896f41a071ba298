/* sweep: the same calls over the values of their flag and value arguments (limits, clocks, advice, socket
 * options and types, open flags), so that each table entry is compared with strace's name for it. */
#include "parity.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netlink.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	wait_for_go();
	syscall(SYS_chdir, argv[1]);
	struct rlimit rl;
	for (int r = 0; r < 16; r++)
		syscall(SYS_prlimit64, 0, r, NULL, &rl);
	struct timespec ts;
	const int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
			      CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI};
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++)
		syscall(SYS_clock_getres, clocks[i], &ts);
	for (int p = 0; p <= 6; p++)
		syscall(SYS_sched_get_priority_max, p);
	long m = syscall(SYS_mmap, NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const int advice[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE,
			      MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP,
			      MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD, MADV_PAGEOUT};
	for (unsigned i = 0; i < sizeof advice / sizeof advice[0]; i++)
		syscall(SYS_madvise, m, 65536, advice[i]);
	const int prots[] = {PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC};
	for (unsigned i = 0; i < sizeof prots / sizeof prots[0]; i++)
		syscall(SYS_mprotect, m, 4096, prots[i]);
	syscall(SYS_munmap, m, 65536);

	const int oflags[] = {O_RDONLY, O_WRONLY | O_CREAT, O_RDWR | O_CREAT | O_EXCL, O_WRONLY | O_APPEND, O_RDONLY | O_NOFOLLOW,
			      O_RDONLY | O_CLOEXEC | O_NOATIME, O_WRONLY | O_TRUNC | O_SYNC, O_WRONLY | O_DSYNC, O_RDONLY | O_NONBLOCK | O_NOCTTY,
			      O_PATH | O_CLOEXEC, O_RDONLY | O_DIRECTORY, O_RDWR | O_ASYNC, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC};
	for (unsigned i = 0; i < sizeof oflags / sizeof oflags[0]; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, "sweep.txt", oflags[i], 0600);
		syscall(SYS_close, fd);
	}
	struct { int domain, type, proto; } socks[] = {
		{AF_UNIX, SOCK_STREAM, 0}, {AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0}, {AF_UNIX, SOCK_SEQPACKET, 0},
		{AF_INET, SOCK_STREAM, IPPROTO_TCP}, {AF_INET, SOCK_DGRAM, IPPROTO_UDP}, {AF_INET, SOCK_RAW, IPPROTO_ICMP},
		{AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0}, {AF_INET6, SOCK_DGRAM, IPPROTO_UDP},
		{AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE}, {AF_NETLINK, SOCK_DGRAM, NETLINK_AUDIT},
		{AF_INET, SOCK_STREAM, IPPROTO_UDP}, {12345, SOCK_STREAM, 0}};
	for (unsigned i = 0; i < sizeof socks / sizeof socks[0]; i++) {
		long s = syscall(SYS_socket, socks[i].domain, socks[i].type, socks[i].proto);
		syscall(SYS_close, s);
	}
	long s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	const int opts[] = {SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_REUSEADDR, SO_BROADCAST, SO_DOMAIN,
			    SO_PROTOCOL, SO_PRIORITY, SO_ACCEPTCONN, SO_OOBINLINE, SO_REUSEPORT, SO_RCVLOWAT};
	int val;
	socklen_t len;
	for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		len = sizeof val;
		syscall(SYS_getsockopt, s, SOL_SOCKET, opts[i], &val, &len);
	}
	const int tcp[] = {TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT,
			   TCP_DEFER_ACCEPT, TCP_QUICKACK, TCP_USER_TIMEOUT};
	for (unsigned i = 0; i < sizeof tcp / sizeof tcp[0]; i++) {
		len = sizeof val;
		syscall(SYS_getsockopt, s, SOL_TCP, tcp[i], &val, &len);
	}
	syscall(SYS_close, s);
	const int sigs[] = {0, SIGCONT, SIGWINCH, SIGURG, SIGCHLD};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		syscall(SYS_kill, syscall(SYS_getpid), sigs[i]);
	const int modes[] = {F_OK, R_OK, W_OK, X_OK, R_OK | W_OK, R_OK | X_OK};
	for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++)
		syscall(SYS_faccessat, AT_FDCWD, "sweep.txt", modes[i]);
	syscall(SYS_gettid);
	syscall(SYS_unlinkat, AT_FDCWD, "sweep.txt", 0);
	return 0;
}
