/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between toa_uoa's Rust code and the kernel's C.
 *
 * toa_uoa_*     helpers.c provides them, Rust calls them (bindgen reads this file from
 *               Kbuild; kernel structures stay opaque on the Rust side).
 * toa_uoa_rs_*  the Rust crate provides them (#[no_mangle] extern "C"), helpers.c calls
 *               them from the kernel's callbacks.
 */
#ifndef TOA_UOA_FFI_H
#define TOA_UOA_FFI_H

#include <linux/errno.h>
#include <linux/types.h>

struct sock;
struct seq_file;
struct net;
struct toa_uoa_net;

/* Bounds enforced on the module parameters; Rust relies on them. */
enum {
	TOA_UOA_MAX_RECORDS_MIN = 1,
	TOA_UOA_MAX_RECORDS_MAX = 1 << 24,
	TOA_UOA_MAX_RECORDS_DEFAULT = 1 << 16,
	TOA_UOA_IDLE_TIMEOUT_MIN = 1,
	TOA_UOA_IDLE_TIMEOUT_MAX = 86400,
	TOA_UOA_IDLE_TIMEOUT_DEFAULT = 300,
	/* Bytes of a packet (from its IP header) handed to the parser. */
	TOA_UOA_PEEK_MAX = 256,
	/* getsockopt optnames: UOA_SO_GET_LOOKUP (v0) and UOA_SO_GET_LOOKUP1 (v1). */
	TOA_UOA_SO_BASE = 2048,
	TOA_UOA_SO_GET_MAX = 2049,
	/* errno values the kernel crate does not name on 6.12 */
	TOA_UOA_EAFNOSUPPORT = EAFNOSUPPORT,
};

/*
 * A connected socket's tuple as the packets arriving for it carry it: saddr/sport the
 * remote side, daddr/dport this host's. Ports in host order; IPv4 addresses (also an
 * AF_INET6 socket's IPv4-mapped ones) in the first 4 bytes, family 4.
 */
struct toa_uoa_tuple {
	u8 family;
	u8 protocol;
	u16 sport;
	u16 dport;
	u8 saddr[16];
	u8 daddr[16];
};

/* Module parameters (module_param in helpers.c, validated there). */
unsigned int toa_uoa_param_max_records(void);
unsigned int toa_uoa_param_idle_timeout(void);
const u8 *toa_uoa_param_trusted_sources(size_t *len);

/* Registration of everything the kernel calls back, undone in reverse order. */
int toa_uoa_pernet_register(unsigned int ncounters);
void toa_uoa_pernet_unregister(void);
int toa_uoa_sockopt_register(void);
int toa_uoa_getname_register(void);
void toa_uoa_getname_unregister(void);
u64 toa_uoa_getname_missed(void);
void toa_uoa_sockopt_unregister(void);

/* Per-namespace state: the lock over the Rust record table, per-CPU counters, made lazily. */
unsigned long toa_uoa_net_lock(struct toa_uoa_net *tn);
void toa_uoa_net_unlock(struct toa_uoa_net *tn, unsigned long flags, unsigned int records_tcp,
			unsigned int records_udp);
void *toa_uoa_net_state(struct toa_uoa_net *tn);
void *toa_uoa_net_activate(struct toa_uoa_net *tn);
void toa_uoa_net_grow_soon(struct toa_uoa_net *tn);
u64 toa_uoa_activations_failed(void);
void toa_uoa_count(struct toa_uoa_net *tn, unsigned int idx);
u64 toa_uoa_counter_sum(struct toa_uoa_net *tn, unsigned int idx);
void toa_uoa_seq_counter(struct seq_file *seq, const char *name, size_t name_len, u64 value);

/*
 * Ratelimited kernel-log line naming the sender (family 4 or 6; saddr 4 or 16 bytes) of a
 * malformed option (what 0; kind: the malformed_ counter's suffix) or of an option from
 * outside trusted_sources (what 1).
 */
void toa_uoa_log_sender(int what, const u8 *kind, size_t kind_len, u8 family, const u8 *saddr);

/* Time, scheduling, randomness, user memory. */
u64 toa_uoa_jiffies(void);
unsigned int toa_uoa_hz(void);
void toa_uoa_cond_resched(void);
u64 toa_uoa_random_u64(void);
int toa_uoa_copy_from_user(void *dst, const void __user *src, size_t n);
int toa_uoa_copy_to_user(void __user *dst, const void *src, size_t n);
bool toa_uoa_tcp_established(struct toa_uoa_net *tn, const struct toa_uoa_tuple *t);
bool toa_uoa_tcp_connected(struct toa_uoa_net *tn, const struct toa_uoa_tuple *t);

/*
 * Implemented in Rust. Each gets the namespace's C state; its Rust state, if it has one yet,
 * comes from toa_uoa_net_state() (or toa_uoa_net_activate(), which makes it).
 */
void *toa_uoa_rs_state_new(void);
void toa_uoa_rs_net_exit(void *state);
void toa_uoa_rs_rx(struct toa_uoa_net *tn, void *state, const u8 *pkt, size_t len);
int toa_uoa_rs_getsockopt(struct toa_uoa_net *tn, u8 protocol, int optname, void __user *user,
			  int *len);
int toa_uoa_rs_getname(struct toa_uoa_net *tn, const struct toa_uoa_tuple *t, u8 *uaddr,
		       size_t room, int peer);
void toa_uoa_rs_gc(struct toa_uoa_net *tn);
void toa_uoa_rs_stats(struct toa_uoa_net *tn, struct seq_file *seq);

#endif
