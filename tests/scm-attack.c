// SPDX-License-Identifier: GPL-2.0-only
/*
 * scm-attack: what an unprivileged process tries in order to carry the
 * mark to a listener of another group (tests/attacks.bats).
 *
 *   scm-attack carry HOW ADDR1 PORT1 ADDR2 PORT2 [--fastopen|--fastopen-connect]
 *	Use one socket on ADDR1 PORT1 (a listener of the caller's own group)
 *	first, then connect it to ADDR2 PORT2.  HOW is how the first use ends:
 *	  unspec    connected, then disconnected with connect(AF_UNSPEC)
 *	  refused   marked, then refused: the socket connects with
 *		    TCP_FASTOPEN_CONNECT to a listener that this process
 *		    makes on ADDR1 PORT1 (0: any port) and closes before the
 *		    first write sends the SYN (ECONNREFUSED or ECONNRESET)
 *	  family    connect() with a wrong sa_family (EAFNOSUPPORT)
 *	  nonblock  non-blocking connect, disconnected at once (AF_UNSPEC)
 *	  child     connected, disconnected, made a listener; a second socket
 *		    connects to it, and the accepted socket, disconnected,
 *		    makes the second connect instead
 *	The second connect is a connect(), a sendto(MSG_FASTOPEN) or a connect
 *	after TCP_FASTOPEN_CONNECT.  Prints "first=RESULT mark=0x%08x", then
 *	"mark=0x%08x" after the second connect, as scm-probe does.  Exit 0 when
 *	the second connect succeeded, 1 when it failed, 2 on bad usage, 3 when
 *	the first use did not go as HOW says, 4 when the kernel does not let
 *	the disconnected socket listen (child; EINVAL).
 *
 *   scm-attack share ADDR PORT PATH
 *	Listen on ADDR PORT, print the port, hand the listening socket to
 *	whoever connects to the Unix socket PATH (SCM_RIGHTS), accept forever.
 *
 *   scm-attack rebind PATH ADDR PORT
 *	Take the listening socket from PATH and bind() it again to ADDR PORT:
 *	prints "bind: ERROR"; exit 0 when the kernel refused it with EINVAL.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: scm-attack carry unspec|refused|family|nonblock|child ADDR1 PORT1 ADDR2 PORT2\n"
		"                        [--fastopen|--fastopen-connect]\n"
		"       scm-attack share ADDR PORT PATH\n"
		"       scm-attack rebind PATH ADDR PORT\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "scm-attack: %s: %s\n", what, strerror(errno));
	exit(1);
}

static socklen_t parse_addr(const char *s, const char *port,
			    struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	unsigned long p = strtoul(port, NULL, 10);

	memset(ss, 0, sizeof(*ss));
	if (p > 65535)
		usage();
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(p);
		return sizeof(*in4);
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		return sizeof(*in6);
	}
	usage();
	return 0;
}

static unsigned int mark_of(int fd)
{
	unsigned int m = 0;
	socklen_t len = sizeof(m);

	if (getsockopt(fd, SOL_SOCKET, SO_MARK, &m, &len))
		die("getsockopt SO_MARK");
	return m;
}

static void disconnect(int fd)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	if (connect(fd, &sa, sizeof(sa)))
		die("connect AF_UNSPEC");
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 5 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* The first use of @fd on @ss; returns the socket to connect a second time. */
static int first_use(int fd, const char *how, struct sockaddr_storage *ss,
		     socklen_t len)
{
	struct sockaddr_storage name;
	socklen_t nlen = sizeof(name);
	int err, c, child, fl;

	if (!strcmp(how, "family")) {
		/* The address of ADDR1, with the other family's number. */
		ss->ss_family = ss->ss_family == AF_INET ? AF_INET6 : AF_INET;
		err = connect(fd, (struct sockaddr *)ss, len) ? errno : 0;
		ss->ss_family = ss->ss_family == AF_INET ? AF_INET6 : AF_INET;
		printf("first=%s mark=0x%08x\n", err ? strerror(err) : "connected",
		       mark_of(fd));
		return err == EAFNOSUPPORT ? fd : -1;
	}
	if (!strcmp(how, "nonblock")) {
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		err = connect(fd, (struct sockaddr *)ss, len) ? errno : 0;
		printf("first=%s mark=0x%08x\n", err ? strerror(err) : "connected",
		       mark_of(fd));
		disconnect(fd);
		fcntl(fd, F_SETFL, fl);
		return err == EINPROGRESS || !err ? fd : -1;
	}
	if (!strcmp(how, "refused")) {
		int l = socket(ss->ss_family, SOCK_STREAM, IPPROTO_TCP);
		struct sockaddr_storage at = *ss;
		socklen_t alen = len;
		unsigned int m;

		if (l < 0 || bind(l, (struct sockaddr *)&at, alen) || listen(l, 8) ||
		    getsockname(l, (struct sockaddr *)&at, &alen))
			die("own listener");
		if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &(int){ 1 },
			       sizeof(int)) ||
		    connect(fd, (struct sockaddr *)&at, alen))
			die("connect with TCP_FASTOPEN_CONNECT");
		m = mark_of(fd);
		close(l);
		err = write(fd, "x", 1) < 0 ? errno : 0;
		printf("first=%s mark=0x%08x\n", err ? strerror(err) : "connected", m);
		setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &(int){ 0 }, sizeof(int));
		/* The deferred connect left the socket "connected" (EISCONN). */
		disconnect(fd);
		return err == ECONNREFUSED || err == ECONNRESET ? fd : -1;
	}
	err = connect(fd, (struct sockaddr *)ss, len) ? errno : 0;
	printf("first=%s mark=0x%08x\n", err ? strerror(err) : "connected",
	       mark_of(fd));
	if (err)
		return -1;
	disconnect(fd);
	if (!strcmp(how, "unspec"))
		return fd;
	if (strcmp(how, "child"))
		usage();
	if (listen(fd, 8)) {
		/* Linux 6.18 refuses it: the socket connected once. */
		if (errno != EINVAL)
			die("listen");
		printf("listen: %s\n", strerror(errno));
		exit(4);
	}
	if (getsockname(fd, (struct sockaddr *)&name, &nlen))
		die("getsockname");
	/* Connect to the listener over loopback, of its family. */
	if (name.ss_family == AF_INET)
		((struct sockaddr_in *)&name)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&name)->sin6_addr = in6addr_loopback;
	c = socket(name.ss_family, SOCK_STREAM, IPPROTO_TCP);
	if (c < 0 || connect(c, (struct sockaddr *)&name, nlen))
		die("connect to the listener made of it");
	child = accept(fd, NULL, NULL);
	if (child < 0)
		die("accept");
	printf("child mark=0x%08x\n", mark_of(child));
	close(c);
	close(fd);
	disconnect(child);
	timeouts(child);
	return child;
}

