/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Stacks: the user-space stack of a traced call (`trace -k`), the kernel's too (`-kk`), and in counting mode
 * the caller's stack that a counter is keyed by (`top --by caller`). Part of the core (common.h lists it);
 * probe.c (which defines STACK_RECORDS before including it) and count.c (STACK_COUNTERS) call it from small
 * hooks marked "stack.h".
 *
 * What the kernel gives: bpf_get_stack with BPF_F_USER_STACK walks the user stack by its frame pointers from
 * the registers the task entered the kernel with (it has no unwind tables): the first ip is where the task
 * entered the kernel (the syscall instruction's successor in libc's or Go's wrapper), the others are return
 * addresses. Where code on the stack keeps no frame pointer the walk stops early or goes astray; user space
 * symbolizes the ips (nodeagent/symbolize) and says which stacks are whole.
 *
 * Where a stack is taken: at sys_exit, once the call is known to be recorded (after every filter, exit-side
 * ones included), so a call that is filtered out costs nothing here. The user registers and the frames of the
 * thread's stack are the same at exit as at entry, except after a successful execve/execveat, whose old
 * address space is gone by then: their stack is taken at sys_enter into the entry stash (stack_at_entry), as
 * is that of exit/exit_group, whose record is written at entry. The kernel's stack (-kk) is taken at the same
 * points: it shows the system call's entry path in the kernel (entry_SYSCALL_64, do_syscall_64 ...), the same
 * for most calls of one kind.
 *
 * What it costs: one frame-pointer walk per recorded call, reading each frame's two words of user memory
 * (no fault is taken: a frame on a page not present ends the walk), and 8 bytes a frame in the record;
 * nothing when stacks are off (stack_user_depth is a load-time constant: the verifier prunes the code).
 *
 * In a record a stack is a capture (struct cap_hdr) whose arg is CAP_ARG_USER_STACK or CAP_ARG_KERNEL_STACK
 * and whose data is the ips, 8 bytes each, little-endian, innermost first; CAPF_TRUNCATED says the walk went
 * on past the depth kept. nodeagent/record parses it.
 *
 * Counting mode keys a counter by a 64-bit hash of the caller's user stack (the first COUNT_STACK_DEPTH
 * frames) and keeps each stack once in count_stacks, with the first process seen making it, which user space
 * symbolizes; 0 is "no stack" (none taken, or count_stacks was full).
 */
#ifndef SWOLL_STACK_H
#define SWOLL_STACK_H

#include "common.h"

#define STACK_MAX_DEPTH 127 /* frames kept at most: the kernel's default kernel.perf_event_max_stack */
#define STACK_BUF_WORDS 128 /* a walk asks for one frame more than it keeps, to tell a cut stack */
#define COUNT_STACK_DEPTH 32 /* frames of a counting key's stack: enough to reach the caller's code */

/* bpf_get_stack's flags (include/uapi/linux/bpf.h): not in the trimmed vmlinux_min.h. */
#define STACK_F_USER (1ULL << 8)

#ifdef STACK_RECORDS /* probe.c: stacks in records */

/* A stack's cap_hdr.arg: beyond the call's arguments (MAX_ARGS) and -y's fd descriptions (fdpath.h's FD_SLOT ..
 * FD_SLOT_PAIR + 1, 8..16; probe.c asserts it). Must match nodeagent/record. */
#define CAP_ARG_USER_STACK 24
#define CAP_ARG_KERNEL_STACK 25

/* Set by user space before loading: how many frames of the user stack, and of the kernel's, a record keeps
 * (0: none; at most STACK_MAX_DEPTH). The kernel's needs the user's. */
volatile const __u32 stack_user_depth = 0;
volatile const __u32 stack_kernel_depth = 0;

/* Whether records carry stacks: the hooks' condition, a constant after loading. */
static __always_inline bool stacks_on(void)
{
	return stack_user_depth != 0;
}

/* Whether the stack of call nr is taken at sys_enter: the calls that replace the address space (the caller's
 * frames are gone at exit). exit and exit_group are written at entry whatever this says. */
static __always_inline bool stack_at_entry(__u32 nr)
{
	return nr == NR_EXECVE || nr == NR_EXECVEAT;
}

