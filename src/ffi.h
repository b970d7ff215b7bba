/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between toa_uoa's Rust code and the kernel's C: what helpers.c provides
 * for Rust to call (bindgen reads this file from Kbuild; only toa_uoa_* items are
 * exported to Rust). Kernel structures stay opaque on the Rust side.
 */
#ifndef TOA_UOA_FFI_H
#define TOA_UOA_FFI_H

#include <linux/types.h>

/* Module parameters (declared with module_param in helpers.c, validated there). */
unsigned int toa_uoa_param_max_records(void);
unsigned int toa_uoa_param_idle_timeout(void);

/* Bounds enforced on the parameters; Rust relies on them. */
enum {
	TOA_UOA_MAX_RECORDS_MIN = 1,
	TOA_UOA_MAX_RECORDS_MAX = 1 << 24,
	TOA_UOA_MAX_RECORDS_DEFAULT = 1 << 16,
	TOA_UOA_IDLE_TIMEOUT_MIN = 1,
	TOA_UOA_IDLE_TIMEOUT_MAX = 86400,
	TOA_UOA_IDLE_TIMEOUT_DEFAULT = 300,
};

#endif
