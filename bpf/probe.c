//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * swoll's kernel probe: one record per completed system call of the traced tasks, written to a ring buffer.
 *
 * Cost model (see the bench): every system call on the host runs sys_enter and sys_exit, so the path for an
 * unselected syscall is one inlined array lookup; a selected syscall of an untraced task adds one hash lookup
 * keyed by the task's mount-namespace id. Everything else runs only for traced calls.
 *
 * Each program exists twice: tp_btf (fast, direct BTF pointer loads) and raw_tracepoint (fallback for kernels
 * without BTF-enabled tracepoints). User space deletes the pair it does not use before loading. The shared
 * logic is in __always_inline functions taking `direct`, a compile-time constant after inlining.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_MAX 1024		/* syscall numbers at or above are ignored (x32 and compat land here too) */
#define MAX_ARGS 6
#define CAP_MAX 4096		/* bytes kept per captured argument (PATH_MAX) */
#define CAP_HDR 4		/* struct cap_hdr */
#define ARGV_MAX 64		/* strings kept per string array */
/*
 * Buffer bounds the verifier can check: a capture starts at a position masked with a power of two minus one
 * (after a real bounds check, so the mask never changes the value), and needs CAP_ROOM bytes after it (a string
 * array may start a read of CAP_MAX bytes CAP_MAX - 1 bytes in).
 */
#define CAP_ROOM (CAP_HDR + 2 * CAP_MAX + 2)
#define SCRATCH_POS_MASK 0x3fff	/* exit captures start below 16 KiB of the record */
#define SCRATCH_SIZE (SCRATCH_POS_MASK + 1 + CAP_ROOM + 6)
#define ENTRY_POS_MASK 0x1fff	/* entry captures start below 8 KiB of the stash */
#define ENTRY_AREA (ENTRY_POS_MASK + 1 + CAP_ROOM + 6)

/* Must match syscalls.CaptureKind. */
enum cap_kind {
	CAP_NONE = 0,
	CAP_STRING = 1,
	CAP_BUF = 2,
	CAP_SOCKADDR = 3,
	CAP_STRARRAY = 4,
};

enum arg_flags {
	ARG_LEN_FROM_RET = 1,
	ARG_LEN_IS_PTR = 2,
	ARG_AT_ENTRY = 4,
};

/* Filter modes, ORed into filter_mode. */
enum filter_mode {
	MODE_ALL = 1,
	MODE_MNT = 2,
	MODE_PID = 4,
};

enum cap_flags {
	CAPF_FAULTED = 1,
	CAPF_TRUNCATED = 2,
};

enum rec_flags {
	RECF_CAPS_DROPPED = 1, /* some captures did not fit in the record */
	RECF_NO_RETURN = 2,    /* written at entry of a call that does not return; ret is meaningless */
};

struct arg_cfg {
	__u8 kind;
	__s8 len_arg;
	__u8 flags;
	__u8 pad;
	__u16 max;
	__u16 pad2;
};

struct sys_cfg {
	__u8 selected;
	__u8 entry_caps; /* some argument is captured at entry */
	__u8 exit_caps;	 /* some argument is captured at exit */
	__u8 no_return;	 /* exit, exit_group: the record is written at entry */
	__u8 pad[4];
	struct arg_cfg args[MAX_ARGS];
};

/* The record written to the ring: this header, then ncaps captures (struct cap_hdr + len bytes each).
 * nodeagent/record parses it; keep both in step (a test compares the layouts). */
struct rec_hdr {
	__u32 nr;
	__u32 target;
	__s64 ret;
	__u64 args[MAX_ARGS];
	__u64 start;
	__u64 finish;
	__u32 pid;
	__u32 tid;
	__u32 nspid;
	__u32 uid;
	__u32 gid;
	__u32 pidns;
	__u32 utsns;
	__u32 mntns;
	char comm[16];
	__u32 size;
	__u16 ncaps;
	__u16 flags;
};

struct cap_hdr {
	__u8 arg;
	__u8 flags;
	__u16 len;
};

/* Per-call state between sys_enter and sys_exit. */
struct call {
	__u64 start;
	__u64 args[MAX_ARGS];
	__u32 nr;
	__u32 target;
	__u8 active;
	__u8 has_entry;
	__u8 have_pid; /* nspid and pidns are cached: they never change for a task */
	__u8 pad[5];
	/* uts and mnt namespace inodes, cached while the task keeps this nsproxy. setns/unshare install a new
	 * nsproxy allocated while the old one is still alive, so a change always shows as a new address. */
	__u64 nsproxy;
	__u32 nspid;
	__u32 pidns;
	__u32 utsns;
	__u32 mntns;
};

