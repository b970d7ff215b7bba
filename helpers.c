// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of toa_uoa: what Rust cannot do itself: module_param, and one function per
 * static inline or macro the Rust side needs (it registers and decides everything itself,
 * in ffi.rs). Every `if` here is a parameter's validation.
 */
#include <linux/compat.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/kprobes.h>
#include <linux/tcp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/tcp.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "ffi.h"
#include "kcompat.h"

struct toa_uoa_walk {
	void (*fn)(struct socket *sock, void *arg);
	void *arg;
};

/* ---- module parameters ---- */

static unsigned int max_records = TOA_UOA_MAX_RECORDS_DEFAULT;
static unsigned int idle_timeout = TOA_UOA_IDLE_TIMEOUT_DEFAULT;

/*
 * A bad value refuses the load (the kernel prints "invalid for parameter" and insmod
 * fails with EINVAL); say what the accepted range is.
 */
static int set_bounded_uint(const char *val, const struct kernel_param *kp,
			    unsigned int min, unsigned int max)
{
	unsigned int v;
	int err = kstrtouint(val, 0, &v);

	if (err || v < min || v > max) {
		pr_err("toa_uoa: %s=%s refused: must be an integer from %u to %u\n",
		       kp->name, val, min, max);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = v;
	return 0;
}

static int set_max_records(const char *val, const struct kernel_param *kp)
{
	return set_bounded_uint(val, kp, TOA_UOA_MAX_RECORDS_MIN, TOA_UOA_MAX_RECORDS_MAX);
}

static int set_idle_timeout(const char *val, const struct kernel_param *kp)
{
	return set_bounded_uint(val, kp, TOA_UOA_IDLE_TIMEOUT_MIN, TOA_UOA_IDLE_TIMEOUT_MAX);
}

static const struct kernel_param_ops max_records_ops = {
	.set = set_max_records,
	.get = param_get_uint,
};

static const struct kernel_param_ops idle_timeout_ops = {
	.set = set_idle_timeout,
	.get = param_get_uint,
};

module_param_cb(max_records, &max_records_ops, &max_records, 0444);
MODULE_PARM_DESC(max_records,
		 "most address records kept per network namespace (1..16777216, default 65536)");
module_param_cb(idle_timeout, &idle_timeout_ops, &idle_timeout, 0444);
MODULE_PARM_DESC(idle_timeout,
		 "seconds a record lives without traffic carrying or using it (1..86400, default 300)");

/*
 * Parsed, validated, applied and logged by the Rust side, at load and at every write to
 * /sys/module/toa_uoa/parameters/trusted_sources (a bad list refuses the load, or the write
 * with EINVAL, and changes nothing).
 */
static const struct kernel_param_ops trusted_sources_ops = {
	.set = toa_uoa_rs_trusted_sources_set,
	.get = toa_uoa_rs_trusted_sources_get,
};

module_param_cb(trusted_sources, &trusted_sources_ops, NULL, 0644);
MODULE_PARM_DESC(trusted_sources,
		 "comma-separated balancer source prefixes (a.b.c.d/n, x::y/n) whose options are believed; empty: all; writable");

/*
 * Whether sockets are given the module's operations (getpeername, getsockname and accept
 * answered from records); 0 gives every socket back its kernel operations, so that the
 * module can be unloaded. Applied by the Rust side.
 */
static const struct kernel_param_ops getname_ops = {
	.set = toa_uoa_rs_getname_set,
	.get = toa_uoa_rs_getname_get,
};

module_param_cb(getname, &getname_ops, NULL, 0644);
MODULE_PARM_DESC(getname,
		 "1 (default): accept, getpeername and getsockname answer from records; 0: every socket gets its kernel operations back (needed before rmmod while sockets use the module); writable");

/* Whether DPVS's formats are read too. Applied by the Rust side at the next packet. */
static const struct kernel_param_ops dpvs_compat_ops = {
	.set = toa_uoa_rs_dpvs_compat_set,
	.get = toa_uoa_rs_dpvs_compat_get,
};

module_param_cb(dpvs_compat, &dpvs_compat_ops, NULL, 0644);
MODULE_PARM_DESC(dpvs_compat,
		 "0 (default): only the unified option is read; 1: DPVS's TOA (TCP option 254) and UOA \"ipo\" (IPv4 option 31, length 8 or 20) options too, from the same trusted sources; writable");

unsigned int toa_uoa_param_max_records(void)
{
	return READ_ONCE(max_records);
}

unsigned int toa_uoa_param_idle_timeout(void)
{
	return READ_ONCE(idle_timeout);
}

#ifdef TOA_UOA_VERSION
/* modinfo's and /sys/module/toa_uoa/version's answer (Kbuild reads it from dkms.conf). */
MODULE_VERSION(TOA_UOA_VERSION);
#endif

/* ---- locks, deferred work, RCU, per-CPU counters ---- */

/* One lock class for every namespace's table lock (they never nest). */
void toa_uoa_spin_lock_init(spinlock_t *lock)
{
	spin_lock_init(lock);
}

unsigned long toa_uoa_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void toa_uoa_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

void toa_uoa_init_delayed_work(struct delayed_work *work, work_func_t func)
{
	INIT_DELAYED_WORK(work, func);
}

/* The expiry work is housekeeping: the power-efficient queue lets it run on any CPU. */
void toa_uoa_queue_delayed_work(struct delayed_work *work, unsigned long delay)
{
	queue_delayed_work(system_power_efficient_wq, work, delay);
}

void toa_uoa_mod_delayed_work(struct delayed_work *work, unsigned long delay)
{
	mod_delayed_work(system_power_efficient_wq, work, delay);
}

void toa_uoa_rcu_read_lock(void)
{
	rcu_read_lock();
}

void toa_uoa_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

void toa_uoa_synchronize_rcu(void)
{
	synchronize_rcu();
}

/* For the packet path (softirq): atomic, and a failure is reported, not warned about. */
u64 __percpu *toa_uoa_alloc_percpu_atomic(size_t n)
{
	return __alloc_percpu_gfp(sizeof(u64) * n, sizeof(u64), GFP_ATOMIC | __GFP_NOWARN);
}

void toa_uoa_percpu_inc(u64 __percpu *counters, unsigned int idx)
{
	this_cpu_inc(counters[idx]);
}

void toa_uoa_percpu_inc2(u64 __percpu *counters, unsigned int a, unsigned int b)
{
	this_cpu_inc(counters[a]);
	this_cpu_inc(counters[b]);
}

void toa_uoa_percpu_inc3(u64 __percpu *counters, unsigned int a, unsigned int b,
			 unsigned int c)
{
	this_cpu_inc(counters[a]);
	this_cpu_inc(counters[b]);
	this_cpu_inc(counters[c]);
}

/*
 * This CPU's copy of the words from counters[idx] on, where nothing else on the CPU can use
 * it meanwhile: with softirqs off or served (the packet path runs so), on a CPU that stays the
 * same. Elsewhere NULL.
 */
u64 *toa_uoa_percpu_softirq_ptr(u64 __percpu *counters, unsigned int idx)
{
	if (!in_softirq())
		return NULL;
	return this_cpu_ptr(&counters[idx]);
}

u64 toa_uoa_percpu_sum(u64 __percpu *counters, unsigned int idx)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(&counters[idx], cpu);
	return sum;
}

