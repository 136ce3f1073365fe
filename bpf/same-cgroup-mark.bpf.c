// SPDX-License-Identifier: GPL-2.0-only
/*
 * same-cgroup-mark: OR a bit into SO_MARK of a TCP client socket when the
 * local listener it connects to was bound by a task in the same cgroup.
 *
 * bind4/bind6 remember, in socket-local storage, the cgroup v2 id (and the
 * ancestors' ids) of the task that binds a TCP socket.  connect4/connect6
 * look up the listener the connection is about to reach in the client's
 * network namespace and, when the listener's recorded cgroup is the
 * connecting task's cgroup (or, with scm_level, shares its ancestor at that
 * depth), OR scm_mask into the client's SO_MARK: at once when the
 * destination is a loopback address; for any other destination only with
 * scm_route_check, by leaving a note for the sock_ops program of
 * same-cgroup-mark-sockops.bpf.c, which marks once the route is known to
 * stay on this host.  A listener lookup alone cannot tell: it finds a
 * wildcard listener for any destination address on its port.
 *
 * Most connects come from cgroups that never bound a TCP socket (clients
 * talking to other hosts, or to services elsewhere).  The bind programs
 * also mark the binding task's cgroup and its ancestors in scm_binders, so
 * that a connect from a group none of whose tasks ever bound anything skips
 * the listener lookup: it cannot reach a listener of its own group.
 *
 * Every connect decides afresh: the bits of scm_mask that an earlier connect
 * of the socket set are cleared first (forget_earlier_mark()).  A listener
 * is a match only when the connection cannot end up elsewhere: every member
 * of its reuseport group is of the client's group, and no listener bound
 * to a device shares its port (shared_port()).
 *
 * Every program returns ALLOW: this object never denies anything.
 *
 * Built twice: with kernel BTF reads (scm-kernel.h), for kernels that have
 * BTF, which the sock_ops program needs too; and with SCM_NO_KERNEL_BTF,
 * for the others, where only loopback destinations are marked and
 * reuseport groups cannot be looked into.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <asm/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define SCM_MARKING
#include "same-cgroup-mark.h"
#ifndef SCM_NO_KERNEL_BTF
#include "scm-kernel.h"
#endif

#define ALLOW		1	/* cgroup/sock_addr verdict: let the call go on */

/* The most members of a reuseport group that are looked at. */
#define SCM_REUSEPORT_MAX	32

#define SOCK_STREAM	1	/* include/linux/net.h, not exported to UAPI */
#define AF_INET		2
#define AF_INET6	10

/* ::ffff:0:0/96 in the third 32-bit word of an IPv6 address. */
#define V4MAPPED_WORD	bpf_htonl(0x0000ffff)

/*
 * Tunables, written into .rodata of a copy of this object by scm-set-rodata
 * before same-cgroup-mark-load loads it.  libbpf freezes .rodata, so the
 * verifier sees constants and drops the code a setting does not use.
 */
/* The bit(s) ORed into SO_MARK. */
const volatile __u32 scm_mask = 0x40000000;
/*
 * 0: client and listener must be in the same cgroup.  1..SCM_MAX_LEVEL:
 * they must have the same ancestor at that depth of the cgroup v2 tree (1 is
 * a child of the root, as for nftables' "socket cgroupv2 level").
 */
const volatile __u32 scm_level = 0;
/*
 * 1 when the sock_ops program is loaded and attached with this object:
 * connects to addresses other than loopback are then looked at too.  The
 * loader sets it in the object with kernel BTF, which it loads only with
 * the sock_ops program, and never in the one built with SCM_NO_KERNEL_BTF.
 */
const volatile __u32 scm_route_check = 0;
/*
 * 1: count local connects by pair (scm_pairs).  Every local connect is then
 * looked up, also from groups that never bound a TCP socket or listen on no
 * such port: the pairs worth seeing are mostly those.  0: none of that
 * code is loaded.
 */
const volatile __u32 scm_pairs_on = 1;

/* When to mark a connect whose listener is of the client's group. */
#define MARK_NOW	0	/* loopback destination: local for sure */
#define MARK_IF_LOCAL	1	/* other: the sock_ops program checks the route */

static __always_inline __u8 *binder_slot(__u64 cgroup_id)
{
	struct scm_binder_slots *slots;
	__u32 zero = 0;

	slots = bpf_map_lookup_elem(&scm_binders, &zero);
	if (!slots)
		return NULL;
	return &slots->slot[cgroup_id & (SCM_BINDER_SLOTS - 1)];
}

