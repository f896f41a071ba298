// lib is the shared library prog loads with dlopen: lib_func is exported (.dynsym), lib_static is not.
static volatile int sink;

__attribute__((noinline)) static int lib_static(int x) {
	for (int i = 0; i < x; i++)
		sink += i;
	return sink;
}

__attribute__((noinline)) int lib_func(int x) { return lib_static(x) + 1; }
