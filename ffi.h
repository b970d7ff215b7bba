/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between toa_uoa's Rust code and the kernel's C, read by bindgen (Kbuild)
 * into the crate's own bindings (ffi.rs).
 *
 * Rust registers and implements everything itself (ffi.rs): it calls the kernel's exported
 * functions directly and lays out the structures it registers (netfilter hooks, nf_sockopt,
 * pernet operations, kretprobes) from the kernel's own headers, included here. What it cannot
 * call (static inlines, macros, module_param) helpers.c wraps, one toa_uoa_* function each,
 * without decisions.
 */
#ifndef TOA_UOA_FFI_H
#define TOA_UOA_FFI_H

#include <linux/errno.h>
#include <linux/kprobes.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/spinlock_types.h>
#include <linux/types.h>
#include <linux/net.h>
#include <linux/sockptr.h>
#include <linux/tcp.h>
#include <linux/in6.h>
#include <linux/socket.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/tcp_states.h>
#include <asm/unistd.h>

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
	/* errno values the kernel crate does not name on 6.12 */
	TOA_UOA_EAFNOSUPPORT = EAFNOSUPPORT,
	TOA_UOA_ENOTCONN = ENOTCONN,
	/* The netfilter and socket constants the registrations use. */
	TOA_UOA_NFPROTO_IPV4 = NFPROTO_IPV4,
	TOA_UOA_NFPROTO_IPV6 = NFPROTO_IPV6,
	TOA_UOA_NF_INET_LOCAL_IN = NF_INET_LOCAL_IN,
	TOA_UOA_NF_IP_PRI_NAT_SRC = NF_IP_PRI_NAT_SRC,
	TOA_UOA_NF_IP6_PRI_NAT_SRC = NF_IP6_PRI_NAT_SRC,
	TOA_UOA_NF_ACCEPT = NF_ACCEPT,
	TOA_UOA_PF_INET = PF_INET,
	TOA_UOA_PF_INET6 = PF_INET6,
	TOA_UOA_AF_INET6 = AF_INET6,
	TOA_UOA_TCP_SYN_SENT = TCP_SYN_SENT,
	TOA_UOA_TCP_CLOSE = TCP_CLOSE,
	TOA_UOA_TCP_LISTEN = TCP_LISTEN,
	/*
	 * The system calls whose every path to inet_getname passes a sockaddr_storage (-1:
	 * not on this architecture).
	 */
	TOA_UOA_NR_GETPEERNAME = __NR_getpeername,
	TOA_UOA_NR_GETSOCKNAME = __NR_getsockname,
	TOA_UOA_NR_ACCEPT4 = __NR_accept4,
	TOA_UOA_NR_GETSOCKOPT = __NR_getsockopt,
#ifdef __NR_accept
	TOA_UOA_NR_ACCEPT = __NR_accept,
#else
	TOA_UOA_NR_ACCEPT = -1,
#endif
#ifdef __NR_io_uring_enter
	TOA_UOA_NR_IO_URING_ENTER = __NR_io_uring_enter,
#else
	TOA_UOA_NR_IO_URING_ENTER = -1,
#endif
};

/*
 * What a socket says about its connection, copied out of struct sock, with its namespace
 * and the module's share of it (net_generic with the id given).
 */
struct toa_uoa_sock_view {
	struct net *net;
	void *shared;
	u8 family;
	u8 protocol;
	u8 state;
	/* A kernel socket (sk_kern_sock): made by the kernel for itself. */
	bool kern;
	/* The peer's port (network order: inet_dport) and the local one (host order: inet_num). */
	__be16 peer_port;
	u16 local_port;
	/* IPv4 peer and local addresses (an AF_INET6 socket's IPv4-mapped ones included). */
	__be32 peer4;
	__be32 local4;
	/* An AF_INET6 socket's peer and local addresses. */
	u8 peer6[16];
	u8 local6[16];
};

/* Module parameters (module_param in helpers.c; the first two validated there). */
unsigned int toa_uoa_param_max_records(void);
unsigned int toa_uoa_param_idle_timeout(void);

/* trusted_sources' parameter operations: implemented in Rust (ffi.rs). */
struct kernel_param;
int toa_uoa_rs_trusted_sources_set(const char *val, const struct kernel_param *kp);
int toa_uoa_rs_trusted_sources_get(char *buffer, const struct kernel_param *kp);

/* Locks, deferred work, RCU, per-CPU counters. */
void toa_uoa_spin_lock_init(spinlock_t *lock);
unsigned long toa_uoa_spin_lock_irqsave(spinlock_t *lock);
void toa_uoa_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);
void toa_uoa_init_delayed_work(struct delayed_work *work, work_func_t func);
void toa_uoa_queue_delayed_work(struct delayed_work *work, unsigned long delay);
void toa_uoa_mod_delayed_work(struct delayed_work *work, unsigned long delay);
void toa_uoa_rcu_read_lock(void);
void toa_uoa_rcu_read_unlock(void);
void toa_uoa_synchronize_rcu(void);
u64 __percpu *toa_uoa_alloc_percpu_atomic(size_t n);
void toa_uoa_percpu_inc(u64 __percpu *counters, unsigned int idx);
void toa_uoa_percpu_inc2(u64 __percpu *counters, unsigned int a, unsigned int b);
void toa_uoa_percpu_inc3(u64 __percpu *counters, unsigned int a, unsigned int b,
			 unsigned int c);
