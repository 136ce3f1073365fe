/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The maps the objects of same-cgroup-mark share.  libbpf reuses a pinned
 * map only when type, key, value and size match, so every object takes its
 * definitions from here.  An object that finds the maps by libbpf's
 * pin-by-name (the listener iterator) defines SCM_MAP_PINNING as
 * __uint(pinning, LIBBPF_PIN_BY_NAME) before including this file; the
 * objects that mark (the cgroup programs and the sock_ops program) define
 * SCM_MARKING, for the maps and counters only they use.
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

/*
 * Ports that groups listen on, for connects to addresses other than
 * loopback, which the connect programs may only mark once the sock_ops
 * program has seen the route.  port[p] is 1 when a TCP socket recorded for
 * any group listened on port p; group[scm_port_slot(id, p)] when one
 * recorded for cgroup id, or for a descendant of it, did.  Both are set
 * when a socket starts listening (the sock_ops program) and for listeners
 * found by the iterator, and never cleared; pairs share group slots: a set
 * slot only means "look the listener up".  A connect to another host on a
 * port nothing here listens on costs one array read.
 */
#define SCM_PORT_SLOTS	65536

struct scm_port_slots {
	__u8 port[65536];
	__u8 group[SCM_PORT_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scm_port_slots);
	SCM_MAP_PINNING
} scm_ports SEC(".maps");

/*
 * Indexes into the slots, for a port in host byte order: masks kept from
 * the compiler, which knows that port < 65536 and would drop them or mask
 * before the XOR, while the verifier of Linux 6.1 loses the bounds of the
 * port's byte swap (6.18's does not) and would refuse the index.
 */
static __always_inline __u32 scm_port_index(__u32 port)
{
	barrier_var(port);
	return port & (65536 - 1);
}

static __always_inline __u32 scm_port_slot(__u64 cgroup_id, __u32 port)
{
	__u32 slot = (__u32)cgroup_id * 2654435761u ^ port;

	barrier_var(slot);
	return slot & (SCM_PORT_SLOTS - 1);
}

/* Set a slot; read first: a store to a shared line every time would bounce it. */
static __always_inline void scm_set_slot(__u8 *slot)
{
	if (!*slot)
		*slot = 1;
}

/*
 * Device-bound listeners (SO_BINDTODEVICE), by owner uid and port: slot
 * scm_port_slot(uid, port) is 1 once a TCP socket of that uid listened on
 * that port bound to a device.  A connect program's listener lookup never
 * finds such a listener (it looks up with no device), while delivery
 * prefers it to an unbound listener of the same address and port, which
 * only a socket of the same uid can share with it (SO_REUSEPORT).  So a
 * connect whose lookup found a listener of uid U on port P is not marked
 * while this slot of (U, P) is set.  Set when a socket starts listening
 * (the sock_ops program) and for listeners found by the iterator, never
 * cleared; slots are shared: a set slot costs marks on that uid and port
 * only, and only a socket of that uid can set it.
 */
struct scm_devbound_slots {
	__u8 slot[SCM_PORT_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scm_devbound_slots);
	SCM_MAP_PINNING
} scm_devbound SEC(".maps");

/*
 * Record that the listener @owner listens on @port (host byte order): the
 * port, and the slots of its cgroup and of its ancestors.
 */
static __always_inline void scm_record_port(struct scm_port_slots *slots,
					    const struct scm_owner *owner,
					    __u32 port)
{
	int i;

	scm_set_slot(&slots->port[scm_port_index(port)]);
	if (owner->cgroup_id)
		scm_set_slot(&slots->group[scm_port_slot(owner->cgroup_id, port)]);
	for (i = 0; i < SCM_MAX_LEVEL; i++)
		if (owner->ancestor[i])
			scm_set_slot(&slots->group[scm_port_slot(owner->ancestor[i], port)]);
}

#ifdef SCM_MARKING

