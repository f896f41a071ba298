//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * swoll's counting mode: per traced container, system call and result, a call count, the summed duration and
 * a log2 latency histogram, aggregated in the kernel. Nothing per call reaches user space, which reads the
 * counters once per interval (nodeagent/countprobe).
 *
 * Built on the probe's core (common.h lists its headers): which tasks are traced is the probe's filter, whose
 * maps and state user space shares with this object (MapReplacements); each task's decision and the call it is
 * in live in its struct task_state; lost counts what could not be counted.
 *
 * Cost model: an unselected syscall costs one byte read from a global array on entry and exit. A selected
 * syscall looks up its task's state, which remembers the filter's decision (task.h), so a selected call of an
 * untraced task costs that lookup on entry and exit; a traced call adds one clock read and an in-place update
 * of its task's call in flight on entry; on exit one more clock read and an in-place update of a per-CPU
 * counter.
 *
 * Bounds: counters live in a preallocated per-CPU hash of fixed size. A call that finds no room (counters, or a
 * traced task's state where there is no task storage) is counted in `lost` (per CPU), which user space reports
 * as overflow: never silently dropped.
 */
#include "common.h"
#include "variant.h"
#include "loss.h"
#include "filter.h"
#include "task.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define HIST_BUCKETS 32 /* event.HistBuckets */

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

struct count_key _count_key __attribute__((unused));
struct count_val _count_val __attribute__((unused));

/* What counting keeps per task: only the core's decision and call in flight. */
struct task_state {
	struct task_core core;
};
#define TASK_HASH_ENTRIES 32768
#include "tasks.h"

/* Set by user space at run time (mmapped .bss): which syscalls are counted, and exit/exit_group (no exit). */
__u8 selected[NR_MAX] = {};
__u8 no_return[NR_MAX] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384); /* user space sizes it by the number of CPUs */
	__type(key, struct count_key);
	__type(value, struct count_val);
} counts SEC(".maps");

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
		long err = bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			count_lost(); /* the table is full */
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

static __always_inline int on_enter(long id, int f)
{
	if (id < 0 || id >= NR_MAX)
		return 0;
	__u32 nr = id;
	if (!selected[nr & (NR_MAX - 1)])
		return 0;
	struct task_struct *task = current_task(f);
	struct task_state *st = task_traced(task, current_pid_tgid(task, f), f);
	if (!st)
		return 0;
	if (no_return[nr & (NR_MAX - 1)]) {
		count_call(st->core.filter.target, nr, 0, 0); /* exit, exit_group: sys_exit never comes */
		return 0;
	}
	task_begin(st, nr, bpf_ktime_get_ns());
	return 0;
}

static __always_inline int on_exit(long id, long ret, int f)
{
	struct task_struct *task = current_task(f);
	id = task_exit_nr(task, id, f);
	if (id < 0 || id >= NR_MAX)
		return 0;
	__u32 nr = id;
	if (!selected[nr & (NR_MAX - 1)])
		return 0;
	__u64 start;
	struct task_state *st = task_end(task, nr, &start, f);
	if (!st)
		return 0;
	count_call(st->core.filter.target, nr, ret, bpf_ktime_get_ns() - start);
	return 0;
}

/*
 * The programs: <attach>_<hook>[_<variant>] (variant.h). sys_enter and sys_exit: none (F_TS), _hash (without
 * task storage); the hash variant's sched_process_exit (_exit_hash) deletes an exiting task's state.
 * bpf/variants.go lists them.
 */
#define COUNT_PROGS(attach, sfx, f)                                                                         \
	TP_PROG(attach, sys_enter, attach##_sys_enter##sfx)                                                 \
	{                                                                                                   \
		return on_enter((long)ctx[1], (f));                                                         \
	}                                                                                                   \
	TP_PROG(attach, sys_exit, attach##_sys_exit##sfx)                                                   \
	{                                                                                                   \
		return on_exit(syscall_nr((struct pt_regs *)ctx[0], CTX_BTF(f)), (long)ctx[1], (f));        \
	}

COUNT_PROGS(btf, , F_BTF | F_TS)
COUNT_PROGS(btf, _hash, F_BTF)
COUNT_PROGS(raw, , F_TS)
COUNT_PROGS(raw, _hash, 0)

#define COUNT_SC_PROGS(sfx, f)                                                                              \
	SC_PROG(enter, sc_sys_enter##sfx)                                                                   \
	{                                                                                                   \
		return on_enter(ctx->nr, (f) | F_SC);                                                       \
	}                                                                                                   \
	SC_PROG(exit, sc_sys_exit##sfx)                                                                     \
	{                                                                                                   \
		return on_exit(ctx->nr, ctx->ret, (f) | F_SC);                                              \
	}

COUNT_SC_PROGS(, F_TS)
COUNT_SC_PROGS(_hash, 0)

TP_PROG(btf, sched_process_exit, btf_exit_hash)
{
	task_forget((struct task_struct *)ctx[0]);
	return 0;
}

TP_PROG(raw, sched_process_exit, raw_exit_hash)
{
	task_forget((struct task_struct *)ctx[0]);
	return 0;
}
