/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Program variants. Each program exists once per set of optional kernel features it can run with; the shared
 * logic is in __always_inline functions taking the set `f`, a compile-time constant after inlining:
 *   F_BTF   tp_btf: the tracepoint's arguments are BTF pointers read with plain loads; without it
 *           raw_tracepoint, and CO-RE probe reads.
 *   F_TS    task-local storage (5.11) holds per-task state, and bpf_get_current_task_btf (5.11) gives the task;
 *           without it a preallocated hash keyed by the task's address does (TASK_MAP), emptied when the task
 *           exits: the address stays the same through a multithreaded execve, unlike the thread id.
 *   F_LOOP  bpf_loop (5.17); it comes after task storage, so its variants have F_TS too.
 * and one flag that is not a kernel feature but where a program attaches:
 *   F_SC    the program runs on one system call's own tracepoints (syscalls:sys_enter_<name> and
 *           sys_exit_<name>, attached per selected call), whose context is the tracepoint's record (struct
 *           sc_enter, struct sc_exit) rather than sys_enter's registers: the calls that are not selected run
 *           no program at all. Its task is a BTF pointer wherever there is task storage.
 * User space probes the kernel's features once and loads the one variant of each program that matches them,
 * deleting the others (package bpf, variants.go, lists every program with the set it was built for: keep the
 * two in step; a test compares them). Every variant behaves the same.
 */
#ifndef SWOLL_VARIANT_H
#define SWOLL_VARIANT_H

#include "common.h"

#define F_BTF 1
#define F_TS 2
#define F_LOOP 4
#define F_SC 8

/* Whether the tracepoint's arguments (pt_regs, task_struct, linux_binprm) are BTF pointers. */
#define CTX_BTF(f) (((f) & F_BTF) != 0)
/* Whether the current task is a BTF pointer: only from bpf_get_current_task_btf, which came with task storage. */
#define TASK_BTF(f) (((f) & (F_BTF | F_SC)) && ((f) & F_TS))

/* The current task: a BTF pointer with F_TS, else a plain address (read with CO-RE probe reads). */
static __always_inline struct task_struct *current_task(int f)
{
	if (f & F_TS)
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

/* tgid << 32 | pid of the current task: two plain loads where the task is a BTF pointer (cheaper than the
 * helper), else the helper. */
static __always_inline __u64 current_pid_tgid(struct task_struct *task, int f)
{
	if (TASK_BTF(f))
		return (__u64)task->tgid << 32 | (__u32)task->pid;
	return bpf_get_current_pid_tgid();
}

/*
 * TASK_MAP(name, vtype, entries): per-task values of vtype, in task storage (F_TS) or in the preallocated hash
 * name##_by_task of `entries` entries keyed by the task's address (run-time allocation in tracing programs is
 * unsafe and warned about on kernels without task storage). User space deletes the map its variant does not use.
 * Defines:
 *   name##_lookup(task, f)        the task's value, or NULL
 *   name##_create(task, init, f)  the task's value, created when absent: zeroed in task storage, a copy of *init
 *                                 in the hash (a value too big for the stack can come from a per-CPU buffer);
 *                                 NULL when there is no room
 *   name##_delete(task, f)        deletes the task's value
 *   name##_forget(task)           deletes the task's hash entry: the hash variant's sched_process_exit calls it
 *                                 (task storage goes away with the task)
 */
#define TASK_MAP(name, vtype, entries)                                                                      \
	struct {                                                                                            \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                                                    \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                                       \
		__type(key, int);                                                                           \
		__type(value, vtype);                                                                       \
	} name SEC(".maps");                                                                                \
	struct {                                                                                            \
		__uint(type, BPF_MAP_TYPE_HASH);                                                            \
		__uint(max_entries, entries);                                                               \
		__type(key, __u64);                                                                         \
		__type(value, vtype);                                                                       \
	} name##_by_task SEC(".maps");                                                                      \
	static __always_inline vtype *name##_lookup(struct task_struct *task, int f)                        \
	{                                                                                                   \
		if (f & F_TS)                                                                               \
			return bpf_task_storage_get(&name, task, 0, 0);                                     \
		__u64 key = (__u64)task;                                                                    \
		return bpf_map_lookup_elem(&name##_by_task, &key);                                          \
	}                                                                                                   \
	static __always_inline vtype *name##_create(struct task_struct *task, const vtype *init, int f)     \
	{                                                                                                   \
		if (f & F_TS)                                                                               \
			return bpf_task_storage_get(&name, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);        \
		__u64 key = (__u64)task;                                                                    \
		vtype *v = bpf_map_lookup_elem(&name##_by_task, &key);                                      \
		if (v)                                                                                      \
			return v;                                                                           \
		if (bpf_map_update_elem(&name##_by_task, &key, init, BPF_NOEXIST))                          \
			return 0;                                                                           \
		return bpf_map_lookup_elem(&name##_by_task, &key);                                          \
	}                                                                                                   \
	static __always_inline void name##_delete(struct task_struct *task, int f)                          \
	{                                                                                                   \
		if (f & F_TS) {                                                                             \
			bpf_task_storage_delete(&name, task);                                               \
			return;                                                                             \
		}                                                                                           \
		__u64 key = (__u64)task;                                                                    \
		bpf_map_delete_elem(&name##_by_task, &key);                                                 \
	}                                                                                                   \
	static __always_inline void name##_forget(struct task_struct *task)                                 \
	{                                                                                                   \
		__u64 key = (__u64)task;                                                                    \
		bpf_map_delete_elem(&name##_by_task, &key);                                                 \
	}

/*
 * TP_PROG(attach, hook, name): the head of a program attached to tracepoint `hook` as tp_btf (attach btf) or as
 * a raw tracepoint (attach raw). Both see the tracepoint's arguments as an array of u64: ctx[i].
 */
#define TP_SEC_btf(hook) "tp_btf/" #hook
#define TP_SEC_raw(hook) "raw_tracepoint/" #hook
#define TP_PROG(attach, hook, name) SEC(TP_SEC_##attach(hook)) int name(__u64 *ctx)

/*
 * F_SC programs: what a syscall's own tracepoints pass (the kernel's struct syscall_tp_t, which perf fills for
 * BPF). The first 8 bytes may not be read. The call's number is an int (5.10: a long, whose low half it is).
 * The entry's record then holds as many arguments as the call's definition names: a program may read no
 * further than the shortest record it is attached to (the kernel checks at attach time), so the arguments are
 * read from the task's registers instead. SC_PROG(dir, name): a program user space attaches to the
 * tracepoints syscalls:sys_<dir>_<call> of each selected call.
 */
struct sc_enter {
	__u64 common;
	__s32 nr;
	__s32 pad;
};

struct sc_exit {
	__u64 common;
	__s32 nr;
	__s32 pad;
	__s64 ret;
};

#define SC_PROG(dir, name) SEC("tracepoint/syscalls/sys_" #dir) int name(struct sc_##dir *ctx)

#endif
