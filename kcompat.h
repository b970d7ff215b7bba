/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs, on the C side, between the kernels toa_uoa builds for (the 6.12 test
 * kernel, Debian 13's 7.3): one wrapper per changed kernel API. Kbuild probes the tree's
 * headers and defines the TOA_UOA_* feature macros used here; the Rust side's differences
 * are cfgs set in Kbuild too.
 */
#ifndef TOA_UOA_KCOMPAT_H
#define TOA_UOA_KCOMPAT_H

#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/tcp.h>

/*
 * The established-socket look-ups lost their hashinfo argument after 6.12 (each netns's
 * TCP hash table is found from the net itself).
 */
static inline struct sock *toa_uoa_lookup_established4(struct net *net, __be32 saddr, __be16 sport,
						       __be32 daddr, u16 hnum)
{
#ifdef TOA_UOA_LOOKUP_NO_HASHINFO
	return __inet_lookup_established(net, saddr, sport, daddr, hnum, 0, 0);
#else
	return __inet_lookup_established(net, net->ipv4.tcp_death_row.hashinfo, saddr, sport,
					 daddr, hnum, 0, 0);
#endif
}

#if IS_ENABLED(CONFIG_IPV6)
static inline struct sock *toa_uoa_lookup_established6(struct net *net, const struct in6_addr *saddr,
						       __be16 sport, const struct in6_addr *daddr,
						       u16 hnum)
{
#ifdef TOA_UOA_LOOKUP_NO_HASHINFO
	return __inet6_lookup_established(net, saddr, sport, daddr, hnum, 0, 0);
#else
	return __inet6_lookup_established(net, net->ipv4.tcp_death_row.hashinfo, saddr, sport,
					  daddr, hnum, 0, 0);
#endif
}
#endif

#endif
