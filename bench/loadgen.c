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
 *   loadgen udp-cpus CPULIST DST DPORT SECS MODE [FIRST]
 *       One udp-send flood per CPU of CPULIST (comma separated), each process pinned to
 *       its CPU, all released at once: sender k floods DPORT+k (its own tuple in fixed
 *       mode, its own receiving socket); in vary mode its packet i has tuple(FIRST + i +
 *       k * TUPLES / n), so no two senders (and no two runs with FIRSTs far enough apart)
 *       share a tuple. The IP ID is fixed and non-zero here: with ID 0 the kernel draws
 *       one per packet from a hashed counter that all senders to one address share, a
 *       cross-CPU contention of this hand-made flood rather than of the receive path.
 *       Reports each sender's rate and their sum.
 *   loadgen spin-cpus CPULIST SECS
 *       The control of udp-cpus: a register-only loop per CPU, released at once; the
 *       sum of the rates over the rate of one says how much parallel CPU the emulator
 *       gave the guest at that moment.
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
 *   loadgen conn-rate SRVNS CLINS DST PORT SECS opt|none
 *       Short TCP connections for SECS seconds, one after the other, in one process:
 *       a listener on PORT in network namespace SRVNS, clients from CLINS (the names of
 *       ip netns). Each: connect() (opt: IP_OPTIONS with the type-31 option first, so
 *       every packet of the client carries it), accept(), getpeername() on the accepted
 *       socket, close() of the server's socket (FIN), then of the client's with
 *       SO_LINGER 0 (RST): neither side is left in TIME_WAIT, so the client's ports are
 *       free again at once. The client binds its ports in turn from CPORT_FIRST on, so
 *       no tuple comes back within a run of up to CPORT_COUNT connections (the kernel's
 *       own choice skips a random number of ports each time and wraps within a few
 *       thousand connections). Reports connections/s, the distinct tuples used, and how
 *       many getpeername answers were the option's client (192.0.2.1:40000).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PAYLOAD 18
#define PORTS_PER_ADDR 64000
/* Distinct tuples of tuple(): 64000 ports x 65536 addresses. */
#define TUPLES ((uint64_t)PORTS_PER_ADDR * 65536)
#define MAX_CPUS 64
/* spin-cpus: iterations between clock reads (about 0.5 ms in a TCG guest). */
#define SPIN_BATCH (1 << 18)
/* conn-rate's client ports. */
#define CPORT_FIRST 10000
#define CPORT_COUNT 50000

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

/* One raw flood: its socket and its prepared batch of packets. */
struct flood {
	struct sockaddr_in dst;
	double secs;
	uint64_t limit; /* packets to send, or 0: for secs seconds */
	uint64_t first; /* vary: tuple index of the first packet */
	int opt, nop, vary, hl, fd;
	uint8_t pkts[BATCH][20 + 16 + 8 + PAYLOAD];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
};

/* What a flood did: packets offered and sent, over secs seconds. */
struct tally {
	uint64_t offered, sent;
	double secs;
};

/*
 * Prepares f to DST:DPORT in MODE (none, fixed, vary) with IP ID ip_id (0: the kernel
 * picks one per packet). Returns 0, or -1 for an unknown mode.
 */
