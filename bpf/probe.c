//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * swoll's kernel probe: one record per completed system call of the traced tasks, written to a ring buffer.
 *
 * Cost model (see the bench): every system call on the host runs sys_enter and sys_exit, so the path for an
 * unselected syscall is one inlined array lookup; a selected syscall looks up its task's state, which keeps the
 * filter's decision for the task (task.h). Everything else runs only for traced calls.
 *
 * Built on the core shared with counting mode (common.h lists its headers): program variants by kernel feature
 * (variant.h; here F_LOOP walks execve's argv with bpf_loop, else a bounded loop the verifier unrolls), the
 * filter and its cached decision, the call in flight, loss counting. Every variant writes the same records.
 */
#include "common.h"
#include "variant.h"
#include "loss.h"
#include "filter.h"
#include "task.h"
#include "regs.h"
#include "exitfilter.h" /* swoll:filters: the incident filters and -y's fd stash */
#define STACK_RECORDS
#include "stack.h"

_Static_assert(CAP_ARG_USER_STACK > FD_SLOT_PAIR + 1, "a stack's capture number is an fd description's");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CAP_MAX 4096		/* bytes kept per captured argument (PATH_MAX) */
#define CAP_HDR 4		/* struct cap_hdr */
#define ARGV_MAX 64		/* strings kept per string array */
#define IOV_MAX 16		/* iovecs kept per array (syscalls.MaxIovecs) */
#define MSG_NAME_MAX 128	/* msghdr: bytes of msg_name kept (syscalls.MaxSockaddrBytes) */
#define MSG_CTL_MAX 128		/* msghdr: bytes of msg_control kept (syscalls.MaxMsgControlBytes) */
#define SEG_UNREADABLE 0xffff	/* the length of a segment whose memory could not be read */
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
	CAP_IOVEC = 5,	/* an iovec array and the data of each iovec: syscalls.IovecLayout */
	CAP_MSGHDR = 6, /* a msghdr, its name, its control data, its iovecs and their data */
};

enum arg_flags {
	ARG_LEN_FROM_RET = 1,
	ARG_LEN_IS_PTR = 2,
	ARG_AT_ENTRY = 4, /* copied at entry; copied again at exit when that failed (a page not yet touched) */
	ARG_FIXED = 8,	  /* the length is max (a struct) */
	ARG_IOCTL = 16,	  /* the length is what the ioctl request (args[1]) takes: ioctl_sizes */
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
	__u8 shift; /* the length is len_arg's value << shift (poll: nfds structs of 8 bytes) */
	__u16 max;  /* CAP_IOVEC, CAP_MSGHDR: the data bytes kept (--capture-data); 0: only the structs */
	__u16 elem; /* with ARG_LEN_FROM_RET: the return value counts entries of elem bytes (epoll_wait) */
};

struct sys_cfg {
	__u8 selected;
	__u8 entry_caps; /* some argument is captured at entry */
	__u8 exit_caps;	 /* some argument is captured at exit */
	__u8 no_return;	 /* exit, exit_group: the record is written at entry */
	__u8 argv_arg;	 /* 1 + the index of the string array captured at entry (execve's argv); 0: none */
	__u8 iov_arg;	 /* 1 + the index of the CAP_IOVEC or CAP_MSGHDR argument, captured at exit; 0: none */
	__u8 pad[2];
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
	__u64 cgroup; /* the task's own cgroup in the filter's hierarchy (cgroup.h), 0 when unknown */
};

struct cap_hdr {
	__u8 arg;
	__u8 flags;
	__u16 len;
};

/* What the probe keeps per task: the core's decision and call in flight, the call's arguments, and the task's
 * identity for its records. */
struct task_state {
	struct task_core core;
	struct xf_task xf;     /* swoll:filters (exitfilter.h) */
	struct fd_inline fdi; /* swoll:filters: -y's first fd argument of the call in flight */
	__u64 args[MAX_ARGS];
	__u8 has_entry; /* the call in flight has entry captures in the task's stash */
	__u8 have_pid;	/* nspid and pidns are cached: they never change for a task */
	__u8 pad[6];
	/* uts and mnt namespace inodes, cached while the task keeps this nsproxy. setns/unshare install a new
	 * nsproxy allocated while the old one is still alive, so a change always shows as a new address. */
	__u64 nsproxy;
	__u32 nspid;
	__u32 pidns;
	__u32 utsns;
	__u32 mntns;
	/* The task's cgroup id, cached while it keeps this css_set (see struct decision) and the filter's
	 * generation (the hierarchy may change with it). */
	__u64 css_set;
	__u64 cgroup;
	__u32 cgroup_gen;
	__u32 pad2;
};

struct entry_stash {
	__u32 len;   /* bytes used in data */
	__u16 ncaps;
	__u8 flags;
	__u8 ok_mask; /* arguments copied in full: not to be copied again at exit */
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
volatile const __u32 wake_bytes = 65536; /* a power of two; see wake_flags */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, struct sys_cfg);
} sys_cfgs SEC(".maps");

