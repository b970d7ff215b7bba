// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of toa_uoa: only what Rust cannot do itself on 6.12: module_param, the
 * static registration structures the kernel keeps pointers into (netfilter hooks,
 * pernet operations, nf_sockopt), per-CPU counters, locks and static inline helpers.
 * No parsing, no table, no decisions: each callback hands over to Rust (toa_uoa_rs_*).
 */
#include <linux/compat.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
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

/* Parsed and validated by the Rust side at load (a bad list refuses the load). */
static char *trusted_sources = "";
module_param(trusted_sources, charp, 0444);
MODULE_PARM_DESC(trusted_sources,
		 "comma-separated balancer source prefixes (a.b.c.d/n, x::y/n) whose options are believed; empty: all");

/* The bytes without the NUL (Rust takes a slice, the same on every kernel version). */
const u8 *toa_uoa_param_trusted_sources(size_t *len)
{
	const char *s = trusted_sources ? trusted_sources : "";

	*len = strlen(s);
	return (const u8 *)s;
}

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

/* ---- per-namespace state ---- */

/*
 * Allocated with every namespace; what costs memory (the Rust state with its record table,
 * the per-CPU counters) only comes with the namespace's first option or look-up
 * (toa_uoa_net_activate): hosts run thousands of container namespaces that never see a
 * balancer.
 */
struct toa_uoa_net {
	/* Taken from softirq (hooks) and process context (lookups, expiry). */
	spinlock_t lock;
	/*
	 * The Rust side's, from toa_uoa_rs_state_new(); NULL until activation. Published with
	 * smp_store_release after `counters`, read with smp_load_acquire (toa_uoa_net_state):
	 * whoever sees the state sees the counters. Freed only by net_exit.
	 */
	void *state;
	/*
	 * Records per protocol, published at each unlock: getname on a socket of a protocol
	 * with no record (the common case) then leaves without the lock.
	 */
	unsigned int records_tcp, records_udp;
	u64 __percpu *counters;
	/* Expiry, and growing the table from its first small size; queued at activation. */
	struct delayed_work gc;
	struct net *net;
	/*
	 * Set once the namespace is fully set up, cleared in net_pre_exit: a getname that saw
	 * it set (under RCU) ends before net_exit frees the state.
	 */
	bool live;
};

static unsigned int toa_uoa_net_id __read_mostly;
static unsigned int ncounters;
/* Activations that failed for want of memory (module-wide: the namespace has no counters). */
static atomic_long_t activations_failed = ATOMIC_LONG_INIT(0);

static struct toa_uoa_net *toa_uoa_net(const struct net *net)
{
	return net_generic(net, toa_uoa_net_id);
}

unsigned long toa_uoa_net_lock(struct toa_uoa_net *tn)
{
	unsigned long flags;

	spin_lock_irqsave(&tn->lock, flags);
	return flags;
}

void toa_uoa_net_unlock(struct toa_uoa_net *tn, unsigned long flags, unsigned int records_tcp,
			unsigned int records_udp)
{
	WRITE_ONCE(tn->records_tcp, records_tcp);
	WRITE_ONCE(tn->records_udp, records_udp);
	spin_unlock_irqrestore(&tn->lock, flags);
}

void *toa_uoa_net_state(struct toa_uoa_net *tn)
{
	return smp_load_acquire(&tn->state);
}

static unsigned long gc_interval(void);

/*
 * The namespace's state, made now if it has none: called on the packet path (softirq) at
 * the first option, and by getsockopt; everything is allocated atomically and small (the
 * table starts at 64 buckets; the expiry work grows it in process context once it holds a
 * record: toa_uoa_net_grow_soon). Two CPUs may race here: one publishes, the other frees
 * its copy. NULL if the memory is not there (counted, and the next option tries again).
 *
 * Never after net_pre_exit has returned and its grace period passed: the hooks are gone by
 * then and getsockopt runs on a socket, which holds the namespace. So net_exit's
 * cancel_delayed_work_sync sees any work queued here.
 */
