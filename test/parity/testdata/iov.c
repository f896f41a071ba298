/* iov: the arrays strace follows. iovecs of readv/writev/preadv/pwritev (2), msghdrs with names, iovecs and
 * control messages (SCM_RIGHTS) of sendmsg/recvmsg, epoll_wait's events, and ioctl
 * arguments, successes and failures. argv[1] is an empty work directory. */
#include "parity.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

enum { UDP_PORT = 29321 };

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]) != 0)
		return 2;
	wait_for_go();

	/* writev/readv on a file: several iovecs, a short read, an empty one. */
	long fd = syscall(SYS_openat, AT_FDCWD, "iov-file", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iovec w[3] = {{"hello ", 6}, {"vectored", 8}, {"\n\t\x01end", 6}};
	syscall(SYS_writev, fd, w, 3);
	syscall(SYS_pwritev, fd, w, 2, 100, 0);
	syscall(SYS_pwritev2, fd, w + 1, 1, 200, 0, RWF_DSYNC);
	syscall(SYS_lseek, fd, 0, SEEK_SET);
	char a[4], b[16], c[64];
	struct iovec r[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
	syscall(SYS_readv, fd, r, 3);
	syscall(SYS_readv, fd, r, 3); /* at the end: 0 */
	syscall(SYS_preadv, fd, r, 2, 100, 0);
	syscall(SYS_preadv2, fd, r, 1, 200, 0, 0);
	syscall(SYS_readv, -1, r, 3);	     /* EBADF */
	syscall(SYS_writev, fd, NULL, 1);    /* EFAULT */
	syscall(SYS_writev, fd, w, 0);	     /* nothing */
	syscall(SYS_close, fd);

	/* ioctl on a pipe: how much is buffered, non-blocking mode. */
	int p[2];
	syscall(SYS_pipe2, p, O_CLOEXEC);
	syscall(SYS_write, p[1], "12345", 5);
	int avail = -1, on = 1, off = 0;
	syscall(SYS_ioctl, p[0], FIONREAD, &avail);
	syscall(SYS_ioctl, p[0], FIONBIO, &on);
	syscall(SYS_ioctl, p[0], FIONBIO, &off);
	syscall(SYS_ioctl, p[0], FIOCLEX);
	syscall(SYS_ioctl, p[0], FIONCLEX);
	syscall(SYS_ioctl, p[0], TCSBRK, 1); /* ENOTTY */

	/* epoll_wait: events ready, none ready, and a bad descriptor. */
	long ep = syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], &ev);
	ev.events = EPOLLOUT;
	ev.data.fd = p[1];
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[1], &ev);
	struct epoll_event out[8];
#ifdef SYS_epoll_wait
	syscall(SYS_epoll_wait, ep, out, 8, 0);
	syscall(SYS_epoll_wait, ep, out, 1, 0);
#endif
	syscall(SYS_epoll_pwait, ep, out, 8, 0, NULL, 8);
	syscall(SYS_read, p[0], c, sizeof c);
	syscall(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[1], NULL);
	syscall(SYS_epoll_pwait, ep, out, 8, 0, NULL, 8); /* none */
	syscall(SYS_epoll_pwait, -1, out, 8, 0, NULL, 8); /* EBADF */
	syscall(SYS_close, ep);

	/* sendmsg/recvmsg over UDP on loopback: addresses in msg_name. */
	long u = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)};
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	syscall(SYS_bind, u, &to, sizeof to);
	struct iovec d[2] = {{"dgram-", 6}, {"payload", 7}};
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = d, .msg_iovlen = 2};
	syscall(SYS_sendmsg, u, &m, 0);
	struct sockaddr_in from;
	char rb[8], rb2[32];
	struct iovec ri[2] = {{rb, sizeof rb}, {rb2, sizeof rb2}};
	struct msghdr rm = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = ri, .msg_iovlen = 2};
	syscall(SYS_recvmsg, u, &rm, 0);
	rm.msg_namelen = sizeof from;
	syscall(SYS_recvmsg, u, &rm, MSG_DONTWAIT); /* EAGAIN */
	syscall(SYS_close, u);

	/* SCM_RIGHTS and SCM_CREDENTIALS over an AF_UNIX socketpair. */
	int sv[2];
	syscall(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, sv);
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct iovec one = {"fds", 3};
	struct msghdr fm = {.msg_iov = &one, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&fm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = {p[0], p[1]};
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	syscall(SYS_sendmsg, sv[0], &fm, 0);
	char fb[8];
	struct iovec fi = {fb, sizeof fb};
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} rctl;
	struct msghdr frm = {.msg_iov = &fi, .msg_iovlen = 1, .msg_control = rctl.buf, .msg_controllen = sizeof rctl.buf};
	syscall(SYS_recvmsg, sv[1], &frm, MSG_CMSG_CLOEXEC);
	syscall(SYS_sendmsg, sv[0], &m, MSG_DONTWAIT); /* EISCONN: a name on a connected socket */
	syscall(SYS_sendmsg, sv[0], NULL, 0);	   /* EFAULT */
	syscall(SYS_close, sv[0]);
	syscall(SYS_close, sv[1]);
	syscall(SYS_close, p[0]);
	syscall(SYS_close, p[1]);
	return 0;
}
