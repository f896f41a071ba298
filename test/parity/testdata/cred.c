/* cred: credentials, capabilities, prctl, seccomp, limits, scheduling, waiting, sockets and polling. */
#include "parity.h"
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <arpa/inet.h>

int main(int argc, char **argv)
{
	(void)argv;
	if (argc != 2)
		return 2;
	wait_for_go();
	syscall(SYS_getuid);
	syscall(SYS_geteuid);
	syscall(SYS_getgid);
	syscall(SYS_getegid);
	syscall(SYS_setuid, 0);
	syscall(SYS_setgid, 0);
	syscall(SYS_setreuid, -1, -1);
	syscall(SYS_setregid, -1, 0);
	syscall(SYS_setresuid, -1, 0, -1);
	syscall(SYS_setresgid, 0, -1, -1);
	syscall(SYS_setfsuid, 0);
	syscall(SYS_setfsgid, -1);

	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	syscall(SYS_capget, &h, d);
	syscall(SYS_capset, &h, d);
	struct __user_cap_header_struct bad = {0x12345678, 0};
	syscall(SYS_capget, &bad, d); /* EINVAL */

	char name[16] = "parity-main";
	syscall(SYS_prctl, PR_SET_NAME, name, 0, 0, 0);
	syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
	syscall(SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0);
	syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0);
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	syscall(SYS_prctl, PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0);
	syscall(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	syscall(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0);
	syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	syscall(SYS_prctl, 12345, 0, 0, 0, 0); /* EINVAL */
	unsigned int action = SECCOMP_RET_KILL_PROCESS;
	syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
	syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL); /* EFAULT */
	syscall(SYS_seccomp, 99, 0, NULL); /* EINVAL */
	syscall(SYS_personality, 0xffffffff);
	syscall(SYS_personality, PER_LINUX);

	struct rlimit rl;
	syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl);
	syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl);
	syscall(SYS_getrlimit, RLIMIT_STACK, &rl);
	syscall(SYS_getrlimit, 99, &rl); /* EINVAL */
	struct rlimit core = {0, RLIM_INFINITY};
	syscall(SYS_prlimit64, 0, RLIMIT_CORE, &core, NULL);
	syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &rl);
	syscall(SYS_prlimit64, 999999, RLIMIT_CORE, NULL, &rl); /* ESRCH */
	syscall(SYS_getpriority, PRIO_PROCESS, 0);
	syscall(SYS_setpriority, PRIO_PROCESS, 0, 0);
	syscall(SYS_getpriority, 99, 0); /* EINVAL */
	syscall(SYS_sched_get_priority_max, SCHED_FIFO);
	syscall(SYS_sched_get_priority_min, SCHED_RR);
	syscall(SYS_sched_getscheduler, 0);
	syscall(SYS_sched_yield);
	struct utsname u;
	syscall(SYS_uname, &u);
	syscall(SYS_getrandom, name, 0, GRND_NONBLOCK);
	syscall(SYS_getrandom, name, 4, 0x80); /* EINVAL */

	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(3);
	int st;
	syscall(SYS_wait4, pid, &st, 0, NULL);
	syscall(SYS_wait4, -1, &st, WNOHANG, NULL); /* ECHILD */
	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	syscall(SYS_kill, pid, SIGKILL);
	syscall(SYS_wait4, pid, &st, __WALL, NULL);

	int sv[2];
	syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv); /* EOPNOTSUPP */
	syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	syscall(SYS_sendto, sv[0], "ping", 4, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
	char buf[64];
	syscall(SYS_recvfrom, sv[1], buf, sizeof buf, MSG_PEEK, NULL, NULL);
	syscall(SYS_recvfrom, sv[1], buf, sizeof buf, 0, NULL, NULL);
	syscall(SYS_recvfrom, sv[1], buf, sizeof buf, MSG_DONTWAIT, NULL, NULL); /* EAGAIN */
	struct iovec iov = {.iov_base = "iov-data", .iov_len = 8};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	syscall(SYS_sendmsg, sv[0], &mh, MSG_DONTWAIT);
	char rb[16];
	struct iovec riov = {.iov_base = rb, .iov_len = sizeof rb};
	struct msghdr rh = {.msg_iov = &riov, .msg_iovlen = 1};
	syscall(SYS_recvmsg, sv[1], &rh, 0);
	syscall(SYS_recvmsg, sv[1], &rh, MSG_DONTWAIT); /* EAGAIN */
	syscall(SYS_sendmsg, -1, &mh, 0);		 /* EBADF */
	syscall(SYS_shutdown, sv[0], SHUT_WR);
	syscall(SYS_shutdown, sv[0], 99); /* EINVAL */
	syscall(SYS_close, sv[0]);
	syscall(SYS_close, sv[1]);

	long s = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	int one = 1, val;
	socklen_t len = sizeof val;
	syscall(SYS_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	syscall(SYS_setsockopt, s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
	syscall(SYS_setsockopt, s, SOL_IP, IP_TTL, &one, sizeof one);
	syscall(SYS_setsockopt, s, SOL_SOCKET, 9999, &one, sizeof one); /* ENOPROTOOPT */
	syscall(SYS_getsockopt, s, SOL_SOCKET, SO_TYPE, &val, &len);
	syscall(SYS_getsockopt, s, SOL_SOCKET, SO_RCVBUF, &val, &len);
	syscall(SYS_getsockopt, s, SOL_IP, IP_TTL, &val, &len);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(47813), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	syscall(SYS_bind, s, &a, sizeof a);
	struct sockaddr_in got;
	socklen_t glen = sizeof got;
	syscall(SYS_getsockname, s, &got, &glen);
	glen = sizeof got;
	syscall(SYS_getpeername, s, &got, &glen); /* ENOTCONN */
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	syscall(SYS_sendto, s, "udp", 3, 0, &dst, sizeof dst);
	long t = syscall(SYS_socket, AF_INET6, SOCK_STREAM, IPPROTO_TCP);
	syscall(SYS_setsockopt, t, SOL_TCP, TCP_NODELAY, &one, sizeof one);
	syscall(SYS_setsockopt, t, SOL_IPV6, IPV6_V6ONLY, &one, sizeof one);
	syscall(SYS_getsockopt, t, SOL_TCP, TCP_NODELAY, &val, &len);
	syscall(SYS_close, t);

	long ep = syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, s, &ev);
	ev.events = EPOLLOUT;
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, s, &ev);
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, s, &ev); /* EEXIST */
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, s, NULL);
	syscall(SYS_epoll_create1, 0x1); /* EINVAL */
	syscall(SYS_close, ep);

	struct pollfd pf[2] = {{.fd = s, .events = POLLOUT}, {.fd = s, .events = POLLIN | POLLPRI}};
	syscall(SYS_ppoll, pf, 1, &(struct timespec){0, 0}, NULL, 8);
	syscall(SYS_ppoll, pf, 2, NULL, NULL, 8);
#ifdef SYS_poll
	syscall(SYS_poll, pf, 1, 0);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(s, &rd);
	struct timeval tv = {0, 0};
	syscall(SYS_select, s + 1, &rd, NULL, NULL, &tv);
#endif
	syscall(SYS_close, s);
	return 0;
}
