/* fs: file and directory calls beyond files.c: stat family, xattrs, modes and owners, links, truncation,
 * sync, directories, times, inotify, memfd, pipes, dup, fcntl, ioctl, seek, locks. argv[1] is an empty work
 * directory. */
#include "parity.h"
#include <linux/stat.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <termios.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	wait_for_go();
	syscall(SYS_chdir, argv[1]);
	long fd = syscall(SYS_openat, AT_FDCWD, "f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	syscall(SYS_write, fd, "0123456789abcd", 14);

	struct stat st;
	syscall(SYS_fstat, fd, &st);
	syscall(SYS_fstat, -1, &st); /* EBADF */
	syscall(SYS_newfstatat, AT_FDCWD, "f", &st, 0);
	syscall(SYS_newfstatat, AT_FDCWD, "missing", &st, AT_SYMLINK_NOFOLLOW); /* ENOENT */
	syscall(SYS_newfstatat, AT_FDCWD, "/dev/null", &st, 0);
#ifdef SYS_stat
	syscall(SYS_stat, "f", &st);
	syscall(SYS_lstat, "missing", &st);
#endif
	struct statx stx;
	syscall(SYS_statx, AT_FDCWD, "f", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx);
	syscall(SYS_statx, AT_FDCWD, ".", 0, STATX_TYPE | STATX_MODE, &stx);
	syscall(SYS_statx, AT_FDCWD, "missing", 0, STATX_ALL, &stx); /* ENOENT */

	syscall(SYS_setxattr, "f", "user.parity", "v1", 2, XATTR_CREATE);
	syscall(SYS_setxattr, "f", "user.parity", "v2", 2, XATTR_CREATE); /* EEXIST */
	syscall(SYS_lsetxattr, "f", "user.other", "value", 5, 0);
	syscall(SYS_fsetxattr, fd, "user.parity", "v3", 2, XATTR_REPLACE);
	char xb[64];
	syscall(SYS_getxattr, "f", "user.parity", xb, sizeof xb);
	syscall(SYS_lgetxattr, "f", "user.missing", xb, sizeof xb); /* ENODATA */
	syscall(SYS_fgetxattr, fd, "user.other", xb, sizeof xb);
	syscall(SYS_listxattr, "f", xb, sizeof xb);
	syscall(SYS_flistxattr, fd, xb, sizeof xb);
	syscall(SYS_removexattr, "f", "user.other");
	syscall(SYS_lremovexattr, "f", "user.other"); /* ENODATA */
	syscall(SYS_fremovexattr, fd, "user.parity");

	syscall(SYS_fchmod, fd, 0600);
	syscall(SYS_fchmodat, AT_FDCWD, "f", 0640);
	syscall(SYS_fchmodat, AT_FDCWD, "missing", 0640); /* ENOENT */
#ifdef SYS_chmod
	syscall(SYS_chmod, "f", 04755);
	syscall(SYS_chown, "f", 1000, 1000);
	syscall(SYS_lchown, "f", -1, 0);
#endif
	syscall(SYS_fchown, fd, 0, -1);
	syscall(SYS_fchownat, AT_FDCWD, "f", -1, -1, AT_SYMLINK_NOFOLLOW);
	syscall(SYS_fchownat, AT_FDCWD, "missing", 0, 0, 0); /* ENOENT */

	syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, "hard", 0);
	syscall(SYS_linkat, AT_FDCWD, "missing", AT_FDCWD, "hard2", AT_SYMLINK_FOLLOW); /* ENOENT */
	syscall(SYS_symlinkat, "f", AT_FDCWD, "soft");
	syscall(SYS_symlinkat, "f", AT_FDCWD, "soft"); /* EEXIST */
	char lb[64];
	syscall(SYS_readlinkat, AT_FDCWD, "soft", lb, sizeof lb);
	syscall(SYS_readlinkat, AT_FDCWD, "f", lb, sizeof lb); /* EINVAL */