u64 *toa_uoa_percpu_softirq_ptr(u64 __percpu *counters, unsigned int idx);
u64 toa_uoa_percpu_sum(u64 __percpu *counters, unsigned int idx);
unsigned int toa_uoa_num_possible_cpus(void);

/* Namespaces. */
void *toa_uoa_net_generic(const struct net *net, unsigned int id);
struct proc_dir_entry *toa_uoa_net_proc_dir(const struct net *net);
struct net *toa_uoa_seq_net(struct seq_file *seq);
void toa_uoa_seq_counter(struct seq_file *seq, const char *name, size_t name_len, u64 value);

/* Packets: their bytes from the IP header on. */
const u8 *toa_uoa_skb_network_linear(const struct sk_buff *skb, unsigned int max,
				     unsigned int *len);
const u8 *toa_uoa_skb_peek(const struct sk_buff *skb, unsigned int off, unsigned int len,
			   u8 *buf);
/*
 * Removes `len` bytes at `off` from the IP header (moving the IP header up to them), writes
 * `protocol` at `protocol_at` and lowers the IPv4 total length (and fixes the header
 * checksum) or the IPv6 payload length: 0, or an error with the packet unchanged.
 */
int toa_uoa_skb_remove_header(struct sk_buff *skb, unsigned int off, unsigned int len,
			      unsigned int protocol_at, u8 protocol);

/* Sockets. */
/* false: no struct sock (the view is not filled). */
bool toa_uoa_sock_view(const struct sock *sk, unsigned int net_id, struct toa_uoa_sock_view *v);
bool toa_uoa_socket_view(const struct socket *sock, unsigned int net_id,
			 struct toa_uoa_sock_view *v);
bool toa_uoa_socket_has_sk(const struct socket *sock);
struct sock *toa_uoa_tcp_lookup4(struct net *net, __be32 saddr, __be16 sport, __be32 daddr,
				 u16 dport);
struct sock *toa_uoa_tcp_lookup6(struct net *net, const u8 *saddr, __be16 sport, const u8 *daddr,
				 u16 dport);
bool toa_uoa_sk_fullsock(const struct sock *sk);

/* The task a getname call comes from. */
struct toa_uoa_task {
	bool kthread;
	bool compat;
	/* Meaningful for a user task only (a kernel thread has no system call). */
	long syscall;
};
void toa_uoa_current_task(struct toa_uoa_task *t);

/*
 * Socket operations. A socket that may be answered for (a TCP listener, what it accepts, a
 * connected UDP socket with a record) is given the module's copy of its kernel operations,
 * whose getname, accept, release and setsockopt call the kernel's and then Rust. The copy's
 * owner is this module: each socket that has it holds a module reference, as sockets hold
 * their family's module.
 */
struct sockaddr;
struct proto_accept_arg;
/* The operations the copy replaces (the kernel's, or the module's Rust functions). */
struct toa_uoa_ops_fns {
	int (*release)(struct socket *sock);
	int (*accept)(struct socket *sock, struct socket *newsock, struct proto_accept_arg *arg);
	int (*getname)(struct socket *sock, struct sockaddr *addr, int peer);
	int (*setsockopt)(struct socket *sock, int level, int optname, sockptr_t optval,
			  unsigned int optlen);
};
enum {
	/* Kinds of socket: TCP and UDP over IPv4 and IPv6, the module's copy of each. */
	TOA_UOA_OPS_TCP4 = 0,
	TOA_UOA_OPS_TCP6 = 1,
	TOA_UOA_OPS_UDP4 = 2,
	TOA_UOA_OPS_UDP6 = 3,
	TOA_UOA_OPS_KINDS = 4,
	/*
	 * A copy answering from records, one waiting for a record, and the template of a
	 * connection's own answering copy (struct toa_uoa_answer), per kind.
	 */
	TOA_UOA_OPS_SLOTS = 12,
	/* The socket options that may replace a socket's operations (TLS, IPV6_ADDRFORM). */
	TOA_UOA_SOL_TCP = SOL_TCP,
	TOA_UOA_TCP_ULP = TCP_ULP,
	TOA_UOA_SOL_IPV6 = SOL_IPV6,
	TOA_UOA_IPV6_ADDRFORM = IPV6_ADDRFORM,
	TOA_UOA_SOCK_STREAM = SOCK_STREAM,
	TOA_UOA_SOCK_DGRAM = SOCK_DGRAM,
	TOA_UOA_IPPROTO_TCP = IPPROTO_TCP,
	TOA_UOA_IPPROTO_UDP = IPPROTO_UDP,
};
/*
 * The kernel's operations for sockets of (family, type, protocol), read from a kernel socket
 * made for the purpose, with their functions in `fns`; NULL if such a socket cannot be made
 * (IPv6 disabled).
 */
const struct proto_ops *toa_uoa_kernel_ops(int family, int type, int protocol,
					   struct toa_uoa_ops_fns *fns);