static __always_inline void set_binder(__u64 cgroup_id)
{
	__u8 *slot = binder_slot(cgroup_id);

	if (slot)
		scm_set_slot(slot);
}

/* May a task of group @group_id have bound a listener?  Never a false "no". */
static __always_inline int may_own_listener(__u64 group_id)
{
	__u8 *slot = binder_slot(group_id);

	return !slot || *slot;
}

static __always_inline int is_tcp(const struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP;
}

static __always_inline int ip4_is_loopback(__u32 addr)
{
	return (addr & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
}

#ifdef SCM_NO_KERNEL_BTF
/*
 * The bits this object set on a socket, kept until its next connect:
 * without kernel BTF the socket's cookie cannot be read (see
 * forget_earlier_mark()).  Copied to the sockets a listener accepts
 * (BPF_F_CLONE), which inherit its mark.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, __u32);
} scm_marked SEC(".maps");
#endif

/*
 * Leave the evidence that the bits about to be set on @ctx's socket are
 * ours: with kernel BTF the socket cookie, which is made here if the socket
 * had none; without, an entry in scm_marked.
 */
static __always_inline void note_ours(struct bpf_sock_addr *ctx)
{
#ifdef SCM_NO_KERNEL_BTF
	__u32 *bits = bpf_sk_storage_get(&scm_marked, ctx->sk, 0,
					 BPF_SK_STORAGE_GET_F_CREATE);

	if (bits)
		*bits = scm_mask;
#else
	bpf_get_socket_cookie(ctx);
#endif
}

/*
 * Every connect decides afresh.  The bits of scm_mask that this object set
 * on an earlier connect of the socket are cleared before anything else: a
 * socket whose connect failed (refused, aborted, or with an error that the
 * kernel finds after this program ran, such as a wrong address family) or
 * that was disconnected (AF_UNSPEC) connects again, elsewhere, and would
 * carry them there.  So would a socket accepted from a listener made of
 * such a socket (it inherits the listener's mark): the sock_ops program
 * clears the listener's bits when it starts listening, and without it the
 * evidence below is copied to the accepted sockets.
 *
 * Bits that root set with SO_MARK are not ours and stay: ours are told
 * apart by the evidence that note_ours() leaves before setting them.  With
 * kernel BTF that is the socket's cookie, which the kernel makes only when
 * asked (SO_COOKIE, sock_diag as used by ss, BPF programs): bits found on a
 * socket that has a cookie are taken for ours, and such a socket is
 * decided afresh, which can only take a mark away.
 */
static __always_inline void forget_earlier_mark(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	__u32 mark = sk->mark, ours = scm_mask;
#ifdef SCM_NO_KERNEL_BTF
	__u32 *bits;
#else
	struct tcp_sock *tp;
#endif

	if (!(mark & ours))
		return;
#ifdef SCM_NO_KERNEL_BTF
	bits = bpf_sk_storage_get(&scm_marked, sk, 0, 0);
	if (!bits)
		return;
	ours = *bits;
	bpf_sk_storage_delete(&scm_marked, sk);
#else
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || !scm_tcp_sk(tp)->__sk_common.skc_cookie.counter)
		return;
#endif
	if (!(mark & ours))
		return;
	mark &= ~ours;
	bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
}

static __always_inline void record_owner(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct scm_owner *owner;
	__u64 id = 1;
	int i;

	/*
	 * This program runs before the kernel's checks of the bind
	 * (inet_bind_sk()): a socket that has a port already, or is not
	 * closed (listening, connected), is refused with EINVAL after it,
	 * and keeps the owner its accepted bind recorded.
	 */
	if (!sk || sk->src_port || sk->state != BPF_TCP_CLOSE)
		return;
	owner = bpf_sk_storage_get(&scm_owner, sk, 0,
				   BPF_SK_STORAGE_GET_F_CREATE);
	if (!owner)
		return;
	owner->cgroup_id = bpf_get_current_cgroup_id();
	set_binder(owner->cgroup_id);
	/*
	 * The helper gives 0 for a depth below the task's cgroup; every
	 * entry is written, as a socket may be bound again by another task.
	 */
	for (i = 0; i < SCM_MAX_LEVEL; i++) {
		if (id) {
			id = bpf_get_current_ancestor_cgroup_id(i + 1);
			if (id)
				set_binder(id);
		}
		owner->ancestor[i] = id;
	}
	count(SCM_BOUND);
}

