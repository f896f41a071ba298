/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a file descriptor of the current task is, found in the kernel (strace's -y and -yy, and -P on fds):
 * task->files->fdt->fd[n] gives the file; its f_path is walked up, dentry by dentry and across mounts, to the
 * task's root, as d_path does (bpf_d_path is refused to tracepoint programs: it is allowed only in fentry/LSM
 * programs of an allow-list of kernel functions). Files of pseudo file systems, which d_path names through
 * d_op->d_dname (pipes, sockets, anonymous inodes, memfds), are handed out as their file system's magic, inode
 * number and dentry name, which user space formats as d_dname would (nodeagent/record). With -yy a socket also
 * hands out its protocol, addresses and ports (inet), peer and bound path (unix), or port id (netlink).
 *
 * Reads are CO-RE probe reads, fields that sit together read at once, and plain loads of BTF pointers for the
 * task's fs, files and fdtable where the variant has a BTF task (fd_resolve_btf; fd_resolve_raw elsewhere). The
 * walk is bounded: at most FD_DEPTH_MAX dentries and mounts, FD_PATH_MAX bytes of path (a longer path is handed
 * out as its last FD_PATH_MAX bytes, marked truncated), and a global function of its own; paths are cached per
 * CPU by dentry (fd_cache). The resolution is a global function (verified once, on its own) that writes into a
 * per-CPU buffer; callers copy what it wrote: into the task's state or fd stash at entry (arguments: what the fd
 * was when the call began, as strace shows it, even for close), into the record at exit (returned fds, pipe and
 * socketpair's pair).
 *
 * Which arguments of a call are fds, dirfds and paths is user space's table (syscalls' argument types), written
 * into call_fds; fd_level says how much to resolve (0: nothing, for -P alone; 1: -y; 2: -yy).
 */
#ifndef SWOLL_FDPATH_H
#define SWOLL_FDPATH_H

#include "common.h"
#include "variant.h"
#include "vmlinux_fd.h"

#define FD_PATH_MAX 1024   /* bytes of a path kept (record.MaxFdPathBytes); a power of two */
#define FD_NAME_MAX 255    /* bytes of one dentry name */
#define FD_DEPTH_MAX 40    /* dentries and mount crossings walked */
#define FD_CWD (-100)      /* AT_FDCWD: the task's working directory */
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16

/* Must match record.FdKind. */
enum fd_kind {
	FDK_PATH = 1,	/* a path of the task's file system tree: the data is the path */
	FDK_NAMED = 2,	/* a file of a pseudo file system (d_dname): the data is its dentry name */
	FDK_SOCKET = 3, /* a socket with its details (-yy): struct fd_sock, then a unix socket's bound path */
};

enum fd_flags {
	FDF_DELETED = 1,   /* unlinked (d_path's " (deleted)") */
	FDF_TRUNCATED = 2, /* the path is longer than FD_PATH_MAX or deeper than FD_DEPTH_MAX: its tail is kept */
};

/* Which role each argument plays (syscalls' argument types), per system call: call_fds. */
enum fd_role {
	FDR_NONE = 0,
	FDR_FD = 1,	/* an fd: resolved at entry */
	FDR_DIRFD = 2,	/* a dirfd: resolved at entry, AT_FDCWD as the working directory (with -y) */
	FDR_PATH = 3,	/* a path read at exit (-P) */
	FDR_EPATH = 4,	/* a path read at entry (-P; execve's, gone at exit) */
	FDR_FDPAIR = 5, /* int[2] of fds the call fills (pipe, socketpair): resolved at exit */
};

struct call_fds {
	__u8 role[MAX_ARGS];
	__u8 ret_fd; /* the return value is an fd: resolved at exit */
	__u8 entry;  /* some argument has an FDR_FD, FDR_DIRFD or FDR_EPATH role */
	__u8 pair;   /* 1 + the index of the FDR_FDPAIR argument; 0: none */
	__u8 pad;
};

/* Capture numbers (cap_hdr.arg) of fd descriptions in a record; record.FdSlot reads them. */
#define FD_SLOT 8			  /* FD_SLOT + i: argument i */
#define FD_SLOT_RET (FD_SLOT + MAX_ARGS)  /* the return value */
#define FD_SLOT_PAIR (FD_SLOT_RET + 1)	  /* + 0, + 1: the pair an FDR_FDPAIR argument points to */

/* A record's capture header (probe.c's struct cap_hdr): an fd description is a capture of slot arg. */
struct fd_cap {
	__u8 arg;
	__u8 flags;
	__u16 len;
};