struct entry_stash {
	__u32 len;   /* bytes used in data */
	__u16 ncaps;
	__u16 flags;
	__u8 data[ENTRY_AREA];
};

struct scratch {
	__u64 owner; /* pid_tgid of the task building a record; detects a preempting writer on this CPU */
	__u8 buf[SCRATCH_SIZE];
};

/* Unused globals so that bpf2go emits Go types for these structs. */
struct rec_hdr _rec_hdr __attribute__((unused));
struct cap_hdr _cap_hdr __attribute__((unused));

/* Set by user space before loading. */
volatile const __u32 id_by_inode = 0; /* NS_GET_MNTNS_ID unsupported: identify mount namespaces by inode */
volatile const __u32 wake_bytes = 65536; /* a power of two; see wake_flags */

/* Set by user space at run time (mmapped .bss). */
__u32 filter_mode = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, struct sys_cfg);
} sys_cfgs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} mnt_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u32);
} pid_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct entry_stash);
} entry_stashes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* user space sets the size */
} events SEC(".maps");

/*
 * The reader sleeps only once it has emptied the ring, so it needs a wakeup only when the backlog grows past
 * wake_bytes. Waking each time the backlog crosses a multiple of wake_bytes (rather than on every record above
 * it) keeps wakeups rare while the reader lags, and a crossing missed by two CPUs racing is made up at the
 * next multiple. A trickle that never reaches wake_bytes is picked up by the reader's poll deadline.
 */
static __always_inline __u64 wake_flags(__u64 pending, __u64 size)
{
	__u64 w = wake_bytes;
	return (pending + size) / w != pending / w ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

/* ---- reading the task and registers ---- */

static __always_inline __u64 mnt_ns_id(struct task_struct *task, bool direct)
{
	struct mnt_namespace *mnt;
	if (direct)
		mnt = task->nsproxy->mnt_ns;
	else
		mnt = BPF_CORE_READ(task, nsproxy, mnt_ns);
	if (!mnt)
		return 0;
	if (id_by_inode)
		return direct ? mnt->ns.inum : BPF_CORE_READ(mnt, ns.inum);
	if (bpf_core_field_exists(mnt->ns.ns_id))
		return direct ? mnt->ns.ns_id : BPF_CORE_READ(mnt, ns.ns_id);
	if (bpf_core_field_exists(mnt->seq))
		return direct ? mnt->seq : BPF_CORE_READ(mnt, seq);
	return direct ? mnt->ns.inum : BPF_CORE_READ(mnt, ns.inum);
}

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

static __always_inline long syscall_nr(struct pt_regs *regs, bool direct)
{
#if defined(__TARGET_ARCH_x86)
	return direct ? (long)regs->orig_ax : (long)BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return direct ? (long)regs->syscallno : (long)BPF_CORE_READ(regs, syscallno);
#endif
}

#if defined(__TARGET_ARCH_x86)
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#elif defined(__TARGET_ARCH_arm64)
#define NR_EXECVE 221
#define NR_EXECVEAT 281
#endif

/* A successful execveat leaves the exit tracepoint saying execve (the exec path rewrites the syscall
 * number in pt_regs), so the entry's number is the truth. Checked before the selection lookup, or an
 * execveat traced without execve would be dropped. */
static __always_inline long exit_nr(struct task_struct *task, long id)
{
	if (id != NR_EXECVE)
		return id;
	struct call *c = bpf_task_storage_get(&calls, task, 0, 0);
	if (c && c->active && c->nr == NR_EXECVEAT)
		return NR_EXECVEAT;
	return id;
}

/* The task's number and namespace in the pid namespace it lives in (not pid_ns_for_children). */
static __always_inline void ns_pid(struct task_struct *task, __u32 *nspid, __u32 *pidns)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};
	void *at = (void *)pid + bpf_core_field_offset(pid->numbers) + (__u64)(level & 0xff) * sizeof(struct upid);
	bpf_probe_read_kernel(&up, sizeof(up), at);
	*nspid = up.nr;
	*pidns = BPF_CORE_READ(up.ns, ns.inum);
}