/*
 * The current task's group: its cgroup and, with scm_level set, its
 * ancestor at that depth (0 when its cgroup is shallower: a task or
 * listener whose cgroup is shallower than scm_level is a group of its own).
 */
struct scm_group {
	__u64 cgroup_id;
	__u64 ancestor;
};

static __always_inline __u64 group_key(const struct scm_group *me)
{
	return me->ancestor ? me->ancestor : me->cgroup_id;
}

/* Is the current task, @me, in @owner's group? */
static __always_inline int same_group(const struct scm_owner *owner,
				      const struct scm_group *me)
{
	if (scm_level && scm_level <= SCM_MAX_LEVEL && me->ancestor &&
	    owner->ancestor[scm_level - 1])
		return me->ancestor == owner->ancestor[scm_level - 1];
	return owner->cgroup_id == me->cgroup_id;
}

/* The destination port of @tuple, in network byte order. */
static __always_inline __u16 tuple_port(const struct bpf_sock_tuple *tuple,
					__u32 tuple_len)
{
	return tuple_len == sizeof(tuple->ipv4) ? tuple->ipv4.dport :
						   tuple->ipv6.dport;
}

#ifndef SCM_NO_KERNEL_BTF
/* Is the cgroup @cgrp (a socket's) in @me's group? */
static __always_inline int cgroup_in_group(struct cgroup *cgrp,
					   const struct scm_group *me)
{
	if (!cgrp)
		return 0;
	if (scm_level && scm_level <= SCM_MAX_LEVEL && me->ancestor &&
	    BPF_CORE_READ(cgrp, level) >= (int)scm_level)
		return scm_ancestor_id(cgrp, scm_level) == me->ancestor;
	return BPF_CORE_READ(cgrp, kn, id) == me->cgroup_id;
}

/*
 * May a connection that the lookup took to @listener, a listener of @me's
 * group on @port (host byte order), be delivered to a socket of another
 * group?  The lookup has no packet: in a reuseport group it picks a member
 * by a hash of the destination alone, while delivery hashes the whole
 * connection or runs the group's BPF program (SO_ATTACH_REUSEPORT_CBPF
 * needs no privilege), so it may pick any member; and it never finds a
 * listener bound to a device (SO_BINDTODEVICE), which delivery prefers to
 * an unbound one of the same port.  Sharing a port with a listener takes
 * the same uid (SO_REUSEPORT).  So: yes when a member's socket was created
 * outside @me's group (members are judged by their sockets' cgroups, which
 * can be read here, where their records cannot), when the group has more
 * than SCM_REUSEPORT_MAX members, or when a device-bound listener of the
 * listener's uid has been seen on the port (scm_devbound).
 */
static __always_inline int shared_port(struct bpf_sock *listener,
				       const struct scm_group *me, __u32 port)
{
	struct scm_devbound_slots *devbound;
	struct sock_reuseport *reuse;
	struct cgroup *cgrp, *seen = NULL;
	struct tcp_sock *tp;
	struct sock *sk, *member;
	__u32 zero = 0, uid;
	__u16 n;
	int i;

	tp = bpf_skc_to_tcp_sock(listener);
	if (!tp)
		return 1;
	sk = scm_tcp_sk(tp);
	uid = sk->sk_uid.val;
	devbound = bpf_map_lookup_elem(&scm_devbound, &zero);
	if (!devbound || devbound->slot[scm_port_slot(uid, port)])
		return 1;
	reuse = BPF_CORE_READ(sk, sk_reuseport_cb);
	if (!reuse)
		return 0;
	n = BPF_CORE_READ(reuse, num_socks);
	if (n > SCM_REUSEPORT_MAX)
		return 1;
	for (i = 0; i < SCM_REUSEPORT_MAX && i < n; i++) {
		member = NULL;
		bpf_core_read(&member, sizeof(member), &reuse->socks[i]);
		if (!member)
			return 1;
		cgrp = BPF_CORE_READ(member, sk_cgrp_data.cgroup);
		if (cgrp == seen)
			continue;
		if (!cgroup_in_group(cgrp, me))
			return 1;
		seen = cgrp;
	}
	return 0;
}
#endif

/*
 * Mark the client socket if the TCP listener that @tuple reaches in the
 * client's network namespace was bound from the current task's group: at
 * once (MARK_NOW), or by a note for the sock_ops program (MARK_IF_LOCAL).
 */