static int do_carry(int argc, char **argv)
{
	static const char line[] = "same-cgroup-mark\n";
	struct sockaddr_storage first, second;
	socklen_t flen, slen;
	int fd, err, fastopen = 0, fastopen_connect = 0;

	if (argc < 7 || argc > 8)
		usage();
	if (argc == 8) {
		if (!strcmp(argv[7], "--fastopen"))
			fastopen = 1;
		else if (!strcmp(argv[7], "--fastopen-connect"))
			fastopen_connect = 1;
		else
			usage();
	}
	flen = parse_addr(argv[3], argv[4], &first);
	slen = parse_addr(argv[5], argv[6], &second);
	fd = socket(first.ss_family, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		die("socket");
	timeouts(fd);
	fd = first_use(fd, argv[2], &first, flen);
	fflush(stdout);
	if (fd < 0)
		return 3;
	if (fastopen_connect &&
	    setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &(int){ 1 }, sizeof(int)))
		die("TCP_FASTOPEN_CONNECT");
	if (fastopen)
		err = sendto(fd, line, sizeof(line) - 1, MSG_FASTOPEN,
			     (struct sockaddr *)&second, slen) < 0 ? errno : 0;
	else
		err = connect(fd, (struct sockaddr *)&second, slen) ? errno : 0;
	/* With TCP_FASTOPEN_CONNECT the SYN leaves with the first write. */
	if (!err && fastopen_connect &&
	    write(fd, line, sizeof(line) - 1) < 0)
		err = errno;
	/* A refused SYN of sendto() and write() shows on the next read. */
	if (!err && (fastopen || fastopen_connect)) {
		char buf[1];

		if (read(fd, buf, 1) < 0 && errno != EAGAIN)
			err = errno;
	}
	printf("mark=0x%08x\n", mark_of(fd));
	fflush(stdout);
	if (err) {
		errno = err;
		die("connect");
	}
	return 0;
}

static int unix_socket(const char *path, struct sockaddr_un *un)
{
	int u = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	if (u < 0 || strlen(path) >= sizeof(un->sun_path))
		usage();
	strcpy(un->sun_path, path);
	return u;
}

static __attribute__((noreturn)) void do_share(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_un un;
	socklen_t len;
	int fd, u, one = 1;

	if (argc != 5)
		usage();
	len = parse_addr(argv[2], argv[3], &ss);
	fd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128))
		die("listen");
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	u = unix_socket(argv[4], &un);
	if (bind(u, (struct sockaddr *)&un, sizeof(un)) || listen(u, 8))
		die("unix listen");
	chmod(argv[4], 0777);
	printf("%u\n", ntohs(ss.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&ss)->sin_port :
			     ((struct sockaddr_in6 *)&ss)->sin6_port));
	fflush(stdout);
	if (fork() == 0) {
		/* Goes with the listener: the tests stop that one by its PID. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
			_exit(1);
		for (;;) {
			char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
			struct iovec iov = { .iov_base = "s", .iov_len = 1 };
			struct msghdr msg = {
				.msg_iov = &iov, .msg_iovlen = 1,
				.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
			};
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
			int c = accept(u, NULL, NULL);

			if (c < 0)
				continue;
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
			sendmsg(c, &msg, 0);
			close(c);
		}
	}
	close(u);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
		else if (errno != EINTR)
			die("accept");
	}
}

static int do_rebind(int argc, char **argv)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct sockaddr_storage ss;
	struct sockaddr_un un;
	struct cmsghdr *cm;
	socklen_t len;
	int u, fd, err;

	if (argc != 5)
		usage();
	len = parse_addr(argv[3], argv[4], &ss);
	u = unix_socket(argv[2], &un);
	if (connect(u, (struct sockaddr *)&un, sizeof(un)) ||
	    recvmsg(u, &msg, 0) != 1)
		die("receiving the listener");
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		die("no socket received");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	err = bind(fd, (struct sockaddr *)&ss, len) ? errno : 0;
	printf("bind: %s\n", err ? strerror(err) : "accepted");
	return err == EINVAL ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "carry"))
		return do_carry(argc, argv);
	if (!strcmp(argv[1], "share"))
		do_share(argc, argv);
	if (!strcmp(argv[1], "rebind"))
		return do_rebind(argc, argv);
	usage();
	return 2;
}
