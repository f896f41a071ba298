/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Selection by cgroup ancestry, the filter's cgroup mode (filter.h includes it): a task is a target's when its
 * cgroup or one of its ancestors is in cgroup_targets. The kubelet creates a pod's cgroup before the pod's
 * sandbox and containers, so every process of the pod matches from its first call. A pod's cgroup sits at a
 * depth that differs by host, QoS class and cgroup root: user space sets in cgroup_levels the depths its
 * targets sit at (bit n: depth n, the root's being 0), and the task's ancestor at each of those depths is
 * looked up, deepest first.
 *
 * The hierarchy is user space's choice (cgroup_hierarchy): the unified one (cgroup v2 hosts, and hybrid hosts'
 * /sys/fs/cgroup/unified), where a task's cgroup is task->cgroups->dfl_cgrp; or on hosts without it (pure v1)
 * a v1 controller's, task->cgroups->subsys[<controller>_cgrp_id]->cgroup, the controller's id in the running
 * kernel read with bpf_core_enum_value. A cgroup's ancestors are cgroup->ancestors[] from 6.1,
 * ->ancestor_ids[] before. A cgroup's id is its kernfs node id: its directory's inode number on 64-bit kernels,
 * and the handle name_to_handle_at(2) returns.
 *
 * Records carry the task's own cgroup in the same hierarchy (cgroup_leaf_id): a container's cgroup, whose name
 * holds the container's id.
 *
 * What reads cgroups is in two global functions, which the verifier checks once each, on their own, with the
 * task's css_set as a plain address read with probe reads: they run only when a task is decided, or when a
 * traced task's css_set changes.
 */
#ifndef SWOLL_CGROUP_H
#define SWOLL_CGROUP_H

#include "common.h"

/* The hierarchies user space can choose (cgroup_hierarchy); nodeagent/tracer names them. */
enum cgroup_hierarchy {
	CGH_UNIFIED = 0,
	CGH_CPUSET = 1,
	CGH_CPU = 2,
	CGH_CPUACCT = 3,
	CGH_BLKIO = 4,
	CGH_MEMORY = 5,
	CGH_DEVICES = 6,
	CGH_FREEZER = 7,
	CGH_NET_CLS = 8,
	CGH_PERF_EVENT = 9,
	CGH_NET_PRIO = 10,
	CGH_HUGETLB = 11,
	CGH_PIDS = 12,
	CGH_RDMA = 13,
	CGH_MISC = 14,
};
enum cgroup_hierarchy _cgroup_hierarchy_enum __attribute__((unused)); /* for bpf2go */

#define CGROUP_LEVELS 16 /* depths a target may sit at: 0 .. CGROUP_LEVELS - 1 */
#define CGROUP_SUBSYS_MAX 32

/* Filter state (see filter.h), set by user space. */
__u32 cgroup_hierarchy SEC(".data.filter") = CGH_UNIFIED;
__u32 cgroup_levels SEC(".data.filter") = 0;

/* Cgroup id -> target id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_targets SEC(".maps");

#define V1_SUBSYS(hier, name)                                                                               \
	case hier:                                                                                          \
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, name##_cgrp_id))                      \
			return bpf_core_enum_value(enum cgroup_subsys_id, name##_cgrp_id);                  \
		return -1;

/* The running kernel's id of a v1 controller, -1 when it has none. */
static __always_inline int v1_subsys_id(__u32 hier)
{
	switch (hier) {
		V1_SUBSYS(CGH_CPUSET, cpuset)
		V1_SUBSYS(CGH_CPU, cpu)
		V1_SUBSYS(CGH_CPUACCT, cpuacct)
		V1_SUBSYS(CGH_BLKIO, io)
		V1_SUBSYS(CGH_MEMORY, memory)
		V1_SUBSYS(CGH_DEVICES, devices)
		V1_SUBSYS(CGH_FREEZER, freezer)
		V1_SUBSYS(CGH_NET_CLS, net_cls)
		V1_SUBSYS(CGH_PERF_EVENT, perf_event)
		V1_SUBSYS(CGH_NET_PRIO, net_prio)
		V1_SUBSYS(CGH_HUGETLB, hugetlb)
		V1_SUBSYS(CGH_PIDS, pids)
		V1_SUBSYS(CGH_RDMA, rdma)
		V1_SUBSYS(CGH_MISC, misc)
	}
	return -1;
}

/* The cgroup of a css_set in the chosen hierarchy, NULL when it cannot be read. */
static __always_inline struct cgroup *css_set_cgroup(struct css_set *cs)
{
	__u32 hier = cgroup_hierarchy;
	if (hier == CGH_UNIFIED)
		return BPF_CORE_READ(cs, dfl_cgrp);
	int ssid = v1_subsys_id(hier);
	if (ssid < 0 || ssid >= CGROUP_SUBSYS_MAX)
		return 0;
	struct cgroup_subsys_state *css = 0;
	void *at = (void *)cs + bpf_core_field_offset(cs->subsys) + (__u64)ssid * sizeof(css);
	if (bpf_probe_read_kernel(&css, sizeof(css), at) || !css)
		return 0;
	return BPF_CORE_READ(css, cgroup);
}

/* The id of cg's ancestor at depth level (cg's own depth at most). */
static __always_inline __u64 cgroup_ancestor_id(struct cgroup *cg, __u32 level)
{
	if (bpf_core_field_exists(cg->ancestors)) {
		struct cgroup *a = 0;
		void *at = (void *)cg + bpf_core_field_offset(cg->ancestors) + (__u64)level * sizeof(a);
		if (bpf_probe_read_kernel(&a, sizeof(a), at) || !a)
			return 0;
		return BPF_CORE_READ(a, kn, id);
	}
	struct cgroup___ids *old = (void *)cg;
	__u64 id = 0;
	void *at = (void *)cg + bpf_core_field_offset(old->ancestor_ids) + (__u64)level * sizeof(id);
	bpf_probe_read_kernel(&id, sizeof(id), at);
	return id;
}

/* The id of the cgroup a css_set (a task's task->cgroups) is in, in the chosen hierarchy; 0 when unknown. */
__attribute__((noinline)) __u64 cgroup_leaf_id(__u64 css_set)
{
	struct cgroup *cg = css_set_cgroup((struct css_set *)css_set);
	if (!cg)
		return 0;
	return BPF_CORE_READ(cg, kn, id);
}

/* 1 << 32 | the target of the deepest ancestor of a css_set's cgroup that is one; 0 when none is. */
__attribute__((noinline)) __u64 cgroup_target(__u64 css_set)
{
	struct cgroup *cg = css_set_cgroup((struct css_set *)css_set);
	if (!cg)
		return 0;
	__u32 own = BPF_CORE_READ(cg, level);
	__u32 levels = cgroup_levels;
	for (int l = CGROUP_LEVELS - 1; l >= 0; l--) {
		if (!(levels & (1U << l)) || l > own)
			continue;
		__u64 id = cgroup_ancestor_id(cg, l);
		__u32 *t = bpf_map_lookup_elem(&cgroup_targets, &id);
		if (t)
			return 1ULL << 32 | *t;
	}
	return 0;
}

#endif