/* The module's copy in slot `slot`: `kernel`'s operations with `fns` in place, owned by it. */
const struct proto_ops *toa_uoa_ops_make(unsigned int slot, const struct proto_ops *kernel,
					 const struct toa_uoa_ops_fns *fns);
/* The socket's operations, and replacing them if they are still `old` (cmpxchg). */
const struct proto_ops *toa_uoa_sock_ops(const struct socket *sock);
bool toa_uoa_sock_swap_ops(struct socket *sock, const struct proto_ops *old,
			   const struct proto_ops *new);
/* The same for the socket of sk, if it still has one (from softirq). */
bool toa_uoa_sk_swap_socket_ops(struct sock *sk, const struct proto_ops *old,
				const struct proto_ops *new);
/*
 * A TCP connection's own copy of the module's operations, with its answers (struct
 * toa_uoa_answer, helpers.c): the record's addresses as getpeername and getsockname give
 * them (a sockaddr_in or sockaddr_in6 each), set once, as a TCP connection's addresses never
 * change. getname reads them there, without a look-up.
 */
/* One of an answer's two, as getname reads it. */
struct toa_uoa_answer_view {
	const u8 *addr;
	/* 0: none (the kernel's answer stands) */
	u8 len;
	/* The namespace's counters, which the connection's socket keeps alive. */
	u64 __percpu *counters;
};
/*
 * A new answer: a copy of the template `tmpl` (the module's operations for the connection's
 * kind) with the answers; NULL without memory. `atomic`: from softirq.
 */
const struct proto_ops *toa_uoa_answer_new(const struct proto_ops *tmpl, u64 __percpu *counters,
					   const u8 *peer, u8 peer_len, const u8 *name, u8 name_len,
					   bool atomic);
/* Frees the answer whose operations `ops` are (its socket is released: nothing reads it). */
void toa_uoa_answer_free(const struct proto_ops *ops);
/*
 * Keeps the answer whose operations `ops` are until toa_uoa_answer_cache_destroy: its socket
 * has the kernel's operations back, but a call in flight may still read it.
 */
void toa_uoa_answer_orphan(const struct proto_ops *ops);
/* The answers' slab cache (module init), and its end (module exit: no socket has the
 * module's operations), with the answers kept until then. */
bool toa_uoa_answer_cache_create(void);
void toa_uoa_answer_cache_destroy(void);
/* Whether `ops` is an answer made from the template `tmpl` (its getname is the template's). */
bool toa_uoa_ops_is_answer(const struct proto_ops *ops, const struct proto_ops *tmpl);
/*
 * getpeername's (`peer`) or getsockname's answer in the answer whose operations the socket
 * has now, if they are one made from `tmpl`: false if not.
 */
bool toa_uoa_sock_answer(const struct socket *sock, const struct proto_ops *tmpl, bool peer,
			 struct toa_uoa_answer_view *v);
/* The operations of sk's socket, if it still has one, else NULL (from softirq). */
const struct proto_ops *toa_uoa_sk_socket_ops(struct sock *sk);
/* The reference a socket holds on its operations' owner (NULL owner: built in). */
bool toa_uoa_ops_get(const struct proto_ops *ops);
void toa_uoa_ops_put(const struct proto_ops *ops);
/* Calls fn(sock, arg) for each socket in each task's file table, under spinlocks. */
void toa_uoa_walk_sockets(void (*fn)(struct socket *sock, void *arg), void *arg);
/* The probed call's first argument at entry, and its return value at return. */
void *toa_uoa_regs_arg0(struct pt_regs *regs);
long toa_uoa_regs_return_value(struct pt_regs *regs);

/* The `getname` parameter's operations: implemented in Rust (ffi.rs). */
int toa_uoa_rs_getname_set(const char *val, const struct kernel_param *kp);
int toa_uoa_rs_getname_get(char *buffer, const struct kernel_param *kp);
/* The `dpvs_compat` parameter's operations: implemented in Rust (ffi.rs). */
int toa_uoa_rs_dpvs_compat_set(const char *val, const struct kernel_param *kp);
int toa_uoa_rs_dpvs_compat_get(char *buffer, const struct kernel_param *kp);

/* Ratelimited kernel-log lines naming a sender (one ratelimit state each). */
void toa_uoa_log_malformed4(const u8 *kind, size_t kind_len, const u8 *saddr);
void toa_uoa_log_malformed6(const u8 *kind, size_t kind_len, const u8 *saddr);
void toa_uoa_log_untrusted4(const u8 *saddr);
void toa_uoa_log_untrusted6(const u8 *saddr);
void toa_uoa_log_no_memory(void);
void toa_uoa_log_opp_not_removed(void);

/* Time, scheduling, randomness, user memory. */
u64 toa_uoa_jiffies(void);
unsigned int toa_uoa_hz(void);
void toa_uoa_cond_resched(void);
u64 toa_uoa_random_u64(void);
int toa_uoa_copy_from_user(void *dst, const void __user *src, size_t n);
int toa_uoa_copy_to_user(void __user *dst, const void *src, size_t n);

#endif
