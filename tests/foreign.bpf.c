// SPDX-License-Identifier: GPL-2.0-only
/*
 * Somebody else's programs at the hooks same-cgroup-mark uses: they allow
 * everything and touch nothing.  The tests attach them next to ours to show
 * that same-cgroup-mark-load never detaches a program it did not load.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define ALLOW 1

SEC("cgroup/bind4")
int foreign_bind4(struct bpf_sock_addr *ctx)
{
	return ALLOW;
}

SEC("cgroup/bind6")
int foreign_bind6(struct bpf_sock_addr *ctx)
{
	return ALLOW;
}

SEC("cgroup/connect4")
int foreign_connect4(struct bpf_sock_addr *ctx)
{
	return ALLOW;
}

SEC("cgroup/connect6")
int foreign_connect6(struct bpf_sock_addr *ctx)
{
	return ALLOW;
}

SEC("sockops")
int foreign_sockops(struct bpf_sock_ops *skops)
{
	return 1;
}

char _license[] SEC("license") = "GPL";
