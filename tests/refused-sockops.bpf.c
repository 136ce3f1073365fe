// SPDX-License-Identifier: GPL-2.0-only
/*
 * A sock_ops object with the maps of same-cgroup-mark-sockops.bpf.c whose
 * program every verifier refuses (a read past the end of its context): the
 * stand-in for a kernel that cannot take the real one (tests/local.bats).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define SCM_MARKING
#include "../bpf/same-cgroup-mark.h"

/* Patched by the loader as the real object's is. */
const volatile __u32 scm_mask = 0x40000000;

SEC("sockops")
int scm_sockops(struct bpf_sock_ops *skops)
{
	__u32 zero = 0;

	count(SCM_MARKED);
	bpf_map_lookup_elem(&scm_ports, &zero);
	bpf_map_lookup_elem(&scm_devbound, &zero);
	bpf_sk_storage_get(&scm_owner, skops->sk, 0, 0);
	bpf_sk_storage_get(&scm_notes, skops->sk, 0, 0);
	if (skops->sk && scm_mask)
		bpf_get_socket_cookie(skops);
	return *(__u32 *)((char *)skops + 4096);
}

char _license[] SEC("license") = "GPL";
