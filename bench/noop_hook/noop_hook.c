// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline for the packet benchmark: netfilter hooks at LOCAL_IN for IPv4 and IPv6 in every
 * network namespace, where toa_uoa registers its own, that accept every packet and do
 * nothing else (at toa_uoa's priority). The difference between this and no hook is the price of any design that
 * sees every packet after NAT through netfilter; the difference between this and toa_uoa
 * is the module's own work on a packet (its look at the IP header, and more for options).
 */
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/net_namespace.h>

static unsigned int accept_all(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	return NF_ACCEPT;
}

static const struct nf_hook_ops hooks[] = {
	{ .hook = accept_all, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP_PRI_NAT_SRC + 1 },
	{ .hook = accept_all, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP6_PRI_NAT_SRC + 1 },
};

static int __net_init noop_net_init(struct net *net)
{
	return nf_register_net_hooks(net, hooks, ARRAY_SIZE(hooks));
}

static void __net_exit noop_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, hooks, ARRAY_SIZE(hooks));
}

static struct pernet_operations noop_net_ops = {
	.init = noop_net_init,
	.exit = noop_net_exit,
};

static int __init noop_init(void)
{
	return register_pernet_subsys(&noop_net_ops);
}

static void __exit noop_exit(void)
{
	unregister_pernet_subsys(&noop_net_ops);
}

module_init(noop_init);
module_exit(noop_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("toa_uoa benchmark baseline: no-op netfilter hooks at LOCAL_IN");
