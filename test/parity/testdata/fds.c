/* fds: descriptors of every kind -y and -yy describe, each used by a call while it is open: files (a path
 * relative to a dirfd and to the working directory, one unlinked while open, one renamed while open), a device,
 * pipes, an eventfd, a memfd, duplicates, a unix socket pair, a bound unix socket, TCP and UDP over IPv4 and IPv6
 * between fixed ports, a netlink socket. argv[1] is an empty work directory. */
#include "parity.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Fixed ports below the ephemeral range, so that both runs show the same addresses. */
enum { TCP_PORT = 29321, TCP_CLIENT = 29322, UDP_PORT = 29323, UDP_CLIENT = 29324 };

static void no_linger(long fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static void reuse(long fd)
{
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	wait_for_go();
	syscall(SYS_chdir, argv[1]);
	char buf[64];

	/* Files: created in the working directory, opened relative to a dirfd, written, read, closed. */
	long fd = syscall(SYS_openat, AT_FDCWD, "data.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	syscall(SYS_write, fd, "fds\n", 4);
	syscall(SYS_lseek, fd, 0, SEEK_SET);
	syscall(SYS_read, fd, buf, sizeof buf);
	syscall(SYS_fsync, fd);
	long dir = syscall(SYS_openat, AT_FDCWD, ".", O_RDONLY | O_DIRECTORY);
	long fd2 = syscall(SYS_openat, dir, "data.txt", O_RDONLY);
	syscall(SYS_read, fd2, buf, sizeof buf);
	syscall(SYS_fstat, fd2, buf);
	syscall(SYS_close, fd2);
	syscall(SYS_close, dir);
	/* Duplicates, onto a free number and over an open one. */
	long dup = syscall(SYS_dup, fd);
	long other = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
	syscall(SYS_write, other, "x", 1);
#ifdef SYS_dup2
	syscall(SYS_dup2, fd, other);
#endif
	syscall(SYS_dup3, dup, other, O_CLOEXEC);
	syscall(SYS_close, other);
	syscall(SYS_close, dup);
	/* Renamed, then unlinked, while open. */
	syscall(SYS_renameat, AT_FDCWD, "data.txt", AT_FDCWD, "renamed.txt");
	syscall(SYS_fsync, fd);
	syscall(SYS_unlinkat, AT_FDCWD, "renamed.txt", 0);
	syscall(SYS_write, fd, "gone\n", 5);
	syscall(SYS_close, fd);
	syscall(SYS_close, fd); /* EBADF: no longer anything */
	syscall(SYS_read, -1, buf, 1);

	/* A pipe, an eventfd, a memfd. */
	int p[2];
	syscall(SYS_pipe2, p, O_CLOEXEC);
	syscall(SYS_write, p[1], "x", 1);
	syscall(SYS_read, p[0], buf, 1);
	syscall(SYS_close, p[0]);
	syscall(SYS_close, p[1]);
	long efd = syscall(SYS_eventfd2, 0, 0);
	uint64_t one = 1;
	syscall(SYS_write, efd, &one, sizeof one);
	syscall(SYS_close, efd);
	long mfd = syscall(SYS_memfd_create, "parity-memfd", 0);
	syscall(SYS_write, mfd, "m", 1);
	syscall(SYS_close, mfd);

	/* A unix socket pair, and a unix socket bound to a path. */
	int sv[2];
	syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
	syscall(SYS_write, sv[0], "x", 1);
	syscall(SYS_read, sv[1], buf, 1);
	syscall(SYS_shutdown, sv[1], SHUT_RDWR);
	struct sockaddr_un ua = {.sun_family = AF_UNIX};
	snprintf(ua.sun_path, sizeof ua.sun_path, "%s/fds.sock", argv[1]);
	long us = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	syscall(SYS_bind, us, &ua, sizeof ua);
	syscall(SYS_listen, us, 1);
	syscall(SYS_close, us);

	/* TCP over IPv4 between fixed ports. */
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
	struct sockaddr_in ca = {.sin_family = AF_INET, .sin_port = htons(TCP_CLIENT)};
	inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &ca.sin_addr);
	long l = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	reuse(l);
	syscall(SYS_bind, l, &la, sizeof la);
	syscall(SYS_listen, l, 1);
	long c = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	reuse(c);
	no_linger(c);
	syscall(SYS_bind, c, &ca, sizeof ca);
	syscall(SYS_connect, c, &la, sizeof la);
	long a = syscall(SYS_accept4, l, NULL, NULL, 0);
	no_linger(a);
	syscall(SYS_write, c, "ping", 4);
	syscall(SYS_read, a, buf, sizeof buf);
	syscall(SYS_shutdown, a, SHUT_WR);
	syscall(SYS_shutdown, c, SHUT_WR);

	/* UDP over IPv6 between fixed ports. */
	struct sockaddr_in6 u6 = {.sin6_family = AF_INET6, .sin6_port = htons(UDP_PORT)};
	struct sockaddr_in6 u6c = {.sin6_family = AF_INET6, .sin6_port = htons(UDP_CLIENT)};
	inet_pton(AF_INET6, "::1", &u6.sin6_addr);
	inet_pton(AF_INET6, "::1", &u6c.sin6_addr);
	long us6 = syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	syscall(SYS_bind, us6, &u6, sizeof u6);
	long uc6 = syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	syscall(SYS_bind, uc6, &u6c, sizeof u6c);
	syscall(SYS_connect, uc6, &u6, sizeof u6);
	syscall(SYS_write, uc6, "udp", 3);
	syscall(SYS_read, us6, buf, sizeof buf);
	/* UDP over IPv4, not bound: the kernel picks the port at the connect. */
	long u4 = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	syscall(SYS_connect, u4, &la, sizeof la);

	/* Netlink, bound (its port id is the process's id). */
	long nl = syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	struct sockaddr_nl nla = {.nl_family = AF_NETLINK};
	syscall(SYS_bind, nl, &nla, sizeof nla);

	/* The sockets are closed last, each while its peer is still open. */
	syscall(SYS_close, nl);
	syscall(SYS_close, u4);
	syscall(SYS_close, uc6);
	syscall(SYS_close, us6);
	syscall(SYS_close, a);
	syscall(SYS_close, c);
	syscall(SYS_close, l);
	syscall(SYS_close, sv[0]); /* sv[1] goes with the process: after sv[0], its peer would be gone */
	return 0;
}
