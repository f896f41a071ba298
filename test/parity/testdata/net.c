/* net: socket calls over loopback and AF_UNIX with known addresses, successes and failures. argv[1] is an
 * empty work directory (for the AF_UNIX path). */
#include "parity.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

/* Fixed ports below the ephemeral range, so that both runs show the same addresses. */
enum { LISTEN_PORT = 29311, CLIENT_PORT = 29312, CLOSED_PORT = 1 };

static struct sockaddr_in in4(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	return sa;
}

/* no_linger makes close reset the connection, so that no TIME_WAIT entry keeps the fixed ports busy. */
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

static socklen_t unix_addr(struct sockaddr_un *sa, const char *path, int abstract)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	size_t n = strlen(path);
	memcpy(sa->sun_path + (abstract ? 1 : 0), path, n);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n; /* the NUL ending a path, or starting a name */
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	wait_for_go();
	char buf[64];

	/* Connection refused, IPv4 and IPv6. */
	long s = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	struct sockaddr_in closed4 = in4("127.0.0.1", CLOSED_PORT);
	syscall(SYS_connect, s, &closed4, sizeof closed4);
	syscall(SYS_close, s);
	s = syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 closed6 = {.sin6_family = AF_INET6, .sin6_port = htons(CLOSED_PORT)};
	inet_pton(AF_INET6, "::1", &closed6.sin6_addr);
	syscall(SYS_connect, s, &closed6, sizeof closed6);
	syscall(SYS_close, s);

	/* A TCP connection between fixed ports, accepted with the peer's address. */
	long l = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	reuse(l);
	struct sockaddr_in la = in4("127.0.0.1", LISTEN_PORT);
	syscall(SYS_bind, l, &la, sizeof la);
	syscall(SYS_listen, l, 8);
	long c = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	reuse(c);
	no_linger(c);
	struct sockaddr_in ca = in4("127.0.0.1", CLIENT_PORT);
	syscall(SYS_bind, c, &ca, sizeof ca);
	syscall(SYS_connect, c, &la, sizeof la);
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	long a = syscall(SYS_accept4, l, &peer, &plen, SOCK_CLOEXEC);
	no_linger(a);
	syscall(SYS_write, c, "ping", 4);
	syscall(SYS_read, a, buf, sizeof buf);
	syscall(SYS_close, a);
	syscall(SYS_close, c);
	fcntl(l, F_SETFL, O_NONBLOCK);
	syscall(SYS_accept4, l, NULL, NULL, SOCK_NONBLOCK); /* EAGAIN */
	long l2 = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	syscall(SYS_bind, l2, &la, sizeof la); /* EADDRINUSE */
	syscall(SYS_close, l2);
	syscall(SYS_close, l);
	syscall(SYS_listen, -1, 1); /* EBADF */

	/* IPv6 datagrams with a flow label and a scope. */
	long u = syscall(SYS_socket, AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
	struct sockaddr_in6 flow = {.sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_flowinfo = htonl(0x12345)};
	inet_pton(AF_INET6, "::1", &flow.sin6_addr);
	syscall(SYS_connect, u, &flow, sizeof flow);
	struct sockaddr_in6 scoped = {.sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_scope_id = 1};
	inet_pton(AF_INET6, "fe80::1:2", &scoped.sin6_addr);
	syscall(SYS_connect, u, &scoped, sizeof scoped);
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
	syscall(SYS_connect, u, &mapped, sizeof mapped);
	syscall(SYS_close, u);

	/* AF_UNIX: a path and an abstract name, listening, connecting and accepting. */
	char path[200];
	snprintf(path, sizeof path, "%s/parity.sock", argv[1]);
	for (int abstract = 0; abstract <= 1; abstract++) {
		struct sockaddr_un sa;
		socklen_t n = unix_addr(&sa, abstract ? "swoll-parity-abstract" : path, abstract);
		l = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		syscall(SYS_bind, l, &sa, n);
		syscall(SYS_listen, l, 1);
		c = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
		syscall(SYS_connect, c, &sa, n);
		struct sockaddr_un from;
		socklen_t flen = sizeof from;
		a = syscall(SYS_accept4, l, &from, &flen, 0);
		syscall(SYS_close, a);
		syscall(SYS_close, c);
		syscall(SYS_close, l);
	}
	/* An abstract name with a NUL and a byte that is not printable in it. */
	struct sockaddr_un odd = {.sun_family = AF_UNIX};
	memcpy(odd.sun_path, "\0par\0ity\x01", 10);
	l = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
	syscall(SYS_bind, l, &odd, offsetof(struct sockaddr_un, sun_path) + 10);
	syscall(SYS_close, l);
	struct sockaddr_un missing;
	socklen_t mn = unix_addr(&missing, "/nonexistent/parity.sock", 0);
	c = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
	syscall(SYS_connect, c, &missing, mn); /* ENOENT */
	mn = unix_addr(&missing, "swoll-parity-nobody", 1);
	syscall(SYS_connect, c, &missing, mn); /* ECONNREFUSED */
	syscall(SYS_close, c);

	/* Netlink, and a family nobody implements. */
	s = syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	syscall(SYS_bind, s, &nl, sizeof nl);
	syscall(SYS_close, s);
	syscall(SYS_socket, 12345, SOCK_STREAM, 0); /* EAFNOSUPPORT */
	return 0;
}