unsigned int toa_uoa_num_possible_cpus(void)
{
	return num_possible_cpus();
}

/* ---- namespaces ---- */

void *toa_uoa_net_generic(const struct net *net, unsigned int id)
{
	return net_generic(net, id);
}

struct proc_dir_entry *toa_uoa_net_proc_dir(const struct net *net)
{
	return net->proc_net;
}

struct net *toa_uoa_seq_net(struct seq_file *seq)
{
	return seq_file_single_net(seq);
}

void toa_uoa_seq_counter(struct seq_file *seq, const char *name, size_t name_len, u64 value)
{
	seq_printf(seq, "%.*s %llu\n", (int)name_len, name, value);
}

/* ---- packets ---- */

/*
 * The packet's first bytes from its network header, at most `max` (their count in *len), in
 * place if they are in the linear area, else NULL (the caller copies them: toa_uoa_skb_peek).
 */
const u8 *toa_uoa_skb_network_linear(const struct sk_buff *skb, unsigned int max,
				     unsigned int *len)
{
	int off = skb_network_offset(skb);

	*len = min(skb->len - off, max);
	if (off < 0 || skb_headlen(skb) < off + *len)
		return NULL;
	return skb->data + off;
}

/* `len` bytes from `off` past the network header: in place if linear, else copied to buf. */
const u8 *toa_uoa_skb_peek(const struct sk_buff *skb, unsigned int off, unsigned int len, u8 *buf)
{
	return skb_header_pointer(skb, skb_network_offset(skb) + off, len, buf);
}