/* ---- filtering ---- */

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

/* ---- captures ---- */

struct argv_walk {
	const char *const *argv;
	__u8 *data;
	__u32 used;
	__u32 room;
	__u8 flags;
	__u8 done;
};

/* One string of a NULL-terminated array (bpf_loop callback: the verifier checks it once, not per string). */
static long argv_step(__u32 i, void *ctx)
{
	struct argv_walk *w = ctx;
	const char *s = 0;
	if (bpf_probe_read_user(&s, sizeof(s), &w->argv[i & (ARGV_MAX - 1)])) {
		w->flags |= CAPF_FAULTED;
		w->done = 1;
		return 1;
	}
	if (!s) {
		w->done = 1;
		return 1;
	}
	__u32 used = w->used;
	if (used + 2 > w->room || used >= CAP_MAX - 1) {
		w->flags |= CAPF_TRUNCATED;
		w->done = 1;
		return 1;
	}
	/* Constant bounds for the verifier, which checks this callback until its states converge. */
	__u32 off = used;
	barrier_var(off);
	off &= CAP_MAX - 1;
	__u64 sz = CAP_MAX - (__u64)off;
	__u64 left = (__u64)w->room - off;
	if (left < sz)
		sz = left;
	long n = bpf_probe_read_user_str(w->data + off, sz, s);
	if (n <= 0) {
		w->flags |= CAPF_FAULTED;
		w->done = 1;
		return 1;
	}
	w->used = off + (n & (2 * CAP_MAX - 1));
	if (n >= sz) { /* filled up: this string may continue */
		w->flags |= CAPF_TRUNCATED;
		w->done = 1;
		return 1;
	}
	return 0;
}

/* Copies one argument's user memory to dst (a cap_hdr then the data). Returns the bytes written, 0 when
 * nothing was captured. dst must have CAP_HDR + CAP_MAX + 2 bytes of room. */
static __always_inline __u32 capture(__u8 *dst, __u8 idx, struct arg_cfg *ac, __u64 *args, __s64 ret,
				     bool at_exit)
{
	struct cap_hdr *h = (struct cap_hdr *)dst;
	__u8 *data = dst + CAP_HDR;
	const void *ptr = (const void *)args[idx];
	__u32 room = ac->max;
	__u8 flags = 0;
	__u32 len = 0;
	long n;

	if (room > CAP_MAX)
		room = CAP_MAX;

	switch (ac->kind) {
	case CAP_STRING:
		/* Read two bytes more than kept: a result of room+2 means the string was longer than room. */
		n = bpf_probe_read_user_str(data, room + 2, ptr);
		if (n <= 0) {
			flags |= CAPF_FAULTED;
		} else if (n >= room + 2) {
			flags |= CAPF_TRUNCATED;
			len = room;
		} else {
			len = n - 1;
		}
		break;
	case CAP_BUF:
	case CAP_SOCKADDR: {
		__u64 want;
		if (ac->flags & ARG_LEN_FROM_RET) {
			if (!at_exit || ret < 0)
				return 0;
			want = ret;
		} else {
			__s8 la = ac->len_arg;
			if (la < 0 || la >= MAX_ARGS)
				return 0;
			want = args[la & 7];
			if (ac->flags & ARG_LEN_IS_PTR) {
				__u32 v = 0;
				if (bpf_probe_read_user(&v, sizeof(v), (void *)want))
					return 0;
				want = v;
			}
		}
		if ((__s64)want < 0)
			want = 0;
		if (want > room) {
			flags |= CAPF_TRUNCATED;
			want = room;
		}
		len = want;
		if (len > 0 && bpf_probe_read_user(data, len & (2 * CAP_MAX - 1), ptr)) {
			flags |= CAPF_FAULTED;
			len = 0;
		}
		break;
	}
	case CAP_STRARRAY: {
		if (at_exit)
			return 0; /* argv is only read at entry; keeps the exit program small */
		struct argv_walk w = {.argv = ptr, .data = data, .room = room};
		long iters = bpf_loop(ARGV_MAX, argv_step, &w, 0);
		if (iters == ARGV_MAX && !w.done)
			w.flags |= CAPF_TRUNCATED;
		flags |= w.flags;
		len = w.used;
		break;
	}
	default:
		return 0;
	}
	h->arg = idx;
	h->flags = flags;
	h->len = len;
	return CAP_HDR + len;
}

