/* files: file-system calls with known arguments, successes and failures. argv[1] is an empty work
 * directory; everything happens below it. */
#include "parity.h"
#include <linux/openat2.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	wait_for_go();
	syscall(SYS_chdir, argv[1]);

	long fd = syscall(SYS_openat, AT_FDCWD, "data.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	syscall(SYS_write, fd, "hello, parity\n", 14);
	syscall(SYS_write, fd, "tab\tquote\"backslash\\ctl\x01\x7f\n", 27);
	syscall(SYS_write, fd, "caf\xc3\xa9 \xff\xfe\n", 9); /* valid UTF-8 é, then two bytes that are not */
	char big[300];
	for (int i = 0; i < (int)sizeof big; i++)
		big[i] = 'a' + i % 26;
	syscall(SYS_write, fd, big, sizeof big); /* longer than the agent keeps */
	syscall(SYS_close, fd);
	syscall(SYS_close, fd); /* EBADF */
	syscall(SYS_write, -1, "lost", 4);

	char buf[4096];
	fd = syscall(SYS_openat, AT_FDCWD, "data.txt", O_RDONLY);
	syscall(SYS_read, fd, buf, 14);
	syscall(SYS_read, fd, buf, 36);
	syscall(SYS_read, fd, buf, sizeof buf);
	syscall(SYS_read, fd, buf, sizeof buf); /* end of file */
	syscall(SYS_read, -1, buf, 8);
	syscall(SYS_close, fd);

	syscall(SYS_openat, AT_FDCWD, "missing/file", O_RDONLY);
	syscall(SYS_openat, AT_FDCWD, "data.txt", O_WRONLY | O_CREAT | O_EXCL, 0600);
	long dirfd = syscall(SYS_openat, AT_FDCWD, ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	fd = syscall(SYS_openat, dirfd, "data.txt", O_RDWR | O_APPEND | O_NOFOLLOW);
	syscall(SYS_close, fd);
	fd = syscall(SYS_openat, AT_FDCWD, ".", O_TMPFILE | O_RDWR, 0600);
	syscall(SYS_close, fd);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	syscall(SYS_openat, AT_FDCWD, longname, O_RDONLY); /* ENAMETOOLONG */
	syscall(SYS_openat, AT_FDCWD, "data.txt", O_RDONLY | O_SYNC | O_NOATIME | O_NOCTTY | 0x80000000);
#ifdef SYS_open
	fd = syscall(SYS_open, "data.txt", O_RDONLY);
	syscall(SYS_close, fd);
	syscall(SYS_open, "missing/file", O_WRONLY | O_CREAT, 0644);
#endif
#ifdef SYS_creat
	fd = syscall(SYS_creat, "created.txt", 0644);
	syscall(SYS_close, fd);
	syscall(SYS_creat, "missing/file", 04755);
#endif

	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
	fd = syscall(SYS_openat2, AT_FDCWD, "data.txt", &how, sizeof how);
	syscall(SYS_close, fd);
	struct open_how create = {.flags = O_WRONLY | O_CREAT, .mode = 0600};
	fd = syscall(SYS_openat2, AT_FDCWD, "new2.txt", &create, sizeof create);
	syscall(SYS_close, fd);
	struct open_how beneath = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	syscall(SYS_openat2, dirfd, "/etc/hostname", &beneath, sizeof beneath); /* EXDEV */
	struct open_how badmode = {.flags = O_RDONLY, .mode = 0644};
	syscall(SYS_openat2, AT_FDCWD, "data.txt", &badmode, sizeof badmode); /* EINVAL */

	syscall(SYS_mkdirat, AT_FDCWD, "dir", 0755);
	syscall(SYS_mkdirat, AT_FDCWD, "dir", 0700); /* EEXIST */
	syscall(SYS_mkdirat, dirfd, "dir/sub", 01777);

	syscall(SYS_faccessat, AT_FDCWD, "data.txt", R_OK | W_OK);
	syscall(SYS_faccessat, AT_FDCWD, "missing", F_OK);
	syscall(SYS_faccessat, dirfd, "dir", X_OK);
	syscall(SYS_faccessat2, AT_FDCWD, "data.txt", R_OK, AT_EACCESS);
	syscall(SYS_faccessat2, AT_FDCWD, "dir", F_OK, AT_SYMLINK_NOFOLLOW);
	syscall(SYS_faccessat2, AT_FDCWD, "data.txt", R_OK, 0x8000); /* EINVAL */

	syscall(SYS_renameat, AT_FDCWD, "new2.txt", dirfd, "renamed.txt");
	syscall(SYS_renameat, AT_FDCWD, "missing", AT_FDCWD, "other"); /* ENOENT */
	syscall(SYS_renameat2, AT_FDCWD, "renamed.txt", AT_FDCWD, "data.txt", RENAME_NOREPLACE); /* EEXIST */
	syscall(SYS_renameat2, AT_FDCWD, "renamed.txt", AT_FDCWD, "data.txt", RENAME_EXCHANGE);
	syscall(SYS_renameat2, AT_FDCWD, "renamed.txt", AT_FDCWD, "moved.txt", 0);

	syscall(SYS_chdir, "dir");
	syscall(SYS_chdir, "..");
	syscall(SYS_chdir, "missing"); /* ENOENT */

	syscall(SYS_unlinkat, AT_FDCWD, "moved.txt", 0);
	syscall(SYS_unlinkat, AT_FDCWD, "missing", 0);			/* ENOENT */
	syscall(SYS_unlinkat, AT_FDCWD, "dir", 0);			/* EISDIR */
	syscall(SYS_unlinkat, AT_FDCWD, "dir", AT_REMOVEDIR);		/* ENOTEMPTY */
	syscall(SYS_unlinkat, dirfd, "dir/sub", AT_REMOVEDIR);
	syscall(SYS_unlinkat, AT_FDCWD, "dir", AT_REMOVEDIR);
	syscall(SYS_close, dirfd);
	return 0;
}