/* What fd_resolve hands out: this header, then the data its kind says. record.Fd reads it. */
struct fd_info {
	__u8 kind;
	__u8 flags;
	__u16 pad;
	__u32 magic; /* the file system's s_magic */
	__u64 ino;
	__u32 mode; /* i_mode */
	__u32 rdev; /* i_rdev: major << 20 | minor */
};

struct fd_sock {
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u16 addr_len; /* AF_UNIX: bytes of sun_path that follow */
	__u32 peer;   /* AF_UNIX: the peer's inode number */
	__u32 portid; /* AF_NETLINK */
	__u8 src[16];
	__u8 dst[16];
	char proto[16]; /* sk_prot->name: TCP, UDPv6, UNIX-STREAM, NETLINK... */
};

struct fd_info _fd_info __attribute__((unused));
struct fd_sock _fd_sock __attribute__((unused));
struct call_fds _call_fds __attribute__((unused));

#define FD_OUT_DATA (FD_PATH_MAX + FD_NAME_MAX + 1)
#define FD_OUT_MAX (sizeof(struct fd_info) + FD_PATH_MAX) /* the most fd_resolve hands out */

struct dhead {
	__u64 pprev; /* d_hash.pprev: NULL when unhashed */
	__u64 parent;
	__u64 hash_len;
	__u64 name;
	__u64 inode;
};

/* A struct path, mnt then dentry (in that order in every kernel); addresses as numbers (bpf2go's types). */
struct fd_path {
	__u64 mnt;
	__u64 dentry;
};

/* fd_resolve's and fd_walk's working variables: in the per-CPU buffer rather than on the stack, which the
 * programs that call them share with them (512 bytes in all). */
struct fd_vars {
	struct fd_path p, root;
	struct dhead h;	 /* fd_resolve's */
	struct dhead wh; /* fd_walk's */
	struct {
		__u64 max; /* max_fds, and what pads it */
		__u64 fd;  /* struct file ** */
	} t;
};

struct fd_scratch {
	__u64 owner; /* pid_tgid of the task using it (see fd_resolve) */
	struct fd_vars v;
	__u8 build[FD_PATH_MAX + FD_NAME_MAX + 1]; /* paths are built backwards, ending at FD_PATH_MAX */
	struct fd_info info;			   /* what fd_resolve hands out: info, then out */
	__u8 out[FD_OUT_DATA];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fd_scratch);
} fd_scratches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, struct call_fds);
} call_fds SEC(".maps");

/* Set by user space before loading: 0, 1 (-y) or 2 (-yy). */
volatile const __u32 fd_level = 0;

enum fd_want {
	FDW_SOCK = 1, /* a socket's details (-yy) */
};

/* v = min(v, max) in v's own register, where the verifier sees the bound (clang may otherwise compare a copy
 * and pass the unbounded original on). v is a __u64. */
#define clamp_var(v, max) asm volatile("if %0 <= %1 goto +1\n\t%0 = %1" : "+r"(v) : "i"(max))

static __always_inline struct mount *real_mount(struct vfsmount *vm)
{
	return (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt));
}

/*
 * Reads are the cost of a resolution: fields that are next to each other in every kernel (a path's mnt and
 * dentry, a dentry's hash link, parent, name and inode) are read in one probe read, at offsets CO-RE gives; where
 * a kernel's layout differs, one read per field.
 */

/* Returns non-zero when d could not be read. */
static __always_inline long read_dhead(struct dentry *d, struct dhead *h)
{
	__u32 base = bpf_core_field_offset(d->d_hash.pprev);
	if (bpf_core_field_offset(d->d_parent) == base + 8 && bpf_core_field_offset(d->d_name.hash_len) == base + 16 &&
	    bpf_core_field_offset(d->d_name.name) == base + 24 && bpf_core_field_offset(d->d_inode) == base + 32)
		return bpf_probe_read_kernel(h, sizeof(*h), (void *)d + base);
	h->pprev = (__u64)BPF_CORE_READ(d, d_hash.pprev);
	h->parent = (__u64)BPF_CORE_READ(d, d_parent);
	h->hash_len = BPF_CORE_READ(d, d_name.hash_len);
	h->name = (__u64)BPF_CORE_READ(d, d_name.name);
	h->inode = (__u64)BPF_CORE_READ(d, d_inode);
	return 0;
}

/* A struct path's mnt and dentry (in that order in every kernel). */
static __always_inline void read_path(void *at, struct fd_path *p)
{
	if (bpf_probe_read_kernel(p, sizeof(*p), at))
		__builtin_memset(p, 0, sizeof(*p));
}

