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
 * It also sets the scm_devbound slot of every listener bound to a device.
 *
 * The kernel structures are read through BTF and CO-RE (scm-kernel.h).  The
 * maps are shared with the loaded main object by libbpf's pin-by-name: the
 * loader pins them as /sys/fs/bpf/scm_owner, /sys/fs/bpf/scm_binders,
 * /sys/fs/bpf/scm_ports and /sys/fs/bpf/scm_devbound for the duration of
 * the run.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The maps are the loaded main object's, found through their pins. */
#define SCM_MAP_PINNING	__uint(pinning, LIBBPF_PIN_BY_NAME);
#include "same-cgroup-mark.h"

#include "scm-kernel.h"

#define TCP_LISTEN	10	/* include/net/tcp_states.h */

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

SEC("iter/tcp")
int scm_record_listeners(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct scm_devbound_slots *devbound;
	struct scm_binder_slots *slots;
	struct scm_port_slots *ports;
	struct scm_owner *owner;
	struct sock *sk;
	__u32 zero = 0, port;
	int i;

	if (!skc || BPF_CORE_READ(skc, skc_state) != TCP_LISTEN)
		return 0;
	sk = (struct sock *)bpf_skc_to_tcp_sock(skc);
	if (!sk)
		return 0;
	/* Recorded at bind time already: that record is the better one. */
	owner = bpf_sk_storage_get(&scm_owner, sk, 0, 0);
	if (!owner) {
		owner = bpf_sk_storage_get(&scm_owner, sk, 0,
					   BPF_SK_STORAGE_GET_F_CREATE);
		if (!owner)
			return 0;
		if (scm_owner_from_sock(owner, sk)) {
			bpf_sk_storage_delete(&scm_owner, sk);
			return 0;
		}
	}
	slots = bpf_map_lookup_elem(&scm_binders, &zero);
	ports = bpf_map_lookup_elem(&scm_ports, &zero);
	devbound = bpf_map_lookup_elem(&scm_devbound, &zero);
	if (!slots || !ports || !devbound)
		return 0;
	port = BPF_CORE_READ(skc, skc_num);
	scm_record_port(ports, owner, port);
	if (BPF_CORE_READ(skc, skc_bound_dev_if))
		scm_set_slot(&devbound->slot[scm_port_slot(BPF_CORE_READ(sk, sk_uid.val), port)]);
	set_binder(slots, owner->cgroup_id);
	for (i = 0; i < SCM_MAX_LEVEL; i++)
		set_binder(slots, owner->ancestor[i]);
	return 0;
}

char _license[] SEC("license") = "GPL";
