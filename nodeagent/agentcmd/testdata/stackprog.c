// The C workload of the stack root tests (stack_root_test.go), built with frame pointers: prints "ready",
// waits for a line, writes one byte to /dev/null three times through outer() and inner(), prints "done" and
// waits for stdin to close, so that its maps are still there when the agent symbolizes its stacks.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void inner(int fd)
{
	write(fd, "x", 1);
	__asm__ volatile(""); // not a tail call: inner keeps its frame
}

__attribute__((noinline)) void outer(int fd)
{
	inner(fd);
	__asm__ volatile("");
}

int main(void)
{
	char line[64];
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 1;
	for (int i = 0; i < 3; i++)
		outer(fd);
	printf("done\n");
	fflush(stdout);
	while (fgets(line, sizeof line, stdin))
		;
	return 0;
}
