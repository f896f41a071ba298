/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which tasks are traced: the container filter shared by every program that must agree with the probe on
 * what a target is (include it after vmlinux_min.h and the libbpf headers). User space fills the maps and
 * sets filter_mode through nodeagent/tracer; another BPF object can reuse the same maps by replacing its
 * own copies with the probe's (cilium/ebpf CollectionOptions.MapReplacements).
 *
 * A mount namespace is identified by a 64-bit id the kernel never reuses where it has one (ns_common.ns_id
 * from 6.18, mnt_namespace.seq before): an inode number is recycled at once, and a stale entry would match
 * the next unrelated container. User space learns the id of a namespace from NS_GET_MNTNS_ID where the
 * kernel has it, or from the probe's mnt_ids iterator, which computes it with mnt_ns_id below.
 *
 * `direct` (a compile-time constant after inlining) says whether task is a BTF pointer the verifier lets the
 * program dereference, or a plain address read through CO-RE probe reads.
 */
#ifndef SWOLL_FILTER_H
#define SWOLL_FILTER_H

/* Filter modes, ORed into filter_mode. */
enum filter_mode {
	MODE_ALL = 1,
	MODE_MNT = 2,
	MODE_PID = 4,
};

/* Set by user space at run time (mmapped .bss). */
__u32 filter_mode = 0;

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

/* Returns whether the current task is traced and, if so, its target id. */
static __always_inline bool target_of(struct task_struct *task, __u64 pid_tgid, __u32 *target, bool direct)
{
	__u32 mode = filter_mode;
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

/* The traced call's number, read at sys_exit (the tracepoint does not pass it). */
static __always_inline long syscall_nr(struct pt_regs *regs, bool direct)
{
#if defined(__TARGET_ARCH_x86)
	return direct ? (long)regs->orig_ax : (long)BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return direct ? (long)regs->syscallno : (long)BPF_CORE_READ(regs, syscallno);
#endif
}

/* A 32-bit compat call (its number means another call): not traced. */
static __always_inline bool is_compat(struct task_struct *task, bool direct)
{
#if defined(__TARGET_ARCH_x86)
	/* TS_COMPAT: the task is in a 32-bit syscall, whose numbers mean other calls. */
	__u32 status = direct ? task->thread_info.status : BPF_CORE_READ(task, thread_info.status);
	return status & 0x0002;
#else
	/* arm64: compat (AArch32) tasks are not filtered out; see the tracer's package doc. */
	return false;
#endif
}

/* Whether the current task's call is traced (target_of, and not a compat call), and its target id. */
static __always_inline bool traced(struct task_struct *task, __u64 pid_tgid, __u32 *target, bool direct)
{
	return target_of(task, pid_tgid, target, direct) && !is_compat(task, direct);
}

#endif
