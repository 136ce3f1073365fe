// SPDX-License-Identifier: GPL-2.0-only
/*
 * The floor of "make bench" case (a): only what any exact implementation
 * must do on a connect it marks.  It has to find the listener the
 * connection will reach (bpf_sk_lookup_tcp, in the client's network
 * namespace), release it, and set the client's SO_MARK (bpf_setsockopt).
 * tests/bench/run measures these programs in place of ours, so the table
 * shows what the two unavoidable helper calls cost alone.
 *
 * No socket type or protocol check, no loopback test, no cgroup comparison
 * and no socket storage: the bench measures these programs only on TCP
 * connects to a loopback listener of the client's own cgroup.  connect4
 * also runs for UDP connect() and ping sockets: a real implementation must
 * check type and protocol, this one must not be attached anywhere else.
 */
#include <linux/bpf.h>
#include <asm/socket.h>
#include <bpf/bpf_helpers.h>

#define ALLOW		1		/* cgroup/sock_addr verdict */
#define FLOOR_MARK	0x40000000	/* the bench's mask */

static __always_inline void lookup_and_mark(struct bpf_sock_addr *ctx,
					    struct bpf_sock_tuple *tuple,
					    __u32 tuple_len)
{
	struct bpf_sock *listener;
	int mark = FLOOR_MARK;

	listener = bpf_sk_lookup_tcp(ctx, tuple, tuple_len,
				     BPF_F_CURRENT_NETNS, 0);
	if (!listener)
		return;
	bpf_sk_release(listener);
	bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
}

SEC("cgroup/connect4")
int floor_connect4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_tuple tuple = {};

	tuple.ipv4.daddr = ctx->user_ip4;
	tuple.ipv4.dport = ctx->user_port;
	lookup_and_mark(ctx, &tuple, sizeof(tuple.ipv4));
	return ALLOW;
}

SEC("cgroup/connect6")
int floor_connect6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_tuple tuple = {};

	tuple.ipv6.daddr[0] = ctx->user_ip6[0];
	tuple.ipv6.daddr[1] = ctx->user_ip6[1];
	tuple.ipv6.daddr[2] = ctx->user_ip6[2];
	tuple.ipv6.daddr[3] = ctx->user_ip6[3];
	tuple.ipv6.dport = ctx->user_port;
	lookup_and_mark(ctx, &tuple, sizeof(tuple.ipv6));
	return ALLOW;
}

char _license[] SEC("license") = "GPL";
