// SPDX-License-Identifier: GPL-2.0
/*
 * Load generators and call-rate loops for the toa_uoa benchmark suite (bench/guest.sh).
 * Compiled in the guest with gcc -O2 into /tmp. Every mode prints one line of
 * "key=value" pairs on stdout; the shell side picks the values it needs.
 *
 *   loadgen udp-send DST DPORT SECS MODE [COUNT]
 *       Raw IPv4/UDP flood (IP_HDRINCL, sendmmsg batches of 64, 18-byte payload, UDP
 *       checksum 0) to DST:DPORT for SECS seconds, or exactly COUNT packets if COUNT > 0.
 *       MODE none:  no IP option, source 10.0.0.1:5000
 *            fixed: the type-31 option on every packet, one tuple (10.0.0.1:5000)
 *            vary:  the option on every packet, packet i from tuple(i): a new tuple per
 *                   packet (64000 source ports x source addresses 10.1.0.0/16)
 *   loadgen udp-recv PORT
 *       Counts datagrams on 0.0.0.0:PORT (recvmmsg) until 1 s without one after the first;
 *       reports the rate between the first and the last.
 *   loadgen udp-sink PORT
 *       Binds 0.0.0.0:PORT with the smallest receive buffer and never reads: every
 *       datagram goes the whole way to the socket (and is counted by the kernel as
 *       InDatagrams or RcvbufErrors) without a reader competing for the CPU.
 *   loadgen tcp-recv PORT          accepts one connection, reads until EOF, reports bytes/s
 *   loadgen tcp-send DST PORT SECS writes 64 KiB chunks for SECS seconds
 *   loadgen lookup RSADDR DPORT NTUPLES SECS v1|v0|v1miss|v0miss
 *       getsockopt(IPPROTO_IP, 2049 v1 40 bytes | 2048 v0 58 bytes) on a UDP socket for
 *       tuples tuple(rand % NTUPLES) -> RSADDR:DPORT (the ones udp-send vary recorded);
 *       *miss: the same tuples with DPORT+1 (no record). Reports calls/s, hits, errors.
 *   loadgen tcp-conn DST PORT
 *       Two connections to DST:PORT: the first with the option on all its packets
 *       (CIP 192.0.2.1:40000, VIP 198.51.100.1:80), the second without; waits for EOF.
 *   loadgen getname-srv PORT SECS
 *       Accepts the two connections of tcp-conn and calls getpeername and getsockname
 *       on each for SECS seconds apiece; reports calls/s of the four and the answers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PAYLOAD 18
#define PORTS_PER_ADDR 64000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The tuple of packet i in vary mode: source 10.1.a.b, port 1024 + i % 64000. */
static void tuple(uint64_t i, uint32_t *saddr, uint16_t *sport)
{
	uint32_t a = (uint32_t)(i / PORTS_PER_ADDR);

	*saddr = htonl(0x0a010000u | (a & 0xffff));
	*sport = htons(1024 + i % PORTS_PER_ADDR);
}

/* IPv4 option type 31, length 16, carried family IPv4: CPORT, VPORT, CIP, VIP. */
static void put_option(uint8_t *o)
{
	uint16_t cport = htons(40000), vport = htons(80);
	uint32_t cip = htonl(0xc0000201), vip = htonl(0xc6336401);

	o[0] = 31;
	o[1] = 16;
	o[2] = 0;
	o[3] = 0;
	memcpy(o + 4, &cport, 2);
	memcpy(o + 6, &vport, 2);
	memcpy(o + 8, &cip, 4);
	memcpy(o + 12, &vip, 4);
}

static int udp_send(int argc, char **argv)
{
	static uint8_t pkts[BATCH][20 + 16 + 8 + PAYLOAD];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	const char *mode;
	int fd, i, opt, vary, hl;
	uint64_t count = 0, sent = 0, limit;
	double secs, t0, t1;

	if (argc < 6)
		return 2;
	inet_pton(AF_INET, argv[2], &dst.sin_addr);
	dst.sin_port = htons(atoi(argv[3]));
	secs = atof(argv[4]);
	mode = argv[5];
	limit = argc > 6 ? strtoull(argv[6], NULL, 0) : 0;
	opt = strcmp(mode, "none") != 0;
	vary = strcmp(mode, "vary") == 0;
	hl = 20 + (opt ? 16 : 0);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		die("socket");
	for (i = 0; i < BATCH; i++) {
		uint8_t *p = pkts[i];
		struct iphdr *ip = (struct iphdr *)p;
		uint16_t *udp = (uint16_t *)(p + hl);

		memset(p, 0, sizeof(pkts[i]));
		ip->version = 4;
		ip->ihl = hl / 4;
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = htonl(0x0a000001);
		ip->daddr = dst.sin_addr.s_addr;
		ip->tot_len = htons(hl + 8 + PAYLOAD);
		if (opt)
			put_option(p + 20);
		udp[0] = htons(5000);
		udp[1] = dst.sin_port;
		udp[2] = htons(8 + PAYLOAD);
		udp[3] = 0;
		memcpy(p + hl + 8, "toa_uoa benchmark", 17);
		iov[i].iov_base = p;
		iov[i].iov_len = hl + 8 + PAYLOAD;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now();
	t1 = t0;
	for (;;) {
		int n = BATCH, r;

		if (limit) {
			if (count >= limit)
				break;
			if (limit - count < BATCH)
				n = limit - count;
		} else if (t1 - t0 >= secs) {
			break;
		}
		if (vary) {
			for (i = 0; i < n; i++) {
				struct iphdr *ip = (struct iphdr *)pkts[i];
				uint16_t *udp = (uint16_t *)(pkts[i] + hl);

				tuple(count + i, &ip->saddr, &udp[0]);
			}
		}
		r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN)
				r = n; /* dropped locally: count as offered */
			else
				die("sendmmsg");
		} else {
			sent += r;
		}
		count += r;
		t1 = now();
	}
	printf("offered=%llu sent=%llu secs=%.3f pps=%.0f\n", (unsigned long long)count,
	       (unsigned long long)sent, t1 - t0, sent / (t1 - t0));
	return 0;
}

