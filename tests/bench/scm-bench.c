// SPDX-License-Identifier: GPL-2.0-only
/*
 * scm-bench: the client, server and listener holder of tests/bench/run
 * ("make bench").  Each mode first enters a network namespace and moves
 * itself into a cgroup v2 directory, then works on loopback only.
 *
 *   scm-bench cost CASE N NETNS CG_LISTEN CG_CLIENT MASK OUR_PIN REF_PIN
 *	Run N operations of CASE (after a warm-up) and print
 *	"N our_run_time_ns our_run_cnt ref_run_time_ns ref_run_cnt wall_ns":
 *	the deltas of the run_time_ns and run_cnt statistics of the two
 *	pinned programs over the loop.  The statistics are switched on with
 *	BPF_ENABLE_STATS for as long as this process runs: a reference of its
 *	own, which somebody else writing kernel.bpf_stats_enabled cannot drop
 *	in the middle of a loop.
 *	CASE:
 *	  mark4, mark6    listener bound in CG_LISTEN on 127.0.0.1 (::1); the
 *	                  client connects from CG_LISTEN too: every client
 *	                  must carry MASK in SO_MARK
 *	  cross4          listener bound in CG_LISTEN; the client, in
 *	                  CG_CLIENT (which has a listener of its own), connects
 *	                  to it: no client may carry any bit of MASK
 *	  nolisten4       the client, in CG_CLIENT (which never binds),
 *	                  connects to 127.0.0.1 port 9, where nothing listens:
 *	                  every connect must be refused, and unmarked
 *	  bind4, bind6    in CG_CLIENT: socket, bind 127.0.0.1 (::1) port 0,
 *	                  close
 *	  local4          listener bound in CG_LISTEN on 0.0.0.0; the client,
 *	                  in CG_LISTEN too, connects to the namespace's own
 *	                  address 10.98.0.1 (not loopback): every client must
 *	                  carry MASK
 *	  remote4         the client, in CG_CLIENT (which has a listener of its
 *	                  own, on another port), connects to the peer host
 *	                  10.98.0.2 port 9, where nothing listens: refused,
 *	                  unmarked
 *	  remoteport4     the client, in CG_LISTEN, whose listener on 0.0.0.0
 *	                  has port P, connects to 10.98.0.2 port P, where
 *	                  nothing listens: refused, unmarked
 *	The addresses are those tests/bench/run gives the namespace (a veth
 *	pair to a peer namespace).
 *   scm-bench tput N NETNS CG MASK EXPECT
 *	connect/accept/close N times (after a warm-up) from CG to a listener
 *	bound in CG on 127.0.0.1; print connections per second.  EXPECT 1:
 *	the first and last clients must carry MASK; 0: no bit of it.
 *   scm-bench hold N NETNS CG READY_FILE
 *	Bind and listen on N TCP sockets on 127.0.0.1 port 0, create
 *	READY_FILE, then sleep until killed.
 *
 * Exit status 0, or 1 with a message on stderr (a wrong mark included).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOBODY_PORT 9	/* nothing listens there in the bench namespace */
#define OWN_ADDR	"10.98.0.1"	/* the bench namespace's, on a veth */
#define PEER_ADDR	"10.98.0.2"	/* its peer's, in another namespace */

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("scm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned long parse_ulong(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end)
		die("bad %s '%s'", what, s);
	return v;
}

static void enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		die("setns %s: %s", path, strerror(errno));
	close(fd);
}

/* Move this process into the cgroup v2 directory @dir. */
static void enter_cgroup(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (write(fd, "0\n", 2) != 2)
		die("write %s: %s", path, strerror(errno));
	close(fd);
}

static void raise_nofile(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit NOFILE %lu: %s", want, strerror(errno));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static void loopback(struct addr *a, int family, unsigned short port)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_loopback;
		a->len = sizeof(*in6);
	}
}

/* @a: IPv4 address @ip, @port. */
static void ip4(struct addr *a, const char *ip, unsigned short port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &in->sin_addr) != 1)
		die("bad address %s", ip);
	a->len = sizeof(*in);
}

static int tcp_socket(int family)
{
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket: %s", strerror(errno));
	return s;
}

/*
 * A listener on @a (port 0: the kernel picks one); @a gets its address.
 * Accepted sockets inherit SO_LINGER {1, 0}: closing them first resets the
 * connection, so neither end lingers in TIME_WAIT and the loops never run
 * out of ports.
 */
static int listen_on(struct addr *a)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int s = tcp_socket(a->family);

	if (bind(s, (struct sockaddr *)&a->ss, a->len))
		die("bind: %s", strerror(errno));
	if (listen(s, 4096))
		die("listen: %s", strerror(errno));
	if (setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("SO_LINGER: %s", strerror(errno));
	if (getsockname(s, (struct sockaddr *)&a->ss, &a->len))
		die("getsockname: %s", strerror(errno));
	return s;
}

