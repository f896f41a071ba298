/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which tasks are traced: the container filter, shared by every object that includes this header. User space
 * (nodeagent/tracer) fills the maps and sets the filter's state in the probe; another object shares both by
 * loading with the probe's maps in place of its own copies (cilium/ebpf CollectionOptions.MapReplacements): the
 * maps below and cgroup.h's, and the section .data.filter, which holds filter_mode, filter_gen and the cgroup
 * mode's settings (package bpf lists them).
 *
 * A task is traced when, in the modes set: every task is (MODE_ALL); its process is in pid_targets (MODE_PID:
 * a process and its descendants); its cgroup or an ancestor is in cgroup_targets (MODE_CGROUP, cgroup.h: every
 * process of a pod from its first call); its mount namespace is in mnt_targets (MODE_MNT: containers found
 * running, where no cgroup can be read).
 *
 * A mount namespace is identified by a 64-bit id the kernel never reuses where it has one (ns_common.ns_id
 * from 6.18, mnt_namespace.seq before): an inode number is recycled at once, and a stale entry would match
 * the next unrelated container. User space learns the id of a namespace from NS_GET_MNTNS_ID where the
 * kernel has it, or from the probe's mnt_ids iterator, which computes it with mnt_ns_id below.
 *
 * The decision for a task is cached in its state (struct decision, task.h), so that a call of a traced task
 * does not ask the filter's hashes again, and a selected call of an untraced one costs a look at its storage.
 * What moves a running task to another target is seen as it happens, so that no cached decision outlives it:
 * the exits of setns and unshare forget the caller's decision (tasks.h), and every move of a task to another
 * cgroup bumps cgroup_moves (the probe's cgroup_attach_task program), after which every task decides again.
 *
 * Pre-exec (counting mode, with pre_exec_on): a process that joined a container, by a move to another cgroup or
 * by setns, is marked in pre_exec until it calls execve; a process it forks inherits the mark. The decision
 * carries the mark, so that counting mode can tell the container runtime's setup (mount, pivot_root,
 * sethostname... in runc's init before it execs the container's program) from the program's own calls.
 */
#ifndef SWOLL_FILTER_H
#define SWOLL_FILTER_H

#include "common.h"
#include "variant.h"
#include "cgroup.h"

/* Filter modes, ORed into filter_mode. */
enum filter_mode {
	MODE_ALL = 1,
	MODE_MNT = 2,
	MODE_PID = 4,
	MODE_CGROUP = 8,
};

/* The filter's state, set by user space at run time (memory-mapped). */
__u32 filter_mode SEC(".data.filter") = 0;
/* The filter's generation: user space increments it after every change of the targets or the mode (never to 0,
 * which marks a task not decided yet), and a decision made under another generation is made again. */
__u32 filter_gen SEC(".data.filter") = 1;
/* Moves of tasks to other cgroups since the programs were loaded (the probe counts them). */
__u32 cgroup_moves SEC(".data.filter") = 0;
/* Whether the probe keeps pre_exec (counting mode sets it). */
__u32 pre_exec_on SEC(".data.filter") = 0;

/* Processes (by tgid) that joined a container and have not exec'd since (see above). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} pre_exec SEC(".maps");

/* Marks the process tgid pre-exec (a full table leaves it unmarked). */
static __always_inline void pre_exec_mark(__u32 tgid)
{
	__u8 one = 1;
	bpf_map_update_elem(&pre_exec, &tgid, &one, BPF_ANY);
}