int toa_uoa_skb_remove_header(struct sk_buff *skb, unsigned int off, unsigned int len,
			      unsigned int protocol_at, u8 protocol)
{
	u8 *nh;
	int err;

	if (skb_network_offset(skb) != 0 || protocol_at >= off || off + len > skb->len)
		return -EINVAL;
	err = skb_ensure_writable(skb, off + len);
	if (err)
		return err;
	nh = skb_network_header(skb);
	/* The checksum over what is removed is no longer known to match: UDP verifies it. */
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;
	memmove(nh + len, nh, off);
	__skb_pull(skb, len);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, off);
	nh = skb_network_header(skb);
	nh[protocol_at] = protocol;
	if ((nh[0] >> 4) == 4) {
		struct iphdr *iph = (struct iphdr *)nh;

		iph->tot_len = htons(ntohs(iph->tot_len) - len);
		ip_send_check(iph);
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)nh;

		ip6h->payload_len = htons(ntohs(ip6h->payload_len) - len);
	}
	return 0;
}

/* ---- sockets ---- */

bool toa_uoa_sock_view(const struct sock *sk, unsigned int net_id, struct toa_uoa_sock_view *v)
{
	const struct inet_sock *inet;

	if (!sk)
		return false;
	inet = inet_sk(sk);
	memset(v, 0, sizeof(*v));
	v->net = sock_net(sk);
	v->shared = net_generic(v->net, net_id);
	v->family = sk->sk_family;
	v->protocol = sk->sk_protocol;
	v->state = READ_ONCE(sk->sk_state);
	v->kern = sk->sk_kern_sock;
	v->peer_port = inet->inet_dport;
	v->local_port = inet->inet_num;
	v->peer4 = inet->inet_daddr;
	v->local4 = inet->inet_rcv_saddr;
#if IS_ENABLED(CONFIG_IPV6)
	memcpy(v->peer6, &sk->sk_v6_daddr, 16);
	memcpy(v->local6, &sk->sk_v6_rcv_saddr, 16);
#endif
	return true;
}

bool toa_uoa_socket_view(const struct socket *sock, unsigned int net_id,
			 struct toa_uoa_sock_view *v)
{
	return sock && toa_uoa_sock_view(sock->sk, net_id, v);
}

bool toa_uoa_socket_has_sk(const struct socket *sock)
{
	return sock->sk;
}

/*
 * The TCP socket on a tuple, if any (a full socket, a TIME_WAIT one or a request socket),
 * with a reference taken (sock_gen_put drops it): an RCU look-up, usable under the table
 * lock and from the hooks.
 */
struct sock *toa_uoa_tcp_lookup4(struct net *net, __be32 saddr, __be16 sport, __be32 daddr,
				 u16 dport)
{
	struct sock *sk;

	rcu_read_lock();
	sk = toa_uoa_lookup_established4(net, saddr, sport, daddr, dport);
	rcu_read_unlock();
	return sk;
}

struct sock *toa_uoa_tcp_lookup6(struct net *net, const u8 *saddr, __be16 sport, const u8 *daddr,
				 u16 dport)
{
	struct sock *sk = NULL;

#if IS_ENABLED(CONFIG_IPV6)
	rcu_read_lock();
	sk = toa_uoa_lookup_established6(net, (const struct in6_addr *)saddr, sport,
					 (const struct in6_addr *)daddr, dport);
	rcu_read_unlock();
#endif
	return sk;
}

bool toa_uoa_sk_fullsock(const struct sock *sk)
{
	return sk_fullsock(sk);
}

/* ---- socket operations: the kernel's, the module's copies ---- */

static struct proto_ops toa_uoa_ops[TOA_UOA_OPS_SLOTS];

const struct proto_ops *toa_uoa_kernel_ops(int family, int type, int protocol,
					   struct toa_uoa_ops_fns *fns)
{
	const struct proto_ops *ops;
	struct socket *sock;

	if (sock_create_kern(&init_net, family, type, protocol, &sock))
		return NULL;
	ops = sock->ops;
	sock_release(sock);
	fns->release = ops->release;
	fns->accept = ops->accept;
	fns->getname = ops->getname;
	fns->setsockopt = ops->setsockopt;
	return ops;
}

const struct proto_ops *toa_uoa_ops_make(unsigned int slot, const struct proto_ops *kernel,
					 const struct toa_uoa_ops_fns *fns)
{
	struct proto_ops *ops;

	if (slot >= ARRAY_SIZE(toa_uoa_ops))
		return NULL;
	ops = &toa_uoa_ops[slot];

	*ops = *kernel;
	ops->owner = THIS_MODULE;
	ops->release = fns->release;
	ops->accept = fns->accept;
	ops->getname = fns->getname;
	ops->setsockopt = fns->setsockopt;
	return ops;
}