/*
 * Walks dentry d of mount vm up to the task's root (rd, rm) into this CPU's fd_scratch build buffer, backwards
 * from FD_PATH_MAX. Returns where the path starts | its flags (FDF_TRUNCATED) << 16; -1 without a buffer. A
 * global function: the verifier checks its loop once, not once per state of the caller.
 */
__attribute__((noinline)) int fd_walk(__u64 dentry, __u64 vfsmnt, __u64 root, __u64 rootmnt)
{
	__u32 zero = 0;
	struct fd_scratch *s = bpf_map_lookup_elem(&fd_scratches, &zero);
	if (!s)
		return -1;
	struct dentry *d = (struct dentry *)dentry, *rd = (struct dentry *)root;
	struct vfsmount *vm = (struct vfsmount *)vfsmnt, *rm = (struct vfsmount *)rootmnt;
	struct mount *m = real_mount(vm);
	struct dentry *mroot = BPF_CORE_READ(vm, mnt_root);
	struct dhead *hp = &s->v.wh;
	if (read_dhead(d, hp))
		return -1;
	__u32 pos = FD_PATH_MAX, flags = 0;
	int i;
	for (i = 0; i < FD_DEPTH_MAX; i++) {
		if (d == rd && vm == rm)
			break;
		if (d == mroot || (__u64)d == hp->parent) {
			struct mount *mp = BPF_CORE_READ(m, mnt_parent);
			if (mp == m || !mp)
				break; /* the root of the namespace, or of an internal mount (a memfd's) */
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = mp;
			vm = (struct vfsmount *)((void *)mp + bpf_core_field_offset(struct mount, mnt));
			mroot = BPF_CORE_READ(vm, mnt_root);
			if (read_dhead(d, hp)) {
				flags |= FDF_TRUNCATED;
				break;
			}
			continue;
		}
		__u64 len = (__u32)(hp->hash_len >> 32);
		clamp_var(len, FD_NAME_MAX);
		if (len + 1 > pos) {
			flags |= FDF_TRUNCATED;
			break;
		}
		pos -= len + 1;
		barrier_var(pos);
		pos &= FD_PATH_MAX - 1; /* no change (pos < FD_PATH_MAX), a bound the verifier sees */
		s->build[pos] = '/';
		clamp_var(len, FD_NAME_MAX);
		bpf_probe_read_kernel(s->build + pos + 1, len, (const void *)hp->name);
		d = (struct dentry *)hp->parent;
		if (read_dhead(d, hp)) {
			flags |= FDF_TRUNCATED;
			break;
		}
	}
	if (i == FD_DEPTH_MAX)
		flags |= FDF_TRUNCATED;
	if (pos == FD_PATH_MAX) {
		pos = FD_PATH_MAX - 1;
		s->build[pos] = '/'; /* the root itself */
	}
	return pos | flags << 16;
}

/*
 * The paths of files resolved lately, per CPU, by dentry: a program that opens, reads and closes one file makes
 * the kernel resolve it once. An entry holds while its dentry keeps its parent and name (a rename of the file
 * changes them) and for FD_CACHE_JIFFIES at most (a renamed directory above it shows within that time).
 */
#define FD_CACHE_SLOTS 64
#define FD_CACHE_PATH 192
#define FD_CACHE_JIFFIES 25 /* 25 to 100 ms, by CONFIG_HZ */

struct fd_cache_entry {
	__u64 seq; /* odd while being written */
	__u64 dentry; /* the key: the dentry, its mount, the task's root */
	__u64 mnt;
	__u64 root;
	__u64 rootmnt;
	__u64 parent; /* what the dentry's parent and name were */
	__u64 hash_len;
	__u64 born; /* jiffies */
	struct fd_info info;
	__u32 len;
	__u8 path[FD_CACHE_PATH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FD_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct fd_cache_entry);
} fd_cache SEC(".maps");

static __always_inline __u32 fd_cache_slot(struct dentry *d)
{
	__u64 v = (__u64)d;
	return (v >> 6 ^ v >> 14) & (FD_CACHE_SLOTS - 1);
}

