// SPDX-License-Identifier: GPL-2.0-only
/*
 * same-cgroup-mark-iter: record the TCP listeners that were bound before
 * the programs of same-cgroup-mark.bpf.c were attached.
 *
 * An iter/tcp program, run once by same-cgroup-mark-load ("bpftool iter
 * pin", then a read of the pinned file in each network namespace).  For
 * every listening socket that has no record in scm_owner yet, it writes the
 * cgroup the socket belongs to (sk->sk_cgrp_data, the cgroup of the task
 * that created the socket) and that cgroup's ancestors.  For listeners
 * bound by the task that created them, which is the usual case, this is
 * what the bind programs would have recorded.  For every listener, with a
 * record or not, it sets the slots of scm_binders that the bind programs
 * set, and of scm_ports that the sock_ops program sets when a socket starts
 * listening, so that connects from its group are looked at.
 *
 * The kernel structures are read through BTF and CO-RE: the minimal local
 * definitions below are matched against the running kernel's BTF at load
 * time, so no generated vmlinux.h is needed.  The map is shared with the
 * loaded main object by libbpf's pin-by-name: the loader pins them as
 * /sys/fs/bpf/scm_owner, /sys/fs/bpf/scm_binders and /sys/fs/bpf/scm_ports
 * for the duration of the run.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* The maps are the loaded main object's, found through their pins. */
#define SCM_MAP_PINNING	__uint(pinning, LIBBPF_PIN_BY_NAME);
#include "same-cgroup-mark.h"

#define TCP_LISTEN	10	/* include/net/tcp_states.h */

struct kernfs_node {
	__u64 id;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
	int level;
	struct cgroup *ancestors[];	/* since 6.1 */
} __attribute__((preserve_access_index));

struct cgroup___old {
	int level;
	__u64 ancestor_ids[];		/* before 6.1 */
} __attribute__((preserve_access_index));

struct sock_cgroup_data {
	struct cgroup *cgroup;
} __attribute__((preserve_access_index));

struct sock_common {
	unsigned char skc_state;
	__u16 skc_num;			/* local port, host byte order */
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	struct sock_cgroup_data sk_cgrp_data;
} __attribute__((preserve_access_index));

struct tcp_sock;

struct bpf_iter_meta;

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

static __always_inline void set_binder(struct scm_binder_slots *slots,
				       __u64 cgroup_id)
{
	if (cgroup_id)
		slots->slot[cgroup_id & (SCM_BINDER_SLOTS - 1)] = 1;
}

static __always_inline __u64 ancestor_id(struct cgroup *cgrp, int level)
{
	struct cgroup___old *old = (void *)cgrp;
	struct cgroup *anc;

	if (bpf_core_field_exists(cgrp->ancestors)) {
		anc = BPF_CORE_READ(cgrp, ancestors[level]);
		return anc ? BPF_CORE_READ(anc, kn, id) : 0;
	}
	return BPF_CORE_READ(old, ancestor_ids[level]);
}

SEC("iter/tcp")
int scm_record_listeners(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct scm_binder_slots *slots;
	struct scm_port_slots *ports;
	struct scm_owner *owner;
	struct cgroup *cgrp;
	struct sock *sk;
	__u32 zero = 0, port;
	int i, depth;

	if (!skc || BPF_CORE_READ(skc, skc_state) != TCP_LISTEN)
		return 0;
	sk = (struct sock *)bpf_skc_to_tcp_sock(skc);
	if (!sk)
		return 0;
	/* Recorded at bind time already: that record is the better one. */
	owner = bpf_sk_storage_get(&scm_owner, sk, 0, 0);
	if (!owner) {
		cgrp = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
		if (!cgrp)
			return 0;
		owner = bpf_sk_storage_get(&scm_owner, sk, 0,
					   BPF_SK_STORAGE_GET_F_CREATE);
		if (!owner)
			return 0;
		owner->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
		depth = BPF_CORE_READ(cgrp, level);
		for (i = 0; i < SCM_MAX_LEVEL; i++)
			owner->ancestor[i] = i + 1 <= depth ?
					     ancestor_id(cgrp, i + 1) : 0;
	}
	slots = bpf_map_lookup_elem(&scm_binders, &zero);
	ports = bpf_map_lookup_elem(&scm_ports, &zero);
	if (!slots || !ports)
		return 0;
	port = BPF_CORE_READ(skc, skc_num);
	scm_record_port(ports, owner, port);
	set_binder(slots, owner->cgroup_id);
	for (i = 0; i < SCM_MAX_LEVEL; i++)
		set_binder(slots, owner->ancestor[i]);
	return 0;
}

char _license[] SEC("license") = "GPL";
