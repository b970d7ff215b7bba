/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * toa_uoa: the type-31 address option a FullNAT balancer puts on the packets it forwards
 * to a real server, and the UOA look-up ABI (getsockopt at level IPPROTO_IP) through which
 * UDP applications on that server get the client's address back.
 * See docs/PROTOCOL.md (sections 1-4) and docs/APPLICATIONS.md.
 *
 * Usable from C (C99 and later; the size checks need C11 or GNU C) and C++ (C++11 and later).
 * It replaces DPVS's uoa.h for applications: `struct uoa_param_map` is DPVS's 58-byte
 * layout, so servers written against that header compile against this one unchanged.
 *
 * All ports and addresses are in network byte order, except `af`, `real_af` and
 * `four_tuple.type`, which are plain host-order values (AF_INET / AF_INET6).
 */
#ifndef _UAPI_LINUX_TOA_UOA_H
#define _UAPI_LINUX_TOA_UOA_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/stddef.h>
#else
/* glibc's netinet/in.h, not linux/in.h: the two cannot be included together in that order. */
#include <netinet/in.h>
#include <stddef.h>
#endif

/* ---- The wire format (PROTOCOL.md sections 1 and 2) ---- */

/* IPv4: an IP header option of type 31 (copied 0, class 0, number 31). */
#define IPV4_OPTION_TYPE	31
/* Its length: 16 carrying IPv4 addresses, 40 carrying IPv6 addresses. */
#define IPV4_OPTION_LEN_IPV4	16
#define IPV4_OPTION_LEN_IPV6	40
/* Bit 0 of `operation`: the carried family (0 IPv4, 1 IPv6). */
#define IPV4_OPTION_OP_IPV6	0x01
/* IPv6: a Destination Options header (next header 60) holding option type 31. */
#define IPV6_HEADER_DST		60
#define IPV6_HEADER_OPTION	31
/* The option's optlen: 12 carrying IPv4 addresses, 36 carrying IPv6 addresses. */
#define IPV6_OPTION_LEN_IPV4	12
#define IPV6_OPTION_LEN_IPV6	36

union two_addr {
	struct {
		unsigned char saddr[4];
		unsigned char daddr[4];
	} ipv4;
	struct {
		unsigned char saddr[16];
		unsigned char daddr[16];
	} ipv6;
};

struct ip_option {
	union {
		struct {
			__u8 type;	/* IPV4_OPTION_TYPE */
			__u8 length;	/* 16 or 40 */
			__u8 operation;	/* bit 0: carried family */
			__u8 padding;
		} ipv4;
		struct {
			__u8 nexthdr;	/* the transport */
			__u8 hdrlen;	/* 1 or 4 (8-byte units after the first 8) */
			__u8 option;	/* IPV6_HEADER_OPTION */
			__u8 optlen;	/* 12 or 36 */
		} ipv6;
	} header;
	__be16 sport;		/* CPORT */
	__be16 dport;		/* VPORT */
	union two_addr addrs;	/* saddr = CIP, daddr = VIP */
};

/* ---- The look-ups: getsockopt(fd, IPPROTO_IP, optname, &param, &len) ---- */

enum {
	UOA_SO_BASE		= 2048,
	/* set */
	UOA_SO_SET_MAX		= UOA_SO_BASE,
	/* get */
	UOA_SO_GET_LOOKUP	= UOA_SO_BASE,		/* v0: the uoa_param_map structures */
	UOA_SO_GET_LOOKUP1	= UOA_SO_BASE + 1,	/* v1: union uoa_sockopt_param */
	UOA_SO_GET_MAX		= UOA_SO_GET_LOOKUP1
};

union inet_addr {
	struct in_addr in;
	struct in6_addr in6;
};

/*
 * v0, 58 bytes: DPVS's uoa.h layout, the one existing UDP servers are compiled with.
 * Input: af, saddr/sport (where the datagram came from: the balancer's side), daddr/dport
 * (where it went: this server; all-zero daddr = any local address). Output: real_af (the
 * client's family), real_saddr/real_sport (CIP/CPORT). Every case (44 46 64 66) is answered.
 */
struct uoa_param_map {
	/* input */
	__u16		af;		/* AF_INET or AF_INET6, host order (DPVS declares __be16) */
	union inet_addr	saddr;
	union inet_addr	daddr;
	__be16		sport;
	__be16		dport;
	/* output */
	__u16		real_af;	/* AF_INET or AF_INET6, host order */
	union inet_addr	real_saddr;
	__be16		real_sport;
} __attribute__((__packed__));

