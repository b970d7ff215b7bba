// SPDX-License-Identifier: GPL-2.0
/*
 * A UDP server behind a FullNAT balancer, written the way existing UOA users write theirs:
 * recvfrom(), then ask the toa_uoa module who the real client was, with the datagram's
 * tuple (where it came from: the balancer; where it went: this server). It asks twice, to
 * show both ABIs: v0 with DPVS's 58-byte struct uoa_param_map, and v1. For each datagram:
 *
 *   from LB_ADDR LB_PORT
 *   v0 CLIENT_ADDR CLIENT_PORT            (or: v0 error ERRNO_NAME)
 *   v1 CLIENT_ADDR CLIENT_PORT VIP VPORT  (or: v1 error ERRNO_NAME)
 *
 * Build: cc -Wall -I include/uapi -o udp_server examples/udp_server.c
 * Usage: udp_server BIND_ADDR PORT [--count N] [--ready FILE]
 *   The socket's family follows BIND_ADDR ("::" gives a dual-stack socket: IPv4 datagrams
 *   then arrive as ::ffff:a.b.c.d, which the module looks up as IPv4).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/toa_uoa.h>

static const char *errname(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";		/* no record for this tuple */
	case ENOPROTOOPT: return "ENOPROTOOPT";	/* the module is not loaded */
	case EINVAL: return "EINVAL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	default: return strerror(e);
	}
}

/* The address and port of a sockaddr, as text. */
static void sa_print(const struct sockaddr_storage *ss, char *host, size_t n, int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, n);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, n);
		*port = ntohs(sin6->sin6_port);
	}
}

/* v0: DPVS's struct uoa_param_map (58 bytes). Prints the client. */
static void lookup_v0(int fd, const struct sockaddr_storage *peer,
		      const struct sockaddr_storage *local)
{
	struct uoa_param_map map;
	socklen_t len = sizeof(map);
	char host[INET6_ADDRSTRLEN];

	memset(&map, 0, sizeof(map));
	map.af = peer->ss_family;
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)peer;
		const struct sockaddr_in *d = (const struct sockaddr_in *)local;

		map.saddr.in = s->sin_addr;
		map.sport = s->sin_port;
		map.daddr.in = d->sin_addr;
		map.dport = d->sin_port;
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)peer;
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)local;

		map.saddr.in6 = s->sin6_addr;
		map.sport = s->sin6_port;
		map.daddr.in6 = d->sin6_addr;
		map.dport = d->sin6_port;
	}
	if (getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP, &map, &len) < 0) {
		printf("v0 error %s\n", errname(errno));
		return;
	}
	if (map.real_af == AF_INET)
		inet_ntop(AF_INET, &map.real_saddr.in, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &map.real_saddr.in6, host, sizeof(host));
	printf("v0 %s %d\n", host, ntohs(map.real_sport));
}

/* v1: union uoa_sockopt_param (40 bytes). Prints the client and the service. */
static void lookup_v1(int fd, const struct sockaddr_storage *peer,
		      const struct sockaddr_storage *local)
{
	union uoa_sockopt_param param;
	socklen_t len = sizeof(param);
	char chost[INET6_ADDRSTRLEN], vhost[INET6_ADDRSTRLEN];
	int fam;

	memset(&param, 0, sizeof(param));
	param.input.type = peer->ss_family;
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)peer;
		const struct sockaddr_in *d = (const struct sockaddr_in *)local;

		memcpy(param.input.addrs.ipv4.saddr, &s->sin_addr, 4);
		memcpy(param.input.addrs.ipv4.daddr, &d->sin_addr, 4);
		param.input.sport = s->sin_port;
		param.input.dport = d->sin_port;
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)peer;
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)local;

		memcpy(param.input.addrs.ipv6.saddr, &s->sin6_addr, 16);
		memcpy(param.input.addrs.ipv6.daddr, &d->sin6_addr, 16);
		param.input.sport = s->sin6_port;
		param.input.dport = d->sin6_port;
	}
	if (getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP1, &param, &len) < 0) {
		printf("v1 error %s\n", errname(errno));
		return;
	}
	fam = param.output.type == AF_INET ? AF_INET : AF_INET6;
	if (fam == AF_INET) {
		inet_ntop(AF_INET, param.output.addrs.ipv4.saddr, chost, sizeof(chost));
		inet_ntop(AF_INET, param.output.addrs.ipv4.daddr, vhost, sizeof(vhost));
	} else {
		inet_ntop(AF_INET6, param.output.addrs.ipv6.saddr, chost, sizeof(chost));
		inet_ntop(AF_INET6, param.output.addrs.ipv6.daddr, vhost, sizeof(vhost));
	}
	printf("v1 %s %d %s %d\n", chost, ntohs(param.output.sport), vhost,
	       ntohs(param.output.dport));
}

int main(int argc, char **argv)
{
	struct sockaddr_storage bind_addr, peer, local;
	socklen_t len;
	const char *ready = NULL;
	int fd, i, count = -1;
	char buf[65536], host[INET6_ADDRSTRLEN];
	int port;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BIND_ADDR PORT [--count N] [--ready FILE]\n", argv[0]);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = argv[++i];
	}
	memset(&bind_addr, 0, sizeof(bind_addr));
	if (strchr(argv[1], ':')) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&bind_addr;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(atoi(argv[2]));
		if (inet_pton(AF_INET6, argv[1], &sa->sin6_addr) != 1)
			return fprintf(stderr, "bad address %s\n", argv[1]), 2;
		len = sizeof(*sa);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&bind_addr;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(atoi(argv[2]));
		if (inet_pton(AF_INET, argv[1], &sa->sin_addr) != 1)
			return fprintf(stderr, "bad address %s\n", argv[1]), 2;
		len = sizeof(*sa);
	}
	fd = socket(bind_addr.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&bind_addr, len) < 0) {
		perror("bind");
		return 1;
	}
	if (ready)
		fclose(fopen(ready, "w"));
	setvbuf(stdout, NULL, _IOLBF, 0);

	while (count < 0 || count-- > 0) {
		ssize_t n;

		len = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
		if (n < 0) {
			perror("recvfrom");
			return 1;
		}
		/*
		 * The local side of the tuple: the address the socket is bound to (an
		 * all-zero address, when bound to any, means "any local address" to the
		 * module) and its port.
		 */
		len = sizeof(local);
		if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) {
			perror("getsockname");
			return 1;
		}
		sa_print(&peer, host, sizeof(host), &port);
		printf("from %s %d\n", host, port);
		lookup_v0(fd, &peer, &local);
		lookup_v1(fd, &peer, &local);
	}
	close(fd);
	return 0;
}
