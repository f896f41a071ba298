/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Each task's struct task_state (task.h) in the map `tasks`, and what every system call program does with it.
 * Include after declaring struct task_state; TASK_HASH_ENTRIES sizes the hash of kernels without task storage.
 *
 * A selected call's sys_enter asks task_traced for the current task's state (NULL: not traced) and begins the
 * call in it (task_begin); its sys_exit ends it (task_end), which says when it began. With task storage every
 * task that makes a selected call gets a state, which keeps the decision whichever it is. Without, only traced
 * tasks get one in the hash, so that its room goes to the calls that must be recorded; an untraced task's
 * decision is kept in an LRU hash (decisions_by_task), where losing one to a busier task only means deciding
 * again. The hash variant's sched_process_exit program deletes an exiting task's entries (task_forget).
 *
 * Every sys_exit program calls task_exited first, whatever the selection: after setns and unshare it forgets
 * the caller's decision (filter.h), and after a setns marks the caller's process pre-exec.
 */
#ifndef SWOLL_TASKS_H
#define SWOLL_TASKS_H

#include "task.h"
#include "loss.h"

#ifndef TASK_HASH_ENTRIES
#define TASK_HASH_ENTRIES 16384
#endif

TASK_MAP(tasks, struct task_state, TASK_HASH_ENTRIES)

/* A task's new state in the hash is a copy of this buffer, which nothing writes: a state does not fit on the
 * stack beside what the programs call. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct task_state);
} task_zero SEC(".maps");

/* Without task storage: the decisions of untraced tasks, by the task's address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TASK_HASH_ENTRIES);
	__type(key, __u64);
	__type(value, struct decision);
} decisions_by_task SEC(".maps");

/* The hash variant's cleanup when a task exits (task storage goes away with the task). */
static __always_inline void task_forget(struct task_struct *task)
{
	__u64 key = (__u64)task;
	tasks_forget(task);
	bpf_map_delete_elem(&decisions_by_task, &key);
}

/* The state of the current task if its call nr is to be traced, else NULL. */
static __always_inline struct task_state *task_traced(struct task_struct *task, __u64 pid_tgid, __u32 nr, int f)
{
	struct task_state *st;
	if (f & F_TS) {
		st = tasks_create(task, 0, f);
		if (!st) {
			/* no memory for the task's storage: a traced call is lost, and said so */
			struct decision d = {};
			if (filter_decide(task, pid_tgid, &d, f) && !is_compat(task, TASK_BTF(f)))
				count_lost_entry(nr);
			return 0;
		}
		if (!filter_decide(task, pid_tgid, &st->core.filter, f))
			return 0;
	} else {
		st = tasks_lookup(task, f);
		if (st) {
			if (!filter_decide(task, pid_tgid, &st->core.filter, f))
				return 0;
		} else {
			__u64 key = (__u64)task;
			struct decision *known = bpf_map_lookup_elem(&decisions_by_task, &key);
			if (known && !filter_decide(task, pid_tgid, known, f))
				return 0; /* still untraced */
			struct decision d = {};
			if (!known && !filter_decide(task, pid_tgid, &d, f)) {
				bpf_map_update_elem(&decisions_by_task, &key, &d, BPF_ANY);
				return 0;
			}
			if (known) {
				d = *known; /* traced now */
				bpf_map_delete_elem(&decisions_by_task, &key);
			}
			__u32 z = 0;
			struct task_state *zero = bpf_map_lookup_elem(&task_zero, &z);
			if (!zero)
				return 0;
			st = tasks_create(task, zero, f);
			if (!st) {
				if (!is_compat(task, TASK_BTF(f)))
					count_lost_entry(nr); /* the hash is full */
				return 0;
			}
			st->core.filter = d;
		}
	}
	if (is_compat(task, TASK_BTF(f)))
		return 0;
	return st;
}

/* What every sys_exit does first, for the call id (as sys_exit says) that returned ret: setns and unshare may
 * have moved the task to other namespaces, so its decision is made again at its next call; a process that joined
 * namespaces by setns is pre-exec (filter.h). */
static __always_inline void task_exited(struct task_struct *task, long id, long ret, int f)
{
	if (id != NR_SETNS && id != NR_UNSHARE)
		return;
	if (id == NR_SETNS && ret == 0 && *(volatile __u32 *)&pre_exec_on)
		pre_exec_mark(current_pid_tgid(task, f) >> 32);
	struct task_state *st = tasks_lookup(task, f);
	if (st)
		decision_forget(&st->core.filter);
	if (!(f & F_TS)) {
		__u64 key = (__u64)task;
		struct decision *known = bpf_map_lookup_elem(&decisions_by_task, &key);
		if (known)
			decision_forget(known);
	}
}

static __always_inline void task_begin(struct task_state *st, __u32 nr, __u64 now)
{
	st->core.call.start = now;
	st->core.call.nr = nr;
}

/* The number of the call a sys_exit of `id` ends: a successful execveat ends as execve (the exec rewrites the
 * number in pt_regs), so the call in flight's number is the truth. Asked before the selection, or an execveat
 * traced without execve would never end. */
static __always_inline long task_exit_nr(struct task_struct *task, long id, int f)
{
	if (id != NR_EXECVE)
		return id;
	struct task_state *st = tasks_lookup(task, f);
	if (st && st->core.call.start && st->core.call.nr == NR_EXECVEAT)
		return NR_EXECVEAT;
	return id;
}

/* Ends the current task's call nr: its state, with *start when the call began; NULL when the task is in no
 * such traced call. */
static __always_inline struct task_state *task_end(struct task_struct *task, __u32 nr, __u64 *start, int f)
{
	struct task_state *st = tasks_lookup(task, f);
	if (!st)
		return 0;
	__u64 s = st->core.call.start;
	if (!s || st->core.call.nr != nr)
		return 0;
	st->core.call.start = 0;
	*start = s;
	return st;
}

#endif
