// SPDX-License-Identifier: GPL-2.0-only
/*
 * same-cgroup-mark-sockops: mark the connects to local addresses other than
 * loopback, once the route shows they stay on this host.
 *
 * A cgroup/connect program cannot tell a local address from a remote one
 * (no routing lookup there), so for a destination other than loopback the
 * connect programs of same-cgroup-mark.bpf.c only leave a note, the mask to
 * set and the destination it is for, in the client socket's scm_notes
 * storage when the listener is of the client's group.  This sock_ops program runs in connect() at
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
 * At BPF_SOCK_OPS_TCP_LISTEN_CB it records the new listener: its owner,
 * from the socket's cgroup, when no bind recorded one (listen() without
 * bind(): the kernel picks the port); the scm_ports slots of its groups and
 * port, so that connects to other hosts from groups that listen on no such
 * port are not looked up at all; the scm_devbound slot of its uid and port
 * when it is bound to a device.  It also clears the bits of the mask that
 * an earlier connect of the socket set: the sockets it accepts inherit its
 * mark, and may connect elsewhere.
 *
 * sock_ops programs run for every TCP socket and many events, some in
 * softirq context, and the kernel reads skops->reply after some of them:
 * this program acts on those two events only, never writes reply and
 * returns 1, so TCP behaves as without it.
 */
#include <linux/bpf.h>
#include <asm/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define SCM_MARKING
#include "same-cgroup-mark.h"
#include "scm-kernel.h"

#define IFF_LOOPBACK	0x8	/* linux/if.h: the loopback device */
#define AF_INET		2

/* The connect programs' mask, written by scm-set-rodata as into theirs. */
const volatile __u32 scm_mask = 0x40000000;

/* Does the route stored on @sk go through the loopback device? */
static __always_inline int routed_locally(struct sock *sk)
{
	struct dst_entry *dst = sk->sk_dst_cache;
	struct net_device *dev;

	if (!dst)
		return 0;
	dev = dst->dev;
	return dev && (dev->flags & IFF_LOOPBACK);
}

/* Is @note for the destination that @skops connects to? */
static __always_inline int note_is_for(const struct scm_note *note,
				       struct bpf_sock_ops *skops)
{
	if (bpf_ntohl(skops->remote_port) != bpf_ntohs(note->dport))
		return 0;
	if (note->family == AF_INET)
		return skops->remote_ip4 == note->daddr[0];
	return skops->remote_ip6[0] == note->daddr[0] &&
	       skops->remote_ip6[1] == note->daddr[1] &&
	       skops->remote_ip6[2] == note->daddr[2] &&
	       skops->remote_ip6[3] == note->daddr[3];
}

static __always_inline void mark_if_local(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;
	struct scm_note *note, copy;
	struct tcp_sock *tp;
	struct sock *sk;
	__u32 mark;

	if (!bsk)
		return;
	note = bpf_sk_storage_get(&scm_notes, bsk, 0, 0);
	if (!note)
		return;
	copy = *note;
	bpf_sk_storage_delete(&scm_notes, bsk);
	/*
	 * A note of an earlier connect of this socket to somewhere else
	 * (the connect programs replace or delete the note of every connect
	 * they look at, but not of those they need not look at).
	 */
	if (!note_is_for(&copy, skops))
		return;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return;
	sk = scm_tcp_sk(tp);
	if (!routed_locally(sk)) {
		if (copy.mask)
			count(SCM_NOT_LOCAL);
		return;
	}
	if (copy.pair.client)
		count_pair(&copy.pair);
	if (!copy.mask) {
		count(copy.verdict);
		return;
	}
	count(SCM_MARKED);
	mark = sk->sk_mark;
	if ((mark & copy.mask) == copy.mask)
		return;
	/* The evidence that these bits are ours (forget_earlier_mark()). */
	bpf_get_socket_cookie(skops);
	mark |= copy.mask;
	bpf_setsockopt(skops, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
}

static __always_inline void record_listener(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;
	struct scm_devbound_slots *devbound;
	struct scm_port_slots *slots;
	struct scm_owner *owner;
	struct tcp_sock *tp;
	struct sock *sk;
	__u32 zero = 0, mark, port = skops->local_port;

	if (!bsk)
		return;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp)
		return;
	sk = scm_tcp_sk(tp);
	/*
	 * Bits of the mask on a socket that has a cookie are ours, set by
	 * an earlier connect (forget_earlier_mark() in same-cgroup-mark.bpf.c).
	 */
	mark = sk->sk_mark;
	if ((mark & scm_mask) && sk->__sk_common.skc_cookie.counter) {
		mark &= ~scm_mask;
		bpf_setsockopt(skops, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	}
	owner = bpf_sk_storage_get(&scm_owner, bsk, 0, 0);
	if (!owner) {
		/* listen() without bind(): the socket's cgroup is the owner. */
		owner = bpf_sk_storage_get(&scm_owner, bsk, 0,
					   BPF_SK_STORAGE_GET_F_CREATE);
		if (!owner || scm_owner_from_sock(owner, sk)) {
			if (owner)
				bpf_sk_storage_delete(&scm_owner, bsk);
			return;
		}
		count(SCM_BOUND);
	}
	if (bsk->bound_dev_if) {
		devbound = bpf_map_lookup_elem(&scm_devbound, &zero);
		if (devbound)
			scm_set_slot(&devbound->slot[scm_port_slot(sk->sk_uid.val, port)]);
	}
	slots = bpf_map_lookup_elem(&scm_ports, &zero);
	if (slots)
		scm_record_port(slots, owner, port);
}

SEC("sockops")
int scm_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		mark_if_local(skops);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		record_listener(skops);
		break;
	}
	return 1;
}

char _license[] SEC("license") = "GPL";