/* READ_ONCE/cmpxchg: the system calls read sock->ops once (READ_ONCE), as IPV6_ADDRFORM
 * replaces it on a live socket. */
const struct proto_ops *toa_uoa_sock_ops(const struct socket *sock)
{
	return READ_ONCE(sock->ops);
}

bool toa_uoa_sock_swap_ops(struct socket *sock, const struct proto_ops *old,
			   const struct proto_ops *new)
{
	return try_cmpxchg(&sock->ops, &old, new);
}

/*
 * sk's socket's operations replaced if they are still `old`: under sk_callback_lock, which
 * sock_orphan takes to clear sk_socket before the socket is freed (softirq: _bh).
 */
bool toa_uoa_sk_swap_socket_ops(struct sock *sk, const struct proto_ops *old,
				const struct proto_ops *new)
{
	bool swapped = false;

	read_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_socket)
		swapped = try_cmpxchg(&sk->sk_socket->ops, &old, new);
	read_unlock_bh(&sk->sk_callback_lock);
	return swapped;
}

const struct proto_ops *toa_uoa_sk_socket_ops(struct sock *sk)
{
	const struct proto_ops *ops = NULL;

	read_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_socket)
		ops = READ_ONCE(sk->sk_socket->ops);
	read_unlock_bh(&sk->sk_callback_lock);
	return ops;
}

/* ---- a TCP connection's own answering copy ---- */

/*
 * The operations (first, so that they lead to the rest), the answers, and the list of those
 * given back while their socket lived (toa_uoa_answer_orphan).
 */
struct toa_uoa_answer {
	struct proto_ops ops;
	u64 __percpu *counters;
	struct list_head orphan;
	u8 peer_len;
	u8 name_len;
	u8 peer[28];
	u8 name[28];
};

bool toa_uoa_ops_is_answer(const struct proto_ops *ops, const struct proto_ops *tmpl)
{
	return ops && tmpl && ops != tmpl && ops->getname == tmpl->getname;
}

bool toa_uoa_sock_answer(const struct socket *sock, const struct proto_ops *tmpl, bool peer,
			 struct toa_uoa_answer_view *v)
{
	const struct proto_ops *ops = READ_ONCE(sock->ops);
	const struct toa_uoa_answer *a;

	if (!toa_uoa_ops_is_answer(ops, tmpl))
		return false;
	a = container_of(ops, struct toa_uoa_answer, ops);
	v->addr = peer ? a->peer : a->name;
	v->len = peer ? a->peer_len : a->name_len;
	v->counters = a->counters;
	return true;
}

static DEFINE_SPINLOCK(toa_uoa_orphans_lock);
static LIST_HEAD(toa_uoa_orphans);
/* Their own cache: 328 bytes each (12 to a page), where kmalloc would take 512. */
static struct kmem_cache *toa_uoa_answer_cache;

bool toa_uoa_answer_cache_create(void)
{
	toa_uoa_answer_cache = KMEM_CACHE(toa_uoa_answer, 0);
	return toa_uoa_answer_cache;
}

const struct proto_ops *toa_uoa_answer_new(const struct proto_ops *tmpl, u64 __percpu *counters,
					   const u8 *peer, u8 peer_len, const u8 *name, u8 name_len,
					   bool atomic)
{
	struct toa_uoa_answer *a;

	if (peer_len > sizeof(a->peer) || name_len > sizeof(a->name))
		return NULL;
	a = kmem_cache_alloc(toa_uoa_answer_cache, atomic ? GFP_ATOMIC | __GFP_NOWARN : GFP_KERNEL);
	if (!a)
		return NULL;
	a->ops = *tmpl;
	a->counters = counters;
	INIT_LIST_HEAD(&a->orphan);
	a->peer_len = peer_len;
	a->name_len = name_len;
	memcpy(a->peer, peer, peer_len);
	memcpy(a->name, name, name_len);
	return &a->ops;
}

void toa_uoa_answer_free(const struct proto_ops *ops)
{
	kmem_cache_free(toa_uoa_answer_cache, container_of(ops, struct toa_uoa_answer, ops));
}

void toa_uoa_answer_orphan(const struct proto_ops *ops)
{
	struct toa_uoa_answer *a = container_of(ops, struct toa_uoa_answer, ops);

	spin_lock(&toa_uoa_orphans_lock);
	list_add(&a->orphan, &toa_uoa_orphans);
	spin_unlock(&toa_uoa_orphans_lock);
}

