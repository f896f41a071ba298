/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loss: every traced call the programs could not record (no room in the ring, no memory for a task's state, a
 * per-CPU buffer garbled by a preempting writer) or count (a full counter table) is counted here, per CPU, and
 * reported by user space: nothing is dropped silently.
 */
#ifndef SWOLL_LOSS_H
#define SWOLL_LOSS_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

#endif