#include "tasks.h"

/* Entry captures of the call in flight (execve's strings, read before the call replaces the address space). A
 * stash is only held while such a call runs, so a few suffice in the hash. */
TASK_MAP(stashes, struct entry_stash, 64)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratches SEC(".maps");

#include "fdrecord.h" /* swoll:filters: -y's fd descriptions in records */

/* ioctl requests whose argument is decoded, and how many bytes it points to (syscalls.IoctlArgs). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u32);
} ioctl_sizes SEC(".maps");

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

/* ---- reading the task and registers ---- */

/* The task's stash, created when absent. In the hash, a new entry is a copy of this CPU's scratch buffer (a
 * stash is too big for the stack; the caller resets what it uses). */
static __always_inline struct entry_stash *stash_create(struct task_struct *task, int f)
{
	if (f & F_TS)
		return stashes_create(task, 0, f);
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return 0;
	return stashes_create(task, (const struct entry_stash *)s->buf, f);
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

/* ---- captures ---- */

struct argv_walk {
	const char *const *argv;
	__u8 *data;
	__u32 used;
	__u32 room;
	__u8 flags;
	__u8 done;
};

/* One string of a NULL-terminated array: the bpf_loop callback (the verifier checks it once, not per
 * string), or the body of the bounded loop without it. */
static __always_inline long argv_one(__u32 i, struct argv_walk *w)
{
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
	__u64 sz = (__u64)w->room - off; /* at least 2 (checked above) */
	barrier_var(sz);
	if (sz > CAP_MAX - (__u64)off)
		sz = CAP_MAX - (__u64)off;
	barrier_var(sz);
	if (sz > CAP_MAX) /* older verifiers do not relate sz and off: a constant bound for them */
		sz = CAP_MAX;
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

static long argv_step(__u32 i, void *ctx)
{
	return argv_one(i, ctx);
}

/* Copies a NULL-terminated array of strings (argv) to dst, like capture. Only at entry, and at one place in
 * the program: without bpf_loop, the verifier walks the loop once per place. */
static __always_inline __u32 capture_strarray(__u8 *dst, __u8 idx, struct arg_cfg *ac, __u64 *args, int f)
{
	struct cap_hdr *h = (struct cap_hdr *)dst;
	__u32 room = ac->max;
	if (room > CAP_MAX)
		room = CAP_MAX;
	struct argv_walk w = {.argv = (const char *const *)args[idx & 7], .data = dst + CAP_HDR, .room = room};
	if (f & F_LOOP) {
		long iters = bpf_loop(ARGV_MAX, argv_step, &w, 0);
		if (iters == ARGV_MAX && !w.done)
			w.flags |= CAPF_TRUNCATED;
	} else {
		for (__u32 i = 0; i < ARGV_MAX; i++) {
			if (argv_one(i, &w))
				break;
		}
		if (!w.done)
			w.flags |= CAPF_TRUNCATED;
	}
	h->arg = idx;
	h->flags = w.flags;
	h->len = w.used;
	return CAP_HDR + w.used;
}

/* Copies one argument's user memory to dst (a cap_hdr then the data). Returns the bytes written, 0 when
 * nothing was captured. dst must have CAP_HDR + CAP_MAX + 2 bytes of room. String arrays: capture_strarray. */
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
		if (ac->flags & ARG_FIXED) {
			want = room;
		} else if (ac->flags & ARG_IOCTL) {
			__u32 req = args[1];
			__u32 *size = bpf_map_lookup_elem(&ioctl_sizes, &req);
			if (!size)
				return 0;
			want = *size;
		} else if (ac->flags & ARG_LEN_FROM_RET) {
			if (!at_exit || ret < 0)
				return 0;
			want = ret;
			if (ac->elem) {
				if (want > CAP_MAX)
					want = CAP_MAX + 1; /* too long: truncated below */
				want *= ac->elem;
			}
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
			__u8 shift = ac->shift & 7;
			if (want > (room >> shift))
				want = room + 1; /* too long: truncated below */
			else
				want <<= shift;
		}
		if ((__s64)want < 0)
			want = 0;
		if (want > room) {
			flags |= CAPF_TRUNCATED;
			want = room;
		}
		/* want <= room <= CAP_MAX, but older verifiers only know what a constant compare tells them. */
		barrier_var(want);
		if (want > CAP_MAX)
			want = CAP_MAX;
		len = want;
		if (want > 0 && bpf_probe_read_user(data, want, ptr)) {
			flags |= CAPF_FAULTED;
			len = 0;
		}
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

/* ---- iovec arrays (readv, writev, sendmsg, recvmsg): segments as syscalls.IovecLayout describes ---- */

/* Appends a segment to data at *used: a 16-bit length, then n bytes of user memory at src (at most
 * CAP_MAX). data has CAP_ROOM - CAP_HDR bytes of room. Returns the length written (SEG_UNREADABLE when the
 * read faulted), or -1 when no room is left. */
static __always_inline long seg_append(__u8 *data, __u32 *used, const void *src, __u64 n)
{
	__u32 off = *used;
	if (off > CAP_MAX - 3)
		return -1;
	barrier_var(off);
	off &= CAP_MAX - 1;
	barrier_var(n);
	if (n > CAP_MAX)
		n = CAP_MAX;
	__u32 len = n;
	if (n > 0 && bpf_probe_read_user(data + off + 2, n, src)) {
		len = SEG_UNREADABLE;
		n = 0;
	}
	data[off] = len;
	data[off + 1] = len >> 8;
	*used = off + 2 + n;
	return len;
}

struct iov_walk {
	__u8 *data;	  /* the capture's data */
	const __u64 *iov; /* the user's struct iovec array: {base, len} pairs */
	__u64 left;	  /* bytes of the return value not yet attributed to an iovec (~0: no bound) */
	__u32 used;	  /* bytes of data written */
	__u32 budget;	  /* data bytes still to keep */
	__u32 n;	  /* iovecs to walk */
	__u8 flags;
};

/* The data of iovec i: up to its length, what is left of the return value and the budget. The body of a
 * bounded loop (exit programs do not use bpf_loop): the values that go on to the next iteration are masked
 * to one constant range, so that the verifier's states of the paths through it prune each other. */
static __always_inline long iov_one(__u32 i, struct iov_walk *w)
{
	if (i >= w->n || i >= IOV_MAX)
		return 1;
	__u64 v[2];
	if (bpf_probe_read_user(v, sizeof(v), &w->iov[2 * (i & (IOV_MAX - 1))])) {
		w->flags |= CAPF_TRUNCATED;
		return 1;
	}
	__u64 n = v[1];
	if (n > w->left)
		n = w->left;
	w->left -= n;
	__u64 budget = w->budget;
	if (n > budget) {
		n = budget;
		w->flags |= CAPF_TRUNCATED;
	}
	barrier_var(n);
	n &= 2 * CAP_MAX - 1; /* n <= budget <= CAP_MAX: no change */
	if (seg_append(w->data, &w->used, (const void *)v[0], n) < 0) {
		w->flags |= CAPF_TRUNCATED;
		return 1;
	}
	budget -= n;
	barrier_var(budget);
	w->budget = budget & (2 * CAP_MAX - 1);
	__u32 used = w->used;
	barrier_var(used);
	w->used = used & (4 * CAP_MAX - 1);
	return 0;
}


/* User space's view of struct msghdr (struct user_msghdr). */
struct umsghdr {
	__u64 name;
	__u32 namelen;
	__u32 pad;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
	__u32 pad2;
};

/* Copies an iovec array and the data it points to (CAP_IOVEC), or a msghdr, its name and control data and its
 * iovecs (CAP_MSGHDR), to dst: a cap_hdr then segments. At exit only, and at one place in the program: the
 * verifier walks the loop once per place. Returns the bytes written. */
static __always_inline __u32 capture_iov(__u8 *dst, __u32 idx, struct arg_cfg *ac, __u64 *args, __s64 ret)
{
	struct cap_hdr *h = (struct cap_hdr *)dst;
	struct iov_walk w = {.data = dst + CAP_HDR, .left = ~0ULL};
	const void *ptr = (const void *)args[idx & 7];
	__u64 iov, cnt;
	__u8 flags = 0;

	if (ac->kind == CAP_MSGHDR) {
		struct umsghdr m;
		if (bpf_probe_read_user(&m, sizeof(m), ptr)) {
			flags = CAPF_FAULTED;
			goto out;
		}
		seg_append(w.data, &w.used, ptr, sizeof(m));
		__u64 n = m.name ? m.namelen : 0;
		if (n > MSG_NAME_MAX)
			n = MSG_NAME_MAX;
		seg_append(w.data, &w.used, (const void *)m.name, n);
		n = m.control ? m.controllen : 0;
		if (n > MSG_CTL_MAX) {
			n = MSG_CTL_MAX;
			flags |= CAPF_TRUNCATED;
		}
		seg_append(w.data, &w.used, (const void *)m.control, n);
		iov = m.iov;
		cnt = m.iovlen;
	} else {
		__s8 la = ac->len_arg;
		if (la < 0 || la >= MAX_ARGS)
			return 0;
		iov = (__u64)ptr;
		cnt = (__u32)args[la & 7]; /* an int */
	}
	if (cnt > IOV_MAX) {
		cnt = IOV_MAX;
		flags |= CAPF_TRUNCATED;
	}
	if (seg_append(w.data, &w.used, (const void *)iov, cnt * 16) == SEG_UNREADABLE)
		goto out;
	/* The data, when asked for (--capture-data); of a read, only what the call returned. */
	if (ac->max == 0 || ((ac->flags & ARG_LEN_FROM_RET) && ret < 0))
		goto out;
	if (ac->flags & ARG_LEN_FROM_RET)
		w.left = ret;
	w.iov = (const __u64 *)iov;
	w.n = cnt;
	w.budget = ac->max;
	if (w.budget > CAP_MAX - w.used)
		w.budget = CAP_MAX - w.used;
	for (__u32 i = 0; i < IOV_MAX; i++) {
		if (iov_one(i, &w))
			break;
	}
out:
	h->arg = idx;
	h->flags = flags | w.flags;
	h->len = w.used;
	return CAP_HDR + w.used;
}

/* The iovec capture of the record being built in this CPU's scratch, at pos, for system call nr (its
 * sys_cfg's iov_arg). A global function (BTF_FUNC_GLOBAL, 5.6+): the verifier checks it once, on its own,
 * with unknown arguments, rather than once per state of the exit program that reaches the call (which
 * exceeded the verifier's budget). Returns the bytes written. */
__attribute__((noinline)) int iov_capture(__u32 pos, __u32 nr, __s64 ret)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return 0;
	struct sys_cfg *cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg)
		return 0;
	__u32 iv = cfg->iov_arg;
	if (iv == 0 || iv > MAX_ARGS)
		return 0;
	iv = (iv - 1) & 7;
	if (iv >= MAX_ARGS || pos > SCRATCH_POS_MASK)
		return 0;
	struct rec_hdr *h = (struct rec_hdr *)s->buf;
	barrier_var(pos);
	pos &= SCRATCH_POS_MASK; /* no change (checked above), but a bound the verifier sees */
	return capture_iov(s->buf + pos, iv, &cfg->args[iv], h->args, ret);
}

