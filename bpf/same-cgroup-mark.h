/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The maps same-cgroup-mark.bpf.c and same-cgroup-mark-iter.bpf.c share.
 * libbpf reuses a pinned map only when type, key, value and size match, so
 * both objects take their definitions from here.  An object that finds the
 * maps by libbpf's pin-by-name defines SCM_MAP_PINNING as
 * __uint(pinning, LIBBPF_PIN_BY_NAME) before including this file.
 */
#ifndef SAME_CGROUP_MARK_H
#define SAME_CGROUP_MARK_H

#ifndef SCM_MAP_PINNING
#define SCM_MAP_PINNING
#endif

/* The deepest grouping level, and the ancestors kept for each listener. */
#define SCM_MAX_LEVEL	8

/*
 * Per-socket record made at bind time.  The ancestors are kept whatever
 * scm_level is, so that a reload into another level still knows the
 * listeners bound before it.
 */
struct scm_owner {
	__u64 cgroup_id;		/* cgroup v2 id of the binding task */
	__u64 ancestor[SCM_MAX_LEVEL];	/* [i]: its ancestor at depth i + 1,
					 * 0 below the task's own depth */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scm_owner);
	SCM_MAP_PINNING
} scm_owner SEC(".maps");

/*
 * Cgroups that may own a listener: slot (id % SCM_BINDER_SLOTS) is 1 for
 * the cgroup of every task that bound a TCP socket, and for each of its
 * ancestors, so that the test holds at every scm_level.  A slot is never
 * cleared (nothing runs when a socket or a cgroup goes away), and slots are
 * shared by ids that are equal modulo SCM_BINDER_SLOTS: a set slot only
 * means "look the listener up", so stale and shared slots cost a lookup,
 * never a mark.  Bytes, not bits: a plain byte store needs no atomic
 * read-modify-write for two CPUs setting neighbouring slots at once.
 * cgroup ids are handed out in sequence, so the slots of the live cgroups
 * rarely collide.
 */
#define SCM_BINDER_SLOTS	65536

struct scm_binder_slots {
	__u8 slot[SCM_BINDER_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scm_binder_slots);
	SCM_MAP_PINNING
} scm_binders SEC(".maps");

#endif /* SAME_CGROUP_MARK_H */