static int udp_recv(int argc, char **argv)
{
	static char bufs[BATCH][256];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, i, rcvbuf = 8 << 20, one = 1;
	uint64_t n = 0;
	double first = 0, last = 0;

	if (argc < 3)
		return 2;
	a.sin_port = htons(atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, n ? 1000 : 30000);

		if (r <= 0)
			break;
		r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (r > 0) {
			if (!n)
				first = now();
			n += r;
			last = now();
		}
	}
	printf("received=%llu secs=%.3f pps=%.0f\n", (unsigned long long)n, last - first,
	       last > first ? n / (last - first) : 0.0);
	return 0;
}

static int udp_sink(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, rcvbuf = 1, one = 1;

	if (argc < 3)
		return 2;
	a.sin_port = htons(atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8))
		die("listen");
	printf("ready\n");
	fflush(stdout);
	return fd;
}

static int connect_to(const char *host, int port, int with_option)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint8_t o[16];

	inet_pton(AF_INET, host, &a.sin_addr);
	if (with_option) {
		put_option(o);
		if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, o, sizeof(o)))
			die("IP_OPTIONS");
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

static int tcp_recv(int argc, char **argv)
{
	static char buf[1 << 16];
	int lfd, fd;
	uint64_t n = 0;
	double first = 0, last = 0;
	ssize_t r;

	if (argc < 3)
		return 2;
	lfd = listen_on(atoi(argv[2]));
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (!n)
			first = now();
		n += r;
		last = now();
	}
	printf("bytes=%llu secs=%.3f Bps=%.0f\n", (unsigned long long)n, last - first,
	       last > first ? n / (last - first) : 0.0);
	return 0;
}

static int tcp_send(int argc, char **argv)
{
	static char buf[1 << 16];
	int fd;
	double t0, secs;
	uint64_t n = 0;

	if (argc < 5)
		return 2;
	secs = atof(argv[4]);
	fd = connect_to(argv[2], atoi(argv[3]), 0);
	memset(buf, 'x', sizeof(buf));
	t0 = now();
	while (now() - t0 < secs) {
		ssize_t r = write(fd, buf, sizeof(buf));

		if (r < 0)
			die("write");
		n += r;
	}
	close(fd);
	printf("sent_bytes=%llu\n", (unsigned long long)n);
	return 0;
}

static int lookup(int argc, char **argv)
{
	uint8_t buf[64];
	uint32_t daddr, saddr, x = 2463534242u;
	uint16_t sport, dport;
	uint64_t ntuples, calls = 0, hits = 0, errs = 0;
	int fd, v1, miss, lasterr = 0;
	double secs, t0, t1;
	socklen_t len;

	if (argc < 7)
		return 2;
	inet_pton(AF_INET, argv[2], &daddr);
	dport = atoi(argv[3]);
	ntuples = strtoull(argv[4], NULL, 0);
	secs = atof(argv[5]);
	v1 = !strncmp(argv[6], "v1", 2);
	miss = strstr(argv[6], "miss") != NULL;
	if (miss)
		dport++;
	dport = htons(dport);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	t0 = now();
	t1 = t0;
	while (t1 - t0 < secs) {
		int k;

		for (k = 0; k < 256; k++) {
			uint16_t af = AF_INET;
			uint32_t type = AF_INET;

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			tuple(x % ntuples, &saddr, &sport);
			memset(buf, 0, sizeof(buf));
			if (v1) {
				/* struct four_tuple: type, sport, dport, saddr, daddr (40 bytes) */
				memcpy(buf, &type, 4);
				memcpy(buf + 4, &sport, 2);
				memcpy(buf + 6, &dport, 2);
				memcpy(buf + 8, &saddr, 4);
				memcpy(buf + 12, &daddr, 4);
				len = 40;
			} else {
				/* DPVS uoa_param_map: af, saddr, daddr, sport, dport, real_af, ... (58) */
				memcpy(buf, &af, 2);
				memcpy(buf + 2, &saddr, 4);
				memcpy(buf + 18, &daddr, 4);
				memcpy(buf + 34, &sport, 2);
				memcpy(buf + 36, &dport, 2);
				len = 58;
			}
			if (getsockopt(fd, IPPROTO_IP, v1 ? 2049 : 2048, buf, &len) == 0) {
				hits++;
			} else {
				errs++;
				lasterr = errno;
			}
			calls++;
		}
		t1 = now();
	}
	printf("calls=%llu hits=%llu errors=%llu lasterr=%d secs=%.3f cps=%.0f\n",
	       (unsigned long long)calls, (unsigned long long)hits, (unsigned long long)errs,
	       lasterr, t1 - t0, calls / (t1 - t0));
	return 0;
}

