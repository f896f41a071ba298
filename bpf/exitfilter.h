/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The incident filters: which completed calls of the traced tasks are recorded (probe.c) or counted (count.c),
 * decided at the call's exit before a ring record is reserved or a counter touched:
 *   XF_FAILED     the call failed (--failed, -Z)          XF_SUCCEEDED  it did not (--succeeded, -z)
 *   XF_ERRNO      it failed with an errno of xf_errnos     XF_SLOW       it took at least xf_min_ns
 *   XF_COMM       the task's comm is in xf_comms           XF_PID        its tgid in its own pid namespace (the
 *                                                                       container's) is in xf_pids
 *   XF_PATH       strace's -P: a path argument, or the file of an fd argument, is in xf_paths (-P PATH: the
 *                 path and its end; --path-under DIR: a prefix); fd arguments are matched at entry, where the
 *                 fd still names what the call got (close), path arguments at exit, where the caller's memory
 *                 has been faulted in (execve's at entry: its memory is gone at exit)
 * All set conditions must hold. The set is fixed for a session and set before loading (.rodata: the verifier
 * drops the checks a session does not use); the sets are maps filled after loading. A call dropped here is
 * counted per CPU in `filtered`, apart from `lost`: user space reports both.
 *
 * The same entry step (xf_enter) resolves fd arguments for -y into the task's state (the first short one) and
 * fd stash (the others), which the probe copies into the call's record; counting mode has neither.
 *
 * An object includes this header after declaring its struct task_state, which has a struct xf_task named xf.
 */
#ifndef SWOLL_EXITFILTER_H
#define SWOLL_EXITFILTER_H

#include "common.h"
#include "variant.h"
#include "loss.h"
#include "regs.h"
#include "fdpath.h"

/* Must match nodeagent/exitfilter's flags. */
enum xf_flag {
	XF_FAILED = 1,
	XF_SUCCEEDED = 2,
	XF_ERRNO = 4,
	XF_SLOW = 8,
	XF_COMM = 16,
	XF_PID = 32,
	XF_PATH = 64,
};

#define XF_MAP_LPM_TRIE 11 /* BPF_MAP_TYPE_LPM_TRIE (uapi) */
#define XF_PATH_BYTES 256 /* an LPM trie key holds at most 256 bytes: paths of up to 255 bytes and their NUL */
#define XF_ERRNO_BYTES ((MAX_ERRNO + 1) / 8)

/* Set by user space before loading. */
volatile const __u32 xf_flags = 0;
volatile const __u64 xf_min_ns = 0;
volatile const __u8 xf_errnos[XF_ERRNO_BYTES] = {}; /* bit e: errno e */

struct xf_path_key {
	__u32 prefixlen; /* in bits */
	__u8 data[XF_PATH_BYTES];
};

/* -P PATH: the key is PATH and its NUL; --path-under DIR: DIR/ (a prefix) and DIR with its NUL. */
struct {
	__uint(type, XF_MAP_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xf_path_key);
	__type(value, __u8);
} xf_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, char[16]);
	__type(value, __u8);
} xf_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} xf_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xf_path_key);
} xf_keys SEC(".maps");

/* Calls the filters dropped, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} filtered SEC(".maps");

/* What the entry step found for the call in flight. */
struct xf_task {
	__u8 match;   /* an fd argument (or an at-entry path) is in xf_paths */
	__u8 has_fds; /* FDS_INLINE | FDS_STASH: where the call's fd arguments are (-y) */
	__u8 ret_fds; /* RET_FD | RET_PAIR: the call returns fds (-y; from call_fds, found at entry) */
	__u8 pad[5];
};

enum {
	FDS_INLINE = 1, /* in the task state's struct fd_inline */
	FDS_STASH = 2,	/* in the task's fd stash */
};

enum {
	RET_FD = 1,   /* the return value is an fd */
	RET_PAIR = 2, /* an argument points to two fds when the call returns 0 */
};

/* -y: the first fd argument of the call in flight whose description is short (most calls have one fd, of a
 * short path), kept in the probe's task state: no stash to find. */
#define FD_INLINE_DATA 100

struct fd_inline {
	__u8 raw[sizeof(struct fd_cap) + sizeof(struct fd_info) + FD_INLINE_DATA]; /* as in a record */
};

/* -y: the fd arguments of the call in flight, as records hold them (fdpath.h's struct fd_cap entries). A stash
 * is held only while a call with fds runs; without task storage, in a hash of FD_STASH_ENTRIES (user space
 * shrinks it to one entry when -y is off). */
#define FD_STASH_POS_MASK 0x3ff
#define FD_STASH_AREA (FD_STASH_POS_MASK + 1 + sizeof(struct fd_cap) + FD_OUT_MAX + 8)
#define FD_STASH_ENTRIES 1024

struct fd_stash {
	__u32 len; /* bytes used in data */
	__u16 n;   /* entries */
	__u8 dropped;
	__u8 pad;
	__u8 data[FD_STASH_AREA];
};

TASK_MAP(fdstash, struct fd_stash, FD_STASH_ENTRIES)

