//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * swoll's counting mode: per traced container, system call and result, a call count, the summed duration and
 * a log2 latency histogram, aggregated in the kernel. Nothing per call reaches user space, which reads the
 * counters once per interval (nodeagent/countprobe).
 *
 * Which tasks are traced is the probe's container filter (filter.h): user space loads this object with the
 * probe's mnt_targets and pid_targets maps in place of its own (MapReplacements) and copies the probe's
 * filter_mode into this object's.
 *
 * Cost model: an unselected syscall costs one byte read from a global array on entry and exit. On tp_btf, a
 * selected syscall looks up its thread's storage, which remembers the filter's decision for the thread (traced
 * or not, and its target) until the filter changes: user space bumps filter_gen after every change of targets
 * or mode, and a thread's own setns or unshare (the only calls that move a running thread to another mount
 * namespace) forgets it. So a selected call of an untraced thread costs that lookup on entry and exit; a
 * traced call adds one clock read and an in-place update of its thread's call in flight on entry; on exit one
 * more clock read and an in-place update of a per-CPU counter. The raw_tracepoint fallback asks the filter's
 * hashes on every selected entry.
 *
 * Kernels from 5.10: no bpf_loop, no ring buffer. Each program exists twice: tp_btf with
 * bpf_get_current_task_btf (5.11), direct loads and the call in flight in task storage (5.11: a pointer read
 * away, freed with the thread); and raw_tracepoint with CO-RE probe reads and the call in flight in a hash
 * keyed by thread id, which the sched_process_exit and sched_process_exec programs keep in step with the
 * threads. User space deletes the programs and the map it does not use before loading.
 *
 * Bounds: calls in flight and counters live in preallocated hashes of fixed size. A call that finds no room
 * is counted in `overflow` (per CPU), which user space reports: never silently dropped.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "filter.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_MAX 1024	  /* as the probe: numbers at or above are ignored */
#define HIST_BUCKETS 32	  /* event.HistBuckets */
#define MAX_ERRNO 4095
#define MAP_PERCPU_HASH 5 /* BPF_MAP_TYPE_PERCPU_HASH */
#define NOEXIST 1	  /* BPF_NOEXIST */
#define ERR_EXIST 17	  /* EEXIST */

/* One counter: nodeagent/countprobe reads these (a test compares the layouts). */
struct count_key {
	__u32 target;
	__u16 nr;
	__u16 err; /* errno, 0 for success */
};

struct count_val {
	__u64 calls;
	__u64 time_ns;
	__u64 hist[HIST_BUCKETS]; /* hist[i]: calls that took [2^i, 2^(i+1)) ns */
};

/* The call a thread is in. start == 0: none (consumed by its exit, or never seen entering). In task storage
 * (tp_btf) it also holds the filter's decision for the thread, valid while gen equals filter_gen (0: undecided):
 * traced, and target, which is then the thread's target whether a call is in flight or not. */
struct inflight {
	__u64 start;
	__u32 nr;
	__u32 target;
	__u32 gen;
	__u32 traced;
};

struct count_key _count_key __attribute__((unused));
struct count_val _count_val __attribute__((unused));

/* Set by user space at run time (mmapped .bss): which syscalls are counted, and exit/exit_group (no exit). */
__u8 selected[NR_MAX] = {};
__u8 no_return[NR_MAX] = {};
/* The filter's generation: user space increments it after each change of the targets or the filter's mode, so
 * that threads decide again (never 0, which marks a thread's storage undecided). */
__u32 filter_gen = 1;

/* The calls after which a thread may be in another mount namespace (the filter decides again). */
#if defined(__TARGET_ARCH_x86)
#define NR_UNSHARE 272
#define NR_SETNS 308
#elif defined(__TARGET_ARCH_arm64)
#define NR_UNSHARE 97
#define NR_SETNS 268
#endif

struct {
	__uint(type, MAP_PERCPU_HASH);
	__uint(max_entries, 16384); /* user space sizes it by the number of CPUs */
	__type(key, struct count_key);
	__type(value, struct count_val);
} counts SEC(".maps");

/* raw_tracepoint programs: thread id -> its call in flight. An entry lives as long as its thread: deleted at
 * exit, moved when a multithreaded execve gives the thread the leader's id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct inflight);
} inflights SEC(".maps");

/* tp_btf programs: each thread's call in flight, in the thread's own storage (the kernel frees it with the
 * thread; an execve that gives the thread the leader's id keeps its task). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, 1); /* BPF_F_NO_PREALLOC, required */
	__type(key, int);
	__type(value, struct inflight);
} task_calls SEC(".maps");

#define STORAGE_CREATE 1 /* BPF_LOCAL_STORAGE_GET_F_CREATE */

/* Calls not counted for lack of room (counters or calls in flight), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} overflow SEC(".maps");

static __always_inline void count_overflow(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&overflow, &zero);
	if (n)
		*n += 1;
}

static __always_inline __u32 log2_32(__u32 v)
{
	__u32 r, shift;
	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* event.HistBucket: floor(log2(ns)), 0 for 0 and 1, at most HIST_BUCKETS - 1. */