static int tcp_conn(int argc, char **argv)
{
	char c;
	int a, b;

	if (argc < 4)
		return 2;
	a = connect_to(argv[2], atoi(argv[3]), 1);
	if (write(a, "o", 1) != 1)
		die("write");
	/* The server accepts in this order: wait for its go-ahead before the second one. */
	if (read(a, &c, 1) != 1)
		die("read");
	b = connect_to(argv[2], atoi(argv[3]), 0);
	while (read(a, &c, 1) > 0)
		;
	close(b);
	return 0;
}

static double call_rate(int fd, int peer, double secs, struct sockaddr_storage *out,
			socklen_t *outlen)
{
	uint64_t n = 0;
	double t0 = now(), t1 = t0;

	while (t1 - t0 < secs) {
		int k;

		for (k = 0; k < 256; k++) {
			socklen_t len = sizeof(*out);
			int r = peer ? getpeername(fd, (struct sockaddr *)out, &len) :
				       getsockname(fd, (struct sockaddr *)out, &len);

			if (r)
				die("getname");
			*outlen = len;
		}
		n += 256;
		t1 = now();
	}
	return n / (t1 - t0);
}

static const char *show(const struct sockaddr_storage *s, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (s->ss_family == AF_INET) {
		const struct sockaddr_in *i = (const void *)s;

		snprintf(buf, n, "%s:%d", inet_ntop(AF_INET, &i->sin_addr, a, sizeof(a)),
			 ntohs(i->sin_port));
	} else {
		const struct sockaddr_in6 *i = (const void *)s;

		snprintf(buf, n, "[%s]:%d", inet_ntop(AF_INET6, &i->sin6_addr, a, sizeof(a)),
			 ntohs(i->sin6_port));
	}
	return buf;
}

static int getname_srv(int argc, char **argv)
{
	struct sockaddr_storage s;
	socklen_t l;
	int lfd, fds[2], i, p;
	double secs;
	char c, b1[64];
	const char *names[2] = { "rec", "norec" };

	if (argc < 4)
		return 2;
	secs = atof(argv[3]);
	lfd = listen_on(atoi(argv[2]));
	fds[0] = accept(lfd, NULL, NULL);
	if (fds[0] < 0 || read(fds[0], &c, 1) != 1)
		die("accept");
	if (write(fds[0], "k", 1) != 1)
		die("write");
	fds[1] = accept(lfd, NULL, NULL);
	if (fds[1] < 0)
		die("accept");
	for (i = 0; i < 2; i++) {
		for (p = 1; p >= 0; p--) {
			double r = call_rate(fds[i], p, secs, &s, &l);

			printf("%s_%s=%.0f %s_%s_addr=%s ", names[i], p ? "peer" : "sock", r,
			       names[i], p ? "peer" : "sock", show(&s, b1, sizeof(b1)));
		}
	}
	printf("\n");
	close(fds[0]);
	close(fds[1]);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		;
	else if (!strcmp(argv[1], "udp-send"))
		r = udp_send(argc, argv);
	else if (!strcmp(argv[1], "udp-recv"))
		r = udp_recv(argc, argv);
	else if (!strcmp(argv[1], "udp-sink"))
		r = udp_sink(argc, argv);
	else if (!strcmp(argv[1], "tcp-recv"))
		r = tcp_recv(argc, argv);
	else if (!strcmp(argv[1], "tcp-send"))
		r = tcp_send(argc, argv);
	else if (!strcmp(argv[1], "lookup"))
		r = lookup(argc, argv);
	else if (!strcmp(argv[1], "tcp-conn"))
		r = tcp_conn(argc, argv);
	else if (!strcmp(argv[1], "getname-srv"))
		r = getname_srv(argc, argv);
	if (r == 2)
		fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
	return r;
}