/* ---- the programs' shared logic ---- */

/* Refreshes the identity cached in st (see struct task_state). */
static __always_inline void refresh_ids(struct task_struct *task, struct task_state *st, bool direct)
{
	struct nsproxy *nsp = direct ? task->nsproxy : BPF_CORE_READ(task, nsproxy);
	if ((__u64)nsp != st->nsproxy) {
		st->nsproxy = (__u64)nsp;
		if (direct) {
			st->utsns = nsp->uts_ns->ns.inum;
			st->mntns = nsp->mnt_ns->ns.inum;
		} else {
			st->utsns = BPF_CORE_READ(nsp, uts_ns, ns.inum);
			st->mntns = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
		}
	}
	if (!st->have_pid) {
		ns_pid(task, &st->nspid, &st->pidns);
		st->have_pid = 1;
	}
	__u64 cgs = direct ? (__u64)task->cgroups : (__u64)BPF_CORE_READ(task, cgroups);
	__u32 gen = *(volatile __u32 *)&filter_gen;
	if (cgs != st->css_set || gen != st->cgroup_gen) {
		st->css_set = cgs;
		st->cgroup_gen = gen;
		/* cgroup.h's functions take a plain number: a BTF pointer, even cast, is not one to the verifier. */
		st->cgroup = cgroup_leaf_id(direct ? (__u64)BPF_CORE_READ(task, cgroups) : cgs);
	}
}

