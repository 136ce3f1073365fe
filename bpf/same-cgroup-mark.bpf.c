// SPDX-License-Identifier: GPL-2.0-only
/*
 * same-cgroup-mark: OR a bit into SO_MARK of a TCP client socket when the
 * local listener it connects to was bound by a task in the same cgroup.
 *
 * bind4/bind6 remember, in socket-local storage, the cgroup v2 id of the
 * task that binds a TCP socket.  connect4/connect6 look up the listener the
 * connection is about to reach in the client's network namespace and, when
 * the destination is a loopback address and the listener's recorded cgroup
 * is the connecting task's cgroup, OR scm_mask into the client's SO_MARK.
 *
 * Every program returns ALLOW: this object never denies anything.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <asm/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ALLOW		1	/* cgroup/sock_addr verdict: let the call go on */

#define SOCK_STREAM	1	/* include/linux/net.h, not exported to UAPI */
#define AF_INET		2
#define AF_INET6	10

/* ::ffff:0:0/96 in the third 32-bit word of an IPv6 address. */
#define V4MAPPED_WORD	bpf_htonl(0x0000ffff)

/*
 * The bit(s) ORed into SO_MARK.  Written into .rodata of a copy of this
 * object by scm-set-rodata before same-cgroup-mark-load loads it; libbpf
 * freezes .rodata, so the verifier sees a constant.
 */
const volatile __u32 scm_mask = 0x40000000;

/* Per-socket record made at bind time. */
struct scm_owner {
	__u64 cgroup_id;	/* cgroup v2 id of the task that bound it */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scm_owner);
} scm_owner SEC(".maps");

static __always_inline int is_tcp(const struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP;
}

static __always_inline int ip4_is_loopback(__u32 addr)
{
	return (addr & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
}

static __always_inline void record_owner(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct scm_owner *owner;

	if (!sk)
		return;
	owner = bpf_sk_storage_get(&scm_owner, sk, 0,
				   BPF_SK_STORAGE_GET_F_CREATE);
	if (owner)
		owner->cgroup_id = bpf_get_current_cgroup_id();
}

/*
 * Mark the client socket if the TCP listener that @tuple reaches in the
 * client's network namespace was bound from the current task's cgroup.
 * The caller has already checked that the destination is local.
 */
static __always_inline void mark_if_same_cgroup(struct bpf_sock_addr *ctx,
						struct bpf_sock_tuple *tuple,
						__u32 tuple_len)
{
	struct bpf_sock *client = ctx->sk;
	struct bpf_sock *listener;
	struct scm_owner *owner;
	__u64 listener_cgroup = 0;
	int mark;

	listener = bpf_sk_lookup_tcp(ctx, tuple, tuple_len,
				     BPF_F_CURRENT_NETNS, 0);
	if (!listener)
		return;
	if (listener->state == BPF_TCP_LISTEN) {
		owner = bpf_sk_storage_get(&scm_owner, listener, 0, 0);
		if (owner)
			listener_cgroup = owner->cgroup_id;
	}
	bpf_sk_release(listener);

	if (!listener_cgroup ||
	    listener_cgroup != bpf_get_current_cgroup_id() || !client)
		return;

	mark = client->mark;
	if ((mark & scm_mask) == scm_mask)
		return;
	mark |= scm_mask;
	bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
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

	/*
	 * An unbound socket connecting to 0.0.0.0 reaches 127.0.0.1
	 * (__ip_route_output_key_hash_rcu()).  A bound one reaches its own
	 * source address, which we cannot prove local: leave it alone.
	 */
	if (!daddr && ctx->sk && !sk_is_bound(ctx->sk))
		daddr = bpf_htonl(0x7f000001);
	if (!ip4_is_loopback(daddr))
		return;
	tuple.ipv4.daddr = daddr;
	tuple.ipv4.dport = dport;
	mark_if_same_cgroup(ctx, &tuple, sizeof(tuple.ipv4));
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

SEC("cgroup/connect4")
int scm_connect4(struct bpf_sock_addr *ctx)
{
	if (is_tcp(ctx))
		connect_v4(ctx, ctx->user_ip4, ctx->user_port);
	return ALLOW;
}

SEC("cgroup/connect6")
int scm_connect6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_tuple tuple = {};
	__u32 a0, a1, a2, a3;

	if (!is_tcp(ctx))
		return ALLOW;

	a0 = ctx->user_ip6[0];
	a1 = ctx->user_ip6[1];
	a2 = ctx->user_ip6[2];
	a3 = ctx->user_ip6[3];
	if (a0 || a1)
		return ALLOW;

	/* ::ffff:a.b.c.d: the kernel connects over IPv4, connect4 does not run. */
	if (a2 == V4MAPPED_WORD) {
		connect_v4(ctx, a3, ctx->user_port);
		return ALLOW;
	}

	if (a2)
		return ALLOW;
	/* An unbound socket connecting to :: reaches ::1 (tcp_v6_connect()). */
	if (!a3 && ctx->sk && !sk_is_bound(ctx->sk))
		a3 = bpf_htonl(1);
	if (a3 != bpf_htonl(1))
		return ALLOW;
	tuple.ipv6.daddr[3] = a3;
	tuple.ipv6.dport = ctx->user_port;
	mark_if_same_cgroup(ctx, &tuple, sizeof(tuple.ipv6));
	return ALLOW;
}

char _license[] SEC("license") = "GPL";
