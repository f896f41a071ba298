// prog is the live process of the symbolize tests, built with frame pointers. From inside blocked_here it
// prints the return addresses a frame-pointer walk of its own stack gives ("stack 0x... 0x..."), which is
// what the kernel's walk gives at the read(2) that follows, and blocks in that read until its standard input
// has a line: "dlopen PATH" loads a library and prints its lib_func's address, "exec PATH" execs PATH, and
// anything else (or end of file) exits.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char line[4096];

__attribute__((noinline)) static int blocked_here(void) {
	void **fp = __builtin_frame_address(0);
	printf("stack");
	for (int i = 0; fp && i < 16; i++) {
		void **next = fp[0];
		printf(" %p", fp[1]);
		// the walk stops where a caller without frame pointers left no plausible frame
		if (next <= fp || (char *)next - (char *)fp > (1 << 20))
			break;
		fp = next;
	}
	printf("\n");
	fflush(stdout);
	ssize_t n = read(0, line, sizeof line - 1);
	if (n <= 0)
		return 0;
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	if (strncmp(line, "dlopen ", 7) == 0) {
		void *h = dlopen(line + 7, RTLD_NOW);
		void *f = h ? dlsym(h, "lib_func") : NULL;
		printf("lib_func %p\n", f);
		return 1;
	}
	if (strncmp(line, "exec ", 5) == 0) {
		execl(line + 5, line + 5, (char *)NULL);
		return 0;
	}
	return 0;
}

__attribute__((noinline)) void middle(void) {
	while (blocked_here())
		;
}

int main(void) {
	middle();
	return 0;
}