static __always_inline void fill_header(struct rec_hdr *h, struct task_state *st, __u32 nr, long ret, __u64 start,
					__u64 pid_tgid)
{
	h->nr = nr;
	h->target = st->core.filter.target;
	h->ret = ret;
	for (int i = 0; i < MAX_ARGS; i++)
		h->args[i] = st->args[i];
	h->start = start;
	h->finish = bpf_ktime_get_ns();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	__u64 ug = bpf_get_current_uid_gid();
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->nspid = st->nspid;
	h->pidns = st->pidns;
	h->utsns = st->utsns;
	h->mntns = st->mntns;
	h->cgroup = st->cgroup;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	h->ncaps = 0;
	h->flags = 0;
}

/* Writes a record without captures straight into the ring. */
static __always_inline void emit_fixed(struct task_state *st, __u32 nr, long ret, __u64 start, __u64 pid_tgid,
				       __u16 flags)
{
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	struct rec_hdr *h = bpf_ringbuf_reserve(&events, sizeof(*h), 0);
	if (!h) {
		count_lost(nr, ret);
		return;
	}
	fill_header(h, st, nr, ret, start, pid_tgid);
	h->size = sizeof(*h);
	h->flags = flags;
	bpf_ringbuf_submit(h, wake_flags(pending, sizeof(*h)));
}

/* stack.h: the record of a call that does not return (exit, exit_group), with its stacks, built in this CPU's
 * scratch at entry. */
