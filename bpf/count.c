//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * swoll's counting mode: per traced container, system call, result and whether the process had exec'd since it
 * joined the container (filter.h's pre-exec), a call count and, with latencies (count_latency), the summed
 * duration and a log2 latency histogram, aggregated in the kernel. Nothing per call reaches user space, which
 * reads the counters once per interval (nodeagent/countprobe).
 *
 * Built on the probe's core (common.h lists its headers): which tasks are traced is the probe's filter, whose
 * maps and state user space shares with this object (MapReplacements); each task's decision and the call it is
 * in live in its struct task_state; loss.h counts what could not be counted.
 *
 * Cost model: attached per call (bpf/attach.go), a call that is not selected runs nothing; on the raw
 * tracepoints it costs one byte read from a global array on entry and exit. A selected call looks up its task's
 * state, which remembers the filter's decision (task.h), so a selected call of an untraced task costs that
 * lookup. A counted call: with latencies, a clock read and the call in flight written at entry, and at exit a
 * clock read and the update of its counter, in place; without, the same but for the clock reads. The
 * clock reads are most of it (measured: ~20 ns each where the clock source is reached by an indirect call).
 * The incident filters (exitfilter.h) are decided at exit, before the counter is touched. With counters keyed by
 * stack (stack.h), a kept call's stack is walked. The entry is seen without latencies too: counting at the exits
 * alone had 6.1's verifier reject the task-storage variant ("Caller passes invalid args into func#1", the decision
 * taken at exit; test-kernels).
 *
 * Counters: each counter (struct count_key) has a slot in the per-CPU array counts. A task keeps its last
 * counters' slots in its state (slot_cache, indexed by call and errno), so that a counted call costs no hash
 * lookup: only the first call of a key in a task looks the slot up in count_slots, where a new key takes a free
 * slot from free_slots (user space fills it with every slot, and gives back those of removed targets, zeroed,
 * once it reported their last counts, bumping slots_gen, which empties every task's cache).
 *
 * Bounds: a fixed number of slots. A call that finds no room (a slot, or a traced task's state where there is no
 * task storage) is counted as lost (loss.h), which user space reports as overflow: never silently dropped.
 */
#include "common.h"
#include "variant.h"
#include "loss.h"
#include "filter.h"
#include "task.h"
#include "regs.h"
#include "exitfilter.h" /* swoll:filters: the incident filters, as in the probe */
#define STACK_COUNTERS
#include "stack.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define HIST_BUCKETS 32 /* event.HistBuckets */

enum count_flags {
	COUNT_PRE_EXEC = 1, /* the process had not exec'd since it joined the container (filter.h) */
};

/* One counter: nodeagent/countprobe reads these (a test compares the layouts). */
struct count_key {
	__u32 target;
	__u16 nr;
	__u16 err;   /* errno, 0 for success */
	__u32 flags; /* enum count_flags */
	__u32 pad;
	__u64 stack; /* stack.h: with count_by_stack, the hash of the caller's stack (in count_stacks); else 0 */
};

struct count_val {
	__u64 calls;
	__u64 time_ns;
	__u64 hist[HIST_BUCKETS]; /* hist[i]: calls that took [2^i, 2^(i+1)) ns */
};

struct count_key _count_key __attribute__((unused));
struct count_val _count_val __attribute__((unused));
enum count_flags _count_flags __attribute__((unused));

#define SLOT_CACHE 4 /* a power of two */

/* A counter a task counted in: slot + 1 (0: none). */
struct slot_entry {
	struct count_key key;
	__u32 slot;
};

/* What counting keeps per task: the core's decision and call in flight, and its counters' slots. */
struct task_state {
	struct task_core core;
	struct xf_task xf; /* swoll:filters (exitfilter.h) */
	__u32 cache_gen;   /* slots_gen when the cache was filled */
	__u32 pad;
	struct slot_entry slot_cache[SLOT_CACHE];
};
#define TASK_HASH_ENTRIES 32768
#include "tasks.h"

/* Set by user space before loading: whether calls are timed (summed time, histogram); whether the per-call
 * programs may read a task's registers (bpf_task_pt_regs, 5.15: bpf.PtRegs), which -P needs. */
volatile const __u8 count_latency = 1;
volatile const __u8 count_task_regs = 0;

/* Set by user space at run time (mmapped .bss): which syscalls are counted, and exit/exit_group (no exit). */
__u8 selected[NR_MAX] = {};
__u8 no_return[NR_MAX] = {};
/* The generation of the slots' keys: user space bumps it when it frees slots. */
__u32 slots_gen = 0;

/* The counters, by slot: user space sizes the three maps from the number of CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct count_val);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct count_key);
	__type(value, __u32);
} count_slots SEC(".maps");

/* Slots no key has, zeroed (filled by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16384);
	__type(value, __u32);
} free_slots SEC(".maps");

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

/* The slot of key, found in count_slots or given to it; -1 when there is none left. */
static __always_inline long slot_of(struct count_key *key)
{
	__u32 *s = bpf_map_lookup_elem(&count_slots, key);
	if (s)
		return *s;
	__u32 slot;
	if (bpf_map_pop_elem(&free_slots, &slot))
		return -1; /* none left */
	if (!bpf_map_update_elem(&count_slots, key, &slot, BPF_NOEXIST))
		return slot;
	/* another CPU gave the key a slot meanwhile: this one goes back */
	bpf_map_push_elem(&free_slots, &slot, 0);
	s = bpf_map_lookup_elem(&count_slots, key);
	return s ? *s : -1;
}

static __always_inline bool same_key(const struct count_key *a, const struct count_key *b)
{
	return a->target == b->target && a->nr == b->nr && a->err == b->err && a->flags == b->flags &&
	       a->stack == b->stack;
}

/* Counts a call nr of the task st that returned ret and took ns (with latencies), from the stack whose hash is
 * stack (stack.h; 0 unless counters are keyed by stack). */
static __always_inline void count_call(struct task_state *st, __u32 nr, long ret, __u64 ns, __u64 stack)
{
	struct count_key key = {.target = st->core.filter.target, .nr = nr, .stack = stack};
	if (ret < 0 && ret >= -MAX_ERRNO)
		key.err = -ret;
	/* execve and execveat are the program's: the runtime's last call starts it */
	if (st->core.filter.pre_exec && nr != NR_EXECVE && nr != NR_EXECVEAT)
		key.flags = COUNT_PRE_EXEC;

	__u32 gen = *(volatile __u32 *)&slots_gen;
	if (st->cache_gen != gen) {
		for (int i = 0; i < SLOT_CACHE; i++)
			st->slot_cache[i].slot = 0;
		st->cache_gen = gen;
	}
	struct slot_entry *e = &st->slot_cache[(nr + key.err) & (SLOT_CACHE - 1)];
	__u32 slot;
	if (e->slot && same_key(&e->key, &key)) {
		slot = e->slot - 1;
	} else {
		long s = slot_of(&key);
		if (s < 0) {
			count_lost(nr, ret); /* the table is full */
			return;
		}
		slot = s;
		e->key = key;
		e->slot = slot + 1;
	}
	struct count_val *v = bpf_map_lookup_elem(&counts, &slot);
	if (!v)
		return;
	v->calls++;
	if (!count_latency)
		return;
	v->time_ns += ns;
	/* The bucket is below HIST_BUCKETS already, so the compiler drops the mask unless told not to; verifiers
	 * before 6.x cannot bound the index without it (5.10 and 6.1 rejected the program). */
	__u32 b = hist_bucket(ns);
	barrier_var(b);
	v->hist[b & (HIST_BUCKETS - 1)]++;
}

/* stack.h: the key's stack, when counters are keyed by it. */
static __always_inline __u64 key_stack(void *ctx, struct task_struct *task, int f)
{
	if (!count_by_stack)
		return 0;
	return count_stack_key(ctx, current_pid_tgid(task, f));
}

/* swoll:filters: the call's arguments, for -P only: from regs (sys_enter's and sys_exit's registers) or, per
 * call (F_SC), the task's. countprobe attaches per call with -P only where bpf_task_pt_regs is (5.15). */
static __always_inline void filter_args(struct task_struct *task, struct pt_regs *regs, __u64 *args, int f)
{
	if (!(xf_flags & XF_PATH))
		return;
	if (f & F_SC) {
		if (count_task_regs) /* else never attached per call (countprobe) */
			read_args((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()), args, true);
	} else
		read_args(regs, args, CTX_BTF(f));
}

/* The entry of call id, whose arguments are in regs (sys_enter's registers; with F_SC, NULL: the task's). */
static __always_inline int on_enter(void *ctx, struct pt_regs *regs, long id, int f)
{
	if (id < 0 || id >= NR_MAX)
		return 0;
	__u32 nr = id;
	if (!selected[nr & (NR_MAX - 1)])
		return 0;
	bool no_ret = no_return[nr & (NR_MAX - 1)];
	struct task_struct *task = current_task(f);
	__u64 pid_tgid = current_pid_tgid(task, f);
	struct task_state *st = task_traced(task, pid_tgid, nr, f);
	if (!st)
		return 0;
	__u64 args[MAX_ARGS]; /* swoll:filters: read (and read by the filters) only for -P */
	filter_args(task, regs, args, f);
	xf_args_opaque(args);
	if (no_ret) {
		/* exit, exit_group: sys_exit never comes; the stack only for a call the filters keep */
		if (xf_keep(task, &st->xf, nr, 0, 0, args, true)) /* swoll:filters */
			count_call(st, nr, 0, 0, key_stack(ctx, task, f));
		return 0;
	}
	task_begin(st, nr, (count_latency || (xf_flags & XF_SLOW)) ? bpf_ktime_get_ns() : 1);
	xf_enter(task, &st->xf, 0, nr, args, pid_tgid, f); /* swoll:filters: -P on fds */
	return 0;
}

/* The exit of call id (as sys_exit says: see task_exit_nr), which returned ret; regs as for on_enter. */
static __always_inline int on_exit(void *ctx, struct pt_regs *regs, long id, long ret, int f)
{
	struct task_struct *task = current_task(f);
	task_exited(task, id, ret, f);
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
	__u64 args[MAX_ARGS]; /* swoll:filters: the incident filters; arguments only for -P */
	filter_args(task, regs, args, f);
	xf_args_opaque(args);
	if (!xf_keep(task, &st->xf, nr, ret, start, args, false))
		return 0;
	__u64 ns = count_latency ? bpf_ktime_get_ns() - start : 0;
	/* stack.h: the stack is walked only for a call the filters keep */
	count_call(st, nr, ret, ns, key_stack(ctx, task, f));
	return 0;
}

/* A successful exec: a pre-exec process is no more (filter.h), and its tasks decide again. */
static __always_inline int on_exec(int f)
{
	struct task_state *st = tasks_lookup(current_task(f), f);
	if (st && st->core.filter.pre_exec)
		decision_forget(&st->core.filter);
	return 0;
}

/*
 * The programs: <attach>_<hook>[_<variant>] (variant.h). sys_enter, sys_exit and sched_process_exec (_exec):
 * none (F_TS), _hash (without task storage); the hash variant's sched_process_exit (_exit_hash) deletes an
 * exiting task's state. The per-call programs sc_sys_enter and sc_sys_exit (F_SC) have the same variants.
 * bpf/variants.go lists them.
 */
#define COUNT_PROGS(attach, sfx, f)                                                                         \
	TP_PROG(attach, sys_enter, attach##_sys_enter##sfx)                                                 \
	{                                                                                                   \
		return on_enter(ctx, (struct pt_regs *)ctx[0], (long)ctx[1], (f));                          \
	}                                                                                                   \
	TP_PROG(attach, sys_exit, attach##_sys_exit##sfx)                                                   \
	{                                                                                                   \
		struct pt_regs *regs = (struct pt_regs *)ctx[0];                                            \
		return on_exit(ctx, regs, syscall_nr(regs, CTX_BTF(f)), (long)ctx[1], (f));                 \
	}                                                                                                   \
	TP_PROG(attach, sched_process_exec, attach##_exec##sfx)                                             \
	{                                                                                                   \
		return on_exec(f);                                                                          \
	}

COUNT_PROGS(btf, , F_BTF | F_TS)
COUNT_PROGS(btf, _hash, F_BTF)
COUNT_PROGS(raw, , F_TS)
COUNT_PROGS(raw, _hash, 0)

#define COUNT_SC_PROGS(sfx, f)                                                                              \
	SC_PROG(enter, sc_sys_enter##sfx)                                                                   \
	{                                                                                                   \
		return on_enter(ctx, 0, ctx->nr, (f) | F_SC);                                              \
	}                                                                                                   \
	SC_PROG(exit, sc_sys_exit##sfx)                                                                     \
	{                                                                                                   \
		return on_exit(ctx, 0, ctx->nr, ctx->ret, (f) | F_SC);                                     \
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