/* ---- the programs' shared logic ---- */

/* Refreshes the identity cached in c (see struct call). */
static __always_inline void refresh_ids(struct task_struct *task, struct call *c, bool direct)
{
	struct nsproxy *nsp = direct ? task->nsproxy : BPF_CORE_READ(task, nsproxy);
	if ((__u64)nsp != c->nsproxy) {
		c->nsproxy = (__u64)nsp;
		if (direct) {
			c->utsns = nsp->uts_ns->ns.inum;
			c->mntns = nsp->mnt_ns->ns.inum;
		} else {
			c->utsns = BPF_CORE_READ(nsp, uts_ns, ns.inum);
			c->mntns = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
		}
	}
	if (!c->have_pid) {
		ns_pid(task, &c->nspid, &c->pidns);
		c->have_pid = 1;
	}
}

static __always_inline void fill_header(struct rec_hdr *h, struct call *c, __u32 nr, long ret, __u64 pid_tgid)
{
	h->nr = nr;
	h->target = c->target;
	h->ret = ret;
	for (int i = 0; i < MAX_ARGS; i++)
		h->args[i] = c->args[i];
	h->start = c->start;
	h->finish = bpf_ktime_get_ns();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	__u64 ug = bpf_get_current_uid_gid();
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->nspid = c->nspid;
	h->pidns = c->pidns;
	h->utsns = c->utsns;
	h->mntns = c->mntns;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	h->ncaps = 0;
	h->flags = 0;
}

/* Writes a record without captures straight into the ring. */
static __always_inline void emit_fixed(struct call *c, __u32 nr, long ret, __u64 pid_tgid, __u16 flags)
{
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	struct rec_hdr *h = bpf_ringbuf_reserve(&events, sizeof(*h), 0);
	if (!h) {
		count_lost();
		return;
	}
	fill_header(h, c, nr, ret, pid_tgid);
	h->size = sizeof(*h);
	h->flags = flags;
	bpf_ringbuf_submit(h, wake_flags(pending, sizeof(*h)));
}

static __always_inline int on_enter(struct pt_regs *regs, long id, bool direct)
{
	__u32 nr = id;
	if (id < 0 || id >= NR_MAX)
		return 0;
	struct sys_cfg *cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg || !cfg->selected)
		return 0;

	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 target;
	if (!target_of(task, pid_tgid, &target, direct))
		return 0;
	if (is_compat(task, direct))
		return 0;

	struct call *c = bpf_task_storage_get(&calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c) {
		count_lost();
		return 0;
	}
	c->start = bpf_ktime_get_ns();
	read_args(regs, c->args, direct);
	c->nr = nr;
	c->target = target;
	c->active = 1;
	c->has_entry = 0;

	if (cfg->no_return) {
		/* exit/exit_group: sys_exit never comes. */
		c->active = 0;
		refresh_ids(task, c, direct);
		emit_fixed(c, nr, 0, pid_tgid, RECF_NO_RETURN);
		return 0;
	}

	if (!cfg->entry_caps)
		return 0;
	/* Strings that must be read before the call replaces the address space (execve). */
	struct entry_stash *st = bpf_task_storage_get(&entry_stashes, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count_lost();
		return 0;
	}
	st->len = 0;
	st->ncaps = 0;
	st->flags = 0;
	for (int i = 0; i < MAX_ARGS; i++) {
		struct arg_cfg *ac = &cfg->args[i];
		if (ac->kind == CAP_NONE || !(ac->flags & ARG_AT_ENTRY))
			continue;
		__u32 off = st->len;
		if (off > ENTRY_POS_MASK) {
			st->flags |= RECF_CAPS_DROPPED;
			break;
		}
		barrier_var(off);
		off &= ENTRY_POS_MASK;
		__u32 w = capture(st->data + off, i, ac, c->args, 0, false);
		if (w) {
			st->len = off + w;
			st->ncaps++;
		}
	}
	c->has_entry = 1;
	return 0;
}