/* A socket's details into s->out. Returns the bytes written. */
static __always_inline __u32 fd_socket(struct fd_scratch *s, struct file *file)
{
	struct fd_sock *o = (struct fd_sock *)s->out;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__builtin_memset(o, 0, sizeof(*o));
	if (!sk)
		return sizeof(*o);
	o->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	o->type = BPF_CORE_READ(sk, sk_type);
	o->protocol = BPF_CORE_READ(sk, sk_protocol);
	struct proto *prot = BPF_CORE_READ(sk, __sk_common.skc_prot);
	bpf_probe_read_kernel_str(o->proto, sizeof(o->proto), &prot->name);
	__u32 n = sizeof(*o);
	switch (o->family) {
	case AF_INET:
		o->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		o->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_probe_read_kernel(o->src, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_probe_read_kernel(o->dst, 4, &sk->__sk_common.skc_daddr);
		break;
	case AF_INET6:
		o->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		o->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_probe_read_kernel(o->src, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(o->dst, 16, &sk->__sk_common.skc_v6_daddr);
		break;
	case AF_UNIX: {
		struct unix_sock *u = (struct unix_sock *)sk;
		struct sock *peer = BPF_CORE_READ(u, peer);
		if (peer) {
			struct socket *ps = BPF_CORE_READ(peer, sk_socket);
			if (ps) {
				struct socket_alloc *sa = (struct socket_alloc *)ps;
				o->peer = BPF_CORE_READ(sa, vfs_inode.i_ino);
			}
		}
		struct unix_address *addr = BPF_CORE_READ(u, addr);
		if (addr) {
			int alen = BPF_CORE_READ(addr, len);
			alen -= sizeof(unsigned short); /* sun_family */
			if (alen > 0) {
				__u64 len = alen;
				clamp_var(len, 108);
				void *path = (void *)addr + bpf_core_field_offset(struct unix_address, name) +
					     bpf_core_field_offset(struct sockaddr_un, sun_path);
				bpf_probe_read_kernel(s->out + sizeof(*o), len, path);
				o->addr_len = len;
				n += len;
			}
		}
		break;
	}
	case AF_NETLINK:
		o->portid = BPF_CORE_READ((struct netlink_sock *)sk, portid);
		break;
	}
	return n;
}

/*
 * Describes fd (FD_CWD: the working directory) of the current task into this CPU's fd_scratch: s->info, then
 * the data its kind says in s->out. Returns the bytes of data (at least 0), or -1 when fd is not open. want:
 * enum fd_want. btf: the task is read with plain loads of BTF pointers (TASK_BTF variants), else with probe
 * reads. The caller sets s->owner first and checks it once it copied what it needs: a task preempted meanwhile
 * may find the buffer rewritten by another.
 */
static __always_inline int fd_resolve_body(int fd, __u32 want, bool btf)
{
	__u32 zero = 0;
	struct fd_scratch *s = bpf_map_lookup_elem(&fd_scratches, &zero);
	if (!s)
		return -1;
	struct task_struct___fd *task = btf ? (struct task_struct___fd *)bpf_get_current_task_btf()
					    : (struct task_struct___fd *)bpf_get_current_task();
	struct fs_struct *fs = btf ? task->fs : BPF_CORE_READ(task, fs);
	struct file *file = 0;
	struct fd_vars *v = &s->v;
	/* The paths' pointers go through the per-CPU buffer, which makes numbers of BTF pointers: they are hashed
	 * and handed to fd_walk, which BTF pointers may not be (the agent's CAP_PERFMON lets it store them). */
	if (btf) {
		v->root.mnt = (__u64)fs->root.mnt;
		v->root.dentry = (__u64)fs->root.dentry;
	} else {
		read_path((void *)fs + bpf_core_field_offset(fs->root), &v->root);
	}
	if (fd == FD_CWD) {
		if (btf) {
			v->p.mnt = (__u64)fs->pwd.mnt;
			v->p.dentry = (__u64)fs->pwd.dentry;
		} else {
			read_path((void *)fs + bpf_core_field_offset(fs->pwd), &v->p);
		}
	} else {
		if (fd < 0)
			return -1;
		if (btf) {
			struct fdtable *fdt = task->files->fdt;
			v->t.max = fdt->max_fds;
			v->t.fd = (__u64)fdt->fd;
		} else {
			struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
			if (bpf_core_field_offset(fdt->fd) == bpf_core_field_offset(fdt->max_fds) + 8) {
				if (bpf_probe_read_kernel(&v->t, sizeof(v->t), (void *)fdt + bpf_core_field_offset(fdt->max_fds)))
					return -1;
				v->t.max = (__u32)v->t.max;
			} else {
				v->t.max = BPF_CORE_READ(fdt, max_fds);
				v->t.fd = (__u64)BPF_CORE_READ(fdt, fd);
			}
		}
		if ((__u64)fd >= v->t.max)
			return -1;
		if (bpf_probe_read_kernel(&file, sizeof(file), (struct file **)v->t.fd + fd) || !file)
			return -1;
		read_path((void *)file + bpf_core_field_offset(file->f_path), &v->p);
	}
	asm volatile("" ::: "memory"); /* read them back from the buffer, as numbers */
	struct fd_path *pp = &v->p, *root = &v->root;
	struct dentry *d = (struct dentry *)pp->dentry;
	if (!d)
		return -1;
	struct dhead *hp = &v->h;
	if (read_dhead(d, hp))
		return -1;
	struct fd_info *info = &s->info;
	info->flags = 0;
	info->pad = 0;
	/* d_unlinked: unhashed and not a root */
	bool deleted = !hp->pprev && hp->parent != (__u64)d;

	__u32 slot = fd_cache_slot(d);
	struct fd_cache_entry *c = bpf_map_lookup_elem(&fd_cache, &slot);
	__u64 now = bpf_jiffies64();
	if (c && c->dentry == (__u64)d && c->mnt == pp->mnt && c->root == root->dentry &&
	    c->rootmnt == root->mnt && c->parent == hp->parent && c->hash_len == hp->hash_len &&
	    now - c->born < FD_CACHE_JIFFIES && !(c->seq & 1)) {
		__u64 seq = c->seq;
		__u64 len = c->len;
		clamp_var(len, FD_CACHE_PATH);
		*info = c->info;
		bpf_probe_read_kernel(s->out, len, c->path);
		if (c->seq == seq) {
			if (deleted)
				info->flags |= FDF_DELETED;
			return len;
		}
	}

	struct inode *ino = (struct inode *)hp->inode;
	info->kind = FDK_PATH;
	info->magic = BPF_CORE_READ(ino, i_sb, s_magic);
	info->ino = BPF_CORE_READ(ino, i_ino);
	info->mode = BPF_CORE_READ(ino, i_mode);
	info->rdev = BPF_CORE_READ(ino, i_rdev);
	if (file && (want & FDW_SOCK) && (info->mode & S_IFMT) == S_IFSOCK) {
		info->kind = FDK_SOCKET;
		return fd_socket(s, file);
	}
	const struct dentry_operations *op = BPF_CORE_READ(d, d_op);
	if (op && BPF_CORE_READ(op, d_dname)) {
		info->kind = FDK_NAMED;
		__u64 len = (__u32)(hp->hash_len >> 32);
		clamp_var(len, FD_NAME_MAX);
		bpf_probe_read_kernel(s->out, len, (const void *)hp->name);
		return len;
	}
	int w = fd_walk((__u64)d, pp->mnt, root->dentry, root->mnt);
	if (w < 0)
		return -1;
	__u32 pos = w & 0xffff, flags = w >> 16;
	if (pos > FD_PATH_MAX)
		pos = FD_PATH_MAX;
	info->flags = flags;
	__u64 len = FD_PATH_MAX - pos;
	clamp_var(len, FD_PATH_MAX);
	barrier_var(pos);
	pos &= FD_PATH_MAX - 1;
	bpf_probe_read_kernel(s->out, len, s->build + pos);
	if (c && !flags && len <= FD_CACHE_PATH) {
		/* sockets and pseudo files are not cached: their state changes, and they cost no walk */
		c->seq |= 1;
		c->dentry = (__u64)d;
		c->mnt = pp->mnt;
		c->root = root->dentry;
		c->rootmnt = root->mnt;
		c->parent = hp->parent;
		c->hash_len = hp->hash_len;
		c->born = now;
		c->info = *info;
		c->len = len;
		clamp_var(len, FD_CACHE_PATH);
		bpf_probe_read_kernel(c->path, len, s->out);
		c->seq++;
	}
	if (deleted)
		info->flags |= FDF_DELETED;
	return len;
}

/* fd_resolve_body as global functions (the verifier checks each once, on its own): with plain loads of BTF
 * pointers, for the TASK_BTF variants (bpf_get_current_task_btf; a kernel without it never loads this one), and
 * with probe reads for the others. fd_resolve picks one for the variant f. */
__attribute__((noinline)) int fd_resolve_btf(int fd, __u32 want)
{
	return fd_resolve_body(fd, want, true);
}

__attribute__((noinline)) int fd_resolve_raw(int fd, __u32 want)
{
	return fd_resolve_body(fd, want, false);
}

static __always_inline int fd_resolve(int fd, __u32 want, int f)
{
	return TASK_BTF(f) ? fd_resolve_btf(fd, want) : fd_resolve_raw(fd, want);
}

#endif