/*
 * v0, 56 bytes: the same without real_af (the design note's layout). It cannot say the
 * client's family: an IPv4 client on an AF_INET6 query comes back as ::ffff:a.b.c.d, an
 * IPv6 client on an AF_INET query fails with EAFNOSUPPORT. Prefer v1 or the 58-byte layout.
 */
struct uoa_param_map_no_real_af {
	/* input */
	__u16		af;
	union inet_addr	saddr;
	union inet_addr	daddr;
	__be16		sport;
	__be16		dport;
	/* output */
	union inet_addr	real_saddr;
	__be16		real_sport;
} __attribute__((__packed__));

/*
 * v0, 18 bytes: the oldest UOA layout (old DPVS's `struct uoa_param_map`), IPv4 only.
 * An IPv6 client fails with EAFNOSUPPORT.
 */
struct uoa_param_map_ipv4 {
	/* input */
	__be32	saddr;
	__be32	daddr;
	__be16	sport;
	__be16	dport;
	/* output */
	__be32	real_saddr;
	__be16	real_sport;
} __attribute__((__packed__));

/*
 * v1, 40 bytes, input and output in one buffer.
 * Input: type = family of the datagram's tuple (AF_INET/AF_INET6, or 0/1 as in the option),
 * sport/addrs.saddr = where it came from, dport/addrs.daddr = where it went (all-zero
 * daddr = any local address). Output: type = the client's family (in the caller's
 * convention), sport = CPORT, dport = VPORT, addrs.saddr = CIP, addrs.daddr = VIP.
 */
struct four_tuple {
	unsigned int	type;
	__be16		sport;
	__be16		dport;
	union two_addr	addrs;
};

union uoa_sockopt_param {
	struct four_tuple input;
	struct four_tuple output;
};

/* ---- Layout checks: the module serves exactly these sizes and offsets ---- */

#if defined(__cplusplus) && __cplusplus >= 201103L
#define TOA_UOA_STATIC_ASSERT(e) static_assert(e, #e)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define TOA_UOA_STATIC_ASSERT(e) _Static_assert(e, #e)
#elif defined(__GNUC__) && !defined(__cplusplus)
#define TOA_UOA_STATIC_ASSERT(e) __extension__ _Static_assert(e, #e)
#endif

#ifdef TOA_UOA_STATIC_ASSERT
TOA_UOA_STATIC_ASSERT(sizeof(union two_addr) == 32);
TOA_UOA_STATIC_ASSERT(sizeof(struct ip_option) == 40);
TOA_UOA_STATIC_ASSERT(offsetof(struct ip_option, sport) == 4);
TOA_UOA_STATIC_ASSERT(offsetof(struct ip_option, addrs) == 8);
TOA_UOA_STATIC_ASSERT(sizeof(union inet_addr) == 16);

TOA_UOA_STATIC_ASSERT(sizeof(struct uoa_param_map) == 58);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, saddr) == 2);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, daddr) == 18);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, sport) == 34);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, dport) == 36);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, real_af) == 38);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, real_saddr) == 40);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, real_sport) == 56);

TOA_UOA_STATIC_ASSERT(sizeof(struct uoa_param_map_no_real_af) == 56);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map_no_real_af, sport) == 34);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map_no_real_af, real_saddr) == 38);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map_no_real_af, real_sport) == 54);

TOA_UOA_STATIC_ASSERT(sizeof(struct uoa_param_map_ipv4) == 18);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map_ipv4, sport) == 8);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map_ipv4, real_saddr) == 12);
TOA_UOA_STATIC_ASSERT(offsetof(struct uoa_param_map_ipv4, real_sport) == 16);

TOA_UOA_STATIC_ASSERT(sizeof(struct four_tuple) == 40);
TOA_UOA_STATIC_ASSERT(sizeof(union uoa_sockopt_param) == 40);
TOA_UOA_STATIC_ASSERT(offsetof(struct four_tuple, sport) == 4);
TOA_UOA_STATIC_ASSERT(offsetof(struct four_tuple, dport) == 6);
TOA_UOA_STATIC_ASSERT(offsetof(struct four_tuple, addrs) == 8);
#undef TOA_UOA_STATIC_ASSERT
#endif

#endif /* _UAPI_LINUX_TOA_UOA_H */
