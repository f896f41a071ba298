/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loss: every traced call the programs could not record (no room in the ring, no memory for a task's state, a
 * per-CPU buffer garbled by a preempting writer) or count (a full counter table) is counted here, per CPU: in
 * total (lost), and by system call and result (lost_calls), so that user space can say what was dropped
 * ("openat 12,345 (ENOENT 9,001)"). Nothing is dropped silently; where lost_calls is full, a drop is only in the
 * total, which user space reports as of no call.
 */
#ifndef SWOLL_LOSS_H
#define SWOLL_LOSS_H

#include "common.h"

/* lost_key.err of a call dropped at its entry, before its result was known. */
#define LOST_ERR_UNKNOWN 0xffff

/* A dropped call: its number, and its errno (0: it succeeded; LOST_ERR_UNKNOWN). user space reads these. */
struct lost_key {
	__u16 nr;
	__u16 err;
};
struct lost_key _lost_key __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct lost_key);
	__type(value, __u64);
} lost_calls SEC(".maps");

static __always_inline void count_lost_as(__u32 nr, __u16 err)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
	struct lost_key k = {.nr = nr, .err = err};
	__u64 *c = bpf_map_lookup_elem(&lost_calls, &k);
	if (!c) {
		/* this CPU's count starts at 1, the other CPUs' at 0; another CPU may have added the key meanwhile */
		__u64 one = 1;
		if (!bpf_map_update_elem(&lost_calls, &k, &one, BPF_NOEXIST))
			return;
		c = bpf_map_lookup_elem(&lost_calls, &k);
		if (!c)
			return;
	}
	*c += 1;
}

/* A call dropped once it returned ret. */
static __always_inline void count_lost(__u32 nr, long ret)
{
	count_lost_as(nr, ret < 0 && ret >= -MAX_ERRNO ? -ret : 0);
}

/* Part of a call's record dropped (its fds' descriptions: the record says so): in the total only, as of no call,
 * since the call itself is delivered. */
static __always_inline void count_lost_part(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

/* A call dropped at its entry. */
static __always_inline void count_lost_entry(__u32 nr)
{
	count_lost_as(nr, LOST_ERR_UNKNOWN);
}

#endif
