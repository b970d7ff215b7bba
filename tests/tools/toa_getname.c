// SPDX-License-Identifier: GPL-2.0
/*
 * A TCP server written like the design note's snippet: accepts one connection into a
 * struct sockaddr_in6, then calls getpeername and getsockname with sockaddr_in6 buffers,
 * and prints each answer as "what: family address port len". With --short it also asks
 * getpeername with a 16-byte buffer (shows the kernel's truncation: len reports the full
 * size). With --nat64 it also asks DPVS toa.ko's NAT64 look-up (getsockopt(IPPROTO_IP,
 * 4096, struct toa_nat64_peer)) and prints "nat64: address port" or "nat64: error NAME".
 * The listening socket's family follows the address given.
 *
 *   toa_getname BIND_ADDR PORT [--short] [--nat64] [--ready FILE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* DPVS kmod/toa/toa.h's NAT64 look-up, as applications patched for DPVS declare it. */
#define TOA_SO_GET_LOOKUP 4096
struct toa_nat64_peer {
	struct in6_addr saddr;
	unsigned short port;
};

static void display(const char *what, const struct sockaddr_in6 *addr, socklen_t len)
{
	char buf[INET6_ADDRSTRLEN];

	if (addr->sin6_family == AF_INET) {
		const struct sockaddr_in *sa = (const struct sockaddr_in *)addr;

		printf("%s: ipv4 %s %d %u\n", what, inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof(buf)),
		       ntohs(sa->sin_port), (unsigned int)len);
	} else if (addr->sin6_family == AF_INET6) {
		printf("%s: ipv6 %s %d %u\n", what, inet_ntop(AF_INET6, &addr->sin6_addr, buf, sizeof(buf)),
		       ntohs(addr->sin6_port), (unsigned int)len);
	} else {
		printf("%s: invalid family %d\n", what, addr->sin6_family);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 addr;
	struct sockaddr_storage bind_addr;
	socklen_t len;
	int family, lfd, fd, one = 1, i, shortbuf = 0, nat64 = 0;
	const char *ready = NULL;
	char data[64];

	if (argc < 3) {
		fprintf(stderr, "usage: %s BIND_ADDR PORT [--short] [--ready FILE]\n", argv[0]);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--short"))
			shortbuf = 1;
		else if (!strcmp(argv[i], "--nat64"))
			nat64 = 1;
		else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = argv[++i];
	}
	memset(&bind_addr, 0, sizeof(bind_addr));
	family = strchr(argv[1], ':') ? AF_INET6 : AF_INET;
	if (family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&bind_addr;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(atoi(argv[2]));
		inet_pton(AF_INET, argv[1], &sa->sin_addr);
		len = sizeof(*sa);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&bind_addr;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(atoi(argv[2]));
		inet_pton(AF_INET6, argv[1], &sa->sin6_addr);
		len = sizeof(*sa);
	}
	lfd = socket(family, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&bind_addr, len) || listen(lfd, 8)) {
		perror("listen");
		return 1;
	}
	if (ready)
		fclose(fopen(ready, "w"));
	len = sizeof(addr);
	memset(&addr, 0, sizeof(addr));
	fd = accept(lfd, (struct sockaddr *)&addr, &len);
	if (fd < 0) {
		perror("accept");
		return 1;
	}
	display("accept", &addr, len);
	/* Read what the client sends first: an option on the first data packet arrives with it. */
	if (read(fd, data, sizeof(data)) < 0)
		perror("read");
	len = sizeof(addr);
	if (getpeername(fd, (struct sockaddr *)&addr, &len) == 0)
		display("getpeername", &addr, len);
	else
		perror("getpeername");
	len = sizeof(addr);
	if (getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
		display("getsockname", &addr, len);
	else
		perror("getsockname");
	if (shortbuf) {
		unsigned char small[sizeof(struct sockaddr_in)];

		len = sizeof(small);
		memset(small, 0xa5, sizeof(small));
		if (getpeername(fd, (struct sockaddr *)small, &len) == 0)
			printf("short: family %d port %d len %u\n", ((struct sockaddr *)small)->sa_family,
			       ntohs(((struct sockaddr_in *)small)->sin_port), (unsigned int)len);
	}
	if (nat64) {
		struct toa_nat64_peer peer;
		char buf[INET6_ADDRSTRLEN];

		len = sizeof(peer);
		if (getsockopt(fd, IPPROTO_IP, TOA_SO_GET_LOOKUP, &peer, &len) == 0)
			printf("nat64: %s %d len %u\n",
			       inet_ntop(AF_INET6, &peer.saddr, buf, sizeof(buf)), ntohs(peer.port),
			       (unsigned int)len);
		else
			printf("nat64: error %s\n", errno == EINVAL ? "EINVAL" :
			       errno == ENOPROTOOPT ? "ENOPROTOOPT" :
			       errno == ENOTCONN ? "ENOTCONN" : "other");
	}
	close(fd);
	close(lfd);
	return 0;
}