void *toa_uoa_net_activate(struct toa_uoa_net *tn)
{
	void *st = toa_uoa_net_state(tn), *fresh;
	u64 __percpu *counters;
	unsigned long flags;

	if (likely(st))
		return st;
	counters = __alloc_percpu_gfp(sizeof(u64) * ncounters, sizeof(u64),
				      GFP_ATOMIC | __GFP_NOWARN);
	fresh = counters ? toa_uoa_rs_state_new() : NULL;
	if (!fresh) {
		free_percpu(counters);
		atomic_long_inc(&activations_failed);
		pr_warn_ratelimited("toa_uoa: no memory for a namespace's record table; its options are not recorded until there is\n");
		return NULL;
	}
	spin_lock_irqsave(&tn->lock, flags);
	st = tn->state;
	if (!st) {
		tn->counters = counters;
		smp_store_release(&tn->state, fresh);
		st = fresh;
		fresh = NULL;
		counters = NULL;
		queue_delayed_work(system_power_efficient_wq, &tn->gc, gc_interval());
	}
	spin_unlock_irqrestore(&tn->lock, flags);
	if (fresh) {
		toa_uoa_rs_net_exit(fresh);
		free_percpu(counters);
	}
	return st;
}

/* Runs the expiry work now: its first job is to grow the table. Any context. */
void toa_uoa_net_grow_soon(struct toa_uoa_net *tn)
{
	mod_delayed_work(system_power_efficient_wq, &tn->gc, 0);
}

u64 toa_uoa_activations_failed(void)
{
	return atomic_long_read(&activations_failed);
}

/*
 * Called only through a Rust NetCtx, which exists only for a namespace whose state was seen
 * (acquire), so the counters are there (published before it): no NULL test per packet.
 */
void toa_uoa_count(struct toa_uoa_net *tn, unsigned int idx)
{
	if (likely(idx < ncounters))
		this_cpu_inc(tn->counters[idx]);
}

u64 toa_uoa_counter_sum(struct toa_uoa_net *tn, unsigned int idx)
{
	u64 sum = 0;
	int cpu;

	if (idx >= ncounters)
		return 0;
	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(&tn->counters[idx], cpu);
	return sum;
}

void toa_uoa_seq_counter(struct seq_file *seq, const char *name, size_t name_len, u64 value)
{
	seq_printf(seq, "%.*s %llu\n", (int)name_len, name, value);
}

void toa_uoa_log_sender(int what, const u8 *kind, size_t kind_len, u8 family, const u8 *saddr)
{
	/* One ratelimit state per kind of line: a flood of one does not hide the other. */
	if (what == 0) {
		if (family == 6)
			pr_warn_ratelimited("toa_uoa: malformed option (%.*s) from %pI6c\n",
					    (int)kind_len, kind, saddr);
		else
			pr_warn_ratelimited("toa_uoa: malformed option (%.*s) from %pI4\n",
					    (int)kind_len, kind, saddr);
	} else {
		if (family == 6)
			pr_warn_ratelimited("toa_uoa: option from %pI6c ignored: not in trusted_sources\n",
					    saddr);
		else
			pr_warn_ratelimited("toa_uoa: option from %pI4 ignored: not in trusted_sources\n",
					    saddr);
	}
}

/* ---- ingress hooks ---- */

/*
 * Almost no packet carries IP options or IPv6 extension headers: those leave here after
 * one load and compare. The rest is copied (at most TOA_UOA_PEEK_MAX bytes from the IP
 * header, without touching the skb) and parsed in Rust. Always NF_ACCEPT: the module
 * never drops or changes a packet.
 */
static void hand_to_rust(const struct nf_hook_state *state, struct sk_buff *skb)
{
	struct toa_uoa_net *tn = toa_uoa_net(state->net);
	u8 buf[TOA_UOA_PEEK_MAX];
	int off = skb_network_offset(skb);
	unsigned int len = min_t(unsigned int, skb->len - off, sizeof(buf));
	const u8 *pkt = skb_header_pointer(skb, off, len, buf);

	if (pkt)
		toa_uoa_rs_rx(tn, toa_uoa_net_state(tn), pkt, len);
}

/*
 * A TCP SYN (without ACK) starts a new connection on its tuple: it goes to Rust even
 * without options (when the namespace has TCP records), so a record left by an earlier
 * connection on the same tuple is forgotten (or replaced, if the SYN carries the option).
 */
static bool tcp_syn(struct sk_buff *skb, unsigned int thoff)
{
	u8 flags, *fp;

	fp = skb_header_pointer(skb, skb_network_offset(skb) + thoff + 13, 1, &flags);
	return fp && (*fp & (TCPHDR_SYN | TCPHDR_ACK)) == TCPHDR_SYN;
}

