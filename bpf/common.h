/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The base of swoll's BPF core, shared by probe.c (the tracer) and count.c (counting mode): the kernel types and
 * libbpf headers, the bounds both programs index system calls by, and what differs by architecture (the few
 * system call numbers the core needs, reading a tracepoint's registers). Each header of the core includes what
 * it builds on:
 *   common.h    this file
 *   variant.h   program variants by kernel feature (tp_btf, task storage, bpf_loop), per-task maps
 *   loss.h      what could not be recorded or counted, per CPU
 *   filter.h    which tasks are traced, and each task's cached decision
 *   cgroup.h    the filter's selection by cgroup ancestry, and a task's own cgroup
 *   task.h      what the core keeps per task: the decision and the call the task is in
 *   tasks.h     each task's state in a map, and the steps of every system call program (include it after
 *               declaring the object's struct task_state)
 *   regs.h      a call's arguments from its registers
 *   fdpath.h    what a file descriptor is: its path, or its pipe, socket, anonymous inode (-y, -yy, -P)
 *   exitfilter.h the incident filters, decided at each call's exit (--failed, --errno, -P...), and -y's fd stash
 *   fdrecord.h  (the probe only) the fd descriptions in a record
 *   stack.h     stacks: a recorded call's user (and kernel) stack (probe.c, STACK_RECORDS), counters keyed by
 *               the caller's stack (count.c, STACK_COUNTERS)
 */
#ifndef SWOLL_COMMON_H
#define SWOLL_COMMON_H

#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

#define NR_MAX 1024   /* system call numbers at or above are ignored (x32 and compat land here too) */
#define MAX_ARGS 6    /* arguments passed in registers */
#define MAX_ERRNO 4095 /* a return value in [-MAX_ERRNO, -1] is an error */

#if defined(__TARGET_ARCH_x86)
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#define NR_SETNS 308
#define NR_UNSHARE 272
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#define NR_SETNS 268
#define NR_UNSHARE 97
#endif

/* The number of the call a sys_exit ends (the tracepoint passes only the return value). */
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

#endif