/* A new stash in the hash is a copy of this CPU's fd_scratch (xf_enter): it must be at least as big. */
_Static_assert(sizeof(struct fd_scratch) >= sizeof(struct fd_stash), "fd_scratch is smaller than fd_stash");

static __always_inline void count_filtered(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&filtered, &zero);
	if (n)
		*n += 1;
}

/* Whether the path that fd_resolve handed out (n bytes in s->out) is in xf_paths. */
static __always_inline bool xf_out_match(struct fd_scratch *s, int n)
{
	if (s->info.kind != FDK_PATH)
		return false;
	__u32 zero = 0;
	struct xf_path_key *k = bpf_map_lookup_elem(&xf_keys, &zero);
	if (!k)
		return false;
	__u64 len = n;
	if (len >= XF_PATH_BYTES) {
		/* too long for an exact match: its prefix may match a --path-under */
		k->prefixlen = XF_PATH_BYTES * 8;
		bpf_probe_read_kernel(k->data, XF_PATH_BYTES, s->out);
	} else {
		clamp_var(len, XF_PATH_BYTES - 1); /* no change, a bound the verifier sees on this register */
		k->prefixlen = (len + 1) * 8;
		bpf_probe_read_kernel(k->data, len, s->out);
		k->data[len] = 0;
	}
	return bpf_map_lookup_elem(&xf_paths, k) != 0;
}

/* Whether the user string at p is in xf_paths. */
static __always_inline bool xf_upath_match(__u64 p)
{
	if (!p)
		return false;
	__u32 zero = 0;
	struct xf_path_key *k = bpf_map_lookup_elem(&xf_keys, &zero);
	if (!k)
		return false;
	long n = bpf_probe_read_user_str(k->data, sizeof(k->data), (const void *)p);
	if (n <= 0)
		return false;
	/* n counts the NUL; a string of 256 bytes or more was cut to 255 and a NUL: only a prefix may match */
	k->prefixlen = n >= XF_PATH_BYTES ? (XF_PATH_BYTES - 1) * 8 : n * 8;
	return bpf_map_lookup_elem(&xf_paths, k) != 0;
}

/* Appends what fd_resolve handed out (n bytes of data after s->info) to the stash as capture slot. */
static __always_inline void fd_stash_append(struct fd_stash *st, struct fd_scratch *s, __u8 slot, int n)
{
	__u32 off = st->len;
	if (off > FD_STASH_POS_MASK) {
		st->dropped = 1;
		return;
	}
	barrier_var(off);
	off &= FD_STASH_POS_MASK;
	__u64 len = n;
	clamp_var(len, FD_PATH_MAX);
	struct fd_cap *h = (struct fd_cap *)(st->data + off);
	h->arg = slot;
	h->flags = 0;
	h->len = sizeof(struct fd_info) + len;
	len += sizeof(struct fd_info);
	clamp_var(len, sizeof(struct fd_info) + FD_PATH_MAX);
	bpf_probe_read_kernel(st->data + off + sizeof(*h), len, &s->info);
	st->len = off + sizeof(*h) + len;
	st->n++;
}

/*
 * For a caller that reads the arguments only when a filter needs them (counting mode: only for -P): makes them
 * opaque to the compiler, which would otherwise take the unread array as undefined and, once the filters' loops
 * are unrolled, hand the verifier registers never written ("R3 !read_ok"). No instruction.
 */
#define xf_args_opaque(args) asm volatile("" : : "r"(args) : "memory")

/*
 * A traced call's entry: resolves its fd arguments for -y into the task's fd stash (stash: the probe; counting
 * mode passes false), and for -P matches them and the at-entry paths (x->match).
 */
