/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types the probe reads, declared by hand instead of a generated vmlinux.h. Every struct is
 * marked preserve_access_index, so clang records each field access as a CO-RE relocation and libbpf/cilium
 * resolve the real offsets against the running kernel's BTF at load time: field order and the fields left
 * out here do not matter, only names and types do. Anonymous structs/unions of the real layout (ns_common's
 * ns_id, arm64 pt_regs' regs) are matched by name through those anonymous members.
 */
#ifndef SWOLL_VMLINUX_MIN_H
#define SWOLL_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

/* uapi constants (include/uapi/linux/bpf.h); stable ABI. */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};
enum {
	BPF_F_NO_PREALLOC = 1,
};
enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
};
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_QUEUE = 22,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
};

/* include/uapi/asm-generic/errno-base.h */
enum {
	EEXIST = 17,
};

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long r8;
	unsigned long r9;
	unsigned long r10;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
};
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	__u64 regs[31];
	__u64 orig_x0;
	__s32 syscallno;
};
#else
#error "swoll's probe supports __TARGET_ARCH_x86 and __TARGET_ARCH_arm64"
#endif

struct thread_info {
	unsigned long flags;
	__u32 status;
};

struct ns_common {
	unsigned int inum;
	__u64 ns_id; /* 6.18+: unique for the life of the system */
};

struct mnt_namespace {
	struct ns_common ns;
	__u64 seq; /* before 6.18: what NS_GET_MNTNS_ID returned */
};

struct uts_namespace {
	struct ns_common ns;
};

struct pid_namespace {
	struct ns_common ns;
};

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct mnt_namespace *mnt_ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

typedef struct {
	__u32 val;
} kuid_t;

typedef struct {
	__u32 val;
} kgid_t;

struct cred {
	kuid_t uid;
	kgid_t gid;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
};

struct linux_binprm {
	const char *filename;
};

/* cgroups (kernel/cgroup): a task's css_set names its cgroup in every hierarchy. */
struct kernfs_node {
	__u64 id; /* 5.5+: the cgroup's id (its directory's inode number on 64-bit kernels) */
};

struct cgroup;

struct cgroup_subsys_state {
	struct cgroup *cgroup;
};

struct cgroup {
	int level; /* the root's is 0 */
	struct kernfs_node *kn;
	struct cgroup *ancestors[]; /* 6.1+: ancestors[level] is the cgroup itself */
};

/* Before 6.1: the ancestors' ids instead of pointers (a flavor of struct cgroup: CO-RE ignores ___ids). */
struct cgroup___ids {
	int level;
	__u64 ancestor_ids[];
};

struct css_set {
	struct cgroup_subsys_state *subsys[1]; /* [CGROUP_SUBSYS_COUNT], by enum cgroup_subsys_id */
	struct cgroup *dfl_cgrp;		/* the task's cgroup in the unified hierarchy */
};

struct task_struct {
	struct thread_info thread_info;
	struct mm_struct *mm;
	int pid;
	int tgid;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	const struct cred *cred;
	struct nsproxy *nsproxy;
	struct css_set *cgroups;
};

struct seq_file;

/* The context of iter/task programs (5.8). */
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

#pragma clang attribute pop

/* The cgroup v1 controllers (include/linux/cgroup_subsys.h), whose values depend on the kernel's configuration:
 * read with bpf_core_enum_value. */
enum cgroup_subsys_id {
	cpuset_cgrp_id,
	cpu_cgrp_id,
	cpuacct_cgrp_id,
	io_cgrp_id,
	memory_cgrp_id,
	devices_cgrp_id,
	freezer_cgrp_id,
	net_cls_cgrp_id,
	perf_event_cgrp_id,
	net_prio_cgrp_id,
	hugetlb_cgrp_id,
	pids_cgrp_id,
	rdma_cgrp_id,
	misc_cgrp_id,
};

#endif