/* One stack as a capture at dst: a cap_hdr (4 bytes) then the ips. dst must have room for
 * 4 + STACK_BUF_WORDS * 8 bytes. Returns the bytes written, 0 when the kernel gave nothing. */
static __always_inline __u32 stack_one(void *ctx, __u8 *dst, __u8 arg, __u32 depth, __u64 flags)
{
	if (depth == 0)
		return 0;
	if (depth > STACK_MAX_DEPTH)
		depth = STACK_MAX_DEPTH;
	__u32 want = (depth + 1) * 8;
	long n = bpf_get_stack(ctx, dst + 4, want, flags);
	if (n <= 0)
		return 0;
	__u8 cflags = 0;
	if (n >= want) {
		cflags = 2; /* CAPF_TRUNCATED: there was a frame past depth */
		n = depth * 8;
	}
	n &= (STACK_BUF_WORDS * 8) - 1;
	dst[0] = arg;
	dst[1] = cflags;
	dst[2] = n;
	dst[3] = n >> 8;
	return 4 + n;
}

/* The room a record's stacks need at most. */
#define STACKS_ROOM (2 * (4 + STACK_BUF_WORDS * 8))

/* The user stack (and the kernel's, with -kk) as captures at dst, which has STACKS_ROOM bytes. Adds the
 * captures it wrote to *ncaps; returns the bytes written. */
static __always_inline __u32 stacks_capture(void *ctx, __u8 *dst, __u16 *ncaps)
{
	__u32 w = stack_one(ctx, dst, CAP_ARG_USER_STACK, stack_user_depth, STACK_F_USER);
	if (w)
		*ncaps += 1;
	if (stack_kernel_depth == 0)
		return w;
	w &= STACK_BUF_WORDS * 8 - 1; /* no change (w <= 4 + STACK_MAX_DEPTH * 8): a bound the verifier keeps */
	__u32 k = stack_one(ctx, dst + w, CAP_ARG_KERNEL_STACK, stack_kernel_depth, 0);
	if (k)
		*ncaps += 1;
	return w + k;
}

#endif /* STACK_RECORDS */

#ifdef STACK_COUNTERS /* count.c: counters keyed by the caller's stack */

/* Set by user space before loading: whether counters are keyed by the caller's stack. */
volatile const __u8 count_by_stack = 0;

struct count_stack {
	__u32 pid; /* the first process seen with this stack: user space reads its maps */
	__u32 len; /* frames in ips */
	__u64 ips[COUNT_STACK_DEPTH];
};

/* The stacks counters are keyed by, by their hash; user space sizes it. Entries are never replaced: a hash
 * names one stack for the session. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct count_stack);
} count_stacks SEC(".maps");

struct count_stack_buf {
	__u64 owner; /* pid_tgid of the task walking: detects a preempting walker on this CPU */
	struct count_stack st;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct count_stack_buf);
} count_stack_bufs SEC(".maps");

/* The hash of the current task's user stack, its stack kept in count_stacks; 0 when there is none or no room.
 * FNV-1a over the frames, 64-bit: a collision between two stacks of one session is negligible. */
static __always_inline __u64 count_stack_key(void *ctx, __u64 pid_tgid)
{
	__u32 zero = 0;
	struct count_stack_buf *b = bpf_map_lookup_elem(&count_stack_bufs, &zero);
	if (!b)
		return 0;
	b->owner = pid_tgid;
	long n = bpf_get_stack(ctx, b->st.ips, sizeof(b->st.ips), STACK_F_USER);
	if (n <= 0)
		return 0;
	__u32 len = n / 8;
	__u64 h = 0xcbf29ce484222325ULL;
	for (__u32 i = 0; i < COUNT_STACK_DEPTH; i++) {
		if (i >= len)
			break;
		h ^= b->st.ips[i];
		h *= 0x100000001b3ULL;
	}
	if (h == 0)
		h = 1;
	if (b->owner != pid_tgid)
		return 0; /* another task walked on this CPU meanwhile: the frames are not ours */
	if (bpf_map_lookup_elem(&count_stacks, &h))
		return h;
	b->st.pid = pid_tgid >> 32;
	b->st.len = len;
	long err = bpf_map_update_elem(&count_stacks, &h, &b->st, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return 0; /* full: counted without a caller */
	return h;
}

#endif /* STACK_COUNTERS */

#endif