static __always_inline void xf_enter(struct task_struct *task, struct xf_task *x, struct fd_inline *fi, __u32 nr,
				     const __u64 *args, __u64 pid_tgid, int f)
{
	x->match = 0;
	x->has_fds = 0;
	x->ret_fds = 0;
	bool path = xf_flags & XF_PATH;
	bool fds = fi && fd_level;
	if (!path && !fds)
		return;
	struct call_fds *cf = bpf_map_lookup_elem(&call_fds, &nr);
	if (!cf)
		return;
	if (fds)
		x->ret_fds = (cf->ret_fd ? RET_FD : 0) | (cf->pair ? RET_PAIR : 0);
	if (!cf->entry)
		return;
	__u32 zero = 0;
	struct fd_scratch *s = bpf_map_lookup_elem(&fd_scratches, &zero);
	if (!s)
		return;
	struct fd_stash *st = 0;
	__u32 want = fd_level > 1 ? FDW_SOCK : 0;
	/* Unrolled: a loop whose back edge enters its header by fall-through is refused by 5.10 to 6.1's
	 * check_cfg ("back-edge from insn"), and clang lays this one out that way. */
#pragma unroll
	for (int i = 0; i < MAX_ARGS; i++) {
		__u8 role = cf->role[i];
		if (role == FDR_EPATH) {
			if (path && !x->match && xf_upath_match(args[i]))
				x->match = 1;
			continue;
		}
		if (role != FDR_FD && role != FDR_DIRFD)
			continue;
		int fd = (int)args[i];
		if (fd == FD_CWD && (role != FDR_DIRFD || !fds))
			continue; /* strace's -P does not match AT_FDCWD; -y shows it as the working directory */
		s->owner = pid_tgid;
		int n = fd_resolve(fd, want, f);
		if (n < 0)
			continue;
		if (path && !x->match && fd != FD_CWD && xf_out_match(s, n))
			x->match = 1;
		if (fds && fi && !(x->has_fds & FDS_INLINE) && n <= FD_INLINE_DATA) {
			__u64 len = sizeof(struct fd_info) + n;
			clamp_var(len, sizeof(struct fd_info) + FD_INLINE_DATA);
			struct fd_cap *h = (struct fd_cap *)fi->raw;
			h->arg = FD_SLOT + i;
			h->flags = 0;
			h->len = len;
			bpf_probe_read_kernel(fi->raw + sizeof(struct fd_cap), len, &s->info);
			x->has_fds |= FDS_INLINE;
		} else if (fds) {
			if (!st) {
				st = fdstash_create(task, (const struct fd_stash *)s, f);
				if (!st) {
					count_lost_part(); /* no room for the call's fds: its record would lack them */
					fds = false;
					continue;
				}
				st->len = 0;
				st->n = 0;
				st->dropped = 0;
				x->has_fds |= FDS_STASH;
			}
			fd_stash_append(st, s, FD_SLOT + i, n);
		}
		if (s->owner != pid_tgid) {
			/* preempted by a task that used this CPU's buffer: what was copied may be garbled */
			count_lost_part();
			if (st)
				st->dropped = 1;
		}
	}
}

/* The tgid of the task in its own pid namespace (the container's pid). */
static __always_inline __u32 xf_nspid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};
	void *at = (void *)pid + bpf_core_field_offset(pid->numbers) + (__u64)(level & 0xff) * sizeof(struct upid);
	bpf_probe_read_kernel(&up, sizeof(up), at);
	return up.nr;
}

/*
 * Whether ret is an error (-MAX_ERRNO to -1), from bits of copies of it: a comparison of ret itself would tell the
 * verifier its range, and what follows the filters would be verified once more for each range (past 6.1's limit
 * of a million instructions with -P and -y together).
 */
static __always_inline bool xf_failed(long ret)
{
	_Static_assert(MAX_ERRNO == 4095, "xf_failed's bit test assumes MAX_ERRNO is 4095");
	__u64 hi = ~(__u64)ret >> 12, lo = (__u64)ret & 0xfff;
	barrier_var(hi);
	barrier_var(lo);
	return !hi && lo;
}

/*
 * Whether a traced call that ended with ret (started at start, arguments args; no_return: exit and exit_group,
 * decided at entry, which neither fail nor succeed nor take time) is kept. A call dropped is counted.
 */
static __always_inline bool xf_keep(struct task_struct *task, struct xf_task *x, __u32 nr, long ret, __u64 start,
				    const __u64 *args, bool no_return)
{
	__u32 fl = xf_flags;
	if (!fl)
		return true;
	bool failed = xf_failed(ret);
	if (no_return && (fl & (XF_FAILED | XF_SUCCEEDED | XF_ERRNO | XF_SLOW | XF_PATH)))
		goto drop;
	if ((fl & XF_FAILED) && !failed)
		goto drop;
	if ((fl & XF_SUCCEEDED) && failed)
		goto drop;
	if (fl & XF_ERRNO) {
		__u32 e = -ret;
		if (!failed || !(xf_errnos[(e >> 3) & (XF_ERRNO_BYTES - 1)] & (1 << (e & 7))))
			goto drop;
	}
	if ((fl & XF_SLOW) && bpf_ktime_get_ns() - start < xf_min_ns)
		goto drop;
	if (fl & XF_COMM) {
		char comm[16] = {};
		bpf_get_current_comm(comm, sizeof(comm));
		if (!bpf_map_lookup_elem(&xf_comms, comm))
			goto drop;
	}
	if (fl & XF_PID) {
		__u32 nspid = xf_nspid(task);
		if (!bpf_map_lookup_elem(&xf_pids, &nspid))
			goto drop;
	}
	if ((fl & XF_PATH) && !x->match) {
		struct call_fds *cf = bpf_map_lookup_elem(&call_fds, &nr);
		if (!cf)
			goto drop;
		bool m = false;
#pragma unroll /* see xf_enter */
		for (int i = 0; i < MAX_ARGS; i++) {
			if (!m && cf->role[i] == FDR_PATH)
				m = xf_upath_match(args[i]);
		}
		if (!m)
			goto drop;
	}
	return true;
drop:
	count_filtered();
	return false;
}

/* Ends the entry step's state of a call (dropped or recorded): without task storage the stash goes back to the
 * hash. */
static __always_inline void xf_done(struct task_struct *task, struct xf_task *x, int f)
{
	if (x->has_fds & FDS_STASH && !(f & F_TS))
		fdstash_delete(task, f);
	x->has_fds = 0;
}

#endif