/* What the programs did, per CPU; same-cgroup-mark-load -s sums them. */
enum scm_counter {
	SCM_MARKED,		/* connect marked */
	SCM_OTHER_GROUP,	/* listener found, bound from another group */
	SCM_NO_LISTENER,	/* connect looked up, no listener found */
	SCM_UNKNOWN_LISTENER,	/* listener bound before loading: no record */
	SCM_BOUND,		/* TCP bind recorded */
	SCM_GROUP_NEVER_BOUND,	/* loopback connect from a group that never
				 * bound a TCP socket: not looked up */
	SCM_NOT_LOCAL,		/* listener of the group on the port, but the
				 * route leaves this host */
	SCM_NO_GROUP_PORT,	/* connect to an address other than loopback,
				 * the group listens on no such port: not
				 * looked up */
	SCM_SHARED_PORT,	/* listener of the group, but another group
				 * may take the connection: its reuseport
				 * group has a member of another group (or
				 * more than SCM_REUSEPORT_MAX), or a
				 * device-bound listener of its uid is on the
				 * port */
	SCM_NR_COUNTERS,
};

/*
 * A reload takes the counters over from the loaded instance, by name.  A
 * map whose definition changes gets a new name, so that a reload from an
 * older version starts a new map instead of reusing one of the old size:
 * versions up to 0.1.0 had 6 counters in "scm_counters", up to 0.2.0 8 in
 * "scm_stats".
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SCM_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} scm_counts SEC(".maps");

static __always_inline void count(__u32 what)
{
#ifndef SCM_BENCH_NO_COUNTERS	/* the benchmark measures what counting costs */
	__u64 *n = bpf_map_lookup_elem(&scm_counts, &what);

	if (n)
		*n += 1;
#endif
}

/*
 * Local connects by pair: client cgroup, listener's cgroup and group,
 * destination port, marked or not.  Counted where the programs know both
 * ends and that the connect stays local: a connect that finds no listener,
 * or leaves the host, is not counted.  LRU: when full, pairs not counted
 * lately make room.  scm_pair_since holds the boot-time ns of the
 * first count, so that "since when" survives reloads with the map;
 * scm_pair_adds the number of pairs added, so that the pairs the LRU has
 * dropped are known: added less kept.  (When the LRU starts to drop depends
 * on the kernel version and the number of CPUs: it keeps free entries on
 * per-CPU lists and drops a batch at a time.)
 */
#define SCM_PAIRS	4096
#define SCM_PAIR_SHARED	2	/* not marked: SCM_SHARED_PORT */

struct scm_pair {
	__u64 client;		/* cgroup id of the connecting task */
	__u64 listener;		/* the listener's recorded cgroup id */
	__u64 group;		/* its ancestor at scm_level; the cgroup at 0 */
	__u16 port;		/* destination port, host byte order */
	__u8 marked;		/* 1; 0 not marked; SCM_PAIR_SHARED */
	__u8 pad[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, SCM_PAIRS);
	__type(key, struct scm_pair);
	__type(value, __u64);
} scm_pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scm_pair_since SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scm_pair_adds SEC(".maps");

static __always_inline void count_pair(const struct scm_pair *pair)
{
	__u64 one = 1, *n, *since;
	__u32 zero = 0;

	n = bpf_map_lookup_elem(&scm_pairs, pair);
	if (n) {
		*n += 1;
	} else if (!bpf_map_update_elem(&scm_pairs, pair, &one, BPF_NOEXIST)) {
		n = bpf_map_lookup_elem(&scm_pair_adds, &zero);
		if (n)
			*n += 1;
	}
	since = bpf_map_lookup_elem(&scm_pair_since, &zero);
	if (since && !*since)
		*since = bpf_ktime_get_boot_ns();
}

/*
 * A connect to an address other than loopback that found a listener: the
 * connect program leaves a note in the client socket's storage, and the
 * sock_ops program, once the route is known to stay on this host, ORs in
 * mask (0: not a match), counts verdict and pair (when pair.client is
 * set), then deletes the note.  The note names the
 * destination it was written for: a note left by a connect that failed
 * before the sock_ops program ran (the socket may connect again, elsewhere)
 * is not acted on for another destination.  Up to 0.2.0 notes had no
 * destination, in "scm_pending".
 */
struct scm_note {
	__u32 mask;
	__u32 verdict;		/* the counter for a local connect */
	__u32 daddr[4];		/* network byte order; [0] alone for IPv4 */
	__u16 dport;		/* network byte order */
	__u16 family;		/* of daddr: AF_INET (also for ::ffff:a.b.c.d) or AF_INET6 */
	__u32 pad;
	struct scm_pair pair;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scm_note);
} scm_notes SEC(".maps");

#endif /* SCM_MARKING */

#endif /* SAME_CGROUP_MARK_H */