/* A listener on loopback port 0; @a gets its address. */
static int listener(int family, struct addr *a)
{
	loopback(a, family, 0);
	return listen_on(a);
}

/* The port of @a, an IPv4 address. */
static unsigned short port4(const struct addr *a)
{
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

static unsigned int get_mark(int s)
{
	unsigned int mark = 0;
	socklen_t len = sizeof(mark);

	if (getsockopt(s, SOL_SOCKET, SO_MARK, &mark, &len))
		die("getsockopt SO_MARK: %s", strerror(errno));
	return mark;
}

/* expect: 1 all bits of @mask set, 0 none of them. */
static void check_mark(int s, unsigned int mask, int expect, const char *what)
{
	unsigned int mark = get_mark(s);

	if (expect && (mark & mask) != mask)
		die("%s: client not marked (SO_MARK 0x%x, mask 0x%x): the programs do not mark",
		    what, mark, mask);
	if (!expect && (mark & mask))
		die("%s: client marked (SO_MARK 0x%x, mask 0x%x) where it must not be",
		    what, mark, mask);
}

/* One connect/accept/close; the mark is checked when @check is set. */
static void connect_once(int l, const struct addr *a, unsigned int mask,
			 int expect, int check, const char *what)
{
	int s = tcp_socket(a->family), c;

	if (connect(s, (const struct sockaddr *)&a->ss, a->len))
		die("%s: connect: %s", what, strerror(errno));
	if (check)
		check_mark(s, mask, expect, what);
	c = accept(l, NULL, NULL);
	if (c < 0)
		die("%s: accept: %s", what, strerror(errno));
	close(c);
	close(s);
}

/* A connect that must be refused (nothing listens on @a). */
static void refused_once(const struct addr *a, unsigned int mask,
			 const char *what)
{
	int s = tcp_socket(a->family);

	if (!connect(s, (const struct sockaddr *)&a->ss, a->len))
		die("%s: connect succeeded where nothing listens", what);
	if (errno != ECONNREFUSED)
		die("%s: connect: %s (expected ECONNREFUSED)", what,
		    strerror(errno));
	check_mark(s, mask, 0, what);
	close(s);
}

static void bind_once(int family, const char *what)
{
	struct addr a;
	int s = tcp_socket(family);

	loopback(&a, family, 0);
	if (bind(s, (struct sockaddr *)&a.ss, a.len))
		die("%s: bind: %s", what, strerror(errno));
	close(s);
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int prog_pin(const char *path)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t)path;
	fd = bpf(BPF_OBJ_GET, &attr);
	if (fd < 0)
		die("BPF_OBJ_GET %s: %s", path, strerror(errno));
	return fd;
}

/* Keep run-time statistics on while the returned descriptor is open. */
static int enable_stats(void)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	fd = bpf(BPF_ENABLE_STATS, &attr);
	if (fd < 0)
		die("BPF_ENABLE_STATS: %s", strerror(errno));
	return fd;
}

static void prog_stats(int fd, uint64_t *run_time_ns, uint64_t *run_cnt)
{
	struct bpf_prog_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uintptr_t)&info;
	if (bpf(BPF_OBJ_GET_INFO_BY_FD, &attr))
		die("BPF_OBJ_GET_INFO_BY_FD: %s", strerror(errno));
	*run_time_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
}

enum kase { MARK4, MARK6, CROSS4, NOLISTEN4, BIND4, BIND6, LOCAL4, REMOTE4,
	    REMOTEPORT4 };

static const struct {
	const char *name;
	enum kase k;
} cases[] = {
	{ "mark4", MARK4 }, { "mark6", MARK6 }, { "cross4", CROSS4 },
	{ "nolisten4", NOLISTEN4 }, { "bind4", BIND4 }, { "bind6", BIND6 },
	{ "local4", LOCAL4 }, { "remote4", REMOTE4 },
	{ "remoteport4", REMOTEPORT4 },
};

