// SPDX-License-Identifier: GPL-2.0
/*
 * Test module: holds getsockopt optname 2048 for PF_INET, as DPVS's uoa.ko does, so the
 * guest suite can show that toa_uoa then refuses to load with a clear message.
 */
#include <linux/module.h>
#include <linux/netfilter.h>

static int squat_get(struct sock *sk, int optval, void __user *user, int *len)
{
	return -ENOENT;
}

static struct nf_sockopt_ops squat_ops = {
	.pf = PF_INET,
	.get_optmin = 2048,
	.get_optmax = 2049,
	.get = squat_get,
	.owner = THIS_MODULE,
};

static int __init squat_init(void)
{
	return nf_register_sockopt(&squat_ops);
}

static void __exit squat_exit(void)
{
	nf_unregister_sockopt(&squat_ops);
}

module_init(squat_init);
module_exit(squat_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("toa_uoa test: a module holding the UOA getsockopt optname 2048");