/* Mount namespace id (mnt_ns_id) -> target id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} mnt_targets SEC(".maps");

/* Process id (host) -> target id; the probe adds children at fork and removes processes at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u32);
} pid_targets SEC(".maps");

static __always_inline __u64 mnt_ns_id(struct task_struct *task, bool direct)
{
	struct mnt_namespace *mnt;
	if (direct)
		mnt = task->nsproxy->mnt_ns;
	else
		mnt = BPF_CORE_READ(task, nsproxy, mnt_ns);
	if (!mnt)
		return 0;
	if (bpf_core_field_exists(mnt->ns.ns_id))
		return direct ? mnt->ns.ns_id : BPF_CORE_READ(mnt, ns.ns_id);
	if (bpf_core_field_exists(mnt->seq))
		return direct ? mnt->seq : BPF_CORE_READ(mnt, seq);
	return direct ? mnt->ns.inum : BPF_CORE_READ(mnt, ns.inum);
}

/* Asks the filter's maps whether the task is traced and, if so, its target id (0 in trace-all mode). */
static __always_inline bool target_of(struct task_struct *task, __u64 pid_tgid, __u32 mode, __u64 css_set,
				      __u32 *target, bool direct)
{
	if (mode & MODE_ALL) {
		*target = 0;
		return true;
	}
	if (mode & MODE_PID) {
		__u32 tgid = pid_tgid >> 32;
		__u32 *t = bpf_map_lookup_elem(&pid_targets, &tgid);
		if (t) {
			*target = *t;
			return true;
		}
	}
	if (mode & MODE_CGROUP) {
		__u64 t = cgroup_target(css_set);
		if (t) {
			*target = (__u32)t;
			return true;
		}
	}
	if (mode & MODE_MNT) {
		__u64 id = mnt_ns_id(task, direct);
		__u32 *t = bpf_map_lookup_elem(&mnt_targets, &id);
		if (t) {
			*target = *t;
			return true;
		}
	}
	return false;
}

/*
 * The filter's decision for a task, kept in the task's state. It holds while filter_gen does, and until what
 * moves the task happens: setns or unshare (the only calls that move a running task to another mount
 * namespace), whose exits forget it (decision_forget), or a move to another cgroup (cgroup_moves). The nsproxy
 * and css_set the task had when decided are kept too, and a change of either decides again at once: a move to
 * another cgroup is seen by its css_set while it happens, before the tracepoint that counts it; correctness
 * does not rest on these addresses, which a task moved twice may find again. Pid mode needs no key: a
 * process's children, which fork adds, are new tasks.
 */
struct decision {
	__u32 gen; /* filter_gen it was made under; 0: none yet (or forgotten) */
	__u32 target;
	__u64 nsproxy; /* with MODE_MNT: the task's nsproxy then; else 0 */
	__u64 css_set; /* with MODE_CGROUP: the task's css_set then; else 0 */
	__u32 moves;   /* cgroup_moves then, with MODE_CGROUP or pre_exec_on; else 0 */
	__u8 traced;
	__u8 pre_exec; /* with pre_exec_on: the process was in pre_exec */
	__u8 pad[2];
};

/* Makes the decision be made again at the task's next call. */
static __always_inline void decision_forget(struct decision *d)
{
	d->gen = 0;
}

/* Brings d up to date for the task (deciding again when it is stale) and returns whether the task is traced. */
static __always_inline bool filter_decide(struct task_struct *task, __u64 pid_tgid, struct decision *d, int f)
{
	/* Generation and mode are read before the filter's maps: a change made meanwhile leaves a stale gen. */
	__u32 gen = *(volatile __u32 *)&filter_gen;
	__u32 mode = *(volatile __u32 *)&filter_mode;
	__u32 pre = *(volatile __u32 *)&pre_exec_on;
	__u64 nsp = 0, cgs = 0;
	__u32 moves = 0;
	if (mode & MODE_MNT)
		nsp = TASK_BTF(f) ? (__u64)task->nsproxy : (__u64)BPF_CORE_READ(task, nsproxy);
	if (mode & MODE_CGROUP)
		cgs = TASK_BTF(f) ? (__u64)task->cgroups : (__u64)BPF_CORE_READ(task, cgroups);
	if ((mode & MODE_CGROUP) || pre)
		moves = *(volatile __u32 *)&cgroup_moves;
	if (d->gen != gen || d->nsproxy != nsp || d->css_set != cgs || d->moves != moves) {
		/* cgroup.h's functions take a plain number: a BTF pointer, even cast, is not one to the verifier. */
		__u64 cgs_addr = cgs;
		if ((mode & MODE_CGROUP) && TASK_BTF(f))
			cgs_addr = (__u64)BPF_CORE_READ(task, cgroups);
		d->traced = target_of(task, pid_tgid, mode, cgs_addr, &d->target, TASK_BTF(f));
		d->pre_exec = 0;
		if (pre && d->traced) {
			__u32 tgid = pid_tgid >> 32;
			d->pre_exec = bpf_map_lookup_elem(&pre_exec, &tgid) != 0;
		}
		d->gen = gen;
		d->nsproxy = nsp;
		d->css_set = cgs;
		d->moves = moves;
	}
	return d->traced;
}

#endif