static int flood_init(struct flood *f, const char *dst, int dport, double secs,
		      const char *mode, uint64_t limit, uint64_t first, uint16_t ip_id)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, dst, &f->dst.sin_addr) != 1)
		return -1;
	f->dst.sin_port = htons(dport);
	f->secs = secs;
	f->limit = limit;
	f->first = first;
	if (strcmp(mode, "none") && strcmp(mode, "fixed") && strcmp(mode, "vary") &&
	    strcmp(mode, "nop"))
		return -1;
	/* nop: IP options, but not ours: eight NOPs (IHL 7) */
	f->nop = strcmp(mode, "nop") == 0;
	f->opt = strcmp(mode, "none") != 0 && !f->nop;
	f->vary = strcmp(mode, "vary") == 0;
	f->hl = 20 + (f->opt ? 16 : f->nop ? 8 : 0);
	f->fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (f->fd < 0)
		die("socket");
	for (i = 0; i < BATCH; i++) {
		uint8_t *p = f->pkts[i];
		struct iphdr *ip = (struct iphdr *)p;
		uint16_t *udp = (uint16_t *)(p + f->hl);

		ip->version = 4;
		ip->ihl = f->hl / 4;
		ip->ttl = 64;
		ip->id = htons(ip_id);
		ip->protocol = IPPROTO_UDP;
		ip->saddr = htonl(0x0a000001);
		ip->daddr = f->dst.sin_addr.s_addr;
		ip->tot_len = htons(f->hl + 8 + PAYLOAD);
		if (f->opt)
			put_option(p + 20);
		if (f->nop)
			memset(p + 20, 1, 8);
		udp[0] = htons(5000);
		udp[1] = f->dst.sin_port;
		udp[2] = htons(8 + PAYLOAD);
		udp[3] = 0;
		memcpy(p + f->hl + 8, "toa_uoa benchmark", 17);
		f->iov[i].iov_base = p;
		f->iov[i].iov_len = f->hl + 8 + PAYLOAD;
		f->msgs[i].msg_hdr.msg_name = &f->dst;
		f->msgs[i].msg_hdr.msg_namelen = sizeof(f->dst);
		f->msgs[i].msg_hdr.msg_iov = &f->iov[i];
		f->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

static void flood_run(struct flood *f, struct tally *t)
{
	uint64_t count = 0, sent = 0;
	double t0 = now(), t1 = t0;
	int i;

	for (;;) {
		int n = BATCH, r;

		if (f->limit) {
			if (count >= f->limit)
				break;
			if (f->limit - count < BATCH)
				n = f->limit - count;
		} else if (t1 - t0 >= f->secs) {
			break;
		}
		if (f->vary) {
			for (i = 0; i < n; i++) {
				struct iphdr *ip = (struct iphdr *)f->pkts[i];
				uint16_t *udp = (uint16_t *)(f->pkts[i] + f->hl);

				tuple(f->first + count + i, &ip->saddr, &udp[0]);
			}
		}
		r = sendmmsg(f->fd, f->msgs, n, 0);
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
	t->offered = count;
	t->sent = sent;
	t->secs = t1 - t0;
}

static int udp_send(int argc, char **argv)
{
	static struct flood f;
	struct tally t;

	if (argc < 6)
		return 2;
	if (flood_init(&f, argv[2], atoi(argv[3]), atof(argv[4]), argv[5],
		       argc > 6 ? strtoull(argv[6], NULL, 0) : 0, 0, 0))
		return 2;
	flood_run(&f, &t);
	printf("offered=%llu sent=%llu secs=%.3f pps=%.0f\n", (unsigned long long)t.offered,
	       (unsigned long long)t.sent, t.secs, t.sent / t.secs);
	return 0;
}

/*
 * The multi-CPU harness: one child per CPU of a list, pinned there, prepared, then
 * released together (the parent closes the pipe they all wait on), each reporting a
 * count over its own seconds.
 */
struct cpu_job {
	/* Called in child k (pinned to its CPU) before the start; returns 0 or -1. */
	int (*prepare)(int k, int n, void *arg);
	/* Called in child k at the start: res = what it counted, for how long, and a second
	 * count (offered packets of a flood). */
	void (*run)(int k, void *arg, double res[3]);
	void *arg;
};

static int parse_cpus(const char *list, int *cpus)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int n = 0;

	if (!copy)
		die("strdup");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_CPUS)
			break;
		cpus[n++] = atoi(tok);
	}
	free(copy);
	return n;
}

/*
 * Returns the number of children run (0 on a bad list); rates[k] = count / secs of child k,
 * total[0] and total[1] = the sums of the counts and of the second counts, total[2] = the
 * longest child's seconds.
 */
