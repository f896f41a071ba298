/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the core keeps per task: the filter's decision for it (filter.h) and the call it is in. Each object
 * declares its own per-task state as struct task_state, whose first member is a struct task_core named core,
 * then includes tasks.h, which keeps it in the map `tasks`.
 */
#ifndef SWOLL_TASK_H
#define SWOLL_TASK_H

#include "common.h"
#include "variant.h"
#include "filter.h"

/* The call a task is in. start == 0: none (consumed by its exit, or entered untraced or before the programs
 * were attached). The target is the decision's: no call is in flight when a task is decided. */
struct inflight {
	__u64 start;
	__u32 nr;
	__u32 pad;
};

struct task_core {
	struct decision filter;
	struct inflight call;
};

#endif