static __always_inline void emit_stacked(void *ctx, struct task_state *st, __u32 nr, __u64 start, __u64 pid_tgid)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return;
	s->owner = pid_tgid;
	struct rec_hdr *h = (struct rec_hdr *)s->buf;
	fill_header(h, st, nr, 0, start, pid_tgid);
	h->flags = RECF_NO_RETURN;
	__u64 size = sizeof(*h) + stacks_capture(ctx, s->buf + sizeof(*h), &h->ncaps);
	barrier_var(size);
	if (size > SCRATCH_SIZE)
		return;
	h->size = size;
	if (s->owner != pid_tgid) {
		count_lost(nr, 0);
		return;
	}
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (bpf_ringbuf_output(&events, s->buf, size, wake_flags(pending, size)))
		count_lost(nr, 0);
}

/* The entry of call id, whose arguments are in regs (sys_enter's registers; with F_SC, NULL: the task's). */
static __always_inline int on_enter(void *ctx, struct pt_regs *regs, long id, int f)
{
	__u32 nr = id;
	if (id < 0 || id >= NR_MAX)
		return 0;
	struct sys_cfg *cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg || !cfg->selected)
		return 0;

	struct task_struct *task = current_task(f);
	__u64 pid_tgid = current_pid_tgid(task, f);
	struct task_state *st = task_traced(task, pid_tgid, nr, f);
	if (!st)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (f & F_SC)
		/* The registers of the call, as sys_enter gets them: a syscall tracepoint's record holds only the
		 * arguments the call's definition names, and a program may not read beyond its record. */
		read_args((struct pt_regs *)bpf_task_pt_regs(task), st->args, true);
	else
		read_args(regs, st->args, CTX_BTF(f));
	st->has_entry = 0;

	if (cfg->no_return) {
		/* exit/exit_group: sys_exit never comes. */
		if (!xf_keep(task, &st->xf, nr, 0, now, st->args, true)) /* swoll:filters */
			return 0;
		refresh_ids(task, st, TASK_BTF(f));
		if (stacks_on()) /* stack.h */
			emit_stacked(ctx, st, nr, now, pid_tgid);
		else
			emit_fixed(st, nr, 0, now, pid_tgid, RECF_NO_RETURN);
		return 0;
	}
	task_begin(st, nr, now);
	xf_enter(task, &st->xf, &st->fdi, nr, st->args, pid_tgid, f); /* swoll:filters: -P on fds, -y's fds */

	if (!cfg->entry_caps)
		return 0;
	/* Strings that must be read before the call replaces the address space (execve). */
	struct entry_stash *es = stash_create(task, f);
	if (!es) {
		count_lost_entry(nr);
		return 0;
	}
	es->len = 0;
	es->ncaps = 0;
	es->flags = 0;
	es->ok_mask = 0;
	if (stacks_on() && stack_at_entry(nr)) /* stack.h: the caller's frames are gone at exit */
		es->len = stacks_capture(ctx, es->data, &es->ncaps);
	for (int i = 0; i < MAX_ARGS; i++) {
		struct arg_cfg *ac = &cfg->args[i];
		if (ac->kind == CAP_NONE || !(ac->flags & ARG_AT_ENTRY))
			continue;
		__u32 off = es->len;
		if (off > ENTRY_POS_MASK) {
			es->flags |= RECF_CAPS_DROPPED;
			break;
		}
		barrier_var(off);
		off &= ENTRY_POS_MASK;
		__u32 w = capture(es->data + off, i, ac, st->args, 0, false);
		if (w) {
			es->len = off + w;
			es->ncaps++;
			if (!(((struct cap_hdr *)(es->data + off))->flags & CAPF_FAULTED))
				es->ok_mask |= 1 << i;
		}
	}
	/* The string array last, at one place (user space sets argv_arg only for an argument after the other
	 * entry captures, so the record's captures stay in argument order). */
	__u32 idx = cfg->argv_arg;
	/* Bounds as constants the verifier of older kernels keeps (it does not relate two registers). */
	idx -= 1;
	barrier_var(idx);
	idx &= 7;
	if (cfg->argv_arg && idx < MAX_ARGS) {
		__u32 off = es->len;
		if (off > ENTRY_POS_MASK) {
			es->flags |= RECF_CAPS_DROPPED;
		} else {
			barrier_var(off);
			off &= ENTRY_POS_MASK;
			es->len = off + capture_strarray(es->data + off, idx, &cfg->args[idx], st->args, f);
			es->ncaps++;
			if (!(((struct cap_hdr *)(es->data + off))->flags & CAPF_FAULTED))
				es->ok_mask |= 1 << idx;
		}
	}
	st->has_entry = 1;
	return 0;
}