/*
 * A SYN without options has something to do only if the namespace holds TCP records (it
 * forgets its tuple's): in the common case, and under a SYN flood, it takes no lock. Other
 * TCP segments leave after the flags test, as before.
 */
static bool syn_may_forget(const struct nf_hook_state *state, struct sk_buff *skb,
			   unsigned int thoff)
{
	return tcp_syn(skb, thoff) && READ_ONCE(toa_uoa_net(state->net)->records_tcp);
}

static unsigned int hook_ipv4(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);

	if (likely(iph->ihl == 5) &&
	    likely(iph->protocol != IPPROTO_TCP || !syn_may_forget(state, skb, sizeof(*iph))))
		return NF_ACCEPT;
	hand_to_rust(state, skb);
	return NF_ACCEPT;
}

static unsigned int hook_ipv6(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	u8 nh = ipv6_hdr(skb)->nexthdr;

	/* A first fragment may hold the option (in its fragmentable part) and the ports. */
	if (likely(nh != NEXTHDR_DEST && nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING &&
		   nh != NEXTHDR_FRAGMENT) &&
	    likely(nh != IPPROTO_TCP || !syn_may_forget(state, skb, sizeof(struct ipv6hdr))))
		return NF_ACCEPT;
	hand_to_rust(state, skb);
	return NF_ACCEPT;
}

/*
 * LOCAL_IN, right after source NAT (NF_IP_PRI_NAT_SRC = 100): by then defragmentation
 * (PRE_ROUTING, -400) and destination NAT (PRE_ROUTING, -100) are done, so the tuple
 * recorded is exactly the one the receiving socket sees, and a fragmented option-carrying
 * datagram is seen whole.
 */
static const struct nf_hook_ops hook_ops[] = {
	{
		.hook = hook_ipv4,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP_PRI_NAT_SRC + 1,
	},
	{
		.hook = hook_ipv6,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = NF_IP6_PRI_NAT_SRC + 1,
	},
};

/* ---- expiry, off the packet path ---- */

static unsigned long gc_interval(void)
{
	/* A quarter of the idle timeout: a record outlives it by at most 25%. */
	return clamp_t(unsigned long, (unsigned long)READ_ONCE(idle_timeout) * HZ / 4, HZ, 60 * HZ);
}

static void gc_work(struct work_struct *work)
{
	struct toa_uoa_net *tn = container_of(to_delayed_work(work), struct toa_uoa_net, gc);

	toa_uoa_rs_gc(tn);
	queue_delayed_work(system_power_efficient_wq, &tn->gc, gc_interval());
}

/* ---- /proc/net/toa_uoa ---- */

static int stats_show(struct seq_file *seq, void *v)
{
	struct toa_uoa_net *tn = toa_uoa_net(seq_file_single_net(seq));

	toa_uoa_rs_stats(tn, seq);
	return 0;
}

/* ---- pernet operations ---- */

static int __net_init net_init(struct net *net)
{
	struct toa_uoa_net *tn = toa_uoa_net(net);
	int err = -ENOMEM;

	spin_lock_init(&tn->lock);
	tn->net = net;
	INIT_DELAYED_WORK(&tn->gc, gc_work);
	if (!proc_create_net_single("toa_uoa", 0444, net->proc_net, stats_show, NULL))
		goto fail;
	err = nf_register_net_hooks(net, hook_ops, ARRAY_SIZE(hook_ops));
	if (err)
		goto fail_proc;
	smp_store_release(&tn->live, true);
	return 0;

fail_proc:
	remove_proc_entry("toa_uoa", net->proc_net);
fail:
	pr_err("toa_uoa: cannot set up a network namespace: error %d\n", err);
	return err;
}

/*
 * The hooks go first, in .pre_exit: nf_unregister_net_hooks does not wait for packets already
 * inside a hook on another CPU (the old hook entries are freed through call_rcu), but the
 * pernet core waits an RCU grace period between every .pre_exit and the .exit that follows
 * (ops_undo_list(), for a dying namespace and for unregister_pernet_subsys at rmmod alike),
 * and a hook runs inside an RCU read-side section (nf_hook). So when net_exit frees the
 * table and the counters, no packet can still be using them. getname checks `live` under
 * RCU the same way (a kernel socket does not hold its namespace); getsockopt works on a user
 * socket, which does, so it never races with the exit.
 */
