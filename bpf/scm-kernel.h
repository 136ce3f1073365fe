/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The parts of the kernel's socket and cgroup structures that the programs
 * read, as local definitions for CO-RE: libbpf matches each field by name
 * against the running kernel's BTF (/sys/kernel/btf/vmlinux) at load time,
 * so no generated vmlinux.h is needed, and an object that includes this
 * file needs kernel BTF to load.  The same-cgroup-mark object is built a
 * second time with SCM_NO_KERNEL_BTF, without any of it, for kernels that
 * have none.
 */
#ifndef SCM_KERNEL_H
#define SCM_KERNEL_H

#include <bpf/bpf_core_read.h>

#define SCM_CORE __attribute__((preserve_access_index))

typedef struct {
	__s64 counter;
} SCM_CORE atomic64_t;

typedef struct {
	__u32 val;
} SCM_CORE kuid_t;

struct kernfs_node {
	__u64 id;
} SCM_CORE;

struct cgroup {
	struct kernfs_node *kn;
	int level;
	struct cgroup *ancestors[];	/* since 6.1 */
} SCM_CORE;

struct cgroup___old {
	int level;
	__u64 ancestor_ids[];		/* before 6.1 */
} SCM_CORE;

struct sock_cgroup_data {
	struct cgroup *cgroup;
} SCM_CORE;

struct net_device {
	unsigned int flags;
} SCM_CORE;

struct dst_entry {
	struct net_device *dev;
} SCM_CORE;

struct sock_common {
	unsigned char skc_state;
	__u16 skc_num;			/* local port, host byte order */
	int skc_bound_dev_if;
	atomic64_t skc_cookie;		/* 0 until a cookie is asked for */
} SCM_CORE;

struct sock;

/* A reuseport group: its listening members are socks[0, num_socks). */
struct sock_reuseport {
	__u16 num_socks;
	struct sock *socks[];
} SCM_CORE;

struct sock {
	struct sock_common __sk_common;
	struct sock_cgroup_data sk_cgrp_data;
	struct dst_entry *sk_dst_cache;
	__u32 sk_mark;
	kuid_t sk_uid;
	struct sock_reuseport *sk_reuseport_cb;
} SCM_CORE;

struct inet_sock {
	struct sock sk;
} SCM_CORE;

struct inet_connection_sock {
	struct inet_sock icsk_inet;
} SCM_CORE;

struct tcp_sock {
	struct inet_connection_sock inet_conn;
} SCM_CORE;

static __always_inline struct sock *scm_tcp_sk(struct tcp_sock *tp)
{
	return &tp->inet_conn.icsk_inet.sk;
}

/* The id of @cgrp's ancestor at depth @level (its own at its level). */
static __always_inline __u64 scm_ancestor_id(struct cgroup *cgrp, int level)
{
	struct cgroup___old *old = (void *)cgrp;
	struct cgroup *anc;

	if (bpf_core_field_exists(cgrp->ancestors)) {
		anc = BPF_CORE_READ(cgrp, ancestors[level]);
		return anc ? BPF_CORE_READ(anc, kn, id) : 0;
	}
	return BPF_CORE_READ(old, ancestor_ids[level]);
}

/*
 * Fill @owner from the cgroup @sk belongs to (sk->sk_cgrp_data: the cgroup
 * of the task that created the socket), the value and ancestors that
 * bpf_get_current_cgroup_id() and bpf_get_current_ancestor_cgroup_id() give
 * that task.  Fails when the socket has no cgroup.
 */
static __always_inline int scm_owner_from_sock(struct scm_owner *owner,
					       struct sock *sk)
{
	struct cgroup *cgrp = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	int i, depth;

	if (!cgrp)
		return -1;
	owner->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	depth = BPF_CORE_READ(cgrp, level);
	for (i = 0; i < SCM_MAX_LEVEL; i++)
		owner->ancestor[i] = i + 1 <= depth ?
				     scm_ancestor_id(cgrp, i + 1) : 0;
	return 0;
}

#endif /* SCM_KERNEL_H */