static int cost(char **argv)
{
	const char *name = argv[0];
	unsigned long n = parse_ulong(argv[1], "N");
	const char *cg_listen = argv[3], *cg_client = argv[4];
	unsigned int mask = parse_ulong(argv[5], "mask");
	unsigned long warm = n / 10 < 200 ? 200 : n / 10, i;
	uint64_t o0 = 0, oc0 = 0, r0 = 0, rc0 = 0, t0 = 0;
	uint64_t o1, oc1, r1, rc1, t1;
	int l = -1, own = -1, ours, ref, stats, family = AF_INET;
	struct addr a, own_addr;
	enum kase k = MARK4;
	size_t j;

	for (j = 0; j < sizeof(cases) / sizeof(cases[0]); j++)
		if (!strcmp(name, cases[j].name))
			break;
	if (j == sizeof(cases) / sizeof(cases[0]))
		die("unknown case '%s'", name);
	k = cases[j].k;
	if (k == MARK6 || k == BIND6)
		family = AF_INET6;
	if (!n)
		die("N must be positive");

	enter_netns(argv[2]);
	stats = enable_stats();
	ours = prog_pin(argv[6]);
	ref = prog_pin(argv[7]);
	switch (k) {
	case MARK4:
	case MARK6:
		enter_cgroup(cg_listen);
		l = listener(family, &a);
		break;
	case CROSS4:
		enter_cgroup(cg_listen);
		l = listener(family, &a);
		enter_cgroup(cg_client);
		/* The client's cgroup has a listener too. */
		own = listener(family, &own_addr);
		break;
	case NOLISTEN4:
		enter_cgroup(cg_client);
		loopback(&a, AF_INET, NOBODY_PORT);
		break;
	case BIND4:
	case BIND6:
		enter_cgroup(cg_client);
		break;
	case LOCAL4:
		enter_cgroup(cg_listen);
		ip4(&a, "0.0.0.0", 0);
		l = listen_on(&a);
		ip4(&a, OWN_ADDR, port4(&a));
		break;
	case REMOTE4:
		enter_cgroup(cg_client);
		own = listener(family, &own_addr);
		ip4(&a, PEER_ADDR, NOBODY_PORT);
		break;
	case REMOTEPORT4:
		enter_cgroup(cg_listen);
		ip4(&own_addr, "0.0.0.0", 0);
		own = listen_on(&own_addr);
		ip4(&a, PEER_ADDR, port4(&own_addr));
		break;
	}

	for (i = 0; i < warm + n; i++) {
		if (i == warm) {
			prog_stats(ours, &o0, &oc0);
			prog_stats(ref, &r0, &rc0);
			t0 = now_ns();
		}
		switch (k) {
		case MARK4:
		case MARK6:
			connect_once(l, &a, mask, 1, 1, name);
			break;
		case CROSS4:
			connect_once(l, &a, mask, 0, 1, name);
			break;
		case NOLISTEN4:
		case REMOTE4:
		case REMOTEPORT4:
			refused_once(&a, mask, name);
			break;
		case LOCAL4:
			connect_once(l, &a, mask, 1, 1, name);
			break;
		case BIND4:
		case BIND6:
			bind_once(family, name);
			break;
		}
	}
	t1 = now_ns();
	prog_stats(ours, &o1, &oc1);
	prog_stats(ref, &r1, &rc1);
	printf("%lu %llu %llu %llu %llu %llu\n", n,
	       (unsigned long long)(o1 - o0), (unsigned long long)(oc1 - oc0),
	       (unsigned long long)(r1 - r0), (unsigned long long)(rc1 - rc0),
	       (unsigned long long)(t1 - t0));
	if (own >= 0)
		close(own);
	if (l >= 0)
		close(l);
	close(stats);
	return 0;
}

static int tput(char **argv)
{
	unsigned long n = parse_ulong(argv[0], "N");
	unsigned int mask = parse_ulong(argv[3], "mask");
	int expect = parse_ulong(argv[4], "EXPECT") != 0;
	unsigned long warm = n / 10 < 200 ? 200 : n / 10, i;
	uint64_t t0 = 0, t1;
	struct addr a;
	int l;

	if (!n)
		die("N must be positive");
	enter_netns(argv[1]);
	enter_cgroup(argv[2]);
	l = listener(AF_INET, &a);
	for (i = 0; i < warm + n; i++) {
		if (i == warm)
			t0 = now_ns();
		connect_once(l, &a, mask, expect, i == 0 || i == warm + n - 1,
			     "tput");
	}
	t1 = now_ns();
	printf("%.1f\n", (double)n * 1e9 / (double)(t1 - t0));
	close(l);
	return 0;
}

static __attribute__((noreturn)) void hold(char **argv)
{
	unsigned long n = parse_ulong(argv[0], "N"), i;
	struct addr a;
	int fd;

	raise_nofile(n + 64);
	enter_netns(argv[1]);
	enter_cgroup(argv[2]);
	for (i = 0; i < n; i++)
		listener(AF_INET, &a);
	fd = open(argv[3], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die("create %s: %s", argv[3], strerror(errno));
	close(fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 10 && !strcmp(argv[1], "cost"))
		return cost(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "tput"))
		return tput(argv + 2);
	if (argc == 6 && !strcmp(argv[1], "hold"))
		hold(argv + 2);
	fprintf(stderr,
		"usage: scm-bench cost CASE N NETNS CG_LISTEN CG_CLIENT MASK OUR_PIN REF_PIN\n"
		"       scm-bench tput N NETNS CG MASK EXPECT\n"
		"       scm-bench hold N NETNS CG READY_FILE\n");
	return 2;
}