static __always_inline void mark_if_same_group(struct bpf_sock_addr *ctx,
					       struct bpf_sock_tuple *tuple,
					       __u32 tuple_len, int when)
{
	struct bpf_sock *client = ctx->sk;
	struct scm_port_slots *ports = NULL;
	struct bpf_sock *listener;
	struct scm_owner *owner = NULL;
	struct scm_group me = {};
	struct scm_pair pair = {};
	struct scm_note *note;
	__u32 verdict, zero = 0, port;
	__u32 mark;

	port = scm_port_index(bpf_ntohs(tuple_port(tuple, tuple_len)));
	/*
	 * To another host, most likely: first the test that needs no
	 * cgroup id, does anything here listen on that port at all?  A note
	 * left by an earlier connect to this port would need the port's
	 * slots (never cleared) set.
	 */
	if (when == MARK_IF_LOCAL) {
		ports = bpf_map_lookup_elem(&scm_ports, &zero);
		if (ports && !ports->port[port]) {
			count(SCM_NO_GROUP_PORT);
			return;
		}
	}
	me.cgroup_id = bpf_get_current_cgroup_id();
	if (scm_level && scm_level <= SCM_MAX_LEVEL)
		me.ancestor = bpf_get_current_ancestor_cgroup_id(scm_level);
	if (!scm_pairs_on && when == MARK_NOW &&
	    !may_own_listener(group_key(&me))) {
		count(SCM_GROUP_NEVER_BOUND);
		return;
	}
	if (!scm_pairs_on && ports &&
	    !ports->group[scm_port_slot(group_key(&me), port)]) {
		/* A note for this port would need this slot set too. */
		count(SCM_NO_GROUP_PORT);
		return;
	}

	listener = bpf_sk_lookup_tcp(ctx, tuple, tuple_len,
				     BPF_F_CURRENT_NETNS, 0);
	if (!listener) {
		verdict = SCM_NO_LISTENER;
		goto not_looked_at;
	}
	if (listener->state == BPF_TCP_LISTEN)
		owner = bpf_sk_storage_get(&scm_owner, listener, 0, 0);
	if (!owner) {
		verdict = SCM_UNKNOWN_LISTENER;
	} else {
		verdict = same_group(owner, &me) ? SCM_MARKED : SCM_OTHER_GROUP;
#ifndef SCM_NO_KERNEL_BTF
		if (verdict == SCM_MARKED && shared_port(listener, &me, port))
			verdict = SCM_SHARED_PORT;
#endif
		if (scm_pairs_on) {
			pair.client = me.cgroup_id;
			pair.listener = owner->cgroup_id;
			pair.group = owner->cgroup_id;
			if (scm_level && scm_level <= SCM_MAX_LEVEL &&
			    owner->ancestor[scm_level - 1])
				pair.group = owner->ancestor[scm_level - 1];
			pair.port = port;
			pair.marked = verdict == SCM_MARKED ? 1 :
				      verdict == SCM_SHARED_PORT ? SCM_PAIR_SHARED : 0;
		}
	}
	/* owner lives in the listener's storage: done with it from here. */
	bpf_sk_release(listener);
	if (verdict == SCM_UNKNOWN_LISTENER ||
	    (verdict != SCM_MARKED && (when == MARK_NOW || !scm_pairs_on)))
		goto not_looked_at;

	if (when == MARK_IF_LOCAL) {
		/* The sock_ops program decides, counts and marks. */
		note = bpf_sk_storage_get(&scm_notes, client, 0,
					  BPF_SK_STORAGE_GET_F_CREATE);
		if (note) {
			note->mask = verdict == SCM_MARKED ? scm_mask : 0;
			note->verdict = verdict;
			if (tuple_len == sizeof(tuple->ipv4)) {
				note->family = AF_INET;
				note->daddr[0] = tuple->ipv4.daddr;
				note->daddr[1] = 0;
				note->daddr[2] = 0;
				note->daddr[3] = 0;
			} else {
				note->family = AF_INET6;
				note->daddr[0] = tuple->ipv6.daddr[0];
				note->daddr[1] = tuple->ipv6.daddr[1];
				note->daddr[2] = tuple->ipv6.daddr[2];
				note->daddr[3] = tuple->ipv6.daddr[3];
			}
			note->dport = tuple_port(tuple, tuple_len);
			note->pair = pair;
		}
		return;
	}
	count(SCM_MARKED);
	if (scm_pairs_on)
		count_pair(&pair);
	mark = client->mark;
	if ((mark & scm_mask) == scm_mask)
		return;
	note_ours(ctx);
	mark |= scm_mask;
	bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	return;

not_looked_at:
	/* Not for the sock_ops program: a note of an earlier connect goes. */
	if (when == MARK_IF_LOCAL)
		bpf_sk_storage_delete(&scm_notes, client);
	count(verdict);
	if (scm_pairs_on && when == MARK_NOW && pair.client)
		count_pair(&pair);
}