static __always_inline int on_exit(struct pt_regs *regs, long ret, bool direct)
{
	struct task_struct *task = bpf_get_current_task_btf();
	long id = exit_nr(task, syscall_nr(regs, direct));
	__u32 nr = id;
	if (id < 0 || id >= NR_MAX)
		return 0;
	struct sys_cfg *cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg || !cfg->selected)
		return 0;

	struct call *c = bpf_task_storage_get(&calls, task, 0, 0);
	if (!c || !c->active || c->nr != nr)
		return 0;
	c->active = 0;

	__u64 pid_tgid = bpf_get_current_pid_tgid();
	refresh_ids(task, c, direct);

	if (!cfg->exit_caps && !c->has_entry) {
		/* Nothing captured: a fixed-size record, built in place. */
		emit_fixed(c, nr, ret, pid_tgid, 0);
		return 0;
	}

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return 0;
	s->owner = pid_tgid;
	struct rec_hdr *h = (struct rec_hdr *)s->buf;
	fill_header(h, c, nr, ret, pid_tgid);

	__u32 off = sizeof(struct rec_hdr);
	if (c->has_entry) {
		c->has_entry = 0;
		struct entry_stash *st = bpf_task_storage_get(&entry_stashes, task, 0, 0);
		if (st) {
			__u32 n = st->len;
			/* Entry captures end before ENTRY_POS_MASK + CAP_ROOM; beyond SCRATCH_POS_MASK no exit
			 * capture follows, which is fine: no system call captures at both entry and exit. */
			if (n > ENTRY_AREA)
				n = ENTRY_AREA;
			if (n > 0 && !bpf_probe_read_kernel(s->buf + sizeof(struct rec_hdr), n, st->data)) {
				off += n;
				h->ncaps = st->ncaps;
			}
			h->flags |= st->flags;
			bpf_task_storage_delete(&entry_stashes, task);
		}
	}

	if (cfg->exit_caps) {
		for (int i = 0; i < MAX_ARGS; i++) {
			struct arg_cfg *ac = &cfg->args[i];
			if (ac->kind == CAP_NONE || (ac->flags & ARG_AT_ENTRY))
				continue;
			if (off > SCRATCH_POS_MASK) {
				h->flags |= RECF_CAPS_DROPPED;
				break;
			}
			__u32 pos = off;
			barrier_var(pos);
			pos &= SCRATCH_POS_MASK;
			__u32 w = capture(s->buf + pos, i, ac, h->args, ret, true);
			if (w) {
				off += w;
				h->ncaps++;
			}
		}
	}
	__u64 size = off;
	barrier_var(size);
	if (size > SCRATCH_SIZE)
		return 0; /* cannot happen: captures start below SCRATCH_POS_MASK and fit in CAP_ROOM */
	h->size = size;

	if (s->owner != pid_tgid) {
		/* Another task used this CPU's scratch while we were preempted: the record is garbled. */
		count_lost();
		return 0;
	}
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = wake_flags(pending, size);
	if (bpf_ringbuf_output(&events, s->buf, size, flags))
		count_lost();
	return 0;
}

/* pid-tree mode: children of traced processes are traced with the parent's target. */
static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child, bool direct)
{
	if (!(filter_mode & MODE_PID))
		return 0;
	__u32 ptgid = direct ? parent->tgid : BPF_CORE_READ(parent, tgid);
	__u32 ctgid = direct ? child->tgid : BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid)
		return 0; /* a new thread */
	__u32 *t = bpf_map_lookup_elem(&pid_targets, &ptgid);
	if (!t)
		return 0;
	__u32 target = *t;
	bpf_map_update_elem(&pid_targets, &ctgid, &target, BPF_ANY);
	return 0;
}

static __always_inline int on_process_exit(struct task_struct *p, bool direct)
{
	if (!(filter_mode & MODE_PID))
		return 0;
	__u32 pid = direct ? p->pid : BPF_CORE_READ(p, pid);
	__u32 tgid = direct ? p->tgid : BPF_CORE_READ(p, tgid);
	if (pid != tgid)
		return 0; /* a thread; the process lives on */
	bpf_map_delete_elem(&pid_targets, &tgid);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, true);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(btf_fork, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child, true);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_exit, struct task_struct *p)
{
	return on_process_exit(p, true);
}

SEC("raw_tracepoint/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return on_enter((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

SEC("raw_tracepoint/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return on_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1], false);
}

SEC("raw_tracepoint/sched_process_fork")
int raw_fork(struct bpf_raw_tracepoint_args *ctx)
{
	return on_fork((struct task_struct *)ctx->args[0], (struct task_struct *)ctx->args[1], false);
}

SEC("raw_tracepoint/sched_process_exit")
int raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return on_process_exit((struct task_struct *)ctx->args[0], false);
}