#ifdef SYS_readlink
	syscall(SYS_readlink, "soft", lb, 1);
	syscall(SYS_link, "f", "hard3");
	syscall(SYS_symlink, "/nonexistent/target", "dangling");
	syscall(SYS_unlink, "hard3");
	syscall(SYS_rename, "dangling", "dangling2");
	syscall(SYS_mkdir, "d2", 0700);
	syscall(SYS_rmdir, "d2");
	syscall(SYS_access, "f", R_OK);
#endif
	syscall(SYS_truncate, "f", 10);
	syscall(SYS_truncate, "missing", 0); /* ENOENT */
	syscall(SYS_ftruncate, fd, 12);
	syscall(SYS_ftruncate, fd, -1); /* EINVAL */
	syscall(SYS_fsync, fd);
	syscall(SYS_fdatasync, fd);
	syscall(SYS_fsync, -1); /* EBADF */
	syscall(SYS_sync_file_range, fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	syscall(SYS_syncfs, fd);
	syscall(SYS_fallocate, fd, 0, 0, 4096);
	syscall(SYS_fallocate, fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 512);
	syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	syscall(SYS_fadvise64, fd, 0, 0, 99); /* EINVAL */
	syscall(SYS_lseek, fd, 0, SEEK_SET);
	syscall(SYS_lseek, fd, -2, SEEK_END);
	syscall(SYS_lseek, fd, 0, 7); /* EINVAL */
	syscall(SYS_flock, fd, LOCK_EX | LOCK_NB);
	syscall(SYS_flock, fd, LOCK_UN);

	syscall(SYS_mkdirat, AT_FDCWD, "sub", 0755);
	long dfd = syscall(SYS_openat, AT_FDCWD, "sub", O_RDONLY | O_DIRECTORY);
	syscall(SYS_fchdir, dfd);
	syscall(SYS_fchdir, -1); /* EBADF */
	char cwd[4096];
	syscall(SYS_getcwd, cwd, sizeof cwd);
	syscall(SYS_getcwd, cwd, 1); /* ERANGE */
	syscall(SYS_chdir, "..");
	char dents[4096];
	syscall(SYS_getdents64, dfd, dents, sizeof dents);
	syscall(SYS_getdents64, dfd, dents, sizeof dents);
	syscall(SYS_getdents64, fd, dents, sizeof dents); /* ENOTDIR */
	syscall(SYS_close, dfd);
	syscall(SYS_umask, 022);
	syscall(SYS_umask, 077);
	syscall(SYS_mknodat, AT_FDCWD, "fifo", S_IFIFO | 0600, 0);

	/* Set-ID and sticky bits: strace names them in st_mode and in mknod's mode (S_IFDIR|S_ISVTX|0777) and
	 * prints them in octal where a call takes permission bits (01777), as it does type bits (0100644). */
	syscall(SYS_mkdirat, AT_FDCWD, "sticky", 01777);
	syscall(SYS_fchmodat, AT_FDCWD, "sticky", 01777); /* the umask cleared what mkdirat asked for */
	syscall(SYS_newfstatat, AT_FDCWD, "sticky", &st, 0);
	syscall(SYS_statx, AT_FDCWD, "sticky", 0, STATX_TYPE | STATX_MODE, &stx);
	syscall(SYS_fchmodat, AT_FDCWD, "f", 06755);
	syscall(SYS_newfstatat, AT_FDCWD, "f", &st, 0);
	syscall(SYS_fchmod, fd, 02711);
	syscall(SYS_fstat, fd, &st);
	syscall(SYS_fchmodat, AT_FDCWD, "f", S_IFREG | 0644);
	syscall(SYS_mknodat, AT_FDCWD, "fifo2", S_IFIFO | S_ISVTX | 0644, 0);
	syscall(SYS_mknodat, AT_FDCWD, "setid", S_ISUID | S_ISGID | 0600, 0); /* no type: a regular file */
	syscall(SYS_newfstatat, AT_FDCWD, "setid", &st, 0);
	syscall(SYS_umask, 017022);
	syscall(SYS_umask, 077);
#ifdef SYS_mkdir
	syscall(SYS_mkdir, "sticky2", 01755);
	syscall(SYS_chmod, "sticky2", 03777);
	syscall(SYS_stat, "sticky2", &st);
	syscall(SYS_mknod, "fifo3", S_IFIFO | S_ISUID | 0600, 0);
#endif

	struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_NOW}, {.tv_sec = 1000000000, .tv_nsec = 5}};
	syscall(SYS_utimensat, AT_FDCWD, "f", ts, 0);
	syscall(SYS_utimensat, AT_FDCWD, "f", NULL, AT_SYMLINK_NOFOLLOW);
	struct timespec omit[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
	syscall(SYS_utimensat, fd, NULL, omit, 0);
	syscall(SYS_utimensat, AT_FDCWD, "missing", ts, 0); /* ENOENT */

	long in = syscall(SYS_inotify_init1, IN_NONBLOCK | IN_CLOEXEC);
	long wd = syscall(SYS_inotify_add_watch, in, ".", IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_ONLYDIR);
	syscall(SYS_inotify_add_watch, in, "missing", IN_ALL_EVENTS); /* ENOENT */
	syscall(SYS_inotify_rm_watch, in, wd);
	syscall(SYS_inotify_rm_watch, in, 12345); /* EINVAL */
	syscall(SYS_inotify_init1, 0x1); /* EINVAL */
	syscall(SYS_close, in);

	long mfd = syscall(SYS_memfd_create, "parity", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	syscall(SYS_fcntl, mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	syscall(SYS_fcntl, mfd, F_GET_SEALS);
	syscall(SYS_memfd_create, "bad", 0x1000); /* EINVAL */
	syscall(SYS_close, mfd);

	int p[2];
	syscall(SYS_pipe2, p, O_CLOEXEC | O_NONBLOCK);
	syscall(SYS_pipe2, p, 0x1); /* EINVAL */
#ifdef SYS_pipe
	int q[2];
	syscall(SYS_pipe, q);
	syscall(SYS_close, q[0]);
	syscall(SYS_close, q[1]);
#endif
	long d1 = syscall(SYS_dup, fd);
	syscall(SYS_dup, -1); /* EBADF */
	syscall(SYS_dup3, fd, 20, O_CLOEXEC);
	syscall(SYS_dup3, fd, fd, 0); /* EINVAL */
#ifdef SYS_dup2
	syscall(SYS_dup2, fd, 21);
#endif
	syscall(SYS_fcntl, fd, F_GETFD);
	syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
	syscall(SYS_fcntl, fd, F_GETFL);
	syscall(SYS_fcntl, fd, F_SETFL, O_NONBLOCK | O_APPEND);
	syscall(SYS_fcntl, fd, F_DUPFD, 30);
	syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 31);
	syscall(SYS_fcntl, p[0], F_GETPIPE_SZ);
	syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, 8192);
	syscall(SYS_fcntl, -1, F_GETFD); /* EBADF */
	syscall(SYS_fcntl, fd, F_SETSIG, SIGUSR1);
	syscall(SYS_fcntl, fd, F_GETSIG);
	syscall(SYS_fcntl, fd, F_SETOWN, 0);
	syscall(SYS_fcntl, fd, F_GETOWN);

	struct winsize ws;
	struct termios tio;
	int nb = 1, avail;
	syscall(SYS_ioctl, fd, TCGETS, &tio);	    /* ENOTTY */
	syscall(SYS_ioctl, fd, TIOCGWINSZ, &ws);    /* ENOTTY */
	syscall(SYS_ioctl, p[0], FIONREAD, &avail);
	syscall(SYS_ioctl, p[0], FIONBIO, &nb);
	syscall(SYS_ioctl, p[0], FIOCLEX);
	syscall(SYS_ioctl, -1, TCGETS, &tio); /* EBADF */
	syscall(SYS_close, p[0]);
	syscall(SYS_close, p[1]);
	syscall(SYS_close_range, 20, 31, 0);
	syscall(SYS_close_range, 40, 30, 0); /* EINVAL */
	syscall(SYS_close, d1);
	syscall(SYS_sync);
	syscall(SYS_close, fd);
	return 0;
}
