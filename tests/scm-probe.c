// SPDX-License-Identifier: GPL-2.0-only
/*
 * scm-probe: the sockets the same-cgroup-mark tests need.
 *
 *   scm-probe listen ADDR PORT [--reuseport] [--v6only|--dualstack] [--echo]
 *		      [--nobind] [--freebind] [--steer-first] [--device IF]
 *	Bind and listen, print the bound port on stdout, then accept forever
 *	(echoing what each peer sends with --echo, else closing at once).
 *	--nobind calls listen() without bind(): the kernel picks the port.
 *	--freebind binds with IP_FREEBIND, to an address the host need not own.
 *	--steer-first attaches a classic BPF reuseport program that sends
 *	every connection to the group's first member (no privilege needed).
 *	--device binds the socket to the network device IF (SO_BINDTODEVICE).
 *
 *   scm-probe connect ADDR PORT [--mark M] [--bind ADDR] [--udp|--icmp]
 *		       [--talk] [--timeout SEC] [--nonblock|--fastopen|
 *		       --fastopen-connect]
 *	Optionally set SO_MARK to M first, connect, print "mark=0x%08x" read
 *	back with getsockopt(SO_MARK), also when connect() failed.  --talk sends
 *	a line and waits for it to come back.  --nonblock connects without
 *	blocking and waits for the result with poll(); --fastopen connects with
 *	sendto(MSG_FASTOPEN) of a line instead of connect(); --fastopen-connect
 *	sets TCP_FASTOPEN_CONNECT before connect().  Exit 0 when connected, 1
 *	on a socket error, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: scm-probe listen ADDR PORT [--reuseport] [--v6only|--dualstack] [--echo] [--nobind] [--freebind]\n"
		"                        [--steer-first] [--device IF]\n"
		"       scm-probe connect ADDR PORT [--mark M] [--bind ADDR] [--udp|--icmp] [--talk] [--timeout SEC]\n"
		"                         [--nonblock|--fastopen|--fastopen-connect]\n");
	exit(2);
}

static socklen_t parse_addr(const char *s, unsigned long port,
			    struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port > 65535)
		usage();
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return sizeof(*in4);
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof(*in6);
	}
	fprintf(stderr, "scm-probe: bad address '%s'\n", s);
	exit(2);
}

static int die(const char *what)
{
	fprintf(stderr, "scm-probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void echo_peer(int c)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (write(c, buf, n) != n)
			break;
}

static int do_listen(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, v6only = -1, echo = 0, reuseport = 0, nobind = 0;
	int freebind = 0, steer = 0;
	const char *device = NULL;
	int fd, i;

	if (argc < 4)
		usage();
	len = parse_addr(argv[2], strtoul(argv[3], NULL, 10), &ss);
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--reuseport"))
			reuseport = 1;
		else if (!strcmp(argv[i], "--v6only"))
			v6only = 1;
		else if (!strcmp(argv[i], "--dualstack"))
			v6only = 0;
		else if (!strcmp(argv[i], "--echo"))
			echo = 1;
		else if (!strcmp(argv[i], "--nobind"))
			nobind = 1;
		else if (!strcmp(argv[i], "--freebind"))
			freebind = 1;
		else if (!strcmp(argv[i], "--steer-first"))
			steer = 1;
		else if (!strcmp(argv[i], "--device") && i + 1 < argc)
			device = argv[++i];
		else
			usage();
	}
	fd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		die("SO_REUSEPORT");
	if (v6only >= 0 && ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		die("IPV6_V6ONLY");
	if (freebind && (ss.ss_family == AF_INET ?
			 setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) :
			 setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))))
		die("IP_FREEBIND");
	if (device && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device,
				 strlen(device)))
		die("SO_BINDTODEVICE");
	if (!nobind && bind(fd, (struct sockaddr *)&ss, len))
		die("bind");
	if (listen(fd, 128))
		die("listen");
	if (steer) {
		/*
		 * "ret #0", the index of the member to deliver to, for the
		 * whole group the socket joined when it started listening.
		 */
		struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
		struct sock_fprog prog = { .len = 1, .filter = code };

		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF,
			       &prog, sizeof(prog)))
			die("SO_ATTACH_REUSEPORT_CBPF");
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	printf("%u\n", ntohs(ss.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&ss)->sin_port :
			     ((struct sockaddr_in6 *)&ss)->sin6_port));
	fflush(stdout);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (echo && fork() == 0) {
			close(fd);
			echo_peer(c);
			_exit(0);
		}
		close(c);
	}
}