void toa_uoa_answer_cache_destroy(void)
{
	struct toa_uoa_answer *a, *next;
	LIST_HEAD(list);

	spin_lock(&toa_uoa_orphans_lock);
	list_splice_init(&toa_uoa_orphans, &list);
	spin_unlock(&toa_uoa_orphans_lock);
	list_for_each_entry_safe(a, next, &list, orphan)
		kmem_cache_free(toa_uoa_answer_cache, a);
	kmem_cache_destroy(toa_uoa_answer_cache);
	toa_uoa_answer_cache = NULL;
}

bool toa_uoa_ops_get(const struct proto_ops *ops)
{
	return try_module_get(ops->owner);
}

void toa_uoa_ops_put(const struct proto_ops *ops)
{
	module_put(ops->owner);
}

static int walk_file(const void *p, struct file *file, unsigned int fd)
{
	const struct toa_uoa_walk *w = p;
	struct socket *sock = sock_from_file(file);

	if (sock)
		w->fn(sock, w->arg);
	return 0;
}

/*
 * As __do_SAK walks every task's files: task_lock keeps a task's file table, iterate_fd
 * holds its lock, and a file in the table keeps its socket. Threads sharing their leader's
 * table are skipped (the leader's walk covered it).
 */
void toa_uoa_walk_sockets(void (*fn)(struct socket *sock, void *arg), void *arg)
{
	struct toa_uoa_walk w = { .fn = fn, .arg = arg };
	struct task_struct *g, *t;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		task_lock(t);
		if (t->files && (t == g || t->files != READ_ONCE(g->files)))
			iterate_fd(t->files, 0, walk_file, &w);
		task_unlock(t);
	}
	rcu_read_unlock();
}

/* ---- the probed calls (listen, UDP connect), and the task making a getname call ---- */

void *toa_uoa_regs_arg0(struct pt_regs *regs)
{
	return (void *)regs_get_kernel_argument(regs, 0);
}

long toa_uoa_regs_return_value(struct pt_regs *regs)
{
	return regs_return_value(regs);
}

void toa_uoa_current_task(struct toa_uoa_task *t)
{
	t->kthread = current->flags & PF_KTHREAD;
	t->compat = in_compat_syscall();
	t->syscall = syscall_get_nr(current, task_pt_regs(current));
}

/* ---- kernel-log lines naming a sender: one ratelimit state each ---- */

void toa_uoa_log_malformed4(const u8 *kind, size_t kind_len, const u8 *saddr)
{
	pr_warn_ratelimited("toa_uoa: malformed option (%.*s) from %pI4\n", (int)kind_len, kind,
			    saddr);
}

void toa_uoa_log_malformed6(const u8 *kind, size_t kind_len, const u8 *saddr)
{
	pr_warn_ratelimited("toa_uoa: malformed option (%.*s) from %pI6c\n", (int)kind_len, kind,
			    saddr);
}

void toa_uoa_log_untrusted4(const u8 *saddr)
{
	pr_warn_ratelimited("toa_uoa: option from %pI4 ignored: not in trusted_sources\n", saddr);
}

void toa_uoa_log_untrusted6(const u8 *saddr)
{
	pr_warn_ratelimited("toa_uoa: option from %pI6c ignored: not in trusted_sources\n", saddr);
}

void toa_uoa_log_opp_not_removed(void)
{
	pr_warn_ratelimited("toa_uoa: no memory to remove a DPVS opp header: the datagram does not reach UDP\n");
}

void toa_uoa_log_no_memory(void)
{
	pr_warn_ratelimited("toa_uoa: no memory for a namespace's record table; its options are not recorded until there is\n");
}

/* ---- time, scheduling, randomness, user memory ---- */

u64 toa_uoa_jiffies(void)
{
	return get_jiffies_64();
}

unsigned int toa_uoa_hz(void)
{
	return HZ;
}

void toa_uoa_cond_resched(void)
{
	cond_resched();
}

u64 toa_uoa_random_u64(void)
{
	return get_random_u64();
}

int toa_uoa_copy_from_user(void *dst, const void __user *src, size_t n)
{
	return copy_from_user(dst, src, n) ? -EFAULT : 0;
}

int toa_uoa_copy_to_user(void __user *dst, const void *src, size_t n)
{
	return copy_to_user(dst, src, n) ? -EFAULT : 0;
}