static __always_inline __u32 hist_bucket(__u64 ns)
{
	__u32 hi = ns >> 32;
	__u32 b = hi ? 32 + log2_32(hi) : log2_32((__u32)ns);
	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

static __always_inline void count_call(__u32 target, __u32 nr, long ret, __u64 ns)
{
	struct count_key key = {.target = target, .nr = nr};
	if (ret < 0 && ret >= -MAX_ERRNO)
		key.err = -ret;
	struct count_val *v = bpf_map_lookup_elem(&counts, &key);
	if (!v) {
		struct count_val zero = {};
		long err = bpf_map_update_elem(&counts, &key, &zero, NOEXIST);
		if (err && err != -ERR_EXIST) {
			count_overflow(); /* the table is full */
			return;
		}
		v = bpf_map_lookup_elem(&counts, &key);
		if (!v)
			return;
	}
	v->calls++;
	v->time_ns += ns;
	/* The bucket is below HIST_BUCKETS already, so the compiler drops the mask unless told not to; verifiers
	 * before 6.x cannot bound the index without it (5.10 and 6.1 rejected the program). */
	__u32 b = hist_bucket(ns);
	barrier_var(b);
	v->hist[b & (HIST_BUCKETS - 1)]++;
}

static __always_inline int count_enter(long id, bool direct)
{
	if (id < 0 || id >= NR_MAX)
		return 0;
	__u32 nr = id;
	if (!selected[nr & (NR_MAX - 1)])
		return 0;
	struct task_struct *task;
	__u64 pid_tgid;
	if (direct) { /* plain loads: cheaper than the pid_tgid helper */
		task = bpf_get_current_task_btf();
		pid_tgid = (__u64)task->tgid << 32 | (__u32)task->pid;
	} else {
		task = (struct task_struct *)bpf_get_current_task();
		pid_tgid = bpf_get_current_pid_tgid();
	}
	__u32 target;
	struct inflight *c = NULL;
	if (direct) {
		c = bpf_task_storage_get(&task_calls, task, 0, STORAGE_CREATE);
		if (!c) {
			/* no memory for the thread's storage: a traced call is lost, and said so */
			if (traced(task, pid_tgid, &target, direct))
				count_overflow();
			return 0;
		}
		/* the generation is read before the filter's maps: a change made meanwhile leaves a stale gen */
		__u32 gen = *(volatile __u32 *)&filter_gen;
		if (c->gen != gen) {
			c->traced = target_of(task, pid_tgid, &c->target, direct); /* no call is in flight here */
			c->gen = gen;
		}
		if (!c->traced || is_compat(task, direct))
			return 0;
		target = c->target;
	} else if (!traced(task, pid_tgid, &target, direct)) {
		return 0;
	}
	if (no_return[nr & (NR_MAX - 1)]) {
		count_call(target, nr, 0, 0); /* exit, exit_group: sys_exit never comes */
		return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	if (!c) {
		__u32 tid = pid_tgid;
		c = bpf_map_lookup_elem(&inflights, &tid);
		if (!c) {
			struct inflight n = {.start = now, .nr = nr, .target = target};
			if (bpf_map_update_elem(&inflights, &tid, &n, NOEXIST))
				count_overflow();
			return 0;
		}
	}
	c->start = now;
	c->nr = nr;
	c->target = target;
	return 0;
}

static __always_inline int count_exit(struct pt_regs *regs, long ret, bool direct)
{
	long id = syscall_nr(regs, direct);
	/* A successful execveat ends as execve: the entry's number is used below, the exit's only filters. */
	if (id < 0 || id >= NR_MAX)
		return 0;
	__u32 nr = id;
	struct inflight *c;
	if (direct && (nr == NR_SETNS || nr == NR_UNSHARE) && ret == 0) {
		/* the thread may be in another mount namespace now: the filter decides again at its next call */
		c = bpf_task_storage_get(&task_calls, bpf_get_current_task_btf(), 0, 0);
		if (c)
			c->gen = 0;
	}
	if (!selected[nr & (NR_MAX - 1)])
		return 0;
	if (direct) {
		c = bpf_task_storage_get(&task_calls, bpf_get_current_task_btf(), 0, 0);
	} else {
		__u32 tid = bpf_get_current_pid_tgid();
		c = bpf_map_lookup_elem(&inflights, &tid);
	}
	if (!c || !c->start)
		return 0;
	__u64 ns = bpf_ktime_get_ns() - c->start;
	c->start = 0;
	count_call(c->target, c->nr, ret, ns);
	return 0;
}

/* A thread is gone: its entry goes too. */
static __always_inline int count_task_exit(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	bpf_map_delete_elem(&inflights, &tid);
	return 0;
}

/* execve from a thread other than the leader: the thread takes the leader's id, and its execve returns
 * under that id. */
static __always_inline int count_exec(struct task_struct *p, __u32 old_pid)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	if (tid == old_pid)
		return 0;
	struct inflight *c = bpf_map_lookup_elem(&inflights, &old_pid);
	if (!c)
		return 0;
	struct inflight moved = *c;
	bpf_map_update_elem(&inflights, &tid, &moved, BPF_ANY);
	bpf_map_delete_elem(&inflights, &old_pid);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(count_btf_enter, struct pt_regs *regs, long id)
{
	return count_enter(id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(count_btf_exit, struct pt_regs *regs, long ret)
{
	return count_exit(regs, ret, true);
}

SEC("raw_tracepoint/sys_enter")
int count_raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return count_enter((long)ctx->args[1], false);
}

SEC("raw_tracepoint/sys_exit")
int count_raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return count_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

SEC("raw_tracepoint/sched_process_exit")
int count_raw_task_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return count_task_exit((struct task_struct *)ctx->args[0]);
}

SEC("raw_tracepoint/sched_process_exec")
int count_raw_exec(struct bpf_raw_tracepoint_args *ctx)
{
	return count_exec((struct task_struct *)ctx->args[0], (__u32)ctx->args[1]);
}
