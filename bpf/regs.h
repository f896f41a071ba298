/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A system call's arguments from its registers, at sys_enter or at sys_exit: the registers that pass them are
 * left as they were by every call but a successful execve (on arm64, x0 holds the return value at exit; the
 * first argument is in orig_x0).
 */
#ifndef SWOLL_REGS_H
#define SWOLL_REGS_H

#include "common.h"

static __always_inline void read_args(struct pt_regs *regs, __u64 *args, bool direct)
{
#if defined(__TARGET_ARCH_x86)
	if (direct) {
		args[0] = regs->di;
		args[1] = regs->si;
		args[2] = regs->dx;
		args[3] = regs->r10;
		args[4] = regs->r8;
		args[5] = regs->r9;
	} else {
		args[0] = BPF_CORE_READ(regs, di);
		args[1] = BPF_CORE_READ(regs, si);
		args[2] = BPF_CORE_READ(regs, dx);
		args[3] = BPF_CORE_READ(regs, r10);
		args[4] = BPF_CORE_READ(regs, r8);
		args[5] = BPF_CORE_READ(regs, r9);
	}
#elif defined(__TARGET_ARCH_arm64)
	if (direct) {
		args[0] = regs->orig_x0;
		args[1] = regs->regs[1];
		args[2] = regs->regs[2];
		args[3] = regs->regs[3];
		args[4] = regs->regs[4];
		args[5] = regs->regs[5];
	} else {
		args[0] = BPF_CORE_READ(regs, orig_x0);
		args[1] = BPF_CORE_READ(regs, regs[1]);
		args[2] = BPF_CORE_READ(regs, regs[2]);
		args[3] = BPF_CORE_READ(regs, regs[3]);
		args[4] = BPF_CORE_READ(regs, regs[4]);
		args[5] = BPF_CORE_READ(regs, regs[5]);
	}
#endif
}

#endif