static void __net_exit net_pre_exit(struct net *net)
{
	WRITE_ONCE(toa_uoa_net(net)->live, false);
	nf_unregister_net_hooks(net, hook_ops, ARRAY_SIZE(hook_ops));
}

static void __net_exit net_exit(struct net *net)
{
	struct toa_uoa_net *tn = toa_uoa_net(net);

	remove_proc_entry("toa_uoa", net->proc_net);
	/* Queued only at activation, which cannot happen any more (toa_uoa_net_activate). */
	cancel_delayed_work_sync(&tn->gc);
	toa_uoa_rs_net_exit(tn->state);
	tn->state = NULL;
	free_percpu(tn->counters);
	tn->counters = NULL;
}

static struct pernet_operations pernet_ops = {
	.init = net_init,
	.pre_exit = net_pre_exit,
	.exit = net_exit,
	.id = &toa_uoa_net_id,
	.size = sizeof(struct toa_uoa_net),
};

int toa_uoa_pernet_register(unsigned int n)
{
	ncounters = n;
	return register_pernet_subsys(&pernet_ops);
}

void toa_uoa_pernet_unregister(void)
{
	unregister_pernet_subsys(&pernet_ops);
}

/* ---- getsockopt ---- */

/*
 * nf_sockopt holds a reference on this module (.owner) for the duration of each call, so
 * the namespace state cannot go away under it; sock_net(sk) is the caller's namespace.
 */
static int sockopt_get(struct sock *sk, int optval, void __user *user, int *len)
{
	struct toa_uoa_net *tn = toa_uoa_net(sock_net(sk));

	return toa_uoa_rs_getsockopt(tn, sk->sk_protocol, optval, user, len);
}

static struct nf_sockopt_ops sockopt_ops[] = {
	{
		.pf = PF_INET,
		.get_optmin = TOA_UOA_SO_BASE,
		.get_optmax = TOA_UOA_SO_GET_MAX + 1,
		.get = sockopt_get,
		.owner = THIS_MODULE,
	},
	{
		.pf = PF_INET6,
		.get_optmin = TOA_UOA_SO_BASE,
		.get_optmax = TOA_UOA_SO_GET_MAX + 1,
		.get = sockopt_get,
		.owner = THIS_MODULE,
	},
};

int toa_uoa_sockopt_register(void)
{
	int err = nf_register_sockopt(&sockopt_ops[0]);

	if (err)
		return err;
	err = nf_register_sockopt(&sockopt_ops[1]);
	if (err)
		nf_unregister_sockopt(&sockopt_ops[0]);
	return err;
}

void toa_uoa_sockopt_unregister(void)
{
	nf_unregister_sockopt(&sockopt_ops[1]);
	nf_unregister_sockopt(&sockopt_ops[0]);
}

/* ---- small things Rust cannot call directly (static inlines, macros) ---- */

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

/* ---- getpeername/getsockname/accept: kretprobes on inet_getname, inet6_getname ---- */

/*
 * The 6.12 kernel has no hook for getname. A kretprobe keeps the call's arguments on
 * entry and, on return, lets Rust rewrite the kernel-side sockaddr (a sockaddr_storage in
 * every syscall path: accept, getpeername, getsockname) and the length, for sockets with a
 * record. Nothing is written to kernel text or ops tables.
 */
struct getname_call {
	struct socket *sock;
	struct sockaddr *uaddr;
	int peer;
};

static void sock_tuple(const struct sock *sk, struct toa_uoa_tuple *t)
{
	const struct inet_sock *inet = inet_sk(sk);

	memset(t, 0, sizeof(*t));
	t->protocol = sk->sk_protocol;
	t->sport = ntohs(inet->inet_dport);
	t->dport = inet->inet_num;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 && !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		t->family = 6;
		memcpy(t->saddr, &sk->sk_v6_daddr, 16);
		memcpy(t->daddr, &sk->sk_v6_rcv_saddr, 16);
		return;
	}
#endif
	t->family = 4;
	memcpy(t->saddr, &inet->inet_daddr, 4);
	memcpy(t->daddr, &inet->inet_rcv_saddr, 4);
}

