/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel types fdpath.h reads to find what a file descriptor is (the task's file table, the file's path,
 * its socket), declared by hand like vmlinux_min.h and with the same CO-RE rules: every struct is marked
 * preserve_access_index, so only the names and types of the fields read matter, not their order. A flavour
 * (the part of a name after "___") is ignored by CO-RE: task_struct___fd adds the fields read here to the
 * task_struct of vmlinux_min.h without redeclaring it.
 */
#ifndef SWOLL_VMLINUX_FD_H
#define SWOLL_VMLINUX_FD_H

#include "vmlinux_min.h"

typedef unsigned short umode_t;
typedef __u32 dev_t;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
};

struct hlist_bl_node {
	struct hlist_bl_node *next, **pprev;
};

struct super_block {
	unsigned long s_magic;
};

struct inode {
	umode_t i_mode;
	unsigned long i_ino;
	dev_t i_rdev;
	struct super_block *i_sb;
};

struct dentry;

struct dentry_operations {
	char *(*d_dname)(struct dentry *, char *, int);
};

struct dentry {
	struct hlist_bl_node d_hash;
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
	const struct dentry_operations *d_op;
};

struct vfsmount {
	struct dentry *mnt_root;
};

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct fs_struct {
	struct path root, pwd;
};

struct task_struct___fd {
	struct files_struct *files;
	struct fs_struct *fs;
};

/* Sockets. */
struct in6_addr {
	union {
		__u8 u6_addr8[16];
	} in6_u;
};

struct proto {
	char name[32];
};

struct sock_common {
	union {
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		struct {
			__be16 skc_dport;
			__u16 skc_num;
		};
	};
	unsigned short skc_family;
	struct proto *skc_prot;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct socket;

struct sock {
	struct sock_common __sk_common;
	__u16 sk_type;
	__u16 sk_protocol;
	struct socket *sk_socket;
};

struct socket {
	short type;
	struct sock *sk;
	struct file *file;
};

struct socket_alloc {
	struct socket socket;
	struct inode vfs_inode;
};

struct sockaddr_un {
	unsigned short sun_family;
	char sun_path[108];
};

struct unix_address {
	int len;
	struct sockaddr_un name[0];
};

struct unix_sock {
	struct sock sk;
	struct unix_address *addr;
	struct sock *peer;
};

struct netlink_sock {
	struct sock sk;
	__u32 portid;
};

#pragma clang attribute pop

#endif