/* The exit of call id (as sys_exit says: see task_exit_nr), which returned ret. */
static __always_inline int on_exit(void *ctx, long id, long ret, int f)
{
	struct task_struct *task = current_task(f);
	task_exited(task, id, ret, f);
	id = task_exit_nr(task, id, f);
	__u32 nr = id;
	if (id < 0 || id >= NR_MAX)
		return 0;
	struct sys_cfg *cfg = bpf_map_lookup_elem(&sys_cfgs, &nr);
	if (!cfg || !cfg->selected)
		return 0;

	__u64 start;
	struct task_state *st = task_end(task, nr, &start, f);
	if (!st)
		return 0;

	/* swoll:filters: the incident filters, before anything is reserved */
	if (!xf_keep(task, &st->xf, nr, ret, start, st->args, false)) {
		xf_done(task, &st->xf, f);
		if (st->has_entry) {
			st->has_entry = 0;
			stashes_delete(task, f);
		}
		return 0;
	}

	__u64 pid_tgid = current_pid_tgid(task, f);
	refresh_ids(task, st, TASK_BTF(f));

	if (!cfg->exit_caps && !st->has_entry && !stacks_on() && !fd_record_needed(&st->xf, ret)) {
		/* Nothing captured: a fixed-size record, built in place. */
		emit_fixed(st, nr, ret, start, pid_tgid, 0);
		return 0;
	}

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return 0;
	s->owner = pid_tgid;
	struct rec_hdr *h = (struct rec_hdr *)s->buf;
	fill_header(h, st, nr, ret, start, pid_tgid);

	__u32 off = sizeof(struct rec_hdr);
	/* Entry captures that failed are tried again now: the kernel has faulted in the pages it read. Not after
	 * a successful exec, whose old address space is gone (sched_process_exec filled the stash instead). String
	 * arrays are not tried again (capture skips them): the exec hook fills argv in. */
	__u8 ok_mask = 0;
	if ((nr == NR_EXECVE || nr == NR_EXECVEAT) && ret == 0)
		ok_mask = 0xff;
	if (st->has_entry) {
		st->has_entry = 0;
		struct entry_stash *es = stashes_lookup(task, f);
		if (es) {
			__u32 n = es->len;
			/* Entry captures end before ENTRY_POS_MASK + CAP_ROOM; beyond SCRATCH_POS_MASK no exit
			 * capture follows, which is fine: no system call captures at both entry and exit. */
			if (n > ENTRY_AREA)
				n = ENTRY_AREA;
			if (n > 0 && !bpf_probe_read_kernel(s->buf + sizeof(struct rec_hdr), n, es->data)) {
				off += n;
				h->ncaps = es->ncaps;
			}
			h->flags |= es->flags;
			ok_mask |= es->ok_mask;
			stashes_delete(task, f);
		}
	}
	/* stack.h: the stacks, taken now that the call is recorded (execve's came with the stash). */
	if (stacks_on()) {
		if (!stack_at_entry(nr) && off <= SCRATCH_POS_MASK) {
			__u32 pos = off;
			barrier_var(pos);
			pos &= SCRATCH_POS_MASK;
			off = pos + stacks_capture(ctx, s->buf + pos, &h->ncaps);
		}
		/* one verifier state for what follows, whether and however many stacks were written (fdrecord.h) */
		off = fd_record_launder(h, off);
	}

	if (cfg->exit_caps || cfg->entry_caps) {
		for (int i = 0; i < MAX_ARGS; i++) {
			struct arg_cfg *ac = &cfg->args[i];
			if (ac->kind == CAP_NONE || ((ac->flags & ARG_AT_ENTRY) && (ok_mask & (1 << i))))
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
	/* An iovec array or msghdr (see iov_capture). */
	if (cfg->iov_arg) {
		if (off > SCRATCH_POS_MASK) {
			h->flags |= RECF_CAPS_DROPPED;
		} else {
			__u32 w = iov_capture(off, nr, ret);
			if (w > 0 && w <= CAP_ROOM) {
				off += w;
				h->ncaps++;
			}
		}
	}
	/* swoll:filters: -y's fd descriptions: the arguments' from the fd stash, then the returned fds' */
	if (fd_level) {
		off = fd_record_launder(h, off);
		off += fd_record_stash(task, &st->xf, &st->fdi, s, off, f);
		xf_done(task, &st->xf, f);
		if (off > SCRATCH_POS_MASK) {
			h->flags |= RECF_CAPS_DROPPED;
		} else {
			__u32 w = fd_record_exit(off, nr, ret, f);
			if ((w & 0xffff) <= 3 * CAP_ROOM) {
				off += w & 0xffff;
				h->ncaps += w >> 16;
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
		count_lost(nr, ret);
		return 0;
	}
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = wake_flags(pending, size);
	if (bpf_ringbuf_output(&events, s->buf, size, flags))
		count_lost(nr, ret);
	return 0;
}

/* pid-tree mode: children of traced processes are traced with the parent's target. The child of a pre-exec
 * process is pre-exec too (filter.h). */
static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child, bool direct)
{
	__u32 mode = filter_mode, pre = pre_exec_on;
	if (!(mode & MODE_PID) && !pre)
		return 0;
	__u32 ptgid = direct ? parent->tgid : BPF_CORE_READ(parent, tgid);
	__u32 ctgid = direct ? child->tgid : BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid)
		return 0; /* a new thread */
	if (pre && bpf_map_lookup_elem(&pre_exec, &ptgid))
		pre_exec_mark(ctgid);
	if (!(mode & MODE_PID))
		return 0;
	__u32 *t = bpf_map_lookup_elem(&pid_targets, &ptgid);
	if (!t)
		return 0;
	__u32 target = *t;
	bpf_map_update_elem(&pid_targets, &ctgid, &target, BPF_ANY);
	return 0;
}

/* Runs for every task (thread) that exits. */
static __always_inline int on_task_exit(struct task_struct *p, int f)
{
	bool direct = CTX_BTF(f);
	if (!(f & F_TS)) {
		/* Task storage goes away with the task; the hashes must be emptied. */
		task_forget(p);
		stashes_forget(p);
		fdstash_forget(p); /* swoll:filters */
	}
	__u32 mode = filter_mode, pre = pre_exec_on;
	if (!(mode & MODE_PID) && !pre)
		return 0;
	__u32 pid = direct ? p->pid : BPF_CORE_READ(p, pid);
	__u32 tgid = direct ? p->tgid : BPF_CORE_READ(p, tgid);
	if (pid != tgid)
		return 0; /* a thread; the process lives on */
	if (pre)
		bpf_map_delete_elem(&pre_exec, &tgid);
	if (mode & MODE_PID)
		bpf_map_delete_elem(&pid_targets, &tgid);
	return 0;
}

/*
 * A successful execve replaces the address space its arguments were in, so sys_exit cannot read them again,
 * and at sys_enter a fresh child's string literals often sit in file pages it has not touched yet, which a
 * BPF read cannot fault in. Here the new program is set up: the kernel's copy of the filename and the new
 * stack's argument area hold what the caller passed. They fill in what the entry read missed (the record
 * parser keeps the last capture of an argument).
 */
static __always_inline void stash_append(struct entry_stash *st, __u8 arg, const void *src, __u64 n,
					 bool kernel_str)
{
	__u32 off = st->len;
	if (off > ENTRY_POS_MASK) {
		st->flags |= RECF_CAPS_DROPPED;
		return;
	}
	barrier_var(off);
	off &= ENTRY_POS_MASK;
	struct cap_hdr *h = (struct cap_hdr *)(st->data + off);
	__u8 *data = st->data + off + CAP_HDR;
	__u8 flags = 0;
	long len;
	if (kernel_str) {
		len = bpf_probe_read_kernel_str(data, CAP_MAX, src);
		if (len > 0)
			len--; /* the NUL */
		if (len >= CAP_MAX - 1)
			flags |= CAPF_TRUNCATED;
	} else {
		if (n > CAP_MAX) {
			n = CAP_MAX;
			flags |= CAPF_TRUNCATED;
		}
		barrier_var(n);
		if (n > CAP_MAX)
			n = CAP_MAX;
		len = n;
		if (n > 0 && bpf_probe_read_user(data, n, src))
			len = -1;
	}
	if (len < 0) {
		flags |= CAPF_FAULTED;
		len = 0;
	}
	h->arg = arg;
	h->flags = flags;
	h->len = len;
	st->len = off + CAP_HDR + (len & (2 * CAP_MAX - 1));
	st->ncaps++;
}

static __always_inline int on_exec(struct linux_binprm *bprm, int f)
{
	bool direct = TASK_BTF(f);
	struct task_struct *task = current_task(f); /* the task execing */
	if (pre_exec_on) {
		__u32 tgid = current_pid_tgid(task, f) >> 32;
		bpf_map_delete_elem(&pre_exec, &tgid); /* counting mode forgets the decisions that said pre-exec */
	}
	struct task_state *st = tasks_lookup(task, f);
	if (!st || !st->core.call.start || !st->has_entry ||
	    (st->core.call.nr != NR_EXECVE && st->core.call.nr != NR_EXECVEAT))
		return 0;
	struct entry_stash *es = stashes_lookup(task, f);
	if (!es)
		return 0;
	__u8 path_arg = st->core.call.nr == NR_EXECVEAT ? 1 : 0;
	__u8 argv_arg = path_arg + 1;
	if (!(es->ok_mask & (1 << path_arg))) {
		const char *name = CTX_BTF(f) ? bprm->filename : BPF_CORE_READ(bprm, filename);
		stash_append(es, path_arg, name, 0, true);
	}
	if (!(es->ok_mask & (1 << argv_arg)) && st->args[argv_arg & 7]) {
		struct mm_struct *mm = direct ? task->mm : BPF_CORE_READ(task, mm);
		__u64 start = direct ? mm->arg_start : BPF_CORE_READ(mm, arg_start);
		__u64 end = direct ? mm->arg_end : BPF_CORE_READ(mm, arg_end);
		stash_append(es, argv_arg, (const void *)start, end > start ? end - start : 0, false);
	}
	es->ok_mask = 0xff;
	return 0;
}

/*
 * The programs: <attach>_<hook>[_<variant>] (variant.h). Variants of sys_enter: none (F_TS|F_LOOP), _ts (F_TS),
 * _hash (neither); of sys_exit, sched_process_exit (_exit) and sched_process_exec (_exec): none (F_TS), _hash;
 * sched_process_fork (_fork) has one per attach type. The per-call programs (sc_sys_enter, sc_sys_exit: F_SC)
 * have the variants of sys_enter and sys_exit. bpf/variants.go lists them.
 */
#define ENTER_PROGS(attach, sfx, f)                                                                         \
	TP_PROG(attach, sys_enter, attach##_sys_enter##sfx)                                                 \
	{                                                                                                   \
		return on_enter(ctx, (struct pt_regs *)ctx[0], (long)ctx[1], (f));                          \
	}

#define EXIT_PROGS(attach, sfx, f)                                                                          \
	TP_PROG(attach, sys_exit, attach##_sys_exit##sfx)                                                   \
	{                                                                                                   \
		return on_exit(ctx, syscall_nr((struct pt_regs *)ctx[0], CTX_BTF(f)), (long)ctx[1], (f));   \
	}                                                                                                   \
	TP_PROG(attach, sched_process_exit, attach##_exit##sfx)                                             \
	{                                                                                                   \
		return on_task_exit((struct task_struct *)ctx[0], (f));                                     \
	}                                                                                                   \
	TP_PROG(attach, sched_process_exec, attach##_exec##sfx)                                             \
	{                                                                                                   \
		return on_exec((struct linux_binprm *)ctx[2], (f));                                         \
	}

ENTER_PROGS(btf, , F_BTF | F_TS | F_LOOP)
ENTER_PROGS(btf, _ts, F_BTF | F_TS)
ENTER_PROGS(btf, _hash, F_BTF)
EXIT_PROGS(btf, , F_BTF | F_TS)
EXIT_PROGS(btf, _hash, F_BTF)
ENTER_PROGS(raw, , F_TS | F_LOOP)
ENTER_PROGS(raw, _ts, F_TS)
ENTER_PROGS(raw, _hash, 0)
EXIT_PROGS(raw, , F_TS)
EXIT_PROGS(raw, _hash, 0)

/* The per-call programs read the call's registers with bpf_task_pt_regs (5.15), after task storage: they have
 * no variant without it. */
SC_PROG(enter, sc_sys_enter)
{
	return on_enter(ctx, 0, ctx->nr, F_SC | F_TS | F_LOOP);
}

SC_PROG(enter, sc_sys_enter_ts)
{
	return on_enter(ctx, 0, ctx->nr, F_SC | F_TS);
}

SC_PROG(exit, sc_sys_exit)
{
	return on_exit(ctx, ctx->nr, ctx->ret, F_SC | F_TS);
}

/*
 * A task moved to another cgroup (cgroup_attach_task(dst_cgrp, path, task, threadgroup), once per move of a
 * task or, with threadgroup, of its whole process): every task decides again (filter.h); the moved process
 * joined a container, maybe, and is pre-exec until it execs.
 */
static __always_inline int on_cgroup_move(struct task_struct *task, bool direct)
{
	__sync_fetch_and_add(&cgroup_moves, 1);
	if (pre_exec_on)
		pre_exec_mark(direct ? task->tgid : BPF_CORE_READ(task, tgid));
	return 0;
}

TP_PROG(btf, cgroup_attach_task, btf_cgroup_move)
{
	return on_cgroup_move((struct task_struct *)ctx[2], true);
}

TP_PROG(raw, cgroup_attach_task, raw_cgroup_move)
{
	return on_cgroup_move((struct task_struct *)ctx[2], false);
}

TP_PROG(btf, sched_process_fork, btf_fork)
{
	return on_fork((struct task_struct *)ctx[0], (struct task_struct *)ctx[1], true);
}

TP_PROG(raw, sched_process_fork, raw_fork)
{
	return on_fork((struct task_struct *)ctx[0], (struct task_struct *)ctx[1], false);
}

/* Mount namespace ids as the probe computes them (mnt_ns_id), for kernels without NS_GET_MNTNS_ID: one
 * struct mnt_ns_pair per task. User space finds a namespace's id by its inode number. */
struct mnt_ns_pair {
	__u64 inum;
	__u64 id;
};
struct mnt_ns_pair _mnt_ns_pair __attribute__((unused));

SEC("iter/task")
int mnt_ids(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	struct nsproxy *nsp = task->nsproxy;
	if (!nsp || !nsp->mnt_ns)
		return 0;
	struct mnt_ns_pair p = {.inum = nsp->mnt_ns->ns.inum, .id = mnt_ns_id(task, true)};
	bpf_seq_write(ctx->meta->seq, &p, sizeof(p));
	return 0;
}
