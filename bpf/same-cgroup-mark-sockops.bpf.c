// SPDX-License-Identifier: GPL-2.0-only
/*
 * same-cgroup-mark-sockops: mark the connects to local addresses other than
 * loopback, once the route shows they stay on this host.
 *
 * A cgroup/connect program cannot tell a local address from a remote one
 * (no routing lookup there), so for a destination other than loopback the
 * connect programs of same-cgroup-mark.bpf.c only leave a note, the mask to
 * set, in the client socket's scm_pending storage when the listener is of
 * the client's group.  This sock_ops program runs in connect() at
 * BPF_SOCK_OPS_TCP_CONNECT_CB, after the route has been stored on the
 * socket and before the SYN is built (tcp_connect()).  The kernel delivers
 * locally exactly what it routes through the loopback device: a route to
 * one of its own addresses points there, a route to another host points at
 * the device the packet leaves by.  Only then is the mask ORed into
 * SO_MARK; setting it drops the cached route, which tcp_connect() looks up
 * again before the SYN, with the new mark.
 *
 * Notes for a listener of another group (mask 0) carry only the pair to
 * count, when pair counting is on.
 *
 * At BPF_SOCK_OPS_TCP_LISTEN_CB it sets the scm_ports slots of the new
 * listener's recorded groups and port, so that connects to other hosts
 * from groups that listen on no such port are not looked up at all.
 *
 * sock_ops programs run for every TCP socket and many events, some in
 * softirq context, and the kernel reads skops->reply after some of them:
 * this program acts on those two events only, never writes reply and
 * returns 1, so TCP behaves as without it.
 */
#include <linux/bpf.h>
#include <asm/socket.h>
#include <bpf/bpf_helpers.h>
#define SCM_MARKING
#include "same-cgroup-mark.h"

#define IFF_LOOPBACK	0x8	/* linux/if.h: the loopback device */

/* What the kernel structures are read for, matched by CO-RE at load time. */
struct net_device {
	unsigned int flags;
} __attribute__((preserve_access_index));

struct dst_entry {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct sock {
	struct dst_entry *sk_dst_cache;
	__u32 sk_mark;
} __attribute__((preserve_access_index));

struct inet_sock {
	struct sock sk;
} __attribute__((preserve_access_index));

struct inet_connection_sock {
	struct inet_sock icsk_inet;
} __attribute__((preserve_access_index));

struct tcp_sock {
	struct inet_connection_sock inet_conn;
} __attribute__((preserve_access_index));

/* Does the route stored on @tp go through the loopback device? */
static __always_inline int routed_locally(struct tcp_sock *tp)
{
	struct dst_entry *dst = tp->inet_conn.icsk_inet.sk.sk_dst_cache;
	struct net_device *dev;

	if (!dst)
		return 0;
	dev = dst->dev;
	return dev && (dev->flags & IFF_LOOPBACK);
}

static __always_inline void mark_if_local(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct scm_note *note, copy;
	struct tcp_sock *tp;
	int mark;

	if (!sk)
		return;
	note = bpf_sk_storage_get(&scm_pending, sk, 0, 0);
	if (!note)
		return;
	copy = *note;
	bpf_sk_storage_delete(&scm_pending, sk);
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || !routed_locally(tp)) {
		if (copy.mask)
			count(SCM_NOT_LOCAL);
		return;
	}
	if (copy.pair.client)
		count_pair(&copy.pair);
	if (!copy.mask) {
		count(SCM_OTHER_GROUP);
		return;
	}
	count(SCM_MARKED);
	mark = tp->inet_conn.icsk_inet.sk.sk_mark;
	if ((mark & copy.mask) == copy.mask)
		return;
	mark |= copy.mask;
	bpf_setsockopt(skops, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
}

static __always_inline void record_listening_port(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct scm_port_slots *slots;
	struct scm_owner *owner;
	__u32 zero = 0;

	if (!sk)
		return;
	owner = bpf_sk_storage_get(&scm_owner, sk, 0, 0);
	slots = bpf_map_lookup_elem(&scm_ports, &zero);
	if (!owner || !slots)
		return;
	scm_record_port(slots, owner, skops->local_port);
}

SEC("sockops")
int scm_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		mark_if_local(skops);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		record_listening_port(skops);
		break;
	}
	return 1;
}

char _license[] SEC("license") = "GPL";