static int do_connect(int argc, char **argv)
{
	struct sockaddr_storage ss, src;
	socklen_t len, srclen = 0;
	int type = SOCK_STREAM, proto = IPPROTO_TCP, talk = 0, i, fd;
	unsigned long mark = 0, timeout = 5;
	int set_mark = 0, err, nonblock = 0, fastopen = 0, fastopen_connect = 0;
	unsigned int got = 0;
	socklen_t glen = sizeof(got);
	struct timeval tv;

	if (argc < 4)
		usage();
	len = parse_addr(argv[2], strtoul(argv[3], NULL, 10), &ss);
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--mark") && i + 1 < argc) {
			mark = strtoul(argv[++i], NULL, 0);
			set_mark = 1;
		} else if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
			srclen = parse_addr(argv[++i], 0, &src);
		} else if (!strcmp(argv[i], "--udp")) {
			type = SOCK_DGRAM;
			proto = IPPROTO_UDP;
		} else if (!strcmp(argv[i], "--icmp")) {
			type = SOCK_DGRAM;
			proto = ss.ss_family == AF_INET ? IPPROTO_ICMP :
							  IPPROTO_ICMPV6;
		} else if (!strcmp(argv[i], "--talk")) {
			talk = 1;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--nonblock")) {
			nonblock = 1;
		} else if (!strcmp(argv[i], "--fastopen")) {
			fastopen = 1;
		} else if (!strcmp(argv[i], "--fastopen-connect")) {
			fastopen_connect = 1;
		} else {
			usage();
		}
	}
	fd = socket(ss.ss_family, type, proto);
	if (fd < 0)
		die("socket");
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (set_mark) {
		unsigned int m = mark;

		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)))
			die("SO_MARK");
	}
	if (srclen && bind(fd, (struct sockaddr *)&src, srclen))
		die("bind");
	if (fastopen_connect &&
	    setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &(int){ 1 }, sizeof(int)))
		die("TCP_FASTOPEN_CONNECT");
	if (nonblock && fcntl(fd, F_SETFL, O_NONBLOCK))
		die("O_NONBLOCK");
	if (fastopen) {
		static const char line[] = "same-cgroup-mark\n";

		err = sendto(fd, line, sizeof(line) - 1, MSG_FASTOPEN,
			     (struct sockaddr *)&ss, len) < 0 ? errno : 0;
	} else {
		err = connect(fd, (struct sockaddr *)&ss, len) ? errno : 0;
	}
	if (nonblock && err == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		socklen_t elen = sizeof(err);

		if (poll(&p, 1, timeout * 1000) != 1)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
			die("getsockopt SO_ERROR");
	}
	/* The mark is set before the SYN leaves: report it even on failure. */
	if (getsockopt(fd, SOL_SOCKET, SO_MARK, &got, &glen))
		die("getsockopt SO_MARK");
	printf("mark=0x%08x\n", got);
	fflush(stdout);
	if (err) {
		errno = err;
		die("connect");
	}
	if (talk) {
		static const char msg[] = "same-cgroup-mark\n";
		char buf[sizeof(msg)];
		size_t n = 0;
		ssize_t r;

		if (write(fd, msg, sizeof(msg) - 1) != sizeof(msg) - 1)
			die("write");
		while (n < sizeof(msg) - 1) {
			r = read(fd, buf + n, sizeof(msg) - 1 - n);
			if (r <= 0) {
				if (!r)
					errno = ECONNRESET;
				die("read");
			}
			n += r;
		}
		if (memcmp(buf, msg, sizeof(msg) - 1)) {
			fprintf(stderr, "scm-probe: echo mismatch\n");
			return 1;
		}
		printf("echo=ok\n");
	}
	fflush(stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "listen"))
		return do_listen(argc, argv);
	if (!strcmp(argv[1], "connect"))
		return do_connect(argc, argv);
	usage();
	return 2;
}