static __always_inline int sk_is_bound(const struct bpf_sock *sk)
{
	return sk->src_ip4 || sk->src_ip6[0] || sk->src_ip6[1] ||
	       sk->src_ip6[2] || sk->src_ip6[3];
}

static __always_inline void connect_v4(struct bpf_sock_addr *ctx, __u32 daddr,
				       __u32 dport)
{
	struct bpf_sock_tuple tuple = {};
	int when = MARK_NOW;

	/*
	 * A socket connecting to 0.0.0.0 reaches its own source address, or
	 * 127.0.0.1 when it is not bound (__ip_route_output_key_hash_rcu()).
	 */
	if (!daddr) {
		daddr = ctx->sk->src_ip4;
		if (!sk_is_bound(ctx->sk))
			daddr = bpf_htonl(0x7f000001);
	}
	if (!ip4_is_loopback(daddr)) {
		if (!scm_route_check)
			return;
		when = MARK_IF_LOCAL;
	}
	tuple.ipv4.daddr = daddr;
	tuple.ipv4.dport = dport;
	mark_if_same_group(ctx, &tuple, sizeof(tuple.ipv4), when);
}

SEC("cgroup/bind4")
int scm_bind4(struct bpf_sock_addr *ctx)
{
	if (is_tcp(ctx))
		record_owner(ctx);
	return ALLOW;
}

SEC("cgroup/bind6")
int scm_bind6(struct bpf_sock_addr *ctx)
{
	if (is_tcp(ctx))
		record_owner(ctx);
	return ALLOW;
}

/*
 * Is @ctx a connect that the kernel goes on with, of a TCP socket in @family?
 * The kernel runs the connect programs before it looks at the socket's
 * state or the address family: a connect of a socket that is connected or
 * connecting fails with EISCONN or EALREADY, and one with another family
 * (AF_UNSPEC disconnects before) with EAFNOSUPPORT.  Neither is decided;
 * the mark of a connected socket stays, the earlier bits of a closed one go.
 */
static __always_inline int connects(struct bpf_sock_addr *ctx, __u32 family)
{
	if (!is_tcp(ctx) || !ctx->sk || ctx->sk->state != BPF_TCP_CLOSE)
		return 0;
	forget_earlier_mark(ctx);
	return ctx->user_family == family;
}

SEC("cgroup/connect4")
int scm_connect4(struct bpf_sock_addr *ctx)
{
	if (connects(ctx, AF_INET))
		connect_v4(ctx, ctx->user_ip4, ctx->user_port);
	return ALLOW;
}

SEC("cgroup/connect6")
int scm_connect6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_tuple tuple = {};
	__u32 a0, a1, a2, a3;

	if (!connects(ctx, AF_INET6))
		return ALLOW;

	a0 = ctx->user_ip6[0];
	a1 = ctx->user_ip6[1];
	a2 = ctx->user_ip6[2];
	a3 = ctx->user_ip6[3];

	/* ::ffff:a.b.c.d: the kernel connects over IPv4, connect4 does not run. */
	if (!a0 && !a1 && a2 == V4MAPPED_WORD) {
		connect_v4(ctx, a3, ctx->user_port);
		return ALLOW;
	}

	tuple.ipv6.dport = ctx->user_port;
	if (!a0 && !a1 && !a2) {
		/*
		 * An unbound socket connecting to :: reaches ::1
		 * (tcp_v6_connect()); a bound one may reach 127.0.0.1.
		 */
		if (!a3 && !sk_is_bound(ctx->sk))
			a3 = bpf_htonl(1);
		if (a3 == bpf_htonl(1)) {
			tuple.ipv6.daddr[3] = a3;
			mark_if_same_group(ctx, &tuple, sizeof(tuple.ipv6),
					   MARK_NOW);
			return ALLOW;
		}
		if (!a3)
			return ALLOW;
	}
	if (!scm_route_check)
		return ALLOW;
	tuple.ipv6.daddr[0] = a0;
	tuple.ipv6.daddr[1] = a1;
	tuple.ipv6.daddr[2] = a2;
	tuple.ipv6.daddr[3] = a3;
	mark_if_same_group(ctx, &tuple, sizeof(tuple.ipv6), MARK_IF_LOCAL);
	return ALLOW;
}

char _license[] SEC("license") = "GPL";
