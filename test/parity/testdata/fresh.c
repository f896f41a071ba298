/* fresh: freshly forked children that exec and open string literals, which sit in pages of the binary the
 * child has not touched yet (a BPF read at entry cannot fault them in), built static and dynamic. Also a
 * shell that runs a command. argv[1] is a work directory. */
#include "parity.h"

static void child(int n)
{
	switch (n) {
	case 0:
		syscall(SYS_execve, "/bin/true", (char *[]){"true", "literal-arg", "second literal", NULL}, (char *[]){"A=1", NULL});
		break;
	case 1:
		syscall(SYS_openat, AT_FDCWD, "/etc/fresh-child-literal-path", O_RDONLY);
		syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);
		syscall(SYS_execve, "/bin/sh", (char *[]){"sh", "-c", "exec /bin/cat /etc/hostname >/dev/null", NULL}, (char *[]){NULL});
		break;
	case 2:
		syscall(SYS_execve, "/nonexistent/fresh-literal", (char *[]){"fresh-literal", NULL}, (char *[]){NULL});
		syscall(SYS_execveat, AT_FDCWD, "/bin/true", (char *[]){"true", "via-execveat", NULL}, (char *[]){NULL}, 0);
		break;
	}
	_exit(95);
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc != 2)
		return 2;
	wait_for_go();
	for (int n = 0; n < 3; n++) {
		long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			child(n);
		int st;
		syscall(SYS_wait4, pid, &st, 0, NULL);
	}
	return 0;
}
