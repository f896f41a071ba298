/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * -y in the probe's records: the fd descriptions of a call (fdpath.h) as captures of slots FD_SLOT... (record.Fd
 * parses them): those of its arguments, resolved at entry into the task's fd stash (exitfilter.h's xf_enter) and
 * copied here, then those of the fds it returned, resolved at exit. Include in probe.c after its record scratch
 * buffer (struct scratch, scratches, SCRATCH_POS_MASK, struct rec_hdr).
 */
#ifndef SWOLL_FDRECORD_H
#define SWOLL_FDRECORD_H

#include "exitfilter.h"

/* FD_STASH_AREA bytes at a position below SCRATCH_POS_MASK fit in the record. */
_Static_assert(FD_STASH_AREA <= CAP_ROOM, "the fd stash does not fit in a capture's room");
_Static_assert(sizeof(struct fd_cap) + FD_OUT_MAX <= CAP_ROOM, "an fd description does not fit in a capture's room");

/* Whether the record of the call that returned ret needs the scratch buffer for its fd descriptions. */
static __always_inline bool fd_record_needed(struct xf_task *x, long ret)
{
	if (!fd_level)
		return false;
	if (x->has_fds)
		return true;
	/* The tests of ret are arithmetic, on copies: a branch on ret itself would tell the verifier its range, and
	 * the capture paths that follow would be verified once more for each range (see xf_failed). */
	__u64 r = ret, minus = -r;
	barrier_var(minus);
	__u64 neg = r >> 63, nonzero = (r | minus) >> 63;
	barrier_var(neg);
	barrier_var(nonzero);
	__u8 k = x->ret_fds;
	return ((k & RET_FD) && !neg) || ((k & RET_PAIR) && !nonzero);
}

/*
 * off as a number the verifier knows nothing of (it goes through the record header's size, which is written again
 * when the record is complete): every capture path arrives at -y's step with its own off, and each would verify
 * what follows again; from here on they are one state. Costs a store and a load.
 */
static __always_inline __u32 fd_record_launder(struct rec_hdr *h, __u32 off)
{
	*(volatile __u32 *)&h->size = off;
	return *(volatile __u32 *)&h->size;
}

/* Copies the call's fd arguments (the task state's inline one, then the task's fd stash) into the record at off
 * (a position of s->buf); returns the bytes copied. */
static __always_inline __u32 fd_record_stash(struct task_struct *task, struct xf_task *x, struct fd_inline *fi,
					     struct scratch *s, __u32 off, int f)
{
	struct rec_hdr *h = (struct rec_hdr *)s->buf;
	__u32 start = off;
	if (x->has_fds & FDS_INLINE) {
		if (off > SCRATCH_POS_MASK) {
			h->flags |= RECF_CAPS_DROPPED;
			return 0;
		}
		barrier_var(off);
		off &= SCRATCH_POS_MASK;
		__u64 n = sizeof(struct fd_cap) + ((struct fd_cap *)fi->raw)->len;
		clamp_var(n, sizeof(struct fd_inline));
		if (!bpf_probe_read_kernel(s->buf + off, n, fi)) {
			off += n;
			h->ncaps++;
		}
	}
	if (!(x->has_fds & FDS_STASH))
		return off - start;
	struct fd_stash *fs = fdstash_lookup(task, f);
	if (!fs)
		return off - start;
	__u64 n = fs->len;
	if (fs->dropped)
		h->flags |= RECF_CAPS_DROPPED;
	if (off > SCRATCH_POS_MASK) {
		h->flags |= RECF_CAPS_DROPPED;
		return off - start;
	}
	barrier_var(off);
	off &= SCRATCH_POS_MASK;
	clamp_var(n, FD_STASH_AREA);
	if (n == 0 || bpf_probe_read_kernel(s->buf + off, n, fs->data))
		return off - start;
	h->ncaps += fs->n;
	return off + n - start;
}

/* Appends what fd_resolve handed out as capture slot at pos of buf; returns the bytes written. */
static __always_inline __u32 fd_record_one(__u8 *buf, __u32 pos, struct fd_scratch *fsc, __u8 slot, int n)
{
	barrier_var(pos);
	pos &= SCRATCH_POS_MASK;
	__u64 len = n;
	clamp_var(len, FD_PATH_MAX);
	len += sizeof(struct fd_info);
	struct fd_cap *c = (struct fd_cap *)(buf + pos);
	c->arg = slot;
	c->flags = 0;
	c->len = len;
	clamp_var(len, sizeof(struct fd_info) + FD_PATH_MAX);
	bpf_probe_read_kernel(buf + pos + sizeof(*c), len, &fsc->info);
	return sizeof(*c) + len;
}

/*
 * Appends the descriptions of the fds call nr returned (ret, or the pair an FDR_FDPAIR argument points to) to
 * the record in this CPU's scratch at pos. Returns the bytes written | the captures added << 16. As global
 * functions (see iov_capture), one per way fd_resolve reads the task (f: the variant's features).
 */
static __always_inline int fd_record_exit_body(__u32 pos, __u32 nr, __s64 ret, int f)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	struct fd_scratch *fsc = bpf_map_lookup_elem(&fd_scratches, &zero);
	struct call_fds *cf = bpf_map_lookup_elem(&call_fds, &nr);
	if (!s || !fsc || !cf)
		return 0;
	struct rec_hdr *h = (struct rec_hdr *)s->buf;
	__u64 owner = s->owner;
	__u32 want = fd_level > 1 ? FDW_SOCK : 0;
	__u32 start = pos, caps = 0;
	if (cf->ret_fd && ret >= 0 && ret < 0x7fffffff) {
		if (pos > SCRATCH_POS_MASK)
			return 0;
		fsc->owner = owner;
		int n = fd_resolve((int)ret, want, f);
		if (n >= 0) {
			pos += fd_record_one(s->buf, pos, fsc, FD_SLOT_RET, n);
			caps++;
		}
	}
	if (cf->pair && ret == 0) {
		__u32 i = cf->pair - 1;
		int fds[2] = {};
		if (i < MAX_ARGS && !bpf_probe_read_user(fds, sizeof(fds), (const void *)h->args[i & 7])) {
			for (int j = 0; j < 2; j++) {
				if (pos > SCRATCH_POS_MASK) {
					h->flags |= RECF_CAPS_DROPPED;
					break;
				}
				fsc->owner = owner;
				int n = fd_resolve(fds[j], want, f);
				if (n >= 0) {
					pos += fd_record_one(s->buf, pos, fsc, FD_SLOT_PAIR + j, n);
					caps++;
				}
			}
		}
	}
	if (caps && fsc->owner != owner)
		count_lost_part(); /* garbled by a preempting writer; the record's owner check catches its own buffer */
	return (pos - start) | caps << 16;
}

__attribute__((noinline)) int fd_record_exit_btf(__u32 pos, __u32 nr, __s64 ret)
{
	return fd_record_exit_body(pos, nr, ret, F_BTF | F_TS);
}

__attribute__((noinline)) int fd_record_exit_raw(__u32 pos, __u32 nr, __s64 ret)
{
	return fd_record_exit_body(pos, nr, ret, 0);
}

static __always_inline int fd_record_exit(__u32 pos, __u32 nr, __s64 ret, int f)
{
	return TASK_BTF(f) ? fd_record_exit_btf(pos, nr, ret) : fd_record_exit_raw(pos, nr, ret);
}

#endif
