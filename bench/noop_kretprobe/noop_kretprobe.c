// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline for the getname benchmark: the same kretprobes toa_uoa puts on inet_getname
 * and inet6_getname (an entry handler keeping the three arguments, a return handler),
 * doing nothing else. The difference between this and no probe is the price of the
 * probe mechanism itself; the difference between this and toa_uoa is the module's own
 * work (the socket tests, the tuple, the table look-up under its lock).
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/ptrace.h>

struct call {
	void *sock, *uaddr;
	int peer;
};

static int entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct call *c = (struct call *)ri->data;

	c->sock = (void *)regs_get_kernel_argument(regs, 0);
	c->uaddr = (void *)regs_get_kernel_argument(regs, 1);
	c->peer = (int)regs_get_kernel_argument(regs, 2);
	return 0;
}

static int ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return 0;
}

static struct kretprobe probes[] = {
	{ .kp.symbol_name = "inet_getname", .entry_handler = entry, .handler = ret,
	  .data_size = sizeof(struct call), .maxactive = 64 },
	{ .kp.symbol_name = "inet6_getname", .entry_handler = entry, .handler = ret,
	  .data_size = sizeof(struct call), .maxactive = 64 },
};

static struct kretprobe *rps[] = { &probes[0], &probes[1] };

static int __init noop_init(void)
{
	return register_kretprobes(rps, ARRAY_SIZE(rps));
}

static void __exit noop_exit(void)
{
	unregister_kretprobes(rps, ARRAY_SIZE(rps));
}

module_init(noop_init);
module_exit(noop_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("toa_uoa benchmark baseline: no-op kretprobes on inet_getname/inet6_getname");