/*
 * Whether a getname on this socket could be answered from a record: a connected TCP or UDP
 * socket in a namespace that is up and holds records of its protocol. Only a connected
 * socket has a peer a record can be about: a listening, unbound or unconnected one (no peer
 * port, or state LISTEN/CLOSE/SYN_SENT) keeps the kernel's answer, whatever records exist
 * (its tuple's zero peer would otherwise match a record made from a packet sent from [::]:0).
 * Under RCU (the probe handlers run with preemption off): `live` seen set keeps the
 * namespace's state until the handler returns. The record counts are read unlocked: a
 * record a connection's handshake made was published (by the unlock after its insert)
 * before the socket could be accepted and asked its name.
 */
static struct toa_uoa_net *getname_candidate(const struct socket *sock)
{
	const struct sock *sk = sock ? sock->sk : NULL;
	struct toa_uoa_net *tn;

	if (!sk || (sk->sk_protocol != IPPROTO_TCP && sk->sk_protocol != IPPROTO_UDP))
		return NULL;
	if (!inet_sk(sk)->inet_dport ||
	    ((1 << READ_ONCE(sk->sk_state)) & (TCPF_LISTEN | TCPF_CLOSE | TCPF_SYN_SENT)))
		return NULL;
	tn = toa_uoa_net(sock_net(sk));
	if (!smp_load_acquire(&tn->live))
		return NULL;
	if (sk->sk_protocol == IPPROTO_TCP ? !READ_ONCE(tn->records_tcp) :
					      !READ_ONCE(tn->records_udp))
		return NULL;
	return tn;
}

/*
 * Calls that cannot need a rewrite are declined here (a non-zero return): they hold no
 * kretprobe instance while inet_getname runs (it may sleep in lock_sock), so the instances
 * are there for the calls that need them, and they cost nothing more at return.
 */
static int getname_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct getname_call *c = (struct getname_call *)ri->data;
	int candidate;

	c->sock = (struct socket *)regs_get_kernel_argument(regs, 0);
	c->uaddr = (struct sockaddr *)regs_get_kernel_argument(regs, 1);
	c->peer = (int)regs_get_kernel_argument(regs, 2);
	rcu_read_lock();
	candidate = getname_candidate(c->sock) != NULL;
	rcu_read_unlock();
	return candidate ? 0 : 1;
}

static int getname_rewrite(struct getname_call *c, struct pt_regs *regs);

static int getname_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	int ret;

	rcu_read_lock();
	ret = getname_rewrite((struct getname_call *)ri->data, regs);
	rcu_read_unlock();
	return ret;
}

/*
 * Whether this getname's buffer is known to be a struct sockaddr_storage: true only inside
 * the system calls whose every path to inet_getname/inet6_getname passes one (net/socket.c
 * do_accept, __sys_getsockname, __sys_getpeername; sock.c's SO_PEERNAME under getsockopt;
 * io_uring's accept and getsockname commands), from a native (not compat) user task.
 * Anything else may pass the socket family's own sockaddr and no more: kernel threads
 * (ocfs2 and sunrpc pass a bare sockaddr_in) and in-kernel users inside other system calls
 * (usnic from a verbs write, iSCSI from a sysfs read). This decides only the 64 case, whose
 * answer (a 28-byte sockaddr_in6 for an AF_INET socket) is longer than that; elsewhere the
 * kernel's own answer is as long as ours.
 */
static bool getname_buffer_is_storage(void)
{
	if (current->flags & PF_KTHREAD || in_compat_syscall())
		return false;
	switch (syscall_get_nr(current, task_pt_regs(current))) {
	case __NR_getpeername:
	case __NR_getsockname:
	case __NR_accept4:
	case __NR_getsockopt:
#ifdef __NR_accept
	case __NR_accept:
#endif
#ifdef __NR_io_uring_enter
	case __NR_io_uring_enter:
#endif
		return true;
	default:
		return false;
	}
}

