// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of toa_uoa: only what Rust cannot do itself on 6.12 (module_param, static
 * inline kernel functions, macros). No parsing, no table, no decisions live here.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "ffi.h"

static unsigned int max_records = TOA_UOA_MAX_RECORDS_DEFAULT;
static unsigned int idle_timeout = TOA_UOA_IDLE_TIMEOUT_DEFAULT;

/*
 * A bad value refuses the load (the kernel prints "invalid for parameter" and insmod
 * fails with EINVAL); say what the accepted range is, once.
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
		 "seconds a record lives without traffic carrying or matching it (1..86400, default 300)");

unsigned int toa_uoa_param_max_records(void)
{
	return READ_ONCE(max_records);
}

unsigned int toa_uoa_param_idle_timeout(void)
{
	return READ_ONCE(idle_timeout);
}