static int on_cpus(const char *list, const struct cpu_job *job, double *rates, double total[3])
{
	int cpus[MAX_CPUS], ready[2], go[2], res[2], n, k, failed = 0;
	pid_t pids[MAX_CPUS];

	n = parse_cpus(list, cpus);
	if (!n)
		return 0;
	if (pipe(ready) || pipe(go) || pipe(res))
		die("pipe");
	for (k = 0; k < n; k++) {
		pids[k] = fork();
		if (pids[k] < 0)
			die("fork");
		if (pids[k] == 0) {
			cpu_set_t set;
			double out[4] = { k };
			char c = 0;

			close(go[1]);
			CPU_ZERO(&set);
			CPU_SET(cpus[k], &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				die("sched_setaffinity");
			if (job->prepare && job->prepare(k, n, job->arg))
				c = 1;
			if (write(ready[1], &c, 1) != 1)
				die("write");
			if (c)
				_exit(1);
			/* EOF once the parent closes the other end: all start together. */
			if (read(go[0], &c, 1) < 0)
				die("read");
			job->run(k, job->arg, out + 1);
			if (write(res[1], out, sizeof(out)) != sizeof(out))
				die("write");
			_exit(0);
		}
	}
	/* Only the children write: a child that dies makes the reads below end, not hang. */
	close(go[0]);
	close(ready[1]);
	close(res[1]);
	for (k = 0; k < n; k++) {
		char c;

		if (read(ready[0], &c, 1) != 1)
			die("read");
		failed |= c;
	}
	close(go[1]);
	total[0] = total[1] = total[2] = 0;
	for (k = 0; k < n && !failed; k++) {
		double out[4];

		if (read(res[0], out, sizeof(out)) != sizeof(out))
			die("read");
		rates[(int)out[0]] = out[2] > 0 ? out[1] / out[2] : 0;
		total[0] += out[1];
		total[1] += out[3];
		if (out[2] > total[2])
			total[2] = out[2];
	}
	for (k = 0; k < n; k++) {
		int st;

		if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed = 1;
	}
	if (failed) {
		fprintf(stderr, "loadgen: a child failed\n");
		exit(1);
	}
	return n;
}

/* The rate of each child and their sum: the rate of all of them at once. */
static void print_rates(const char *what, int n, const double *rates, const double total[3])
{
	double sum = 0;
	int k;

	for (k = 0; k < n; k++) {
		printf("%s%d=%.0f ", what, k, rates[k]);
		sum += rates[k];
	}
	printf("senders=%d total=%.0f ", n, total[0]);
	if (!strcmp(what, "pps"))
		printf("offered=%.0f ", total[1]);
	printf("secs_max=%.3f %s=%.0f\n", total[2], what, sum);
}

struct udp_cpus_arg {
	char **argv;
	uint64_t first;
	struct flood f;
};

static int udp_cpus_prepare(int k, int n, void *arg)
{
	struct udp_cpus_arg *a = arg;

	return flood_init(&a->f, a->argv[3], atoi(a->argv[4]) + k, atof(a->argv[5]),
			  a->argv[6], 0, a->first + k * (TUPLES / n), 1);
}

static void udp_cpus_run(int k, void *arg, double res[3])
{
	struct udp_cpus_arg *a = arg;
	struct tally t;

	flood_run(&a->f, &t);
	res[0] = t.sent;
	res[1] = t.secs;
	res[2] = t.offered;
}

static int udp_cpus(int argc, char **argv)
{
	static struct udp_cpus_arg a;
	struct cpu_job job = { udp_cpus_prepare, udp_cpus_run, &a };
	double rates[MAX_CPUS], total[3];
	int n;

	if (argc < 7)
		return 2;
	if (strcmp(argv[6], "none") && strcmp(argv[6], "fixed") && strcmp(argv[6], "vary"))
		return 2;
	a.argv = argv;
	a.first = argc > 7 ? strtoull(argv[7], NULL, 0) : 0;
	n = on_cpus(argv[2], &job, rates, total);
	if (!n)
		return 2;
	print_rates("pps", n, rates, total);
	return 0;
}

static void spin_run(int k, void *arg, double res[3])
{
	double limit = *(double *)arg, t0 = now(), t1 = t0;
	uint64_t n = 0;
	uint32_t x = 2463534242u + k;

	/*
	 * The clock is read once in a long while: a guest whose clock source is the HPET
	 * (Debian's kernel under TCG marks the TSC unstable) reads it through the emulator,
	 * under a lock both vCPUs share, and would measure that lock instead of the host.
	 */
	while (t1 - t0 < limit) {
		int i;

		for (i = 0; i < SPIN_BATCH; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		n += SPIN_BATCH;
		t1 = now();
	}
	/* Keeps the loop from being optimised away. */
	if (x == 1)
		printf("x=1 ");
	res[0] = n;
	res[1] = t1 - t0;
	res[2] = 0;
}

static int spin_cpus(int argc, char **argv)
{
	double secs, rates[MAX_CPUS], total[3];
	struct cpu_job job = { NULL, spin_run, &secs };
	int n;

	if (argc < 4)
		return 2;
	secs = atof(argv[3]);
	n = on_cpus(argv[2], &job, rates, total);
	if (!n)
		return 2;
	print_rates("ips", n, rates, total);
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

static int listen_quietly(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8))
		die("listen");
	return fd;
}

static int listen_on(int port)
{
	int fd = listen_quietly(port);

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

/* Moves the calling process into the network namespace ip netns calls name. */
static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (setns(fd, CLONE_NEWNET))
		die("setns");
	close(fd);
}

static int conn_rate(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	struct sockaddr_storage peer;
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	uint64_t n = 0, rewritten = 0;
	double secs, t0, t1;
	int lfd, opt, one = 1, cport = 0;
	uint8_t o[16];
	socklen_t len;
	char b1[64];

	if (argc < 8)
		return 2;
	if (inet_pton(AF_INET, argv[4], &dst.sin_addr) != 1)
		return 2;
	dst.sin_port = htons(atoi(argv[5]));
	secs = atof(argv[6]);
	if (strcmp(argv[7], "opt") && strcmp(argv[7], "none"))
		return 2;
	opt = !strcmp(argv[7], "opt");
	put_option(o);
	/* A socket stays in the namespace it was made in, whichever the process moves to. */
	enter_netns(argv[2]);
	lfd = listen_quietly(atoi(argv[5]));
	enter_netns(argv[3]);
	t0 = now();
	t1 = t0;
	memset(&peer, 0, sizeof(peer));
	while (t1 - t0 < secs) {
		int c, s;

		c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0)
			die("socket");
		if (setsockopt(c, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)))
			die("SO_LINGER");
		if (opt && setsockopt(c, IPPROTO_IP, IP_OPTIONS, o, sizeof(o)))
			die("IP_OPTIONS");
		/* SO_REUSEADDR: a port an earlier benchmark's connection left in TIME_WAIT. */
		if (setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
			die("SO_REUSEADDR");
		src.sin_port = htons(CPORT_FIRST + cport);
		cport = (cport + 1) % CPORT_COUNT;
		if (bind(c, (struct sockaddr *)&src, sizeof(src)))
			die("bind");
		if (connect(c, (struct sockaddr *)&dst, sizeof(dst)))
			die("connect");
		s = accept(lfd, NULL, NULL);
		if (s < 0)
			die("accept");
		len = sizeof(peer);
		if (getpeername(s, (struct sockaddr *)&peer, &len))
			die("getpeername");
		if (peer.ss_family == AF_INET) {
			const struct sockaddr_in *p = (const void *)&peer;

			if (p->sin_addr.s_addr == htonl(0xc0000201) && p->sin_port == htons(40000))
				rewritten++;
		}
		close(s);
		close(c);
		n++;
		t1 = now();
	}
	printf("conns=%llu tuples=%llu secs=%.3f cps=%.0f rewritten=%llu last_peer=%s\n",
	       (unsigned long long)n, (unsigned long long)(n < CPORT_COUNT ? n : CPORT_COUNT),
	       t1 - t0, n / (t1 - t0), (unsigned long long)rewritten, show(&peer, b1, sizeof(b1)));
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
	else if (!strcmp(argv[1], "conn-rate"))
		r = conn_rate(argc, argv);
	else if (!strcmp(argv[1], "udp-cpus"))
		r = udp_cpus(argc, argv);
	else if (!strcmp(argv[1], "spin-cpus"))
		r = spin_cpus(argc, argv);
	if (r == 2)
		fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
	return r;
}
