// SPDX-License-Identifier: GPL-2.0-only
/*
 * storage-count: count the records in the scm_owner socket storage map, for
 * the soak test.
 *
 * "bpftool map dump" cannot list a socket storage map (the kernel has no
 * get_next_key for it), and the kernel here refuses iter/bpf_sk_storage_map
 * programs (EPERM), so this is an iter/tcp program: reading its pinned file
 * in a network namespace walks that namespace's TCP sockets and writes, for
 * each one with a record in scm_owner, the recorded cgroup id (8 bytes).
 * All the soak test's sockets live in its own namespace, so that is every
 * record its sockets hold.  The map is the loaded instance's: libbpf's
 * pin-by-name finds it as /sys/fs/bpf/scm_owner, pinned there only while
 * the iterator is loaded.  Kernel structures through BTF and CO-RE.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SCM_MAX_LEVEL	8	/* as in bpf/same-cgroup-mark.bpf.c */

struct seq_file;
struct tcp_sock;

struct sock_common {
	unsigned char skc_state;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

/* Must match bpf/same-cgroup-mark.bpf.c: libbpf checks it on reuse. */
struct scm_owner {
	__u64 cgroup_id;
	__u64 ancestor[SCM_MAX_LEVEL];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scm_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} scm_owner SEC(".maps");

SEC("iter/tcp")
int storage_count(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct scm_owner *owner;
	struct tcp_sock *tp;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	owner = bpf_sk_storage_get(&scm_owner, tp, 0, 0);
	if (!owner)
		return 0;
	bpf_seq_write(ctx->meta->seq, &owner->cgroup_id, sizeof(owner->cgroup_id));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