/* Under rcu_read_lock(): the namespace's state stays while `live` was seen set. */
static int getname_rewrite(struct getname_call *c, struct pt_regs *regs)
{
	struct toa_uoa_tuple t;
	struct toa_uoa_net *tn;
	struct sock *sk;
	size_t room;
	int len;

	if ((int)regs_return_value(regs) < 0)
		return 0;
	/* Again: the namespace may be going, the socket's state may have changed meanwhile. */
	tn = getname_candidate(c->sock);
	if (!tn)
		return 0;
	sk = c->sock->sk;
	sock_tuple(sk, &t);
	room = sizeof(struct sockaddr_storage);
	if (!getname_buffer_is_storage())
		room = sk->sk_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						   sizeof(struct sockaddr_in);
	len = toa_uoa_rs_getname(tn, &t, (u8 *)c->uaddr, room, c->peer);
	if (len > 0)
		regs_set_return_value(regs, len);
	return 0;
}

static struct kretprobe getname_probes[] = {
	{
		.kp.symbol_name = "inet_getname",
		.entry_handler = getname_entry,
		.handler = getname_return,
		.data_size = sizeof(struct getname_call),
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.kp.symbol_name = "inet6_getname",
		.entry_handler = getname_entry,
		.handler = getname_return,
		.data_size = sizeof(struct getname_call),
	},
#endif
};

static struct kretprobe *getname_rps[] = {
	&getname_probes[0],
#if IS_ENABLED(CONFIG_IPV6)
	&getname_probes[1],
#endif
};

int toa_uoa_getname_register(void)
{
	int err, i;

	/*
	 * Instances for calls in flight at once: a call holds one while inet_getname runs,
	 * which may sleep in lock_sock. Four per possible CPU, at least 64: above the kernel's
	 * own default (max(10, 2 * CPUs)); declined calls hold none (getname_entry).
	 */
	for (i = 0; i < ARRAY_SIZE(getname_probes); i++)
		getname_probes[i].maxactive = max_t(int, 64, 4 * num_possible_cpus());
	err = register_kretprobes(getname_rps, ARRAY_SIZE(getname_rps));

	if (err)
		pr_err("toa_uoa: cannot probe inet_getname/inet6_getname: error %d (CONFIG_KRETPROBES?)\n",
		       err);
	return err;
}

void toa_uoa_getname_unregister(void)
{
	unregister_kretprobes(getname_rps, ARRAY_SIZE(getname_rps));
}

/* Calls whose return could not be seen (more than maxactive at once on the probes). */
u64 toa_uoa_getname_missed(void)
{
	u64 n = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(getname_probes); i++)
		n += getname_probes[i].nmissed;
	return n;
}

/*
 * The TCP socket on the tuple, if any (a full socket, a TIME_WAIT one or a request socket),
 * with a reference taken: RCU look-up, usable under the table lock and from the hooks.
 */
static struct sock *tcp_lookup(struct toa_uoa_net *tn, const struct toa_uoa_tuple *t)
{
	struct net *net = tn->net;
	struct sock *sk = NULL;
	__be32 s4, d4;

	rcu_read_lock();
	if (t->family == 4) {
		memcpy(&s4, t->saddr, 4);
		memcpy(&d4, t->daddr, 4);
		sk = toa_uoa_lookup_established4(net, s4, htons(t->sport), d4, t->dport);
	}
#if IS_ENABLED(CONFIG_IPV6)
	else {
		sk = toa_uoa_lookup_established6(net, (const struct in6_addr *)t->saddr,
						 htons(t->sport), (const struct in6_addr *)t->daddr,
						 t->dport);
	}
#endif
	rcu_read_unlock();
	return sk;
}

/*
 * Whether a TCP connection on the tuple still exists (TIME_WAIT included): the expiry
 * keeps such records, so a long-lived idle connection keeps its answer.
 */
bool toa_uoa_tcp_established(struct toa_uoa_net *tn, const struct toa_uoa_tuple *t)
{
	struct sock *sk = tcp_lookup(tn, t);

	if (!sk)
		return false;
	sock_gen_put(sk);
	return true;
}

/*
 * Whether the tuple is a live connection (a full socket: not TIME_WAIT, not a handshake in
 * progress). A SYN on such a tuple opens nothing (TCP answers it with a challenge ACK), so
 * it may neither replace nor forget the connection's record.
 */
bool toa_uoa_tcp_connected(struct toa_uoa_net *tn, const struct toa_uoa_tuple *t)
{
	struct sock *sk = tcp_lookup(tn, t);
	bool live;

	if (!sk)
		return false;
	live = sk_fullsock(sk);
	sock_gen_put(sk);
	return live;
}
